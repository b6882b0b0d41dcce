"""k-fold trials: the folds a search uses, a trial trained on each, and the bag it leaves.

With ``cv`` a trial trains one model per fold and is scored on its out-of-fold
predictions, which cover every row; ensemble selection then weighs members on all
rows instead of a 20 % holdout, and a member is the bag of its fold models, so no
refit is needed. Successive halving judges a trial on its first fold only, so a weak
candidate never pays for the other folds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold

from ..scoring import PredictionScorer
from ..trial import Candidate, TrialResult, TrialState
from .data import DataSplit, split_at
from .evaluator import Evaluator

__all__ = [
    "AUTO_CV_CELLS_PER_SECOND",
    "AUTO_CV_FOLDS",
    "AUTO_CV_MAX_ROWS",
    "BaggedMember",
    "CrossValEvaluator",
    "make_folds",
]

#: Folds of ``cv="auto"`` (and of an int ``cv``'s default splitter: stratified for
#: classification, shuffled).
AUTO_CV_FOLDS = 5
#: ``cv="auto"`` uses k folds when rows x features is at most this many cells per second
#: of ``time_budget`` (150,000 at 60 s: every table under ~2,000 rows of 64 features)...
AUTO_CV_CELLS_PER_SECOND = 2_500
#: ... and the data have at most this many rows; a holdout otherwise, where 20 % of the
#: rows are enough to rank models and a k-fold trial would cost k times as much.
AUTO_CV_MAX_ROWS = 10_000

Folds = list[tuple[np.ndarray, np.ndarray]]


def make_folds(
    cv: Any,
    y: np.ndarray,
    *,
    task: str,
    n_features: int,
    time_budget: float,
    seed: int,
    groups: np.ndarray | None = None,
) -> Folds | None:
    """The ``(train, valid)`` row indices of every fold ``cv`` asks for, or None for a holdout.

    Parameters
    ----------
    cv : "auto", None, int or splitter
        ``"auto"``: :data:`AUTO_CV_FOLDS` folds on small data (see
        :data:`AUTO_CV_CELLS_PER_SECOND`, :data:`AUTO_CV_MAX_ROWS`), else None. An int
        ``k >= 2``: k shuffled folds, stratified for classification. A splitter: its
        ``split(X, y, groups)``.
    y : ndarray of shape (n_samples,)
        Encoded targets (class codes for classification).
    task : {"classification", "regression"}
    n_features : int
        Columns of ``X`` as given (before encoding).
    time_budget : float
        Seconds of the search (the default budget when only ``n_trials`` is set).
    seed : int
        Seeds the splitters that ``cv="auto"`` and an int ``cv`` build.
    groups : ndarray of shape (n_samples,) or None
        Group labels for group-aware splitters.

    Returns
    -------
    list of (ndarray, ndarray) or None

    Raises
    ------
    ValueError
        When the folds cannot be made or one is empty, with what to pass instead.
    """
    n_rows = len(y)
    counts = np.bincount(y) if task == "classification" else None
    if isinstance(cv, str):  # "auto"
        small = n_rows * n_features <= AUTO_CV_CELLS_PER_SECOND * time_budget
        if cv != "auto" or not small or n_rows > AUTO_CV_MAX_ROWS:
            return None
        k = min(AUTO_CV_FOLDS, n_rows // 2)  # every fold validates two rows or more
        if counts is not None:
            k = min(k, int(counts.min()))
        if k < 2:
            return None
        cv = k
    if cv is None:
        return None
    if isinstance(cv, Integral):
        if counts is not None and counts.min() < cv:
            raise ValueError(
                f"cv={cv} needs at least {cv} rows of every class; the smallest class has "
                f"{counts.min()}. Pass a smaller cv, or cv=None for a holdout."
            )
        if cv > n_rows:
            raise ValueError(f"cv={cv} folds need at least {cv} rows; got {n_rows}.")
        splitter: BaseCrossValidator = (
            StratifiedKFold(cv, shuffle=True, random_state=seed)
            if counts is not None
            else KFold(cv, shuffle=True, random_state=seed)
        )
    else:
        splitter = cv
    try:
        folds = [
            (np.asarray(train), np.asarray(valid))
            for train, valid in splitter.split(np.zeros((n_rows, 1)), y, groups)
        ]
    except ValueError as exc:
        raise ValueError(
            f"cv={cv!r} could not split the data: {exc} Pass groups=... to fit for a group "
            "splitter, fewer splits, or cv=None for a holdout."
        ) from exc
    if len(folds) < 2:
        raise ValueError(f"cv={cv!r} made {len(folds)} fold(s); at least 2 are needed.")
    for i, (train, valid) in enumerate(folds):
        if len(train) == 0 or len(valid) == 0:
            part = "training" if len(train) == 0 else "validation"
            raise ValueError(
                f"Fold {i} of cv={cv!r} has an empty {part} part; use a splitter whose "
                "folds all hold rows."
            )
    return folds


@dataclass(frozen=True, eq=False)
class BaggedMember:
    """The models one trial trained on its folds, predicting as their average.

    Parameters
    ----------
    members : tuple
        One trained member per fold, each with ``predict(X)``.
    """

    members: tuple[Any, ...]

    @property
    def genome(self) -> Any:
        """The fold models' architecture (None for the classical families)."""
        return getattr(self.members[0], "genome", None)

    @property
    def n_parameters(self) -> int | None:
        """Trainable parameters of all fold models (None for the classical families)."""
        counts = [getattr(member, "n_parameters", None) for member in self.members]
        return None if None in counts else sum(counts)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The fold models' mean prediction (float64)."""
        total = np.asarray(self.members[0].predict(X), dtype=np.float64)
        for member in self.members[1:]:
            total = total + member.predict(X)
        return total / len(self.members)


