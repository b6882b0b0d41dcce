"""Model selection with hyperopt's Tree-structured Parzen Estimator, as ask/tell.

hyperopt's own machinery does the work: the space is a conditional hyperopt
expression (``family`` first, then that family's dimensions), hyperopt's TPE
proposes trial documents into a :class:`hyperopt.Trials`, and results are written
back into those documents. Failed and pending trials count as infinitely bad, so
TPE steers away from regions that crash and does not re-propose pending ones.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hyperopt import (
    JOB_STATE_DONE,
    STATUS_FAIL,
    STATUS_OK,
    Domain,
    Trials,
    hp,
    pyll,
    rand,
    tpe,
)
from hyperopt.base import miscs_update_idxs_vals

from ..space import Categorical, Dimension, Int, SearchSpace
from ..trial import TrialResult
from .base import Proposal, Strategy

__all__ = ["PRUNED_LOSS_OFFSET", "HyperoptStrategy"]

#: Added to a pruned trial's loss so that it ranks below every completed trial (TPE
#: reads losses only through their order) and among pruned ones by its score.
PRUNED_LOSS_OFFSET = 1e12


def _hp_dimension(label: str, dim: Dimension) -> Any:
    if isinstance(dim, Categorical):
        return hp.choice(label, list(dim.choices))
    if isinstance(dim, Int):
        high = max(dim.high, dim.low + 1e-9)  # hyperopt refuses low == high (max_epochs=1)
        if dim.log:
            return hp.qloguniform(label, math.log(dim.low), math.log(high), 1)
        return hp.quniform(label, dim.low, high, 1)
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


def _loss(doc: Mapping[str, Any]) -> float:
    """A trial document's loss as TPE reads it: infinite unless it has one."""
    loss = doc["result"].get("loss")
    return math.inf if loss is None else float(loss)


class _TPEProposer:
    """hyperopt's ``tpe.suggest`` with its per-call fixed costs paid once.

    ``tpe.suggest`` rebuilds the same pyll posterior graph on every call (the
    observations enter only through the evaluation memo) and re-collects every
    trial document's values; after a few hundred trials that is close to half of
    each proposal. This keeps the graph, keeps the observations as trials are
    proposed and told, and evaluates the graph exactly as ``tpe.suggest`` does:
    a test checks both propose the same points.
    """

    def __init__(self, domain: Domain, gamma: float, n_ei_candidates: int) -> None:
        self.domain = domain
        self.n_ei_candidates = n_ei_candidates
        self.observed, self.observed_loss, self.posterior = tpe.build_posterior_wrapper(
            domain, tpe._default_prior_weight, gamma
        )
        self.idxs: dict[str, list[int]] = {label: [] for label in domain.params}
        self.vals: dict[str, list[Any]] = {label: [] for label in domain.params}
        self.tids: list[int] = []  # increasing, as tpe.suggest sorts them
        self.losses: list[float] = []
        self.position: dict[int, int] = {}

    def observe(self, misc: Mapping[str, Any], loss: float = math.inf) -> None:
        """Record a proposed trial (pending trials count as infinitely bad)."""
        for label in self.idxs:
            self.idxs[label].extend(misc["idxs"][label])
            self.vals[label].extend(misc["vals"][label])
        self.position[misc["tid"]] = len(self.tids)
        self.tids.append(misc["tid"])
        self.losses.append(loss)

    def set_loss(self, tid: int, loss: float) -> None:
        self.losses[self.position[tid]] = loss

    def suggest(self, tid: int, trials: Trials, seed: int) -> dict[str, Any]:
        """The trial document TPE proposes for ``tid``."""
        fake_id_0 = max(max(self.tids, default=tid), tid) + 2
        fake_ids = list(range(fake_id_0, fake_id_0 + self.n_ei_candidates))
        memo = {
            self.domain.s_new_ids: fake_ids,
            self.domain.s_rng: np.random.default_rng(seed),
            self.observed_loss["idxs"]: self.tids,
            self.observed_loss["vals"]: self.losses,
            self.observed["idxs"]: self.idxs,
            self.observed["vals"]: self.vals,
        }
        idxs, vals = pyll.rec_eval(self.posterior, memo=memo, print_node_on_error=False)
        misc = {"tid": tid, "cmd": self.domain.cmd, "workdir": self.domain.workdir}
        miscs_update_idxs_vals(
            [misc], idxs, vals, idxs_map={fake_ids[0]: tid}, assert_all_vals_used=False
        )
        return trials.new_trial_docs([tid], [None], [self.domain.new_result()], [misc])[0]


