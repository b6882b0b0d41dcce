"""The DataFrame serving path gives the fitted column transformer's matrix, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sknas import preprocessing
from sknas.preprocessing import FrameTransform, make_tabular_preprocessor, serving_transform


def frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Float64, float32, integer, nullable-integer, categorical, object and bool columns."""
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "a": rng.normal(size=n_rows) * 1e3,
            "b": rng.normal(size=n_rows).astype(np.float32),
            "n": rng.integers(0, 50, size=n_rows),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n_rows)),
            "city": pd.Series(rng.choice([f"c{i}" for i in range(12)], size=n_rows), dtype=object),
            "mixed": pd.Series(rng.choice([1, 2, "x"], size=n_rows), dtype=object),
            "flag": rng.random(n_rows) < 0.3,
        }
    )
    out.loc[rng.random(n_rows) < 0.1, "a"] = np.nan
    out.loc[rng.random(n_rows) < 0.1, "b"] = np.nan
    out.loc[rng.random(n_rows) < 0.1, "colour"] = np.nan
    out.loc[rng.random(n_rows) < 0.1, "city"] = np.nan
    return out


@pytest.fixture(scope="module")
def fitted():
    X = frame(400)
    preprocessor = make_tabular_preprocessor(X).fit(X)
    fast = serving_transform(preprocessor)
    assert isinstance(fast, FrameTransform)
    return preprocessor, fast


def unseen(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with categories the preprocessor never saw, and more missing values."""
    X = X.copy()
    X["city"] = X["city"].where(np.arange(len(X)) % 3 != 0, "nowhere")
    X["colour"] = X["colour"].cat.add_categories("purple")
    X.loc[X.index[::4], "colour"] = "purple"
    X.loc[X.index[1::5], "mixed"] = np.nan
    return X


@pytest.mark.parametrize("n_rows", [1, 2, 7, preprocessing.FEW_ROWS, 200])
@pytest.mark.parametrize("make", [lambda X: X, unseen], ids=["seen", "unseen"])
def test_frames_of_every_size_transform_bit_identically(fitted, n_rows, make):
    preprocessor, fast = fitted
    X = make(frame(n_rows, seed=1))
    expected = preprocessor.transform(X)
    got = fast(X)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_dictionary_and_index_lookups_agree(fitted, monkeypatch):
    preprocessor, fast = fitted
    X = unseen(frame(30, seed=2))
    small = fast(X)
    monkeypatch.setattr(preprocessing, "FEW_ROWS", 0)  # pandas' get_indexer for every size
    np.testing.assert_array_equal(fast(X), small)
    np.testing.assert_array_equal(small, preprocessor.transform(X))


def test_nullable_numeric_columns_take_the_checked_path():
    X = frame(200).astype({"n": "Int64"})
    X.loc[X.index[::7], "n"] = pd.NA
    preprocessor = make_tabular_preprocessor(X).fit(X)
    fast = serving_transform(preprocessor)
    rows = X.iloc[150:]
    np.testing.assert_array_equal(fast(rows), preprocessor.transform(rows))
    np.testing.assert_array_equal(fast(rows.iloc[:1]), preprocessor.transform(rows.iloc[:1]))


@pytest.mark.parametrize("n_classes", [0, 2, 3], ids=["continuous", "binary", "multiclass"])
def test_target_encoded_columns_transform_bit_identically(n_classes):
    """A column of 80 levels, target encoded (one column, or one per class) and one-hot."""
    rng = np.random.default_rng(0)
    X = frame(600)
    X["shop"] = pd.Series([f"s{i}" for i in rng.integers(0, 80, 600)], dtype=object)
    y = rng.normal(size=600) if not n_classes else rng.integers(0, n_classes, 600)
    target_type = {0: "continuous", 2: "binary", 3: "multiclass"}[n_classes]
    preprocessor = make_tabular_preprocessor(X, target_type=target_type)
    preprocessor.fit_transform(X, y)
    fast = serving_transform(preprocessor)
    rows = unseen(frame(100, seed=3))
    rows["shop"] = [f"s{i}" for i in rng.integers(0, 90, 100)]  # some levels never seen
    rows.loc[rows.index[::9], "shop"] = np.nan
    for part in (rows, rows.iloc[:1]):
        np.testing.assert_array_equal(fast(part), preprocessor.transform(part))
