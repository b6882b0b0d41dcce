"""AutoML and NAS in one strategy: TPE model selection, then evolution seeded from it.

Phase 1 is pure TPE (:class:`HyperoptStrategy`): family defaults, random start-up,
then TPE, to find the promising family and hyperparameter region. Phase 2 seeds a
:class:`RegularizedEvolutionStrategy` population with the best trials so far and
splits proposals between evolution (refining architectures) and TPE (still
exploring). The split adapts: each proposer's share follows how often its recent
trials landed in the top quarter of all scores. TPE takes its share only once it is
past its random start-up: an image search starts evolving after its 3 portfolio CNNs,
when TPE would still draw random networks (on digits at 120 s, three of five phase-2
proposals were random CNNs cut to 1-4 epochs by the deadline).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..space import SearchSpace
from ..trial import TrialResult
from .base import Proposal, Strategy
from .evolution import RegularizedEvolutionStrategy, ScoredConfiguration
from .hyperopt import HyperoptStrategy

__all__ = ["FusedStrategy"]


class FusedStrategy(Strategy):
    """TPE first, then aging evolution seeded by TPE's best, with an adaptive TPE share.

    Parameters
    ----------
    n_tpe_trials : int, default=12
        Scored (completed or pruned) trials before evolution starts.
    n_seed : int, default=8
        Best trials that seed the evolution population.
    tpe_share_bounds : tuple of float, default=(0.15, 0.6)
        Least and most share of phase-2 proposals that go to TPE.
    window : int, default=12
        Recent trials per proposer that decide the share.
    population_size, sample_size : int
        Passed to :class:`RegularizedEvolutionStrategy`.
    n_startup_trials : int, default=8
        Passed to :class:`HyperoptStrategy`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.space import default_search_space
    >>> strategy = FusedStrategy()
    >>> strategy.reset(default_search_space("classification", max_epochs=10),
    ...                np.random.default_rng(0))
    >>> strategy.propose(0).proposer
    'tpe:startup'
    """

    name = "fused"

    def __init__(
        self,
        n_tpe_trials: int = 12,
        n_seed: int = 8,
        tpe_share_bounds: tuple[float, float] = (0.15, 0.6),
        window: int = 12,
        population_size: int = 16,
        sample_size: int = 4,
        n_startup_trials: int = 8,
    ) -> None:
        self.n_tpe_trials = n_tpe_trials
        self.n_seed = n_seed
        self.tpe_share_bounds = tpe_share_bounds
        self.window = window
        self.population_size = population_size
        self.sample_size = sample_size
        self.n_startup_trials = n_startup_trials

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        super().reset(space, rng)
        self.tpe_ = HyperoptStrategy(n_startup_trials=self.n_startup_trials)
        self.evolution_ = RegularizedEvolutionStrategy(self.population_size, self.sample_size)
        self.tpe_.reset(space, np.random.default_rng(int(rng.integers(2**63 - 1))))
        self.evolution_.reset(space, np.random.default_rng(int(rng.integers(2**63 - 1))))
        self.scored_: list[ScoredConfiguration] = []
        self.outcomes_: dict[str, deque[bool]] = {
            "tpe": deque(maxlen=self.window),
            "evolution": deque(maxlen=self.window),
        }
        self.evolving_ = False

    @property
    def tpe_share(self) -> float:
        """Share of the next proposals that go to TPE (Beta(1, 1) smoothed success rates)."""
        rates = {
            name: (sum(outcomes) + 1) / (len(outcomes) + 2)
            for name, outcomes in self.outcomes_.items()
        }
        low, high = self.tpe_share_bounds
        return float(np.clip(rates["tpe"] / (rates["tpe"] + rates["evolution"]), low, high))

    def propose(self, trial_id: int) -> Proposal:
        if not self.evolving_ and len(self.scored_) >= self.n_tpe_trials:
            networks = [m for m in self.scored_ if m.genome is not None]
            best = sorted(networks, key=ScoredConfiguration.rank)[-self.n_seed :]
            self.evolution_.seed_population(best)
            self.evolving_ = True
        use_tpe = not self.evolving_
        if self.evolving_:  # one draw per phase-2 proposal, as before: the same stream
            use_tpe = self.rng_.random() < self.tpe_share and not self.tpe_.in_startup
        return (self.tpe_ if use_tpe else self.evolution_).propose(trial_id)

    def observe(self, results: Sequence[TrialResult]) -> None:
        """Both proposers observe every result; a completed trial in the top quarter of
        the completed scores is a success of its proposer (a pruned one never is)."""
        self.tpe_.observe(results)
        self.evolution_.observe(results)
        for result in results:
            kind = "evolution" if result.candidate.proposer.startswith("evolution") else "tpe"
            if result.scored:
                self.scored_.append(ScoredConfiguration.from_result(result))
            success = False
            if result.ok:
                scores = [m.score for m in self.scored_ if m.complete]
                success = result.score >= np.quantile(scores, 0.75)
            if self.evolving_:
                self.outcomes_[kind].append(bool(success))

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "tpe": self.tpe_.state_dict(),
            "evolution": self.evolution_.state_dict(),
            "scored": [m.to_dict() for m in self.scored_],
            "outcomes": {name: list(values) for name, values in self.outcomes_.items()},
            "evolving": self.evolving_,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.tpe_.load_state_dict(state["tpe"])
        self.evolution_.load_state_dict(state["evolution"])
        self.scored_ = [ScoredConfiguration.from_dict(m) for m in state["scored"]]
        for name, values in state["outcomes"].items():
            self.outcomes_[name] = deque(values, maxlen=self.window)
        self.evolving_ = bool(state["evolving"])
