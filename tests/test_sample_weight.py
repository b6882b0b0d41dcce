"""``sample_weight`` and ``class_weight``: honoured by training, scoring and ensembling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sknas import NASClassifier, NASRegressor
from sknas.evaluation import DataSplit, Evaluator, make_split
from sknas.evaluation.data import balanced_weights
from sknas.scoring import get_prediction_scorer
from sknas.space import TABULAR_FAMILIES, default_search_space
from sknas.trial import Candidate, TrialState

SEARCH = {"n_trials": 3, "max_epochs": 20, "random_state": 0}


@pytest.fixture(scope="module")
def overlapping_classes():
    """Two overlapping classes (means -0.5 and +0.5 on x0); weights 3:1 for class 0.

    The Bayes boundary moves from x0 = 0 to x0 = ln 3 = 1.1: class 0 is then the
    answer for about 84 % of new points instead of 50 %.
    """
    rng = np.random.default_rng(0)

    def draw(n):
        y = rng.integers(0, 2, n)
        return np.c_[rng.normal(size=n) + y - 0.5, rng.normal(size=n)], y

    X, y = draw(2000)
    return X, y, np.where(y == 0, 3, 1), draw(1000)[0]


def _share_of_class_0(model, X):
    return float(np.mean(model.predict(X) == 0))


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
@pytest.mark.parametrize("families", [["mlp"], ["hist_gbdt"], ["linear"]])
def test_weights_move_the_decision_as_they_should(overlapping_classes, families):
    X, y, weights, X_new = overlapping_classes
    search = SEARCH | {"families": families}
    weighted = NASClassifier(**search).fit(X, y, sample_weight=weights)
    unweighted = NASClassifier(**search).fit(X, y)
    assert _share_of_class_0(weighted, X_new) > 0.65
    assert _share_of_class_0(unweighted, X_new) < 0.6


def _weighted_and_repeated_splits(X, y, weights):
    """The same partition twice: rows weighted, or repeated as often as their weight."""
    train, valid = np.arange(len(y)) % 5 != 0, np.arange(len(y)) % 5 == 0

    def part(rows, repeat):
        counts = weights[rows] if repeat else np.ones(rows.sum(), int)
        return np.repeat(X[rows], counts, axis=0).astype(np.float32), np.repeat(y[rows], counts)

    splits = []
    for repeat in (False, True):
        (X_train, y_train), (X_valid, y_valid) = part(train, repeat), part(valid, repeat)
        w = {}
        if not repeat:
            w = {"w_train": weights[train] / weights[train].mean(), "w_valid": weights[valid]}
            w = {k: v.astype(np.float32) for k, v in w.items()}
        splits.append(
            DataSplit("classification", X_train, y_train, X_valid, y_valid, y_valid, 2, **w)
        )
    return splits


@pytest.mark.parametrize(
    ("family", "tolerance"), [("linear", 0.01), ("hist_gbdt", 0.05), ("mlp", 0.05)]
)
def test_integer_weights_train_and_score_as_repeated_rows(overlapping_classes, family, tolerance):
    # On the same partition of the rows, a trial on weighted rows and one on rows
    # repeated as often as their weight score alike and predict alike. (End to end,
    # repeated rows also leak copies of training rows into the validation split.)
    X, y, weights, X_new = overlapping_classes
    space = default_search_space("classification", max_epochs=20)
    params, genome = space[family].decode(space[family].default_point())
    candidate = Candidate(0, family, params, genome, 0, params.get("max_epochs", 1), "test")
    accuracy = get_prediction_scorer(None, "classification")
    results = [
        Evaluator(split, accuracy.weighted(split.w_valid))(candidate)
        for split in _weighted_and_repeated_splits(X, y, weights)
    ]
    assert all(r.state is TrialState.COMPLETE for r in results)
    weighted, repeated = results
    assert weighted.score == pytest.approx(repeated.score, abs=tolerance)
    share = [np.mean(r.member.predict(X_new.astype(np.float32)).argmax(1) == 0) for r in results]
    assert share[0] > 0.65 and share[0] == pytest.approx(share[1], abs=tolerance)


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_zero_weights_are_exactly_dropped_rows(regression_data):
    X, y = regression_data
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    weights[::4] = 0.0
    keep = weights > 0
    with_zeros = NASRegressor(**SEARCH).fit(X, y, sample_weight=weights)
    dropped = NASRegressor(**SEARCH).fit(X[keep], y[keep], sample_weight=weights[keep])
    np.testing.assert_allclose(with_zeros.predict(X), dropped.predict(X))
    assert with_zeros.leaderboard_["score"].tolist() == dropped.leaderboard_["score"].tolist()


def test_sample_weight_errors_say_what_to_fix(iris):
    X, y = iris
    with pytest.raises(ValueError, match="Negative values in data"):
        NASClassifier(n_trials=1).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        NASClassifier(n_trials=1).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="at least 2 rows need a positive weight"):
        NASClassifier(n_trials=1).fit(X, y, sample_weight=np.eye(1, len(y))[0])


def test_the_callers_weights_are_not_modified(iris):
    X, y = iris
    weights = np.linspace(0.0, 2.0, len(y))
    before = weights.copy()
    NASClassifier(n_trials=1, max_epochs=5, random_state=0).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, before)


def test_balanced_weights_give_each_class_the_same_total():
    y = np.array([0] * 90 + [1] * 10 + [2] * 5)
    user = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    balanced = balanced_weights(y, user)
    totals = np.bincount(y, weights=balanced)
    np.testing.assert_allclose(totals, totals[0], rtol=1e-5)
    assert balanced.mean() == pytest.approx(1.0)
    # Within a class, the user's weights keep their proportions.
    np.testing.assert_allclose(balanced[:90] / user[:90], balanced[0] / user[0], rtol=1e-5)


def test_balanced_class_weight_makes_a_network_predict_the_minority_class():
    X, y = make_classification(
        n_samples=1000, n_features=6, weights=[0.95], flip_y=0.02, class_sep=0.6, random_state=0
    )
    split = make_split(X, y, task="classification", validation_fraction=0.25, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer("balanced_accuracy", "classification"))
    space = default_search_space("classification", max_epochs=20)
    minority_predictions = {}
    for class_weight in (None, "balanced"):
        point = space["mlp"].default_point() | {"class_weight": class_weight}
        params, genome = space["mlp"].decode(point)
        result = evaluator(Candidate(0, "mlp", params, genome, 0, 20, "test"))
        assert result.state is TrialState.COMPLETE, result.error
        minority_predictions[class_weight] = int((result.valid_pred.argmax(1) == 1).sum())
    assert minority_predictions["balanced"] > 1.5 * max(1, minority_predictions[None])


def test_class_weight_is_searched_for_classification_only():
    classification = default_search_space("classification", max_epochs=5)
    regression = default_search_space("regression", max_epochs=5)
    for family in TABULAR_FAMILIES:
        assert "class_weight" in classification[family].dimensions
        assert "class_weight" not in regression[family].dimensions
