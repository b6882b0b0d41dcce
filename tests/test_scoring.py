"""Prediction scorers agree with scikit-learn's metrics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn import metrics

from sknas.scoring import (
    SCORINGS,
    THRESHOLD_GRID,
    THRESHOLD_METRICS,
    _best_threshold,
    fit_decision_threshold,
    get_prediction_scorer,
    predicted_classes,
)


@pytest.fixture
def classification(rng):
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet(np.ones(3), 200)
    proba[0] = [1.0, 0.0, 0.0]  # a hard zero: log loss must clip it as sklearn does
    return y, proba


@pytest.fixture(params=["unweighted", "weighted"])
def weights(request, rng):
    """None, or weights with zeros (rows that must not count) and integers."""
    return None if request.param == "unweighted" else rng.integers(0, 4, 200).astype(float)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("accuracy", lambda y, p, w: metrics.accuracy_score(y, p.argmax(1), sample_weight=w)),
        (
            "neg_log_loss",
            lambda y, p, w: -metrics.log_loss(y, p, labels=[0, 1, 2], sample_weight=w),
        ),
        (
            "balanced_accuracy",
            lambda y, p, w: metrics.balanced_accuracy_score(y, p.argmax(1), sample_weight=w),
        ),
        (
            "f1_macro",
            lambda y, p, w: metrics.f1_score(y, p.argmax(1), average="macro", sample_weight=w),
        ),
        (
            "f1_weighted",
            lambda y, p, w: metrics.f1_score(y, p.argmax(1), average="weighted", sample_weight=w),
        ),
        (
            "roc_auc",
            lambda y, p, w: metrics.roc_auc_score(y, p, multi_class="ovr", sample_weight=w),
        ),
    ],
)
def test_classification_scorers_match_sklearn(classification, weights, name, reference):
    y, proba = classification
    scorer = get_prediction_scorer(name, "classification").weighted(weights)
    assert scorer(y, proba) == pytest.approx(reference(y, proba, weights), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("r2", metrics.r2_score),
        ("neg_mean_squared_error", lambda *a, **k: -metrics.mean_squared_error(*a, **k)),
        (
            "neg_root_mean_squared_error",
            lambda *a, **k: -metrics.root_mean_squared_error(*a, **k),
        ),
        ("neg_mean_absolute_error", lambda *a, **k: -metrics.mean_absolute_error(*a, **k)),
    ],
)
def test_regression_scorers_match_sklearn(rng, weights, name, reference):
    y = rng.normal(size=200)
    pred = y + rng.normal(scale=0.5, size=200)
    scorer = get_prediction_scorer(name, "regression").weighted(weights)
    assert scorer(y, pred) == pytest.approx(reference(y, pred, sample_weight=weights), rel=1e-9)
    constant, offset = np.ones(10), 0.1 * (name != "r2")
    unweighted = get_prediction_scorer(name, "regression")
    assert unweighted(constant, constant + offset) == pytest.approx(
        reference(constant, constant + offset)
    )


def test_integer_weights_score_as_repeated_rows(classification):
    y, proba = classification
    counts = np.arange(len(y)) % 3  # 0, 1 or 2 copies of each row
    for name in ("accuracy", "neg_log_loss", "balanced_accuracy"):
        scorer = get_prediction_scorer(name, "classification")
        repeated = scorer(np.repeat(y, counts), np.repeat(proba, counts, axis=0))
        assert scorer.weighted(counts.astype(float))(y, proba) == pytest.approx(repeated)


def test_unknown_or_wrong_task_scoring_is_a_clear_error():
    with pytest.raises(ValueError, match="not supported for regression"):
        get_prediction_scorer("accuracy", "regression")
    assert set(SCORINGS) == {"classification", "regression"}


SKLEARN_LABEL_METRICS = {
    "balanced_accuracy": metrics.balanced_accuracy_score,
    "f1_macro": lambda y, p, **k: metrics.f1_score(y, p, average="macro", **k),
    "f1_weighted": lambda y, p, **k: metrics.f1_score(y, p, average="weighted", **k),
}


@pytest.fixture
def imbalanced(rng):
    """Binary labels, 10 % positive, with probabilities that rank them but sit below 0.5."""
    y = (rng.random(200) < 0.1).astype(int)
    p = np.clip(0.08 + 0.3 * y + rng.normal(scale=0.1, size=200), 0.0, 1.0)
    return y, np.column_stack([1 - p, p])


@pytest.mark.parametrize("name", THRESHOLD_METRICS)
def test_decision_threshold_is_the_grids_best_by_sklearns_metric(imbalanced, weights, name):
    y, proba = imbalanced
    scorer = get_prediction_scorer(name, "classification").weighted(weights)
    threshold = fit_decision_threshold(scorer, y, proba)
    sk = SKLEARN_LABEL_METRICS[name]
    by_threshold = {
        t: sk(y, (proba[:, 1] >= t).astype(int), sample_weight=weights) for t in THRESHOLD_GRID
    }
    at_argmax = sk(y, proba.argmax(1), sample_weight=weights)
    assert threshold is not None and threshold < 0.5
    chosen = sk(y, (proba[:, 1] >= threshold).astype(int), sample_weight=weights)
    assert chosen > at_argmax
    assert replace(scorer, threshold=threshold)(y, proba) == pytest.approx(chosen)
    assert chosen == pytest.approx(max(by_threshold.values()))


def test_no_decision_threshold_where_it_does_not_apply_or_does_not_help(imbalanced, rng):
    y, proba = imbalanced
    accuracy = get_prediction_scorer("accuracy", "classification")
    assert fit_decision_threshold(accuracy, y, proba) is None  # 0.5 suits calibrated accuracy
    balanced = get_prediction_scorer("balanced_accuracy", "classification")
    three = rng.dirichlet(np.ones(3), 200)
    assert fit_decision_threshold(balanced, rng.integers(0, 3, 200), three) is None
    separated = np.column_stack([1 - y, y]).astype(float)  # perfect at 0.5: nothing to gain
    assert fit_decision_threshold(balanced, y, separated) is None
    few = y.copy()
    few[np.flatnonzero(y)[4:]] = 0  # four positives: fewer than the folds
    assert fit_decision_threshold(balanced, few, proba) is None


@pytest.mark.parametrize("name", THRESHOLD_METRICS)
def test_thresholds_that_only_fit_noise_are_refused_often(name):
    """On labels the probabilities know nothing of, a cut better than 0.5 on all rows is
    always found; rows it was not chosen on refuse it in many of the problems."""
    scorer = get_prediction_scorer(name, "classification")
    refused = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y, p = rng.integers(0, 2, 200), rng.random(200)
        proba = np.column_stack([1 - p, p])
        assert _best_threshold(scorer, y, proba) is not None
        refused += fit_decision_threshold(scorer, y, proba) is None
    assert refused >= 6


def test_predicted_classes_at_a_threshold():
    proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]])
    np.testing.assert_array_equal(predicted_classes(proba), [0, 0, 1])
    np.testing.assert_array_equal(predicted_classes(proba, 0.3), [0, 1, 1])


def test_binary_roc_auc_with_tied_scores_matches_sklearn(rng, weights):
    y = rng.integers(0, 2, 200)
    p = np.round(rng.random(200), 1)  # eleven distinct scores: many ties
    proba = np.column_stack([1 - p, p])
    scorer = get_prediction_scorer("roc_auc", "classification").weighted(weights)
    assert scorer(y, proba) == pytest.approx(metrics.roc_auc_score(y, p, sample_weight=weights))
    with pytest.raises(ValueError, match="Only one class"):
        scorer(np.ones(200, dtype=int), proba)
