"""Monitoring a served model: reference statistics kept at ``fit``, drift and batch scores.

At ``fit`` the estimator keeps, in ``reference_``, a compact summary of its training
inputs and of its ensemble's validation predictions and score (:func:`reference_statistics`;
a JSON-able dict of plain lists, numbers and strings). :func:`monitor` (the estimators'
``monitor`` method) compares a new batch with it:

- **Features.** Numeric columns are kept as :data:`N_QUANTILES` quantiles and a histogram of
  :data:`N_BINS` bins (the training deciles); numeric columns with at most
  :data:`MAX_DISCRETE_VALUES` distinct values, and categorical, string and bool columns, as
  value counts (the :data:`MAX_CATEGORIES` most frequent values, the others pooled). Each
  column's drift is its population stability index (PSI) over these bins, with missing
  values as a bin of their own and unseen values pooled with the rare ones, and a
  two-sample test: Kolmogorov-Smirnov for numeric columns (against the distribution the
  quantiles describe), combined with a chi-square test of the missing rate when either
  side has missing values; chi-square on the value counts otherwise. Images are summarised
  by each image's mean and standard deviation per channel (pixels are not compared one by
  one).
- **Predictions.** The predicted classes and the confidence (highest probability), or the
  predicted values, on the batch against the ensemble's validation predictions (holdout,
  or out of fold with ``cv``), compared in the same way.
- **Score.** With labels, the score on the batch (the estimator's ``scoring``) with a
  percentile bootstrap interval (:data:`N_BOOTSTRAP` resamples, seeded; batches of more
  than :data:`BOOTSTRAP_ROWS` rows are resampled m out of n), next to the validation
  score.

A feature or prediction is flagged when its drift is both large and significant: PSI at
least :data:`PSI_THRESHOLD` and a Holm-adjusted p-value (over the features, and
separately over the predictions) below :data:`ALPHA`. The score is flagged when the whole
interval lies below the validation score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from .preprocessing import (
    categorical_columns,
    datetime_columns,
    duration_columns,
    fitted_part_columns,
)
from .scoring import PredictionScorer, get_prediction_scorer, predicted_classes

__all__ = [
    "ALPHA",
    "BOOTSTRAP_ROWS",
    "CONFIDENCE",
    "MAX_CATEGORIES",
    "MAX_DISCRETE_VALUES",
    "MAX_REFERENCE_ROWS",
    "N_BINS",
    "N_BOOTSTRAP",
    "N_QUANTILES",
    "PSI_THRESHOLD",
    "MonitorReport",
    "ensemble_validation_predictions",
    "monitor",
    "reference_statistics",
]

#: Family-wise error rate of the drift tests (Holm's correction over the features of a
#: batch, and separately over its prediction summaries).
ALPHA = 0.05
#: Smallest population stability index flagged. 0.1 is the conventional start of a
#: "moderate" shift; doubling the frequency of a category that holds a fifth of the rows
#: gives about 0.2, a shift of a normal feature by one standard deviation about 0.8.
PSI_THRESHOLD = 0.1
#: Quantiles kept per numeric column (0 %, 1 %, ..., 100 %): the reference distribution of
#: the Kolmogorov-Smirnov test, interpolated linearly between them.
N_QUANTILES = 101
#: Histogram bins per numeric column for the PSI, at the training deciles.
N_BINS = 10
#: Most values of a categorical column counted one by one; rarer ones are pooled.
MAX_CATEGORIES = 50
#: Numeric columns with at most this many distinct training values are compared as
#: value counts (chi-square), not quantiles (Kolmogorov-Smirnov).
MAX_DISCRETE_VALUES = 20
#: Training rows summarised at most (a seeded sample of larger tables).
MAX_REFERENCE_ROWS = 100_000
#: Bootstrap resamples of the batch score's interval.
N_BOOTSTRAP = 1000
#: Rows per bootstrap resample. Larger batches are resampled m out of n (m = this many),
#: and the spread of the resampled scores around the batch score is scaled by sqrt(m / n),
#: so that the interval's cost does not grow with the batch.
BOOTSTRAP_ROWS = 2_000
#: Coverage of the batch score's interval.
CONFIDENCE = 0.95
#: Version of the ``reference_`` layout.
REFERENCE_VERSION = 1
_PSEUDO_COUNT = 0.5  # added to every bin's count, so that empty bins keep the PSI finite
_COLUMNS = [
    "kind",
    "test",
    "statistic",
    "p_value",
    "p_adjusted",
    "psi",
    "missing_reference",
    "missing_now",
    "flagged",
]


def ensemble_validation_predictions(history: Any, ensemble: Any) -> np.ndarray | None:
    """The ensemble's weighted average of its members' stored validation predictions.

    Parameters
    ----------
    history : SearchHistory
        Holds each trial's validation (or out-of-fold) predictions.
    ensemble : FittedEnsemble

    Returns
    -------
    ndarray or None
        None when a member's predictions were not kept.
    """
    kept = [history.artifacts.get(t) for t in ensemble.trial_ids_]
    if any(k is None for k in kept):
        return None
    preds = [k.valid_pred for k in kept]
    return sum(
        w * np.asarray(p, dtype=np.float64) for w, p in zip(ensemble.weights_, preds, strict=True)
    )


def reference_statistics(
    estimator: Any,
    X: Any,
    valid_pred: np.ndarray | None,
    y_valid: np.ndarray,
    scorer: PredictionScorer,
) -> dict[str, Any]:
    """Compact statistics of the training inputs and validation predictions.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Being fitted: its task, ``feature_names_in_``, ``image_shape_`` and ``classes_``
        are read.
    X : ndarray or DataFrame
        The validated training rows, before preprocessing (images flattened).
    valid_pred : ndarray or None
        The ensemble's validation (or out-of-fold) predictions: probabilities or
        values; None keeps no prediction or score reference.
    y_valid : ndarray
        Their targets (class codes, or values).
    scorer : PredictionScorer
        The search's metric, weighted as in the search, at the fitted decision
        threshold (which the predicted classes are summarised at too).

    Returns
    -------
    dict
        JSON-able: ``version``, ``task``, ``n_rows``, ``image_channels``, ``features``,
        ``predictions`` (lists of column summaries) and ``score`` (or None).
    """
    n_rows = X.shape[0]
    if n_rows > MAX_REFERENCE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(n_rows, MAX_REFERENCE_ROWS, replace=False))
        X = X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]
    special = datetime_columns(X), duration_columns(X)
    names, columns, kinds = _feature_columns(estimator, X, *special)
    reference = {
        "version": REFERENCE_VERSION,
        "task": estimator._task,
        "n_rows": int(n_rows),
        "image_channels": _image_channels(estimator),
        "features": [
            _summary(name, values, kind)
            for name, values, kind in zip(names, columns, kinds, strict=True)
        ],
        "predictions": [],
        "score": None,
    }
    if valid_pred is not None:
        reference["predictions"] = [
            _summary(name, values, kind)
            for name, values, kind in _prediction_columns(estimator, valid_pred, scorer.threshold)
        ]
        value = float(scorer(y_valid, valid_pred))
        reference["score"] = {
            "name": scorer.name,
            "value": value if np.isfinite(value) else None,  # JSON has no NaN
            "n_rows": len(y_valid),
        }
    return reference


@dataclass(frozen=True, eq=False)
class MonitorReport:
    """Drift of a batch against the training data, and its score when labelled.

    Attributes
    ----------
    features : DataFrame
        One row per feature (per channel statistic for images), indexed by name:
        ``kind`` (``"numeric"``, ``"discrete"`` or ``"categorical"``), ``test``
        (``"ks"``, ``"ks+missing"`` or ``"chi2"``), ``statistic`` (the KS distance or the
        chi-square statistic), ``p_value``, ``p_adjusted`` (Holm), ``psi``,
        ``missing_reference`` and ``missing_now`` (shares of rows) and ``flagged``.
    predictions : DataFrame
        The same for the predictions: ``"predicted class"`` and ``"confidence"``, or
        ``"predicted value"``. Empty when the estimator kept no validation predictions.
    score : dict or None
        With labels: ``name`` (the metric), ``batch``, ``ci_low`` and ``ci_high`` (the
        interval), ``validation`` (the ensemble's validation score, or None), ``n_rows``
        and ``flagged``.
    n_rows : int
        Rows of the batch.
    n_reference_rows : int
        Training rows of the estimator.
    """

    features: pd.DataFrame
    predictions: pd.DataFrame
    score: dict[str, Any] | None
    n_rows: int
    n_reference_rows: int

    @property
    def flagged(self) -> list[str]:
        """Names of the flagged features."""
        return list(self.features.index[self.features["flagged"]])

    @property
    def drifted(self) -> bool:
        """Whether anything is flagged: a feature, a prediction summary or the score."""
        score_flagged = self.score is not None and self.score["flagged"]
        return bool(
            self.features["flagged"].any() or self.predictions["flagged"].any() or score_flagged
        )

    def to_frame(self) -> pd.DataFrame:
        """Features and predictions in one table, indexed by (``"feature"`` or
        ``"prediction"``, name)."""
        return pd.concat(
            {"feature": self.features, "prediction": self.predictions}, names=["part", "name"]
        )

    def _headline(self) -> str:
        flagged = self.flagged
        names = f" ({', '.join(map(str, flagged))})" if flagged else ""
        predictions = list(self.predictions.index[self.predictions["flagged"]])
        return (
            f"{len(flagged)} of {len(self.features)} features flagged{names}; "
            f"predictions flagged: {', '.join(predictions) or 'none'}"
        )

    def _score_text(self) -> str:
        score = self.score
        validation = (
            "" if score["validation"] is None else f", validation {score['validation']:.4f}"
        )
        return (
            f"{score['name']} on the batch: {score['batch']:.4f} "
            f"[{score['ci_low']:.4f}, {score['ci_high']:.4f}] ({CONFIDENCE:.0%} percentile "
            f"bootstrap interval, {N_BOOTSTRAP} resamples){validation}"
            f"{' -- FLAGGED: below validation' if score['flagged'] else ''}"
        )

    def to_text(self) -> str:
        """The report as readable text."""
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            parts = [
                f"Monitoring report: {self.n_rows} rows against {self.n_reference_rows} "
                f"training rows",
                self._headline(),
                f"Flagged when PSI >= {PSI_THRESHOLD} and Holm-adjusted p < {ALPHA}.",
                "",
                "Features",
                _format(self.features).to_string(),
            ]
            if len(self.predictions):
                parts += ["", "Predictions", _format(self.predictions).to_string()]
        if self.score is not None:
            parts += ["", self._score_text()]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        parts = [
            f"<p><b>Monitoring report</b>: {self.n_rows} rows against "
            f"{self.n_reference_rows} training rows. {escape(self._headline())}. Flagged when "
            f"PSI &ge; {PSI_THRESHOLD} and Holm-adjusted p &lt; {ALPHA}.</p>",
            "<p>Features</p>",
            _format(self.features).to_html(),
        ]
        if len(self.predictions):
            parts += ["<p>Predictions</p>", _format(self.predictions).to_html()]
        if self.score is not None:
            parts.append(f"<p>{escape(self._score_text())}</p>")
        return "\n".join(parts)


def monitor(estimator: Any, X: Any, y: Any = None) -> MonitorReport:
    """Drift of ``X`` against the data ``estimator`` was fitted on, and its score on ``y``.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted (with ``reference_``).
    X : array-like or DataFrame
        A batch of rows, validated as ``predict`` validates them (same errors).
    y : array-like of shape (n_samples,), default=None
        Its labels or targets: the score on the batch is then reported.

    Returns
    -------
    MonitorReport

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknas import NASClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NASClassifier(n_trials=1, families=["linear"], random_state=0).fit(X, y)
    >>> report = clf.monitor(X[:50] + 1.0, y[:50])
    >>> report.features.shape
    (4, 9)
    >>> report.score["name"]
    'accuracy'
    """
    check_is_fitted(estimator)
    reference = getattr(estimator, "reference_", None)
    if reference is None:
        raise ValueError(
            f"This {type(estimator).__name__} has no reference statistics (reference_): it "
            "was fitted by an sknas version without monitoring. Fit it again to monitor it."
        )
    X = estimator._validated_X(X)
    if y is not None:
        y = _validated_targets(estimator, X, y)
    pred = estimator.ensemble_.predict(estimator._model_rows(X))

    special = [fitted_part_columns(estimator.preprocessor_, p) for p in ("datetime", "duration")]
    _, columns, _ = _feature_columns(estimator, X, *special)
    features = _compare_all(reference["features"], columns)
    threshold = getattr(estimator, "decision_threshold_", None)  # None in older model files
    predicted = [values for _, values, _ in _prediction_columns(estimator, pred, threshold)]
    predictions = _compare_all(
        reference["predictions"], predicted if reference["predictions"] else []
    )
    score = None
    if y is not None:
        score = _batch_score(estimator, reference["score"], y, pred, threshold)
    return MonitorReport(features, predictions, score, int(X.shape[0]), reference["n_rows"])


def _image_channels(estimator: Any) -> int | None:
    shape = getattr(estimator, "image_shape_", None)
    return None if shape is None else int(shape[0])


def _feature_columns(
    estimator: Any, X: Any, dates: list[int], durations: list[int]
) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Names, values and kinds (``"numeric"`` or ``"categorical"``) of the compared columns:
    the table's but its datetime ones (positions ``dates``; durations, ``durations``, as
    numbers), the per-channel mean and standard deviation of images, or the non-zeros and
    norm of each row of a sparse matrix (whose columns are too many and too empty)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel())
        counts = np.diff(X.indptr).astype(np.float64)
        return ["non-zeros per row", "row norm"], [counts, norms], ["numeric", "numeric"]
    shape = getattr(estimator, "image_shape_", None)
    if shape is not None:
        pixels = np.asarray(X, dtype=np.float64).reshape(len(X), shape[0], -1)
        means, stds = pixels.mean(axis=2), pixels.std(axis=2)
        names, columns = [], []
        for channel in range(shape[0]):
            names += [f"channel {channel} mean", f"channel {channel} std"]
            columns += [means[:, channel], stds[:, channel]]
        return names, columns, ["numeric"] * len(columns)
    feature_names = getattr(estimator, "feature_names_in_", None)
    n_features = X.shape[1]
    kept = [j for j in range(n_features) if j not in dates]  # new dates are not drift
    names = [str(feature_names[j]) if feature_names is not None else f"x{j}" for j in kept]
    categorical = set(categorical_columns(X)) - set(durations)
    columns, kinds = [], []
    for j in kept:
        column = X.iloc[:, j] if isinstance(X, pd.DataFrame) else X[:, j]
        if j in categorical:
            columns.append(pd.Series(column))
            kinds.append("categorical")
        elif j in durations:  # in days
            days = pd.to_timedelta(pd.Series(column)) / pd.Timedelta(days=1)
            columns.append(days.to_numpy(np.float64, na_value=np.nan))
            kinds.append("numeric")
        else:
            columns.append(pd.to_numeric(pd.Series(column)).to_numpy(np.float64, na_value=np.nan))
            kinds.append("numeric")
    return names, columns, kinds


def _prediction_columns(
    estimator: Any, pred: np.ndarray, threshold: float | None
) -> list[tuple[str, np.ndarray, str]]:
    """The summarised predictions: predicted class (at the decision ``threshold``) and
    confidence, or predicted value."""
    if estimator._task == "regression":
        return [("predicted value", np.asarray(pred, dtype=np.float64).ravel(), "numeric")]
    labels = np.asarray(estimator.classes_)[predicted_classes(pred, threshold)]
    return [
        ("predicted class", labels.astype(object), "categorical"),
        ("confidence", np.max(pred, axis=1).astype(np.float64), "numeric"),
    ]


def _summary(name: str, values: np.ndarray | pd.Series, kind: str) -> dict[str, Any]:
    """One column's reference: quantiles and histogram, or value counts."""
    if kind == "categorical":
        counts, missing = _category_counts(values)
        kept = counts.iloc[:MAX_CATEGORIES]
        return {
            "name": name,
            "kind": "categorical",
            "n": len(values),
            "missing": missing,
            "categories": [str(c) for c in kept.index],
            "counts": [int(c) for c in kept],
            "other": int(counts.iloc[MAX_CATEGORIES:].sum()),
        }
    present = np.sort(values[np.isfinite(values)])
    summary = {
        "name": name,
        "kind": "numeric",
        "n": len(values),
        "missing": len(values) - len(present),
    }
    starts = np.flatnonzero(present[1:] != present[:-1]) + 1  # where a new value starts
    if len(starts) < MAX_DISCRETE_VALUES:  # at most MAX_DISCRETE_VALUES distinct values
        starts = np.concatenate([[0], starts]) if len(present) else starts
        summary |= {
            "kind": "discrete",
            "categories": [float(v) for v in present[starts]],
            "counts": [int(c) for c in np.diff(np.append(starts, len(present)))],
            "other": 0,
        }
        return summary
    quantiles = _quantiles(present, N_QUANTILES)
    edges = np.unique(_quantiles(present, N_BINS + 1)[1:-1])
    summary |= {
        "quantiles": [float(q) for q in quantiles],
        "bin_edges": [float(e) for e in edges],
        "bin_counts": [int(c) for c in _histogram(present, edges)],
    }
    return summary


def _category_counts(values: np.ndarray | pd.Series) -> tuple[pd.Series, int]:
    """Counts of a column's values by their text, most frequent first, and its missing count."""
    values = pd.Series(values)
    counts = values.value_counts(dropna=True)
    counts = counts[counts > 0]  # a category dtype lists its unused categories
    counts = counts.groupby(counts.index.astype(str)).sum()
    return counts.sort_values(ascending=False, kind="stable"), int(values.isna().sum())


def _quantiles(present: np.ndarray, n: int) -> np.ndarray:
    """``n`` evenly spaced quantiles (0 to 1) of sorted values, linearly interpolated."""
    position = np.linspace(0.0, len(present) - 1, n)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(present) - 1)
    return present[low] + (position - low) * (present[high] - present[low])


