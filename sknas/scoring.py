"""Scoring from predictions: what validation, selection and ensembling optimise.

sklearn scorers call an estimator; the search scores stored validation
predictions instead (class probabilities or regression values), so each
supported ``scoring`` name maps to a metric on predictions. Scores are
"greater is better", as in sklearn (losses are negated).

Ensemble selection scores thousands of candidate averages, where sklearn's input
validation (a fraction of a millisecond a call) dominates; so accuracy, balanced
accuracy, the F1 scores, ROC AUC, log loss and every regression metric are computed in
numpy here, and tests check them against sklearn's. (With scikit-learn's balanced
accuracy, ensemble selection and its baseline check took 7-10 s after the deadline of a
60 s search on 564-654 rows of carData's Mroz and AER's SwissLabor.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.model_selection import StratifiedKFold

__all__ = [
    "PredictionScorer",
    "SCORINGS",
    "THRESHOLD_METRICS",
    "fit_decision_threshold",
    "get_prediction_scorer",
    "predicted_classes",
]

Weights = np.ndarray | None
Metric = Callable[[np.ndarray, np.ndarray, Weights], float]


@dataclass(frozen=True)
class PredictionScorer:
    """A metric on stored predictions.

    Parameters
    ----------
    name : str
        sklearn scoring name.
    metric : callable
        ``metric(y_true, pred, sample_weight)``; ``pred`` is ``(n, n_classes)``
        probabilities for classification and ``(n,)`` values for regression.
    sample_weight : ndarray or None, default=None
        Weights of the rows this scorer is applied to (the validation rows).
    threshold : float or None, default=None
        A binary classifier's decision threshold on the second class's probability
        (:func:`fit_decision_threshold`), which the labels are scored at; None: the
        most probable class.
    """

    name: str
    metric: Metric
    sample_weight: np.ndarray | None = field(default=None, repr=False, compare=False)
    threshold: float | None = None

    def __call__(self, y_true: np.ndarray, pred: np.ndarray) -> float:
        """The score, greater is better."""
        if self.threshold is not None:  # the labels as one-hot rows: argmax decides them
            pred = np.eye(pred.shape[1])[predicted_classes(pred, self.threshold)]
        return float(self.metric(y_true, pred, self.sample_weight))

    def weighted(self, sample_weight: np.ndarray | None) -> PredictionScorer:
        """The same metric, weighting rows by ``sample_weight``."""
        return replace(self, sample_weight=sample_weight)


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.argmax(proba, axis=1)


def _roc_auc(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    """ROC AUC as scikit-learn's ``roc_auc_score`` (one-vs-rest, macro, for more than two
    classes): a ValueError where a binary ``y`` holds one class, NaN where a class of
    more is absent."""
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    if proba.shape[1] == 2:
        if np.all(y == y[0]):
            raise ValueError("Only one class present in y_true. ROC AUC score is not defined.")
        return _binary_auc(y == 1, proba[:, 1], w)
    return float(np.mean([_binary_auc(y == c, proba[:, c], w) for c in range(proba.shape[1])]))


def _binary_auc(positive: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    """The weighted share of (positive, negative) pairs ranked right, ties counting half:
    the area under scikit-learn's ROC curve (NaN without both kinds of rows)."""
    if positive.all() or not positive.any():
        return float("nan")
    order = np.argsort(score, kind="stable")
    score, positive, w = score[order], positive[order], w[order]
    tie_group = np.cumsum(np.r_[True, score[1:] != score[:-1]]) - 1
    pos = np.bincount(tie_group, weights=w * positive)
    neg = np.bincount(tie_group, weights=w * ~positive)
    negatives_below = np.cumsum(neg) - neg
    return float(np.sum(pos * (negatives_below + 0.5 * neg)) / (pos.sum() * neg.sum()))