class HyperoptStrategy(Strategy):
    """TPE model selection over families and their hyperparameters.

    Parameters
    ----------
    n_startup_trials : int, default=10
        Random trials (drawn by hyperopt) before TPE models the results.
    start_with_defaults : bool, default=True
        Whether the study first tries each family's default configuration; TPE
        observes them like any other trial.
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
    >>> strategy.propose(0).proposer
    'tpe:startup'
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
        self._tpe = _TPEProposer(self.domain_, self.gamma, self.n_ei_candidates)

    @property
    def in_startup(self) -> bool:
        """Whether the next proposal is a random start-up point: fewer than
        ``n_startup_trials`` trials (proposed here, or observed and encodable) so far."""
        return len(self.trials_.trials) < self.n_startup_trials

    def propose(self, trial_id: int) -> Proposal:
        tid = self.trials_.new_trial_ids(1)[0]
        startup = self.in_startup
        seed = int(self.rng_.integers(2**31 - 1))
        if startup:  # what tpe.suggest itself does before n_startup_jobs
            doc = rand.suggest([tid], self.domain_, self.trials_, seed)[0]
        else:
            doc = self._tpe.suggest(tid, self.trials_, seed)
        family, point = self._decode(doc)
        self._add_trial(trial_id, doc)
        return self._proposal(family, point, proposer="tpe:startup" if startup else "tpe")

    def _add_trial(self, trial_id: int, doc: dict[str, Any]) -> None:
        """Record trial ``trial_id``'s document as pending (until :meth:`observe`)."""
        self.trials_.insert_trial_docs([doc])
        self.trials_.refresh()
        self._tpe.observe(doc["misc"])
        self.tid_of_trial_[trial_id] = doc["tid"]

    def observe(self, results: Sequence[TrialResult]) -> None:
        """Write each result into its hyperopt trial document.

        The loss is ``-score`` for a completed trial; a pruned one is ranked below
        every completed one (``PRUNED_LOSS_OFFSET - score``) and a failed one counts
        as infinitely bad. A trial this strategy did not propose (queued by the study:
        defaults, portfolio, ``init_from``) becomes a document of its own when a
        point of the space builds it, so TPE learns from it too.
        """
        for result in results:
            candidate = result.candidate
            if candidate.trial_id not in self.tid_of_trial_:
                if candidate.family not in self.space_:
                    continue
                point = self.space_[candidate.family].encode(candidate.params, candidate.genome)
                if point is None:
                    continue
                tid = self.trials_.new_trial_ids(1)[0]
                doc = self._document_for(tid, candidate.family, point)
                self._add_trial(candidate.trial_id, doc)
            tid = self.tid_of_trial_.pop(candidate.trial_id)
            [doc] = [doc for doc in self.trials_.trials if doc["tid"] == tid]
            doc["state"] = JOB_STATE_DONE
            if result.ok:
                doc["result"] = {"status": STATUS_OK, "loss": -float(result.score)}
            elif result.scored:
                loss = PRUNED_LOSS_OFFSET - float(result.score)
                doc["result"] = {"status": STATUS_OK, "loss": loss}
            else:
                doc["result"] = {"status": STATUS_FAIL}
            self._tpe.set_loss(tid, _loss(doc))
        self.trials_.refresh()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "docs": copy.deepcopy(self.trials_.trials),
            "tid_of_trial": dict(self.tid_of_trial_),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.trials_ = Trials()
        self.trials_.insert_trial_docs(copy.deepcopy(state["docs"]))
        self.trials_.refresh()
        self._tpe = _TPEProposer(self.domain_, self.gamma, self.n_ei_candidates)
        for doc in sorted(self.trials_.trials, key=lambda doc: doc["tid"]):
            self._tpe.observe(doc["misc"], _loss(doc))
        self.tid_of_trial_ = {int(k): int(v) for k, v in state["tid_of_trial"].items()}

    def _decode(self, doc: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Family and point of a trial document (choice index -> choice)."""
        vals = doc["misc"]["vals"]
        family = self.space_.families[int(vals["family"][0])]
        point = {}
        for name, dim in family.dimensions.items():
            value = vals[f"{family.name}/{name}"][0]
            is_choice = isinstance(dim, Categorical)
            point[name] = dim.choices[int(value)] if is_choice else dim.clip(value)
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
