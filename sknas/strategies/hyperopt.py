"""Model selection with hyperopt's Tree-structured Parzen Estimator, as ask/tell.

hyperopt's own machinery does the work: the space is a conditional hyperopt
expression (``family`` first, then that family's dimensions), ``tpe.suggest``
proposes trial documents into a :class:`hyperopt.Trials`, and results are written
back into those documents. Failed and pending trials count as infinitely bad, so
TPE steers away from regions that crash and does not re-propose pending ones.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK, Domain, Trials, hp, space_eval, tpe

from ..space import Categorical, Dimension, Float, Int, SearchSpace
from ..trial import Candidate, TrialResult
from .base import Strategy

__all__ = ["HyperoptStrategy"]


def _hp_dimension(label: str, dim: Dimension) -> Any:
    if isinstance(dim, Categorical):
        return hp.choice(label, list(dim.choices))
    if isinstance(dim, Int):
        if dim.log:
            return hp.qloguniform(label, math.log(dim.low), math.log(dim.high), 1)
        return hp.quniform(label, dim.low, dim.high, 1)
    if dim.log:
        return hp.loguniform(label, math.log(dim.low), math.log(dim.high))
    return hp.uniform(label, dim.low, dim.high)


def _hp_encode(dim: Dimension, value: Any) -> Any:
    """A value as hyperopt stores it in a trial document (choice -> index)."""
    if isinstance(dim, Categorical):
        return dim.choices.index(value)
    return float(value)


def _unused_objective(_: Any) -> float:  # pragma: no cover - never evaluated
    raise RuntimeError("HyperoptStrategy evaluates trials outside hyperopt.")


class HyperoptStrategy(Strategy):
    """TPE model selection over families and their hyperparameters.

    Parameters
    ----------
    n_startup_trials : int, default=10
        Random trials (drawn by hyperopt) before TPE models the results.
    start_with_defaults : bool, default=True
        First propose each family's default configuration, then hand over to
        hyperopt; the defaults are told to TPE like any other trial.
    gamma : float, default=0.25
        Share of trials TPE counts as good.
    n_ei_candidates : int, default=24
        Samples TPE scores by expected improvement per proposal.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.space import default_search_space
    >>> strategy = HyperoptStrategy()
    >>> strategy.reset(default_search_space("classification", max_epochs=10),
    ...                np.random.default_rng(0))
    >>> [c.proposer for c in strategy.ask(3)]
    ['default', 'default', 'tpe:startup']
    """

    name = "tpe"

    def __init__(
        self,
        n_startup_trials: int = 10,
        start_with_defaults: bool = True,
        gamma: float = 0.25,
        n_ei_candidates: int = 24,
    ) -> None:
        self.n_startup_trials = n_startup_trials
        self.start_with_defaults = start_with_defaults
        self.gamma = gamma
        self.n_ei_candidates = n_ei_candidates

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        super().reset(space, rng)
        self.expr_ = hp.choice(
            "family",
            [
                {
                    "family": family.name,
                    "point": {
                        name: _hp_dimension(f"{family.name}/{name}", dim)
                        for name, dim in family.dimensions.items()
                    },
                }
                for family in space.families
            ],
        )
        self.domain_ = Domain(_unused_objective, self.expr_)
        self.trials_ = Trials()
        self.tid_of_trial_: dict[int, int] = {}
        self.pending_defaults_ = list(space.family_names) if self.start_with_defaults else []
        self._suggest = partial(
            tpe.suggest,
            n_startup_jobs=self.n_startup_trials,
            gamma=self.gamma,
            n_EI_candidates=self.n_ei_candidates,
            verbose=False,
        )

    def _propose(self) -> Candidate:
        tid = self.trials_.new_trial_ids(1)[0]
        if self.pending_defaults_:
            family = self.pending_defaults_.pop(0)
            point = self.space_[family].default_point()
            doc = self._document_for(tid, family, point)
            proposer = "default"
        else:
            startup = len(self.trials_.trials) < self.n_startup_trials
            seed = int(self.rng_.integers(2**31 - 1))
            doc = self._suggest([tid], self.domain_, self.trials_, seed)[0]
            family, point = self._decode(doc)
            proposer = "tpe:startup" if startup else "tpe"
        self.trials_.insert_trial_docs([doc])
        self.trials_.refresh()
        candidate = self._make_candidate(family, point, proposer=proposer)
        self.tid_of_trial_[candidate.trial_id] = tid
        return candidate

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Write each result into its hyperopt trial document (loss = -score)."""
        docs = {doc["tid"]: doc for doc in self.trials_.trials}
        for result in results:
            tid = self.tid_of_trial_.pop(result.candidate.trial_id, None)
            if tid is None:
                continue  # not proposed by this strategy (e.g. seeded from elsewhere)
            doc = docs[tid]
            doc["state"] = JOB_STATE_DONE
            if result.scored:  # pruned trials count with their lower-fidelity score
                doc["result"] = {"status": STATUS_OK, "loss": -float(result.score)}
            else:
                doc["result"] = {"status": STATUS_FAIL}
        self.trials_.refresh()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "docs": copy.deepcopy(self.trials_.trials),
            "tid_of_trial": dict(self.tid_of_trial_),
            "pending_defaults": list(self.pending_defaults_),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.trials_ = Trials()
        self.trials_.insert_trial_docs(copy.deepcopy(state["docs"]))
        self.trials_.refresh()
        self.tid_of_trial_ = {int(k): int(v) for k, v in state["tid_of_trial"].items()}
        self.pending_defaults_ = list(state["pending_defaults"])

    def _decode(self, doc: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        assignment = {label: vals[0] for label, vals in doc["misc"]["vals"].items() if vals}
        decoded = space_eval(self.expr_, assignment)
        family = self.space_[decoded["family"]]
        point = {}
        for name, value in decoded["point"].items():
            dim = family.dimensions[name]
            point[name] = dim.clip(value) if isinstance(dim, (Int, Float)) else value
        return family.name, point

    def _document_for(self, tid: int, family: str, point: Mapping[str, Any]) -> dict[str, Any]:
        """A hyperopt trial document for a point chosen outside TPE."""
        idxs: dict[str, list[int]] = {"family": [tid]}
        vals: dict[str, list[Any]] = {"family": [self.space_.family_names.index(family)]}
        for other in self.space_.families:
            for name, dim in other.dimensions.items():
                label = f"{other.name}/{name}"
                active = other.name == family
                idxs[label] = [tid] if active else []
                vals[label] = [_hp_encode(dim, point[name])] if active else []
        misc = {
            "tid": tid,
            "cmd": self.domain_.cmd,
            "workdir": self.domain_.workdir,
            "idxs": idxs,
            "vals": vals,
        }
        return self.trials_.new_trial_docs([tid], [None], [{"status": "new"}], [misc])[0]