def _histogram(present: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of sorted values in ``(-inf, e0], (e0, e1], ..., (e_last, inf)``."""
    cuts = np.searchsorted(present, edges, side="right")
    return np.diff(np.concatenate([[0], cuts, [len(present)]]))


def _binned_counts(
    summary: dict[str, Any], values: np.ndarray | pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and batch counts over the same bins: histogram bins or categories, then
    the pooled others and the missing values."""
    if summary["kind"] == "categorical":
        counts, missing = _category_counts(values)
        known = counts.reindex(summary["categories"], fill_value=0).to_numpy()
        reference_known = summary["counts"]
        binned = [*known, counts.sum() - known.sum()]
    else:
        present = np.sort(values[np.isfinite(values)])
        missing = len(values) - len(present)
        if summary["kind"] == "discrete":
            categories = np.asarray(summary["categories"], dtype=np.float64)
            known = np.searchsorted(present, categories, "right") - np.searchsorted(
                present, categories, "left"
            )
            reference_known = summary["counts"]
            binned = [*known, len(present) - known.sum()]
        else:
            reference_known = summary["bin_counts"]
            binned = [*_histogram(present, np.asarray(summary["bin_edges"])), 0]
    reference = [*reference_known, summary.get("other", 0), summary["missing"]]
    return np.array(reference, dtype=np.int64), np.array([*binned, missing], dtype=np.int64)


def _psi(reference: np.ndarray, batch: np.ndarray) -> float:
    """Population stability index over the bins where either side has rows."""
    used = (reference + batch) > 0
    ref = reference[used] + _PSEUDO_COUNT
    new = batch[used] + _PSEUDO_COUNT
    ref, new = ref / ref.sum(), new / new.sum()
    return float(np.sum((new - ref) * np.log(new / ref)))


def _chi2(reference: np.ndarray, batch: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity of two count vectors (bins where either has rows)."""
    used = (reference + batch) > 0
    if used.sum() < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(np.vstack([reference[used], batch[used]]))
    return float(result.statistic), float(result.pvalue)


def _reference_cdf(quantiles: np.ndarray, x: np.ndarray, side: str) -> np.ndarray:
    """The reference CDF, linear between its quantiles: right-continuous values
    (``side="right"``) or left limits (``side="left"``) at ``x``."""
    levels = np.linspace(0.0, 1.0, len(quantiles))
    below = np.searchsorted(quantiles, x, side=side) - 1  # last quantile <= x (or < x)
    inside = (below >= 0) & (below < len(quantiles) - 1)
    cdf = np.where(below < 0, 0.0, 1.0)
    lo = below[inside]
    step = (x[inside] - quantiles[lo]) / (quantiles[lo + 1] - quantiles[lo])  # never 0 / 0
    cdf[inside] = levels[lo] + step * (levels[lo + 1] - levels[lo])
    return cdf


def _ks(summary: dict[str, Any], values: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test of the batch's finite values against the
    reference distribution given by its quantiles (asymptotic p-value, as scipy's)."""
    present = np.sort(values[np.isfinite(values)])
    n_reference = summary["n"] - summary["missing"]
    if len(present) == 0 or n_reference == 0:
        return 0.0, 1.0
    quantiles = np.asarray(summary["quantiles"], dtype=np.float64)
    points = np.union1d(present, quantiles)
    distance = 0.0
    for side in ("right", "left"):
        batch_cdf = np.searchsorted(present, points, side=side) / len(present)
        gap = np.abs(batch_cdf - _reference_cdf(quantiles, points, side))
        distance = max(distance, float(gap.max()))
    n_effective = round(len(present) * n_reference / (len(present) + n_reference))
    return distance, float(stats.kstwo.sf(distance, max(n_effective, 1)))


def _compare(summary: dict[str, Any], values: np.ndarray) -> dict[str, Any]:
    """One column's drift: test, statistic, p-value, PSI and missing rates."""
    reference, batch = _binned_counts(summary, values)
    row = {
        "kind": summary["kind"],
        "psi": _psi(reference, batch),
        "missing_reference": summary["missing"] / summary["n"],
        "missing_now": float(batch[-1]) / len(values),
    }
    if summary["kind"] != "numeric":
        statistic, p_value = _chi2(reference, batch)
        return row | {"test": "chi2", "statistic": statistic, "p_value": p_value}
    statistic, p_value = _ks(summary, values)
    test = "ks"
    if summary["missing"] or batch[-1]:  # Bonferroni over the two tests of this column
        missing = np.array([[summary["n"] - summary["missing"], summary["missing"]]])
        _, p_missing = _chi2(missing[0], np.array([len(values) - batch[-1], batch[-1]]))
        p_value, test = min(1.0, 2 * min(p_value, p_missing)), "ks+missing"
    return row | {"test": test, "statistic": statistic, "p_value": p_value}


def _holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values."""
    order = np.argsort(p_values, kind="stable")
    scaled = (len(p_values) - np.arange(len(p_values))) * p_values[order]
    adjusted = np.empty_like(p_values)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def _compare_all(
    summaries: Sequence[dict[str, Any]], columns: Sequence[np.ndarray]
) -> pd.DataFrame:
    """The drift table of these columns, flagged by :data:`PSI_THRESHOLD` and :data:`ALPHA`."""
    rows = [_compare(s, values) for s, values in zip(summaries, columns, strict=True)]
    table = pd.DataFrame(rows, index=pd.Index([s["name"] for s in summaries], name="name"))
    table = table.reindex(columns=[c for c in _COLUMNS if c not in ("p_adjusted", "flagged")])
    table["p_adjusted"] = _holm(table["p_value"].to_numpy(dtype=np.float64))
    table["flagged"] = (table["psi"] >= PSI_THRESHOLD) & (table["p_adjusted"] < ALPHA)
    return table[_COLUMNS]


def _validated_targets(estimator: Any, X: Any, y: Any) -> np.ndarray:
    """``y`` checked as ``fit`` and ``score`` check it, encoded as the search scores it."""
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    y = column_or_1d(y, warn=True)
    check_consistent_length(y, X)  # in score's order: labels, then predictions
    if estimator._task == "regression":
        return y.astype(np.float64)  # strings: "could not convert string to float", as score
    classes = estimator.classes_
    unique_labels(y, classes)  # "Mix of label input types", as score raises
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y has labels the estimator was not fitted on: {unknown[:10].tolist()}; its "
            f"classes are {classes[:10].tolist()}."
        )
    return np.searchsorted(classes, y)


def _batch_score(
    estimator: Any,
    reference: dict[str, Any] | None,
    y: np.ndarray,
    pred: np.ndarray,
    threshold: float | None,
) -> dict[str, Any]:
    """The score on the batch (labels at the decision ``threshold``), its percentile
    bootstrap interval and the validation score."""
    scorer = replace(get_prediction_scorer(estimator.scoring, estimator._task), threshold=threshold)
    value = scorer(y, pred)
    rng = np.random.default_rng(0)
    size = min(len(y), BOOTSTRAP_ROWS)
    resampled = np.full(N_BOOTSTRAP, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics on resamples that miss a class
        for b in range(N_BOOTSTRAP):
            rows = rng.integers(0, len(y), size)
            try:
                resampled[b] = scorer(y[rows], pred[rows])
            except ValueError:  # such as ROC AUC on a resample of one class
                continue
    tail = 100 * (1 - CONFIDENCE) / 2
    finite = resampled[np.isfinite(resampled)]
    low, high = np.nan, np.nan
    if len(finite):  # the percentile interval (exactly so when size == len(y))
        spread = np.percentile(finite, [tail, 100 - tail]) - value
        low, high = value + np.sqrt(size / len(y)) * spread
    validation = None if reference is None else reference["value"]  # None: not finite
    return {
        "name": scorer.name,
        "batch": float(value),
        "ci_low": float(low),
        "ci_high": float(high),
        "validation": validation,
        "n_rows": len(y),
        "flagged": bool(validation is not None and high < validation),
    }


def _format(table: pd.DataFrame) -> pd.DataFrame:
    """The drift table rounded for reading, ``flagged`` as yes/no."""
    shown = table.copy()
    for column in ("statistic", "psi", "missing_reference", "missing_now"):
        shown[column] = shown[column].map("{:.3f}".format)
    for column in ("p_value", "p_adjusted"):
        shown[column] = shown[column].map("{:.2g}".format)
    shown["flagged"] = shown["flagged"].map({True: "yes", False: "no"})
    return shown
