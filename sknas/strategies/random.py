"""Random search: the reference every other strategy must beat."""

from __future__ import annotations

from ..trial import Candidate
from .base import Strategy

__all__ = ["RandomStrategy"]


class RandomStrategy(Strategy):
    """Draw a family uniformly, then every dimension of it independently.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.space import default_search_space
    >>> strategy = RandomStrategy()
    >>> strategy.reset(default_search_space("regression", max_epochs=10),
    ...                np.random.default_rng(0))
    >>> [c.trial_id for c in strategy.ask(2)]
    [0, 1]
    """

    name = "random"

    def _propose(self) -> Candidate:
        families = self.space_.families
        family = families[int(self.rng_.integers(len(families)))]
        return self._make_candidate(family.name, family.sample_point(self.rng_))
