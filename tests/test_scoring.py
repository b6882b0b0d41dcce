"""Prediction scorers agree with scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from sknas.scoring import SCORINGS, get_prediction_scorer


@pytest.fixture
def classification(rng):
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet(np.ones(3), 200)
    proba[0] = [1.0, 0.0, 0.0]  # a hard zero: log loss must clip it as sklearn does
    return y, proba


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("accuracy", lambda y, p: metrics.accuracy_score(y, p.argmax(1))),
        ("neg_log_loss", lambda y, p: -metrics.log_loss(y, p, labels=[0, 1, 2])),
        ("balanced_accuracy", lambda y, p: metrics.balanced_accuracy_score(y, p.argmax(1))),
        ("f1_macro", lambda y, p: metrics.f1_score(y, p.argmax(1), average="macro")),
        ("roc_auc", lambda y, p: metrics.roc_auc_score(y, p, multi_class="ovr")),
    ],
)
def test_classification_scorers_match_sklearn(classification, name, reference):
    y, proba = classification
    assert get_prediction_scorer(name, "classification")(y, proba) == pytest.approx(
        reference(y, proba), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("r2", metrics.r2_score),
        ("neg_mean_squared_error", lambda y, p: -metrics.mean_squared_error(y, p)),
        ("neg_root_mean_squared_error", lambda y, p: -metrics.root_mean_squared_error(y, p)),
        ("neg_mean_absolute_error", lambda y, p: -metrics.mean_absolute_error(y, p)),
    ],
)
def test_regression_scorers_match_sklearn(rng, name, reference):
    y = rng.normal(size=100)
    pred = y + rng.normal(scale=0.5, size=100)
    scorer = get_prediction_scorer(name, "regression")
    assert scorer(y, pred) == pytest.approx(reference(y, pred), rel=1e-9)
    constant = np.ones(10)
    assert scorer(constant, constant + 0.1 * (name != "r2")) == pytest.approx(
        reference(constant, constant + 0.1 * (name != "r2"))
    )


def test_unknown_or_wrong_task_scoring_is_a_clear_error():
    with pytest.raises(ValueError, match="not supported for regression"):
        get_prediction_scorer("accuracy", "regression")
    assert set(SCORINGS) == {"classification", "regression"}
