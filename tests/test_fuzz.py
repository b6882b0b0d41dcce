"""Property-based: random shapes, dtypes, NaN patterns and label types through fit/predict.

Either the estimator fits and predicts sensibly, or it raises a ``ValueError`` that says
what to fix; nothing else (no error from deep inside torch, no failed search).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sknas import NASClassifier, NASRegressor

pytestmark = pytest.mark.slow  # 50 searches

LABELS = {
    "int": lambda k: np.arange(k) * 7 - 3,
    "str": lambda k: np.array([f"class {i}" for i in range(k)]),
    "bool": lambda k: np.array([False, True][:k]),
    "float": lambda k: np.arange(k) * 2.0 + 1.0,  # discrete values in a float array
}
SEARCH = {"n_trials": 2, "max_epochs": 3, "random_state": 0, "families": ["mlp", "linear"]}


@st.composite
def tables(draw):
    """A random table: shape, dtype, scale and a NaN pattern, from a drawn seed."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(2, 40)), draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    X = rng.normal(scale=draw(st.sampled_from([1e-3, 1.0, 1e4])), size=(n, d))
    X = X.astype(dtype)
    nan = draw(st.sampled_from(["none", "some", "column", "row"]))
    if nan != "none" and dtype is not np.int64:
        mask = {
            "some": rng.random((n, d)) < 0.2,
            "column": np.arange(d)[None, :] == 0,
            "row": np.arange(n)[:, None] == 0,
        }[nan]
        X[np.broadcast_to(mask, X.shape)] = np.nan
    return rng, X


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), kind=st.sampled_from(sorted(LABELS)), n_classes=st.integers(1, 3))
def test_classifier_fits_or_raises_a_clear_value_error(table, kind, n_classes):
    rng, X = table
    labels = LABELS[kind](n_classes)
    y = labels[rng.integers(len(labels), size=len(X))]
    clf = NASClassifier(**SEARCH)
    try:
        clf.fit(X, y)
    except ValueError as error:
        assert str(error)  # a message that says what to fix
        assert len(np.unique(y)) < 2 or len(X) < 2, error
        return
    assert set(clf.classes_) == set(np.unique(y))
    pred = clf.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= set(clf.classes_)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), scale=st.sampled_from([1e-6, 1.0, 1e6]))
def test_regressor_fits_and_predicts_finite_values(table, scale):
    rng, X = table
    y = rng.normal(scale=scale, size=len(X))
    reg = NASRegressor(**SEARCH).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (len(X),) and np.all(np.isfinite(pred))
