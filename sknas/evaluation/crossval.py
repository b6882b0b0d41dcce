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
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.model_selection import (
    BaseCrossValidator,
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from ..cost_model import FITTED_WHOLE
from ..scoring import PredictionScorer
from ..trial import Candidate, TrialResult, TrialState
from .classical import CategoryCodes
from .data import DataSplit, dense_rows, split_at
from .evaluator import Evaluator
from .members import NeuralMember, _threads_for
from .stacked import StackedNet, stack_modules

__all__ = [
    "AUTO_CV_CELLS_PER_SECOND",
    "AUTO_CV_FOLDS",
    "AUTO_CV_MAX_ROWS",
    "BaggedMember",
    "CrossValEvaluator",
    "STACK_MAX_ROWS",
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


def _k_folds(k: int, *, stratified: bool, grouped: bool, seed: int) -> BaseCrossValidator:
    """Shuffled k-fold splits: stratified by class when ``stratified``, keeping each
    group to one side of every fold when ``grouped`` (rows of one patient, shop or
    session validated by a model trained on their others would score it too well)."""
    if grouped:
        kind = StratifiedGroupKFold if stratified else GroupKFold
        return kind(k, shuffle=True, random_state=seed)
    kind = StratifiedKFold if stratified else KFold
    return kind(k, shuffle=True, random_state=seed)


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
        ``k >= 2``: k shuffled folds, stratified for classification, and with ``groups``
        no group on both sides of a fold. A splitter: its ``split(X, y, groups)``.
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
        if groups is not None:
            k = min(k, len(np.unique(groups)))
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
        splitter = _k_folds(
            cv, stratified=counts is not None, grouped=groups is not None, seed=seed
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
        raise ValueError(
            f"cv={cv!r} made {len(folds)} fold(s); at least 2 are needed. For a single "
            "holdout pass cv=None and validation_fraction (the share of rows held out)."
        )
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

    When the folds are tabular networks of one genome (one trial's folds always share
    it), up to :data:`STACK_MAX_ROWS` rows go through all of them in one batched pass
    (:class:`~sknas.evaluation.stacked.StackedNet`, built on first use and left out of
    pickles and of :mod:`sknas.persistence`'s parts) instead of one torch call per
    fold; its probabilities differ from the folds' own by at most
    :data:`~sknas.evaluation.stacked.STACKING_TOLERANCE` (1e-6; standardised regression
    values by as much relative to their magnitude beyond 1). More rows, a
    network with convolutions and classical folds predict fold by fold.

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
        stacked = self._stacked() if X.shape[0] <= STACK_MAX_ROWS else None
        if stacked is not None:
            folds = self._stacked_outputs(stacked, X)
        else:
            folds = [member.predict(X) for member in self.members]
        total = np.asarray(folds[0], dtype=np.float64)
        for fold in folds[1:]:
            total = total + fold
        return total / len(self.members)

    def _stacked(self) -> _StackedBag | None:
        """The fold networks stacked (None when they cannot be), built on first use."""
        if "_stacked_cache" not in self.__dict__:
            # Assigned whole once built: threads predicting at once see none or all of it.
            object.__setattr__(self, "_stacked_cache", _stack_bag(self.members))
        return self.__dict__["_stacked_cache"]

    def _stacked_outputs(self, stacked: _StackedBag, X: np.ndarray) -> np.ndarray:
        """Each fold's prediction on ``X``, ``(k, n, n_classes)`` or ``(k, n)``, float64."""
        task = self.members[0].task
        with torch.inference_mode(), _threads_for(stacked.bytes_per_row * X.shape[0]):
            rows = torch.tensor(dense_rows(X), dtype=torch.float32)
            out = stacked.net(rows).double()
            if task == "classification":
                return torch.softmax(out, dim=2).numpy()
            out = out[:, :, 0].numpy()
        return out * stacked.target_scale + stacked.target_mean

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_stacked_cache", None)
        return state


#: Most rows a bag of networks predicts stacked: beyond about 128 rows one matrix
#: product per fold is as fast (measured on 2-core CPUs, 1 thread).
STACK_MAX_ROWS = 128


class _StackedBag(NamedTuple):
    """A bag's fold networks stacked, with what maps their outputs to predictions."""

    net: StackedNet
    bytes_per_row: int
    target_scale: np.ndarray  # (k, 1): each fold's own target standardisation
    target_mean: np.ndarray


def _stack_bag(members: Sequence[Any]) -> _StackedBag | None:
    """``members`` as one :class:`StackedNet`, or None unless they are networks of one
    architecture that can be stacked."""
    first = members[0]
    if not all(isinstance(member, NeuralMember) for member in members):
        return None
    shape = (first.genome, first.n_features, first.n_outputs, first.task, first.image_shape)
    if first.image_shape is not None or any(
        (m.genome, m.n_features, m.n_outputs, m.task, m.image_shape) != shape for m in members
    ):
        return None
    servings = [member._serving() for member in members]
    net = stack_modules([serving.module for serving in servings])
    if net is None:
        return None
    return _StackedBag(
        net,
        sum(serving.bytes_per_row for serving in servings),
        np.array([[member.target_scale] for member in members]),
        np.array([[member.target_mean] for member in members]),
    )


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
    category_codes : CategoryCodes or None, default=None
        What gradient boosting splits on natively (see :class:`DataSplit`).
    device : str, default="cpu"
    trial_timeout : float or None, default=None
        Seconds one trial may train, shared equally by its fits: with k folds a
        network trains k + 1 (:meth:`__call__`), and a classical trial, which trains
        k, gets the same share of it for each.
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
        category_codes: CategoryCodes | None = None,
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
        self.evaluators = []
        for train, valid in folds:
            split = split_at(
                X,
                y,
                train,
                valid,
                task=task,
                sample_weight=sample_weight,
                image_shape=image_shape,
                category_codes=category_codes,
            )
            self.evaluators.append(
                Evaluator(
                    split,
                    scorer.weighted(split.w_valid),
                    device=device,
                    trial_timeout=trial_timeout,
                    timeout_shares=len(folds) + 1,
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

    def probe_rows(self, n: int) -> Any:
        """A copy of the first fold's first ``n`` training rows, to time predictions on."""
        return self.evaluators[0].probe_rows(n)

    def __call__(self, candidate: Candidate, deadline: float | None = None) -> TrialResult:
        """Train ``candidate`` on each fold in turn; ``deadline`` is a ``time.monotonic()`` value.

        The first fold trains under the candidate's successive-halving fidelity: pruned
        there, the trial is PRUNED with that fold's score and no member. A network's
        first fold early-stops on its validation rows; the other folds train the
        epochs at which it had its best validation loss (on its schedule, shortened to
        end before the deadline if it was), without early stopping, and so, once they
        are done, does the first fold again, from another seed
        (:meth:`_first_fold_retrained`): no out-of-fold prediction was chosen on the
        rows it predicts (a fold that keeps its best epoch on 7 rows scores them
        optimistically, and ensemble selection then favours networks over models that
        choose nothing on them; on diabetes a network's early-stopped first fold
        scored its rows 0.039 R² above what its other folds scored theirs). A
        fold that fails fails the trial, and so does the deadline passing before the
        last fold, or, for a family nothing stops within a fold
        (:data:`~sknas.cost_model.FITTED_WHOLE`), coming before another fold as slow
        as the slowest so far could end (on ACSF1 a MiniRocket fit with a logistic head
        takes 12-26 s; a 120 s search there ended at 142 s when only the deadline was
        checked).
        """
        start = time.perf_counter()
        epochs = None  # the later folds' epochs, from the first fold
        schedule_epochs = candidate.budget_epochs
        results = []
        for k, evaluator in enumerate(self.evaluators):
            if k and deadline is not None:
                time_left = deadline - time.monotonic()
                slowest = max(r.fit_time + r.predict_time for r in results)
                if time_left <= 0 or (candidate.family in FITTED_WHOLE and slowest > time_left):
                    return self._failed(
                        candidate,
                        start,
                        f"stopped by the time budget after {k} of {len(self.evaluators)} "
                        f"folds ({slowest:.1f} s a fold, {max(0.0, time_left):.1f} s left)",
                    )
            result = evaluator(self._fold(candidate, k, schedule_epochs, k > 0), deadline, epochs)
            if result.state is TrialState.FAIL:
                return self._failed(candidate, start, f"{result.error} (fold {k})")
            if result.state is TrialState.PRUNED:
                return replace(result, candidate=candidate, valid_pred=None, member=None)
            results.append(result)
            if candidate.genome is not None:
                epochs = max(1, results[0].best_epoch)
            schedule_epochs = results[0].candidate.budget_epochs
        runs = list(results)  # every fit, which the trial's times and epochs count
        if epochs is not None:
            retrained, problem = self._first_fold_retrained(
                self._fold(candidate, 0, schedule_epochs, True), deadline, epochs
            )
            runs += [retrained] if retrained is not None else []
            if problem is None:
                results[0] = retrained
            else:
                note = f"first fold kept early-stopped: {problem}"
                notes = [results[0].error, note] if results[0].error else [note]
                results[0] = replace(results[0], error="; ".join(notes))
        return self._combined(replace(candidate, budget_epochs=schedule_epochs), results, runs)

    def _fold(self, candidate: Candidate, k: int, schedule_epochs: int, fixed: bool) -> Candidate:
        """``candidate`` as fold ``k`` trains it: with its time limit shared equally by
        its fits (:meth:`n_fits`), inheriting from the same fold of a bagged parent,
        and, when ``fixed`` (the epochs of the first fold's early stopping), without
        successive halving on the first fold's schedule (shortened there if it was)."""
        fold = candidate
        if fixed:
            fold = replace(candidate, fidelity=None, budget_epochs=schedule_epochs)
        if candidate.time_limit is not None:
            fold = replace(fold, time_limit=candidate.time_limit / self.n_fits(candidate))
        if isinstance(candidate.parent_model, BaggedMember):
            fold = replace(fold, parent_model=candidate.parent_model.members[k])
        return fold

    def n_fits(self, candidate: Candidate) -> int:
        """Fits of a complete trial of ``candidate``: one a fold, and a network's first
        fold once more (:meth:`_first_fold_retrained`)."""
        return len(self.evaluators) + (candidate.genome is not None)

    def _first_fold_retrained(
        self, fold: Candidate, deadline: float | None, epochs: int
    ) -> tuple[TrialResult | None, str | None]:
        """The first fold trained again for ``epochs`` without early stopping, from a
        seed of its own (from the same seed it would retrace the early-stopped run,
        whose best epoch its validation rows chose), and why it cannot replace the
        early-stopped run (None when it can): no time left, a failure, or the deadline
        cutting it short."""
        if deadline is not None and deadline <= time.monotonic():
            return None, "no time to retrain it"
        retrained = self.evaluators[0](replace(fold, seed=fold.seed + 1), deadline, epochs)
        if retrained.state is not TrialState.COMPLETE:
            return retrained, f"retraining it failed ({retrained.error})"
        if retrained.n_epochs < epochs:
            return retrained, "the deadline cut its retraining short"
        return retrained, None

    def _combined(
        self, candidate: Candidate, results: Sequence[TrialResult], runs: Sequence[TrialResult]
    ) -> TrialResult:
        """One result from the folds' ``results`` (their predictions and models) and every
        fit of the trial, ``runs``, whose first (the first fold's early-stopped run) is
        what successive halving and the record know of its epochs."""
        first = runs[0]
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
            fit_time=sum(r.fit_time for r in runs),
            predict_time=sum(r.predict_time for r in runs),
            n_epochs=round(np.mean([r.n_epochs for r in runs])),
            valid_pred=out_of_fold,
            member=BaggedMember(tuple(r.member for r in results)),
            error="; ".join(notes) or None,
            rung_scores=first.rung_scores,
            best_epoch=first.best_epoch,
            n_parameters=first.n_parameters,
            inherited=first.inherited,
            work_done=float(np.mean([r.work_done for r in runs])),
            improving=all(r.improving for r in results),
        )

    @staticmethod
    def _failed(candidate: Candidate, start: float, error: str) -> TrialResult:
        return TrialResult(
            candidate, TrialState.FAIL, fit_time=time.perf_counter() - start, error=error
        )
