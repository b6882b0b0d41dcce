"""The ask/tell interface every strategy implements.

Strategies only propose (:meth:`Strategy.ask`) and learn (:meth:`Strategy.tell`):
they never train, never read the clock and never own the loop
(that is :func:`sknas._search.run_search`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..space import Genome, SearchSpace
from ..trial import Candidate, TrialResult

__all__ = ["Strategy", "candidate_key"]


class Strategy(ABC):
    """Base class of search strategies.

    Subclasses implement :meth:`_propose` (and usually :meth:`tell`); the base
    class numbers candidates, draws their seeds and checks that :meth:`reset` came
    first. Constructor arguments are settings only, so a strategy passed to an
    estimator clones like any other parameter.
    """

    #: Name recorded as the ``proposer`` of the candidates this strategy makes.
    name = "strategy"

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        """Start a new search over ``space``; all randomness comes from ``rng``."""
        self.space_ = space
        self.rng_ = rng
        self.next_trial_id_ = 0

    def ask(self, n: int = 1) -> list[Candidate]:
        """Propose ``n`` new candidates."""
        if not hasattr(self, "space_"):
            raise RuntimeError(f"{type(self).__name__}.reset(space, rng) must be called first.")
        return [self._propose() for _ in range(n)]

    @abstractmethod
    def _propose(self) -> Candidate:
        """Make one candidate (use :meth:`_make_candidate`)."""

    def tell(self, results: Sequence[TrialResult]) -> None:  # noqa: B027 - optional hook
        """Learn from finished trials (failures included). The default ignores them."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this search elsewhere (plain data)."""
        return {"rng": self.rng_.bit_generator.state, "next_trial_id": self.next_trial_id_}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; :meth:`reset` with the same space first."""
        self.rng_.bit_generator.state = state["rng"]
        self.next_trial_id_ = int(state["next_trial_id"])

    def _make_candidate(
        self,
        family: str,
        point: Mapping[str, Any],
        *,
        proposer: str | None = None,
    ) -> Candidate:
        """A candidate from a point of ``family``'s dimensions."""
        params, genome = self.space_[family].decode(point)
        return self._new_candidate(family, params, genome, proposer=proposer)

    def _new_candidate(
        self,
        family: str,
        params: Mapping[str, Any],
        genome: Genome | None,
        *,
        proposer: str | None = None,
        parent_id: int | None = None,
    ) -> Candidate:
        """Number a candidate and draw its seed."""
        candidate = Candidate(
            trial_id=self.next_trial_id_,
            family=family,
            params=dict(params),
            genome=genome,
            seed=int(self.rng_.integers(2**31 - 1)),
            budget_epochs=int(params.get("max_epochs", 1)),  # 1 for classical families
            proposer=proposer or self.name,
            parent_id=parent_id,
        )
        self.next_trial_id_ += 1
        return candidate


def candidate_key(family: str, params: Mapping[str, Any], genome: Genome | None) -> str:
    """Identity of a configuration, for deduplication (floats to 4 significant digits).

    Examples
    --------
    >>> candidate_key("mlp", {"lr": 0.0012345, "batch_size": 64}, None)
    'mlp|None|batch_size=64|lr=0.001234'
    """
    values = "|".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in sorted(params.items())
    )
    return f"{family}|{genome.key() if genome else None}|{values}"
