"""Forests and gradient boosting predict a few rows through packed trees: the same numbers."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from sknas.evaluation import treepack
from sknas.evaluation.classical import ClassicalMember, _forest_average
from sknas.evaluation.treepack import pack_forest, pack_hist_gbdt

ROWS = (1, 2, 5, 40)


def data(task: str, n_classes: int = 3, missing: bool = False, seed: int = 0):
    """Rows (float64, with values float32 cannot hold exactly) and targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 6))
    logit = X[:, 0] + X[:, 1] * X[:, 2]
    if task == "regression":
        y = logit + rng.normal(scale=0.1, size=len(X))
    else:
        y = np.digitize(logit, np.quantile(logit, np.linspace(0, 1, n_classes + 1)[1:-1]))
    if missing:
        X[rng.random(X.shape) < 0.15] = np.nan
    return X, y


def reference(member: ClassicalMember, X: np.ndarray) -> np.ndarray:
    """What ``member.predict`` gave before trees were packed: scikit-learn's path."""
    estimator = member.estimator
    if member.task == "regression":
        if isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor)):
            pred = _forest_average(estimator, X)[:, 0]
        else:
            pred = estimator.predict(X)
        return pred * member.target_scale + member.target_mean
    proba = np.zeros((len(X), member.n_outputs))
    if isinstance(estimator, (RandomForestClassifier, ExtraTreesClassifier)):
        proba[:, estimator.classes_] = _forest_average(estimator, X)
    else:
        proba[:, estimator.classes_] = estimator.predict_proba(X)
    return proba


def test_reference_forest_average_is_sklearns():
    X, y = data("classification")
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(_forest_average(forest, X), forest.predict_proba(X))


CLASSIFIERS = [
    RandomForestClassifier(n_estimators=30, random_state=0),
    ExtraTreesClassifier(n_estimators=30, random_state=0),
    HistGradientBoostingClassifier(max_iter=30, random_state=0),
]
REGRESSORS = [
    RandomForestRegressor(n_estimators=30, random_state=0),
    ExtraTreesRegressor(n_estimators=30, random_state=0),
    HistGradientBoostingRegressor(max_iter=30, random_state=0),
]


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "nan"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=lambda e: type(e).__name__)
def test_classifiers_predict_bit_identically(estimator, n_classes, missing):
    X, y = data("classification", n_classes, missing)
    member = ClassicalMember(estimator.fit(X[:200], y[:200]), "classification", n_classes)
    for n_rows in ROWS:
        rows = X[200 : 200 + n_rows]
        assert member._packed().suits(n_rows) or n_rows == 40
        np.testing.assert_array_equal(member.predict(rows), reference(member, rows))


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "nan"])
@pytest.mark.parametrize("estimator", REGRESSORS, ids=lambda e: type(e).__name__)
def test_regressors_predict_bit_identically(estimator, missing):
    X, y = data("regression", missing=missing)
    member = ClassicalMember(
        estimator.fit(X[:200], y[:200]), "regression", 1, target_mean=3.0, target_scale=0.7
    )
    for n_rows in ROWS:
        rows = X[200 : 200 + n_rows]
        np.testing.assert_array_equal(member.predict(rows), reference(member, rows))


@pytest.mark.parametrize("estimator", CLASSIFIERS[::2], ids=lambda e: type(e).__name__)
def test_float32_rows_and_absent_classes(estimator):
    # Fitted on codes 1 and 3 of 4 outputs: columns 0 and 2 stay zero.
    X, y = data("classification", 2)
    member = ClassicalMember(estimator.fit(X, 2 * y + 1), "classification", 4)
    rows = X[:3].astype(np.float32)
    pred = member.predict(rows)
    np.testing.assert_array_equal(pred, reference(member, rows))
    assert pred[:, [0, 2]].max() == 0.0


def test_every_batch_size_the_packed_path_takes(monkeypatch):
    # Packing everywhere (a limit no batch passes) still gives the same numbers.
    monkeypatch.setattr(treepack, "PER_TREE_NODES", 10**9)
    X, y = data("classification", 3, missing=True)
    for estimator in CLASSIFIERS:
        member = ClassicalMember(estimator.fit(X[:200], y[:200]), "classification", 3)
        np.testing.assert_array_equal(member.predict(X[200:]), reference(member, X[200:]))


def test_packing_is_used_for_few_rows_only(monkeypatch):
    X, y = data("classification")
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    packed = pack_forest(forest, 3)
    n_internal = len(packed.feature)
    assert packed.depth == max(tree.tree_.max_depth for tree in forest.estimators_)
    assert n_internal == sum(int((tree.tree_.children_left >= 0).sum()) for tree in forest)
    limit = treepack.PER_TREE_NODES * 10 // n_internal
    assert packed.suits(limit) and not packed.suits(limit + 1) and not packed.suits(0)

    calls = []
    monkeypatch.setattr(treepack.PackedTrees, "leaf_values", lambda *a: calls.append(1))
    member = ClassicalMember(forest, "classification", 3)
    member.predict(X[: limit + 1])  # scikit-learn's trees ...
    assert calls == []
    assert "_packed_cache" not in member.__dict__  # ... and no packed copy kept


def test_categorical_splits_are_left_to_sklearn():
    X, y = data("classification", 2)
    frame = pd.DataFrame(X).assign(c=pd.Categorical(np.where(y == 1, "a", "b")))
    frame.columns = frame.columns.astype(str)
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(frame, y)
    assert pack_hist_gbdt(model) is None
    numeric = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    packed = pack_hist_gbdt(numeric)
    assert len(packed.roots) == numeric.n_iter_


def test_the_packed_trees_stay_out_of_pickles():
    X, y = data("classification")
    member = ClassicalMember(
        RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y), "classification", 3
    )
    before = pickle.dumps(member)
    member.predict(X[:1])
    assert member._packed() is not None
    assert pickle.dumps(member) == before
    loaded = pickle.loads(before)
    assert "_packed_cache" not in loaded.__dict__
    np.testing.assert_array_equal(loaded.predict(X[:2]), member.predict(X[:2]))


def test_no_rows_behave_as_before():
    X, y = data("regression")
    model = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X, y)
    member = ClassicalMember(model, "regression", 1)
    with pytest.raises(ValueError, match="0 sample"):
        model.predict(X[:0])
    with pytest.raises(ValueError, match="0 sample"):
        member.predict(X[:0])
