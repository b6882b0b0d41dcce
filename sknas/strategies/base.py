"""The protocol every strategy implements: propose, observe, save its state.

Strategies only propose (:meth:`Strategy.propose`) and learn
(:meth:`Strategy.observe`): they never number trials, never train, never read the
clock and never own the loop (that is :class:`sknas.study.Study` and
:func:`sknas._search.run_search`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..space import Genome, SearchSpace
from ..trial import Configuration, TrialResult, candidate_key

__all__ = ["Configuration", "Proposal", "Strategy", "candidate_key"]


@dataclass(frozen=True)
class Proposal:
    """What a strategy proposes: a configuration, who proposed it and its parent.

    The :class:`~sknas.study.Study` turns it into a :class:`~sknas.trial.Candidate`
    (trial id, seed, epoch budget and fidelity).
    """

    family: str
    params: dict[str, Any] = field(hash=False)
    genome: Genome | None
    proposer: str
    parent_id: int | None = None


class Strategy(ABC):
    """Base class of search strategies: pure proposers.

    The protocol is four methods. :meth:`reset` starts a search over a space with a
    random generator; :meth:`propose` makes the proposal for a trial id the study
    chose; :meth:`observe` learns from finished trials, whoever proposed them
    (configurations queued by the study, such as the portfolio, included); and
    :meth:`state_dict` / :meth:`load_state_dict` let a search continue elsewhere.
    Trial ids, seeds, the queue of configurations to try first and the records
    belong to the :class:`~sknas.study.Study`. Constructor arguments are settings
    only, so a strategy passed to an estimator clones like any other parameter.
    """

    #: Name recorded as the ``proposer`` of this strategy's proposals.
    name = "strategy"
    #: Whether the study first tries each family's default configuration.
    start_with_defaults = True

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        """Start a new search over ``space``; all randomness comes from ``rng``."""
        self.space_ = space
        self.rng_ = rng

    @abstractmethod
    def propose(self, trial_id: int) -> Proposal:
        """The configuration to try as trial ``trial_id`` (ids increase)."""

    def observe(self, results: Sequence[TrialResult]) -> None:  # noqa: B027 - optional hook
        """Learn from finished trials: completed, pruned (scored at a lower fidelity,
        to be ranked below every completed trial) and failed. The default ignores them."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this search elsewhere (plain data)."""
        return {"rng": self.rng_.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; :meth:`reset` with the same space first."""
        self.rng_.bit_generator.state = state["rng"]

    def _proposal(
        self,
        family: str,
        point: Mapping[str, Any],
        *,
        proposer: str | None = None,
        parent_id: int | None = None,
    ) -> Proposal:
        """The proposal of a point of ``family``'s dimensions."""
        params, genome = self.space_[family].decode(point)
        return Proposal(family, params, genome, proposer or self.name, parent_id)