class CrossValEvaluator:
    """Trains a candidate on every fold and scores its out-of-fold predictions.

    Parameters
    ----------
    X, y : ndarray
        Preprocessed features and encoded targets of every row.
    folds : list of (ndarray, ndarray)
        Training and validation rows of each fold (:func:`make_folds`).
    task : {"classification", "regression"}
    scorer : PredictionScorer
        Unweighted; weighted here by ``sample_weight``.
    sample_weight : ndarray or None, default=None
    image_shape : tuple of int or None, default=None
    device : str, default="cpu"
    trial_timeout : float or None, default=None
        Seconds one trial may train, shared equally by its folds.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        folds: Folds,
        *,
        task: str,
        scorer: PredictionScorer,
        sample_weight: np.ndarray | None = None,
        image_shape: tuple[int, int, int] | None = None,
        device: str = "cpu",
        trial_timeout: float | None = None,
    ) -> None:
        self.task = task
        self.valid_rows = [valid for _, valid in folds]
        #: Rows some fold validates (all of them, except with splitters such as
        #: ``TimeSeriesSplit`` whose first rows only ever train): out-of-fold
        #: predictions, scores and ensemble selection cover these.
        self.scored_rows = np.unique(np.concatenate(self.valid_rows))
        self.y_valid_true = y[self.scored_rows].astype(
            np.int64 if task == "classification" else np.float64
        )
        self.w_valid = None
        if sample_weight is not None:
            w = sample_weight[self.scored_rows]
            self.w_valid = (w * (len(w) / w.sum())).astype(np.float32)
        self.scorer = scorer.weighted(self.w_valid)
        fold_timeout = None if trial_timeout is None else trial_timeout / len(folds)
        self.evaluators = []
        for train, valid in folds:
            split = split_at(
                X, y, train, valid, task=task, sample_weight=sample_weight, image_shape=image_shape
            )
            self.evaluators.append(
                Evaluator(
                    split,
                    scorer.weighted(split.w_valid),
                    device=device,
                    trial_timeout=fold_timeout,
                )
            )

    @property
    def split(self) -> DataSplit:
        """The first fold's split (its shapes and encodings are every fold's)."""
        return self.evaluators[0].split

    @property
    def device(self) -> str:
        """Torch device the folds train on."""
        return self.evaluators[0].device

    def device_for(self, candidate: Candidate) -> str:
        """The device a trial trains on (see :meth:`Evaluator.device_for`)."""
        return self.evaluators[0].device_for(candidate)

    def __call__(self, candidate: Candidate, deadline: float | None = None) -> TrialResult:
        """Train ``candidate`` on each fold in turn; ``deadline`` is a ``time.monotonic()`` value.

        The first fold trains under the candidate's successive-halving fidelity: pruned
        there, the trial is PRUNED with that fold's score and no member. A fold that
        fails fails the trial, and so does the deadline passing before the last fold.
        """
        start = time.perf_counter()
        parent = candidate.parent_model
        results = []
        for k, evaluator in enumerate(self.evaluators):
            if k and deadline is not None and time.monotonic() >= deadline:
                return self._failed(
                    candidate,
                    start,
                    f"stopped by the time budget after {k} of {len(self.evaluators)} folds",
                )
            fold = candidate if k == 0 else replace(candidate, fidelity=None)
            if isinstance(parent, BaggedMember):  # each fold inherits from the same fold
                fold = replace(fold, parent_model=parent.members[k])
            result = evaluator(fold, deadline)
            if result.state is TrialState.FAIL:
                return self._failed(candidate, start, f"{result.error} (fold {k})")
            if result.state is TrialState.PRUNED:
                return replace(result, candidate=candidate, valid_pred=None, member=None)
            results.append(result)
        return self._combined(candidate, results)

    def _combined(self, candidate: Candidate, results: Sequence[TrialResult]) -> TrialResult:
        first = results[0]
        shape = (len(self.y_valid_true),) + first.valid_pred.shape[1:]
        out_of_fold = np.zeros(shape, dtype=np.float64)
        times_validated = np.zeros(len(self.y_valid_true))
        for rows, result in zip(self.valid_rows, results, strict=True):
            at = np.searchsorted(self.scored_rows, rows)
            np.add.at(out_of_fold, at, result.valid_pred)
            np.add.at(times_validated, at, 1)
        # A row several folds validate (ShuffleSplit, repeated k-fold) gets their mean.
        out_of_fold /= times_validated.reshape((-1,) + (1,) * (out_of_fold.ndim - 1))
        notes = sorted({r.error for r in results if r.error})
        return TrialResult(
            candidate,
            TrialState.COMPLETE,
            score=self.scorer(self.y_valid_true, out_of_fold),
            fit_time=sum(r.fit_time for r in results),
            predict_time=sum(r.predict_time for r in results),
            n_epochs=round(np.mean([r.n_epochs for r in results])),
            valid_pred=out_of_fold,
            member=BaggedMember(tuple(r.member for r in results)),
            error="; ".join(notes) or None,
            rung_scores=first.rung_scores,
            best_epoch=first.best_epoch,
            n_parameters=first.n_parameters,
            inherited=first.inherited,
        )

    @staticmethod
    def _failed(candidate: Candidate, start: float, error: str) -> TrialResult:
        return TrialResult(
            candidate, TrialState.FAIL, fit_time=time.perf_counter() - start, error=error
        )
