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

from .utils._bytes import pickled_bytes

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
    ``max_models`` and ``max_bytes``: a search of 300 trials on 331 rows otherwise
    released them, and the check never ran.

    Parameters
    ----------
    max_models : int or None, default=None
        Most trials whose artifacts are kept; adding one more releases those of the
        lowest-ranked. None keeps all.
    tie_breaker : callable or None, default=None
        ``tie_breaker(valid_pred) -> float``, higher is better; None ranks equal
        scores by arrival only.
    max_bytes : int or None, default=None
        Most bytes the unpinned trials' artifacts may take (members pickled, plus their
        predictions); the lowest-ranked are released while they take more, except the
        best one. None bounds only their number.
    """

    def __init__(
        self,
        max_models: int | None = None,
        tie_breaker: Callable[[np.ndarray], float] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.max_models = max_models
        self.tie_breaker = tie_breaker
        self.max_bytes = max_bytes
        self._artifacts: dict[int, TrialArtifacts] = {}
        self._ranks: dict[int, tuple[float, float, int]] = {}  # of the unpinned
        self._bytes: dict[int, int] = {}  # of the unpinned, where max_bytes is set
        self._arrivals = 0

    def put(
        self, trial_id: int, score: float, artifacts: TrialArtifacts, *, pinned: bool = False
    ) -> None:
        """Keep ``artifacts`` of trial ``trial_id`` (validation score ``score``), then
        release the lowest-ranked unpinned trial's while more than ``max_models``
        unpinned are held or they take more than ``max_bytes``; a ``pinned`` trial's
        are never released."""
        self._artifacts[trial_id] = artifacts
        if pinned:
            return
        tie = 0.0 if self.tie_breaker is None else float(self.tie_breaker(artifacts.valid_pred))
        self._ranks[trial_id] = (score, tie if np.isfinite(tie) else -np.inf, -self._arrivals)
        self._arrivals += 1
        if self.max_bytes is not None:
            self._bytes[trial_id] = pickled_bytes(artifacts.member) + artifacts.valid_pred.nbytes
        while self._over_bounds():
            worst = min(self._ranks, key=self._ranks.__getitem__)
            del self._artifacts[worst], self._ranks[worst]
            self._bytes.pop(worst, None)

    @property
    def unpinned_bytes(self) -> int:
        """Bytes the unpinned trials' artifacts take (0 where ``max_bytes`` is None)."""
        return sum(self._bytes.values())

    def _over_bounds(self) -> bool:
        if self.max_models is not None and len(self._ranks) > self.max_models:
            return True
        over = self.max_bytes is not None and self.unpinned_bytes > self.max_bytes
        return over and len(self._ranks) > 1

    def get(self, trial_id: int) -> TrialArtifacts | None:
        """Trial ``trial_id``'s artifacts, or None when they were released or never made."""
        return self._artifacts.get(trial_id)

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._artifacts

    def __len__(self) -> int:
        return len(self._artifacts)
