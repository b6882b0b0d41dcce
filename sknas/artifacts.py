"""What trials leave behind besides their record: trained members and validation predictions.

A :class:`~sknas.history.SearchHistory` keeps every trial's record light (configuration,
state, scores, times); the models and predictions live here, by trial id, and only for
the best trials, so memory stays bounded however long a search (or a chain of warm
starts) runs. Under ``checkpoint_dir`` the journal also writes each trial's artifacts to
a checksummed file of its own (:mod:`sknas.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["ArtifactStore", "TrialArtifacts"]


class TrialArtifacts(NamedTuple):
    """One trial's trained member and its validation (or out-of-fold) predictions."""

    member: Any
    valid_pred: np.ndarray


class ArtifactStore:
    """The artifacts of the best-ranked trials, by trial id.

    Trials rank by validation score, then by ``tie_breaker`` of their predictions,
    then by arrival (earlier first): the order in which ensemble selection takes its
    library of candidates (:class:`~sknas.ensemble.GreedyEnsembler`), so keeping its
    ``max_candidates`` keeps every model selection would look at. Pinned trials (the
    search's default baselines, which :func:`~sknas.ensemble.check_against_baselines`
    compares the selection with) are kept whatever their rank and count on top of
    ``max_models``: a search of 300 trials on 331 rows otherwise released them, and the
    check never ran.

    Parameters
    ----------
    max_models : int or None, default=None
        Most trials whose artifacts are kept; adding one more releases those of the
        lowest-ranked. None keeps all.
    tie_breaker : callable or None, default=None
        ``tie_breaker(valid_pred) -> float``, higher is better; None ranks equal
        scores by arrival only.
    """

    def __init__(
        self,
        max_models: int | None = None,
        tie_breaker: Callable[[np.ndarray], float] | None = None,
    ) -> None:
        self.max_models = max_models
        self.tie_breaker = tie_breaker
        self._artifacts: dict[int, TrialArtifacts] = {}
        self._ranks: dict[int, tuple[float, float, int]] = {}  # of the unpinned
        self._arrivals = 0

    def put(
        self, trial_id: int, score: float, artifacts: TrialArtifacts, *, pinned: bool = False
    ) -> None:
        """Keep ``artifacts`` of trial ``trial_id`` (validation score ``score``), then
        release the lowest-ranked unpinned trial's while more than ``max_models``
        unpinned are held; a ``pinned`` trial's are never released."""
        self._artifacts[trial_id] = artifacts
        if pinned:
            return
        tie = 0.0 if self.tie_breaker is None else float(self.tie_breaker(artifacts.valid_pred))
        self._ranks[trial_id] = (score, tie if np.isfinite(tie) else -np.inf, -self._arrivals)
        self._arrivals += 1
        while self.max_models is not None and len(self._ranks) > self.max_models:
            worst = min(self._ranks, key=self._ranks.__getitem__)
            del self._artifacts[worst], self._ranks[worst]

    def get(self, trial_id: int) -> TrialArtifacts | None:
        """Trial ``trial_id``'s artifacts, or None when they were released or never made."""
        return self._artifacts.get(trial_id)

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._artifacts

    def __len__(self) -> int:
        return len(self._artifacts)
