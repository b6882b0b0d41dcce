"""A search strategy of your own, written against the public strategy protocol only.

A strategy is any object with five methods (no base class needed):

- ``reset(space, rng)``: a new search over ``space`` (a :class:`sknas.space.SearchSpace`),
  with all randomness from ``rng`` (a :class:`numpy.random.Generator`);
- ``propose(trial_id) -> Proposal``: the configuration to try as that trial;
- ``observe(results)``: finished trials (:class:`sknas.trial.TrialResult`), whoever
  proposed them: the study also tries each family's default, the baselines and the
  portfolio. A PRUNED result was scored at a lower fidelity than a COMPLETE one;
- ``state_dict()`` / ``load_state_dict(state)``: plain data that lets a search resume
  (``checkpoint_dir``) or go on (``warm_start``).

The study (:class:`sknas.study.Study`) numbers the trials, draws their seeds and owns the
queue; the strategy only proposes. This one, "explore then exploit", draws random
configurations until it has seen a few completed trials, then mostly perturbs the
learning rate (or, for classical families, redraws one parameter) of the best completed
configuration so far.

Run: ``python examples/custom_strategy.py``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.strategies import Proposal
from sknas.trial import TrialState


class ExploreThenExploit:
    """Random configurations first, then small moves around the best completed one.

    Parameters
    ----------
    n_explore : int, default=6
        Completed trials to see before exploiting.
    exploit_share : float, default=0.7
        Share of later proposals that move around the best configuration.
    """

    start_with_defaults = True  # let the study try each family's default first

    def __init__(self, n_explore: int = 6, exploit_share: float = 0.7) -> None:
        self.n_explore = n_explore
        self.exploit_share = exploit_share

    def reset(self, space: Any, rng: np.random.Generator) -> None:
        self.space_ = space
        self.rng_ = rng
        self.best_: dict[str, Any] | None = None  # family, point and score
        self.n_completed_ = 0
        self.points_: dict[int, dict[str, Any]] = {}  # trial id -> point, until observed

    def propose(self, trial_id: int) -> Proposal:
        exploit = self.n_completed_ >= self.n_explore and self.best_ is not None
        if exploit and self.rng_.random() < self.exploit_share:
            family = self.space_[self.best_["family"]]
            point = dict(self.best_["point"])
            name = "lr" if "lr" in point else str(self.rng_.choice(sorted(point)))
            if name == "lr":
                point["lr"] = family.dimensions["lr"].clip(point["lr"] * 2 ** self.rng_.normal())
            else:
                point[name] = family.sample_point(self.rng_)[name]
            proposer = "exploit"
        else:
            family = self.space_.families[int(self.rng_.integers(len(self.space_.families)))]
            point = family.sample_point(self.rng_)
            proposer = "explore"
        self.points_[trial_id] = point
        params, genome = family.decode(point)
        return Proposal(family.name, params, genome, proposer)

    def observe(self, results: Any) -> None:
        for result in results:
            point = self.points_.pop(result.candidate.trial_id, None)
            if result.state is not TrialState.COMPLETE or not np.isfinite(result.score):
                continue  # failed, or pruned: scored at a lower fidelity
            self.n_completed_ += 1
            if point is not None and (self.best_ is None or result.score > self.best_["score"]):
                family = result.candidate.family
                self.best_ = {"family": family, "point": point, "score": float(result.score)}

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng_.bit_generator.state,
            "best": self.best_,
            "n_completed": self.n_completed_,
            "points": {str(trial_id): point for trial_id, point in self.points_.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
        self.best_ = state["best"]
        self.n_completed_ = state["n_completed"]
        self.points_ = {int(trial_id): point for trial_id, point in state["points"].items()}


def main(argv: list[str] | None = None) -> float:
    """Search breast cancer with the strategy above; return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    model = NASClassifier(
        strategy=ExploreThenExploit(), time_budget=args.time_budget, random_state=args.seed
    )
    model.fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    proposers = model.leaderboard_["proposer"].value_counts().to_dict()
    print(f"{model.n_trials_} trials by proposer: {proposers}")
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
