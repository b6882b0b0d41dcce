"""The ask/tell interface every strategy implements.

Strategies only propose (:meth:`Strategy.ask`) and learn (:meth:`Strategy.tell`):
they never train, never read the clock and never own the loop
(that is :func:`sknas._search.run_search`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..space import Genome, SearchSpace
from ..trial import Candidate, TrialResult

__all__ = ["Configuration", "Strategy", "candidate_key"]


@dataclass(frozen=True)
class Configuration:
    """A configuration to try, proposed from outside the strategy (an earlier search,
    the portfolio); :meth:`Strategy.enqueue` adapts it to the search space."""

    family: str
    params: dict[str, Any] = field(hash=False)
    genome: Genome | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        genome = None if self.genome is None else self.genome.to_dict()
        return {"family": self.family, "params": dict(self.params), "genome": genome}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Configuration:
        """Inverse of :meth:`to_dict`."""
        genome = data.get("genome")
        return cls(
            data["family"],
            dict(data["params"]),
            None if genome is None else Genome.from_dict(genome),
        )


class Strategy(ABC):
    """Base class of search strategies.

    Subclasses implement :meth:`_propose` (and usually :meth:`tell`); the base
    class numbers candidates, draws their seeds, checks that :meth:`reset` came
    first and proposes :meth:`enqueue` d configurations before anything else.
    Constructor arguments are settings only, so a strategy passed to an estimator
    clones like any other parameter.
    """

    #: Name recorded as the ``proposer`` of the candidates this strategy makes.
    name = "strategy"

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        """Start a new search over ``space``; all randomness comes from ``rng``."""
        self.space_ = space
        self.rng_ = rng
        self.next_trial_id_ = 0
        self.queue_: list[tuple[Configuration, str]] = []

    def enqueue(self, configurations: Sequence[Configuration], proposer: str) -> int:
        """Propose ``configurations`` first, in order, as trials of ``proposer``.

        Each is adapted to the search space (:meth:`FamilySpace.adapt
        <sknas.space.FamilySpace.adapt>`); those of families outside the space, those
        whose genome does not fit the inputs and duplicates are left out. A family with
        a queued configuration does not also start from its default one.

        Returns
        -------
        n_queued : int
            How many of ``configurations`` were queued.
        """
        self._check_reset()
        queued = {candidate_key(c.family, c.params, c.genome) for c, _ in self.queue_}
        n_queued = 0
        for configuration in configurations:
            if configuration.family not in self.space_:
                continue
            adapted = self.space_[configuration.family].adapt(
                configuration.params, configuration.genome
            )
            if adapted is None:
                continue
            key = candidate_key(configuration.family, *adapted)
            if key in queued:
                continue
            queued.add(key)
            self.queue_.append((Configuration(configuration.family, *adapted), proposer))
            n_queued += 1
        return n_queued

    def ask(self, n: int = 1) -> list[Candidate]:
        """Propose ``n`` new candidates (queued configurations first)."""
        self._check_reset()
        return [self._next_candidate() for _ in range(n)]

    def _check_reset(self) -> None:
        if not hasattr(self, "space_"):
            raise RuntimeError(f"{type(self).__name__}.reset(space, rng) must be called first.")

    def _next_candidate(self) -> Candidate:
        if not self.queue_:
            return self._propose()
        configuration, proposer = self.queue_.pop(0)
        candidate = self._new_candidate(
            configuration.family, configuration.params, configuration.genome, proposer=proposer
        )
        self._register(candidate)
        return candidate

    def _register(self, candidate: Candidate) -> None:  # noqa: B027 - optional hook
        """Take note of a queued candidate this strategy did not propose itself."""

    @abstractmethod
    def _propose(self) -> Candidate:
        """Make one candidate (use :meth:`_make_candidate`)."""

    def tell(self, results: Sequence[TrialResult]) -> None:  # noqa: B027 - optional hook
        """Learn from finished trials (failures included). The default ignores them."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this search elsewhere (plain data)."""
        return {
            "rng": self.rng_.bit_generator.state,
            "next_trial_id": self.next_trial_id_,
            "queue": [[c.to_dict(), proposer] for c, proposer in self.queue_],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; :meth:`reset` with the same space first."""
        self.rng_.bit_generator.state = state["rng"]
        self.next_trial_id_ = int(state["next_trial_id"])
        self.queue_ = [(Configuration.from_dict(c), p) for c, p in state.get("queue", [])]

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