def _accuracy(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    return float(np.average(_labels(proba) == y, weights=w))


def _class_counts(y: np.ndarray, proba: np.ndarray, w: Weights) -> tuple[np.ndarray, ...]:
    """The predicted labels and, per class, the weight of its rows (support), of those
    predicted as it (hits) and of all rows predicted as it (claimed)."""
    n_classes = proba.shape[1]
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    predicted = _labels(proba)
    support = np.bincount(y, weights=w, minlength=n_classes)
    hits = np.bincount(y, weights=w * (predicted == y), minlength=n_classes)
    claimed = np.bincount(predicted, weights=w, minlength=n_classes)
    return predicted, support, hits, claimed


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    """The mean recall over the classes of ``y`` (of positive weight), as scikit-learn's
    ``balanced_accuracy_score``."""
    _, support, hits, _ = _class_counts(y, proba, w)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


def _f1_by_class(y: np.ndarray, proba: np.ndarray, w: Weights) -> tuple[np.ndarray, ...]:
    """Each class's F1 score, its weighted support, and whether it is one of the labels
    scikit-learn averages over (those in ``y`` or predicted, whatever their weights)."""
    n_classes = proba.shape[1]
    predicted, support, hits, claimed = _class_counts(y, proba, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.nan_to_num(2 * hits / (support + claimed))  # 0 where undefined, as sklearn
    labels = (np.bincount(y, minlength=n_classes) + np.bincount(predicted, minlength=n_classes)) > 0
    return f1, support, labels


def _f1_macro(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    f1, _, labels = _f1_by_class(y, proba, w)
    return float(np.mean(f1[labels]))


def _f1_weighted(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    f1, support, labels = _f1_by_class(y, proba, w)
    total = support[labels].sum()
    return float(np.dot(f1[labels], support[labels]) / total) if total > 0 else 0.0


def _neg_log_loss(y: np.ndarray, proba: np.ndarray, w: Weights) -> float:
    eps = np.finfo(proba.dtype).eps
    return float(np.average(np.log(np.clip(proba[np.arange(len(y)), y], eps, 1.0)), weights=w))


def _neg_mean_squared_error(y: np.ndarray, pred: np.ndarray, w: Weights) -> float:
    return -float(np.average((y - pred) ** 2, weights=w))


def _r2(y: np.ndarray, pred: np.ndarray, w: Weights) -> float:
    total = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    if total == 0:  # as sklearn: perfect predictions score 1, others 0
        return 1.0 if np.sum((y - pred) ** 2) == 0 else 0.0
    return float(1.0 - np.average((y - pred) ** 2, weights=w) / total)


def _neg_root_mean_squared_error(y: np.ndarray, pred: np.ndarray, w: Weights) -> float:
    return -float(np.sqrt(np.average((y - pred) ** 2, weights=w)))


def _neg_mean_absolute_error(y: np.ndarray, pred: np.ndarray, w: Weights) -> float:
    return -float(np.average(np.abs(y - pred), weights=w))


_CLASSIFICATION: dict[str, Metric] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "f1_macro": _f1_macro,
    "f1_weighted": _f1_weighted,
    "neg_log_loss": _neg_log_loss,
    "roc_auc": _roc_auc,
}
_REGRESSION: dict[str, Metric] = {
    "r2": _r2,
    "neg_mean_squared_error": _neg_mean_squared_error,
    "neg_root_mean_squared_error": _neg_root_mean_squared_error,
    "neg_mean_absolute_error": _neg_mean_absolute_error,
}
#: Supported ``scoring`` names per task.
SCORINGS = {"classification": tuple(_CLASSIFICATION), "regression": tuple(_REGRESSION)}


def get_prediction_scorer(scoring: str | None, task: str) -> PredictionScorer:
    """Resolve an estimator's ``scoring`` for ``task``.

    Parameters
    ----------
    scoring : str or None
        A name from :data:`SCORINGS`; None means accuracy (classification) or
        R² (regression), matching the estimator's ``score``.
    task : {"classification", "regression"}

    Returns
    -------
    PredictionScorer

    Examples
    --------
    >>> import numpy as np
    >>> get_prediction_scorer(None, "classification")(np.array([0, 1]),
    ...                                                np.array([[0.9, 0.1], [0.2, 0.8]]))
    1.0
    """
    table = _CLASSIFICATION if task == "classification" else _REGRESSION
    name = scoring or ("accuracy" if task == "classification" else "r2")
    if name not in table:
        raise ValueError(
            f"scoring={scoring!r} is not supported for {task}; use one of {sorted(table)}."
        )
    return PredictionScorer(name, table[name])


#: Label metrics whose best binary decision is not the most probable class even when the
#: probabilities are calibrated (as they are close to for accuracy), so a fitted
#: classifier's threshold is tuned for them (:func:`fit_decision_threshold`), as
#: AutoGluon's ``calibrate_decision_threshold`` and scikit-learn's
#: ``TunedThresholdClassifierCV`` do.
THRESHOLD_METRICS = ("balanced_accuracy", "f1_macro", "f1_weighted")
#: Thresholds tried: steps of 0.01 over the probabilities' range. (The second class's share
#: of the rows, the best cut for balanced accuracy with probabilities calibrated to it,
#: was refused on every run of imbalanced_1_20: ensembles of class-weighted and
#: unweighted members are calibrated to neither.)
THRESHOLD_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
#: Rows the threshold is chosen on, at most (a seeded sample of more): the grid is scored
#: once per fold and once on all of them.
THRESHOLD_ROWS = 20_000
#: Folds of the validation rows a threshold must help on before it is used.
THRESHOLD_FOLDS = 5


def predicted_classes(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Class indices from probabilities: the second class where its probability reaches
    ``threshold`` (two classes), else the most probable class.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.7, 0.3]])
    >>> predicted_classes(proba), predicted_classes(proba, 0.25)
    (array([0, 0]), array([0, 1]))
    """
    if threshold is None:
        return np.argmax(proba, axis=1)
    return (proba[:, 1] >= threshold).astype(np.intp)


def fit_decision_threshold(
    scorer: PredictionScorer, y_true: np.ndarray, proba: np.ndarray
) -> float | None:
    """The decision threshold that scores ``proba`` best, for a binary classifier and a
    metric of :data:`THRESHOLD_METRICS`; None when it does not apply or does not help.

    It must help on rows it was not chosen on: over :data:`THRESHOLD_FOLDS` stratified
    folds of these (validation) rows, a threshold chosen on the other folds labels each
    fold, and those labels must score better than the most probable class, as the
    ensemble's baseline check does (on 872 rows of AER's SwissLabor, a threshold chosen
    on all of them cost 0.020 balanced accuracy on the test split). With fewer rows of a
    class than folds, no threshold is chosen. The threshold is then chosen on all rows;
    ties go to the one closest to 0.5.

    Examples
    --------
    >>> y = np.array([0] * 40 + [1] * 10)
    >>> p = np.r_[np.linspace(0.0, 0.3, 40), np.linspace(0.25, 0.45, 10)]
    >>> scorer = get_prediction_scorer("balanced_accuracy", "classification")
    >>> fit_decision_threshold(scorer, y, np.column_stack([1 - p, p]))
    0.25
    """
    if proba.ndim != 2 or proba.shape[1] != 2 or scorer.name not in THRESHOLD_METRICS:
        return None
    if len(y_true) > THRESHOLD_ROWS:
        rows = np.random.default_rng(0).choice(len(y_true), THRESHOLD_ROWS, replace=False)
        scorer, y_true, proba = _rows_of(scorer, rows), y_true[rows], proba[rows]
    if np.bincount(y_true, minlength=2).min() < THRESHOLD_FOLDS:
        return None
    folds = StratifiedKFold(THRESHOLD_FOLDS, shuffle=True, random_state=0)
    held_out = np.empty(len(y_true), dtype=np.intp)
    for train, test in folds.split(proba, y_true):
        threshold = _best_threshold(_rows_of(scorer, train), y_true[train], proba[train])
        held_out[test] = predicted_classes(proba[test], threshold)
    untuned = replace(scorer, threshold=None)
    if untuned(y_true, np.eye(2)[held_out]) <= untuned(y_true, proba):
        return None
    return _best_threshold(scorer, y_true, proba)


def _best_threshold(
    scorer: PredictionScorer, y_true: np.ndarray, proba: np.ndarray
) -> float | None:
    """The cut of :data:`THRESHOLD_GRID` that scores best on these rows (None: the most
    probable class is as good); cuts closer to 0.5 win ties."""
    best, best_score = None, replace(scorer, threshold=None)(y_true, proba)
    for threshold in sorted(THRESHOLD_GRID, key=lambda t: abs(t - 0.5)):
        score = replace(scorer, threshold=float(threshold))(y_true, proba)
        if score > best_score:
            best, best_score = float(threshold), score
    return best


def _rows_of(scorer: PredictionScorer, rows: np.ndarray) -> PredictionScorer:
    """``scorer`` for the given rows of those it was weighted for."""
    return scorer.weighted(None if scorer.sample_weight is None else scorer.sample_weight[rows])
