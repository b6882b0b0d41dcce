"""``FittedEnsemble``: what a fitted estimator predicts with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["FittedEnsemble"]


class FittedEnsemble:
    """A weighted average of trained members' predictions.

    Parameters
    ----------
    members : sequence
        Objects with ``predict(X)`` returning class probabilities ``(n, n_classes)``
        or values ``(n,)``.
    weights : sequence of float
        Non-negative; normalised to sum to one.
    trial_ids : sequence of int
        The trial each member comes from.

    Attributes
    ----------
    members_ : list
    weights_ : ndarray of shape (n_members,)
    trial_ids_ : list of int
    """

    def __init__(
        self, members: Sequence[Any], weights: Sequence[float], trial_ids: Sequence[int]
    ) -> None:
        weights = np.asarray(weights, dtype=np.float64)
        if len(members) == 0 or len(members) != len(weights) or len(weights) != len(trial_ids):
            raise ValueError("An ensemble needs one weight and one trial id per member.")
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"Ensemble weights must be non-negative, not all zero: {weights}.")
        self.members_ = list(members)
        self.weights_ = weights / weights.sum()
        self.trial_ids_ = [int(t) for t in trial_ids]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Weighted average of the members' predictions (float64)."""
        total = None
        for member, weight in zip(self.members_, self.weights_, strict=True):
            pred = weight * member.predict(X)
            total = pred if total is None else total + pred
        return total

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{t}: {w:.2f}" for t, w in zip(self.trial_ids_, self.weights_, strict=True)
        )
        return f"FittedEnsemble({{{parts}}})"
