"""Aging (regularized) evolution over genomes and training parameters.

Real et al., "Regularized Evolution for Image Classifier Architecture Search"
(AAAI 2019): a population of recent trials; each child is one mutation of the best
of a random sample (tournament); the oldest member dies when a child joins, so an
old lucky result cannot dominate forever.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..space import Genome, SearchSpace
from ..space.mutations import mutate
from ..trial import TrialResult, TrialState
from .base import Proposal, Strategy, candidate_key

__all__ = ["RegularizedEvolutionStrategy", "ScoredConfiguration"]


@dataclass(frozen=True)
class ScoredConfiguration:
    """A scored trial's configuration and score: what evolution keeps of it.

    ``complete`` is False for a trial pruned at a lower fidelity: it ranks below
    every completed one (:meth:`rank`), as Optuna's TPE ranks pruned trials.
    """

    trial_id: int
    family: str
    params: dict[str, Any]
    genome: Genome | None  # None for the classical families
    score: float
    complete: bool = True

    @classmethod
    def from_result(cls, result: TrialResult) -> ScoredConfiguration:
        """Keep the configuration of a scored trial (not its model)."""
        c = result.candidate
        complete = result.state is TrialState.COMPLETE
        return cls(c.trial_id, c.family, dict(c.params), c.genome, float(result.score), complete)

    def rank(self) -> tuple[bool, float, int]:
        """Sort key: completed before pruned, then score, then the earlier trial."""
        return (self.complete, self.score, -self.trial_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {
            "trial_id": self.trial_id,
            "family": self.family,
            "params": dict(self.params),
            "genome": None if self.genome is None else self.genome.to_dict(),
            "score": self.score,
            "complete": self.complete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoredConfiguration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            int(data["trial_id"]),
            data["family"],
            dict(data["params"]),
            None if data["genome"] is None else Genome.from_dict(data["genome"]),
            float(data["score"]),
            bool(data["complete"]),
        )


class RegularizedEvolutionStrategy(Strategy):
    """Aging evolution of the neural families' genomes.

    Parameters
    ----------
    population_size : int, default=16
        Most members alive at once; the oldest dies when a new one joins.
    sample_size : int, default=4
        Tournament size: the best of this many random members is the parent.
        Evolution starts once this many trials joined the population, or at once when
        another strategy seeded it (:meth:`seed_population`); before, it proposes random
        networks.
    max_retries : int, default=25
        Mutations tried per child before accepting a configuration seen before.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.space import default_search_space
    >>> strategy = RegularizedEvolutionStrategy()
    >>> strategy.reset(default_search_space("regression", max_epochs=10),
    ...                np.random.default_rng(0))
    >>> strategy.propose(0).proposer
    'evolution:init'
    """

    name = "evolution"

    def __init__(self, population_size: int = 16, sample_size: int = 4, max_retries: int = 25):
        self.population_size = population_size
        self.sample_size = sample_size
        self.max_retries = max_retries

    def reset(self, space: SearchSpace, rng: np.random.Generator) -> None:
        super().reset(space, rng)
        self.population_: deque[ScoredConfiguration] = deque()
        self.seen_: set[str] = set()
        self.seeded_ = False

    def seed_population(self, configurations: Sequence[ScoredConfiguration]) -> None:
        """Replace the population (e.g. with another strategy's best trials).

        The best configuration joins last, so it lives longest. Mutation starts with the
        next proposal, even from fewer members than a tournament samples: they are
        trials chosen as the best, not random networks.
        """
        self.population_.clear()
        for configuration in sorted(configurations, key=ScoredConfiguration.rank):
            self._join(configuration)
        self.seeded_ = bool(self.population_)

    def propose(self, trial_id: int) -> Proposal:
        started = min(self.sample_size, self.population_size)
        if len(self.population_) < (1 if self.seeded_ else started):
            neural = [f for f in self.space_.families if f.is_neural] or self.space_.families
            family = neural[int(self.rng_.integers(len(neural)))]
            proposal = self._proposal(
                family.name, family.sample_point(self.rng_), proposer=f"{self.name}:init"
            )
            self.seen_.add(candidate_key(proposal.family, proposal.params, proposal.genome))
            return proposal
        members = list(self.population_)
        picks = self.rng_.choice(
            len(members), size=min(self.sample_size, len(members)), replace=False
        )
        parent = max((members[i] for i in picks), key=ScoredConfiguration.rank)
        family = self.space_[parent.family]
        genome, params, _ = mutate(parent.genome, parent.params, family, self.rng_)
        for _ in range(self.max_retries - 1):
            if candidate_key(parent.family, params, genome) not in self.seen_:
                break
            genome, params, _ = mutate(parent.genome, parent.params, family, self.rng_)
        self.seen_.add(candidate_key(parent.family, params, genome))
        return Proposal(parent.family, params, genome, self.name, parent.trial_id)

    def observe(self, results: Sequence[TrialResult]) -> None:
        """Scored trials of neural families join the population (whoever proposed them).

        Pruned trials join ranked below every completed one, so they win a tournament
        only against other pruned trials, but still count as explored.
        """
        for result in results:
            candidate = result.candidate
            self.seen_.add(candidate.configuration.key())
            if result.scored and candidate.genome is not None and candidate.family in self.space_:
                self._join(ScoredConfiguration.from_result(result))

    def _join(self, configuration: ScoredConfiguration) -> None:
        self.population_.append(configuration)
        while len(self.population_) > self.population_size:
            self.population_.popleft()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "population": [member.to_dict() for member in self.population_],
            "seen": sorted(self.seen_),
            "seeded": self.seeded_,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.population_ = deque(ScoredConfiguration.from_dict(m) for m in state["population"])
        self.seen_ = set(state["seen"])
        self.seeded_ = bool(state["seeded"])
