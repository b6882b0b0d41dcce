"""Sparse X (CSR, CSC and the other scipy formats): fitted without densifying it."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder
from torch.utils.data import TensorDataset

import sknas
from sknas import NASClassifier, NASRegressor
from sknas.evaluation.data import SparseRows, TensorBatchIterator, concat_rows, rows_tensor
from sknas.evaluation.members import predict_module
from sknas.space import default_search_space

# Holdout trials (one fit each): what these tests check does not depend on ``cv``, and a
# five-fold search (``cv="auto"`` on rows this few) costs five times as much.
FAST = {"n_trials": 3, "max_epochs": 5, "random_state": 0, "cv": None}


def sparse_table(n=240, n_features=60, seed=0):
    """A classification table whose features are mostly zeros."""
    X, y = make_classification(
        n, n_features, n_informative=10, n_redundant=0, random_state=seed, class_sep=1.5
    )
    X[np.abs(X) < 1.2] = 0.0
    return sp.csr_matrix(X), y


def documents(n=160, seed=0):
    """Sentences whose topic (the label) shows in some of their words."""
    rng = np.random.default_rng(seed)
    topics = [["goal", "match", "team", "score"], ["vote", "party", "law", "senate"]]
    filler = ["the", "a", "today", "news", "said", "after", "people", "new", "one"]
    y = rng.integers(0, 2, n)
    texts = [
        " ".join(rng.choice(filler, 6).tolist() + rng.choice(topics[label], 2).tolist())
        for label in y
    ]
    return texts, y


def test_tfidf_pipeline_fits_and_predicts():
    texts, y = documents()
    model = make_pipeline(TfidfVectorizer(), NASClassifier(families=["linear", "mlp"], **FAST)).fit(
        texts[:120], y[:120]
    )
    assert model.score(texts[120:], y[120:]) >= 0.9
    assert model.predict(["the team won the match"]).shape == (1,)


def test_one_hot_encoder_in_front_fits_and_predicts():
    rng = np.random.default_rng(0)
    X = rng.choice(["red", "green", "blue", "black"], size=(200, 3))
    y = (X[:, 0] == "red") | (X[:, 1] == "blue")
    model = make_pipeline(OneHotEncoder(), NASClassifier(families=["linear"], **FAST))
    model.fit(X[:150], y[:150])
    assert model.score(X[150:], y[150:]) >= 0.95


@pytest.mark.parametrize("family", ["mlp", "resnet_mlp", "linear", "random_forest"])
def test_sparse_dense_and_every_format_predict_the_same(family):
    X, y = sparse_table()
    model = NASClassifier(families=[family], **FAST).fit(X, y)
    assert isinstance(model.preprocessor_, MaxAbsScaler)
    expected = model.predict_proba(X)
    assert model.score(X, y) > 0.8
    for other in (X.toarray(), X.tocsc(), X.tocoo(), sp.csr_array(X), X.astype(np.float32)):
        np.testing.assert_allclose(model.predict_proba(other), expected, atol=1e-6)


def test_regressor_on_sparse_matches_dense_rows():
    X, y = make_regression(200, 30, n_informative=8, noise=1.0, random_state=0)
    X[np.abs(X) < 1.0] = 0.0
    model = NASRegressor(families=["mlp", "linear"], **FAST).fit(sp.csr_matrix(X), y)
    assert model.score(sp.csr_matrix(X), y) > 0.7
    np.testing.assert_allclose(model.predict(X), model.predict(sp.csc_matrix(X)), atol=1e-6)


def test_a_dense_fitted_model_predicts_sparse_rows_as_dense():
    X, y = sparse_table()
    model = NASClassifier(families=["linear"], **FAST).fit(X.toarray(), y)
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X.toarray()))
    with_inf = X.copy()
    with_inf.data[0] = np.inf
    with pytest.raises(ValueError, match="infinity"):  # as for dense rows
        model.predict(with_inf)


def test_k_fold_search_on_sparse_rows():
    X, y = sparse_table()
    model = NASClassifier(families=["mlp", "linear"], **{**FAST, "cv": 3}).fit(X, y)
    assert model.score(X, y) > 0.8
    assert model.leaderboard_["state"].eq("COMPLETE").any()


def test_hist_gbdt_is_left_out_of_sparse_searches():
    space = default_search_space("classification", max_epochs=5, sparse=True)
    assert "hist_gbdt" not in space and "linear" in space
    with pytest.warns(UserWarning, match="hist_gbdt left out"):
        space = default_search_space(
            "classification", max_epochs=5, families=["hist_gbdt", "linear"], sparse=True
        )
    assert space.family_names == ("linear",)
    X, y = sparse_table()
    with pytest.raises(ValueError, match="cannot fit sparse X"):
        NASClassifier(families=["hist_gbdt"], **FAST).fit(X, y)
    with warnings.catch_warnings():  # auto: left out without a warning
        warnings.simplefilter("error", UserWarning)
        model = NASClassifier(**FAST).fit(X, y)
    assert "hist_gbdt" not in set(model.leaderboard_["family"])


def test_bad_sparse_input_gets_clear_errors_and_is_not_mutated():
    X, y = sparse_table()
    with_nan = X.copy()
    with_nan.data[0] = np.nan
    with pytest.raises(ValueError, match="Sparse X holds NaN.*SimpleImputer"):
        NASClassifier(**FAST).fit(with_nan, y)
    with_nan.data[0] = np.inf
    with pytest.raises(ValueError, match="Sparse X holds infinite values"):
        NASClassifier(**FAST).fit(with_nan, y)
    with pytest.raises(TypeError, match=r"X.toarray\(\)"):
        NASClassifier(image_shape=(1, 6, 10), **FAST).fit(X, y)
    unsorted = sp.csr_matrix((X.data[::-1].copy(), X.indices, X.indptr), shape=X.shape)
    unsorted.has_sorted_indices = False
    before = [a.copy() for a in (unsorted.data, unsorted.indices, unsorted.indptr)]
    model = NASClassifier(families=["linear"], checkpoint_dir=None, warm_start=True, **FAST)
    model.fit(unsorted, y)
    model.predict(unsorted)
    for array, copy in zip((unsorted.data, unsorted.indices, unsorted.indptr), before, strict=True):
        np.testing.assert_array_equal(array, copy)
    with pytest.raises(ValueError, match="X has 59 features"):
        model.predict(X[:, :59])
    with pytest.raises(ValueError, match="Sparse X holds NaN"):
        model.predict(with_nan.multiply(np.nan))


def test_sparse_fitted_models_pickle_save_and_monitor(tmp_path):
    X, y = sparse_table()
    model = NASClassifier(families=["mlp", "linear"], **FAST).fit(X, y)
    expected = model.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), expected)
    model.save(tmp_path / "model.skn")
    np.testing.assert_array_equal(sknas.load(tmp_path / "model.skn").predict_proba(X), expected)
    report = model.monitor(X, y)
    assert report.n_rows == X.shape[0]
    assert not report.features["flagged"].any()  # the training rows have not drifted


def test_onnx_export_of_a_sparse_fitted_model_is_refused_by_name():
    pytest.importorskip("onnx")
    X, y = sparse_table()
    model = NASClassifier(families=["linear"], **FAST).fit(X, y)
    with pytest.raises(NotImplementedError, match="MaxAbsScaler"):
        model.to_onnx()


def test_sparse_rows_batches_are_the_dense_rows():
    dense = np.random.default_rng(0).random((37, 5)).astype(np.float32)
    dense[dense < 0.6] = 0.0
    rows = rows_tensor(sp.csr_matrix(dense), "cpu")
    assert isinstance(rows, SparseRows) and rows.size(0) == len(rows) == 37
    y = torch.arange(37)
    torch.manual_seed(0)
    batches = list(TensorBatchIterator(TensorDataset(rows, y), 8, shuffle=True))
    assert sum(len(b[1]) for b in batches) == 37  # the last single row merged
    for X_batch, y_batch in batches:
        torch.testing.assert_close(X_batch, torch.from_numpy(dense[y_batch.numpy()]))
    both = concat_rows(rows, rows)
    assert isinstance(both, SparseRows) and both.shape == (74, 5)
    net = torch.nn.Linear(5, 3)
    np.testing.assert_allclose(
        predict_module(net, sp.csr_matrix(dense), task="classification", dtype=torch.float32),
        predict_module(net, dense, task="classification", dtype=torch.float32),
    )
