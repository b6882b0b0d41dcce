"""Random search: the reference every other strategy must beat."""

from __future__ import annotations

from .base import Proposal, Strategy

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
    >>> strategy.propose(0).proposer
    'random'
    """

    name = "random"
    start_with_defaults = False

    def propose(self, trial_id: int) -> Proposal:
        families = self.space_.families
        family = families[int(self.rng_.integers(len(families)))]
        return self._proposal(family.name, family.sample_point(self.rng_))
