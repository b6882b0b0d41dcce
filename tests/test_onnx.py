"""ONNX export: onnxruntime predicts as the fitted estimator does, for every member family."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import network_member
from sklearn.datasets import load_digits, make_classification

from sknas import NASClassifier, NASRegressor
from sknas.ensemble import FittedEnsemble
from sknas.evaluation.classical import (
    ClassicalMember,
    category_codes_of,
    make_classical_estimator,
)
from sknas.evaluation.crossval import BaggedMember
from sknas.evaluation.members import NeuralMember

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # torch.onnx's exporter
from sknas.export import onnx_inputs, to_onnx  # noqa: E402

#: Largest difference allowed between onnxruntime's and ``predict_proba``'s probabilities
#: (and the relative difference of regression values): the issue's acceptance bound.
TOLERANCE = 1e-5
#: Quick searches: a fitted preprocessor and encoded targets to hang members on.
QUICK = {"n_trials": 1, "max_epochs": 2, "cv": None, "portfolio": False, "random_state": 0}


def run_onnx(estimator, X):
    """The exported graph's outputs on ``X``, through onnxruntime."""
    session = ort.InferenceSession(to_onnx(estimator).SerializeToString())
    return session.run(None, onnx_inputs(estimator, X))


def assert_matches(estimator, X):
    """onnxruntime's outputs equal ``predict_proba`` / ``predict`` within TOLERANCE."""
    outputs = run_onnx(estimator, X)
    if hasattr(estimator, "classes_"):
        labels, proba = outputs
        expected = estimator.predict_proba(X)
        np.testing.assert_allclose(proba, expected, rtol=0, atol=TOLERANCE)
        agree = labels == estimator.predict(X)
        near_ties = np.sort(expected, axis=1)[:, -1] - np.sort(expected, axis=1)[:, -2] < TOLERANCE
        assert (agree | near_ties).all()
    else:
        (values,) = outputs
        expected = estimator.predict(X)
        np.testing.assert_allclose(values, expected, rtol=TOLERANCE, atol=0)


def with_members(estimator, members, weights=None):
    """``estimator`` predicting with ``members`` instead of its search's ensemble."""
    weights = [1.0] * len(members) if weights is None else weights
    estimator.ensemble_ = FittedEnsemble(members, weights, list(range(len(members))))
    return estimator


def training_data(estimator, X, y):
    """The float32 features and encoded targets the members of ``estimator`` train on."""
    features = estimator.preprocessor_.transform(X).astype(np.float32)
    if hasattr(estimator, "classes_"):
        return features, np.searchsorted(estimator.classes_, y), 0.0, 1.0
    mean, scale = float(np.mean(y)), float(np.std(y))
    return features, (y - mean) / scale, mean, scale


@pytest.fixture(scope="module")
def frame():
    """A table with numeric (with NaN), object, category and bool columns, and 60 levels."""
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "c": rng.choice(["x", "y", "z", None], size=n),
            "d": pd.Categorical(rng.choice(["p", "q"], size=n)),
            "e": rng.random(n) < 0.5,
            "f": [f"level{i}" for i in rng.integers(0, 60, size=n)],  # grouped; target encoded
            "g": rng.integers(0, 5, size=n),
        }
    )
    y = np.where(X["a"] + (X["c"] == "x") + rng.normal(size=n) * 0.3 > 0.5, "yes", "no")
    return X, y


@pytest.fixture(scope="module")
def new_rows(frame):
    """Held-out-like rows: unseen categories and missing values in every kind of column."""
    X = frame[0].iloc[:30].copy()
    X.loc[X.index[:4], "c"] = "unseen"
    X.loc[X.index[4:8], "f"] = "brand new"
    X.loc[X.index[8:12], "a"] = np.nan
    X.loc[X.index[12:15], "d"] = np.nan
    X.loc[X.index[15:18], "c"] = None
    X["a"] = X["a"] + 0.5  # other values than the training rows'
    return X


CLASSICAL = [
    ("hist_gbdt", {"max_iter": 30}),
    ("random_forest", {"n_estimators": 15}),
    ("random_forest", {"estimator": "extra_trees", "n_estimators": 15}),
    ("linear", {}),
]


@pytest.mark.parametrize(("family", "params"), CLASSICAL, ids=lambda v: str(v))
@pytest.mark.parametrize("n_classes", [2, 3, 0], ids=["binary", "multiclass", "regression"])
def test_classical_members(family, params, n_classes):
    X, y = make_classification(300, 8, n_informative=5, n_classes=max(n_classes, 2), random_state=0)
    if n_classes:
        estimator = NASClassifier(families=["linear"], **QUICK).fit(X[:200], y[:200])
    else:
        y = X[:, 0] * 30.0 + X[:, 1] ** 2 + 500.0
        estimator = NASRegressor(families=["linear"], **QUICK).fit(X[:200], y[:200])
    features, target, mean, scale = training_data(estimator, X[:200], y[:200])
    task = "classification" if n_classes else "regression"
    model = make_classical_estimator(family, params, task=task, seed=0).fit(features, target)
    member = ClassicalMember(model, task, n_classes or 1, mean, scale)
    assert_matches(with_members(estimator, [member]), X[200:])


def test_classical_member_that_saw_some_classes():
    """A member fitted on two of three classes leaves the third's column at zero."""
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
    estimator = NASClassifier(families=["linear"], **QUICK).fit(X, y)
    features, target, _, _ = training_data(estimator, X, y)
    seen = target > 0
    members = [
        ClassicalMember(
            make_classical_estimator(family, params, task="classification", seed=0).fit(
                features[seen], target[seen]
            ),
            "classification",
            3,
        )
        for family, params in CLASSICAL
    ]
    assert_matches(with_members(estimator, members), X)


@pytest.mark.parametrize("estimator", ["random_forest", "extra_trees"])
def test_large_forests_gather_their_leaves_in_parts(estimator, monkeypatch):
    """Past LEAF_TABLE_CELLS trees x classes, leaf values are gathered a few trees at a time."""
    from sknas.export import _trees

    monkeypatch.setattr(_trees, "LEAF_TABLE_CELLS", 4 * 4)
    X, y = make_classification(300, 8, n_informative=5, n_classes=4, random_state=0)
    clf = NASClassifier(families=["linear"], **QUICK).fit(X[:200], y[:200])
    features, target, _, _ = training_data(clf, X[:200], y[:200])
    params = {"estimator": estimator, "n_estimators": 15}
    model = make_classical_estimator("random_forest", params, task="classification", seed=0)
    member = ClassicalMember(model.fit(features, target), "classification", 4)
    assert_matches(with_members(clf, [member]), X[200:])


NETWORKS = {
    "mlp": "mlp:dense32-relu-d0-batch|dense16-silu-d0.2-layer",
    "resnet_mlp": "mlp:dense32-gelu-d0-none|residual16-gelu-d0-layer|residual8-tanh-d0-batch",
    "cnn": "cnn:conv16k3p-relu-d0-batch|residual_conv8k3-relu-d0-layer|dense12-relu-d0-none",
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400], X[1500:1600]


@pytest.mark.parametrize("family", list(NETWORKS))
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_network_members(family, task, digits):
    X, y, X_new = digits
    image_shape = (1, 8, 8) if family == "cnn" else None
    if task == "classification":
        estimator = NASClassifier(families=["linear"], image_shape=image_shape, **QUICK)
        member = network_member(NETWORKS[family], 64, 10, task)
    else:
        estimator = NASRegressor(families=["linear"], image_shape=image_shape, **QUICK)
        member = network_member(NETWORKS[family], 64, 1, task, 40.0, 3.0)
    estimator.fit(X, y * 10.0 + 5.0 if task == "regression" else y)
    assert_matches(with_members(estimator, [member]), X_new)


def test_searched_cnn_on_images(digits):
    """A CNN the search trained, on (n, 1, 8, 8) images."""
    X, y, X_new = digits
    images = X[:200].reshape(-1, 1, 8, 8)
    y = y[:200]
    clf = NASClassifier(families=["cnn"], **QUICK).fit(images, y)
    assert_matches(clf, X_new.reshape(-1, 1, 8, 8))


@pytest.mark.parametrize("n_classes", [2, 3, 0], ids=["binary", "multiclass", "regression"])
def test_gradient_boosting_on_category_codes(n_classes, frame, new_rows):
    """Splits on sets of levels, as scikit-learn takes them: a level the trees never saw
    (known to the encoder) and a missing level go the missing way, an unseen one too;
    on one-hot blocks and on the column of 60 levels' codes."""
    X, _ = frame
    signal = X["a"].fillna(0).to_numpy() + 2.0 * X["c"].isin(["x", "z"]) - X["d"].eq("p")
    signal += 4.0 * X["f"].isin([f"level{i}" for i in range(0, 60, 2)])
    if n_classes == 3:
        y = np.digitize(signal, [0.0, 1.0])
    elif n_classes == 2:
        y = (signal > 0.5).astype(int)
    else:
        y = signal * 3.0 + 100.0
    task = "classification" if n_classes else "regression"
    estimator = (NASClassifier if n_classes else NASRegressor)(families=["linear"], **QUICK)
    estimator.fit(X, y)
    features, target, mean, scale = training_data(estimator, X, y)
    codes = category_codes_of(estimator.preprocessor_)
    assert len(codes.levels) == 1 and codes.dropped  # column f: its codes, not its encoding
    seen = X["c"].to_numpy() != "y"  # a level between others: the trees renumber theirs
    model = make_classical_estimator(
        "hist_gbdt", {"max_iter": 30}, task=task, seed=0, codes=codes
    ).fit(codes(np.tile(features[seen], (5, 1))), np.tile(target[seen], 5))  # 10+ rows a level
    trees = [tree for iteration in model._predictors for tree in iteration]
    split_on = {int(n["feature_idx"]) for t in trees for n in t.nodes if n["is_categorical"]}
    assert split_on >= {len(codes.blocks)}  # the level codes, and one-hot blocks ...
    assert split_on & set(range(len(codes.blocks)))
    member = ClassicalMember(model, task, n_classes or 1, mean, scale, codes)
    rows = pd.concat([new_rows, X[~seen].iloc[:10]])
    assert_matches(with_members(estimator, [member, member], [0.4, 0.6]), rows)


@pytest.mark.slow  # a search per family set
@pytest.mark.parametrize("families", [["linear"], ["hist_gbdt"], ["random_forest"], ["mlp"]])
def test_dataframe_with_categoricals(families, frame, new_rows):
    """Unseen categories, rare levels grouped, and missing values in every kind of column."""
    X, y = frame
    clf = NASClassifier(families=families, **QUICK).fit(X, y)
    assert_matches(clf, new_rows)
    labels, _ = run_onnx(clf, new_rows)
    assert labels.dtype == object and set(labels) <= {"yes", "no"}


@pytest.mark.parametrize("families", [["linear"], ["hist_gbdt"]])
def test_columns_target_encoded_past_the_one_hot_budget(families, frame, new_rows, monkeypatch):
    """Past ``ONE_HOT_MAX_BYTES`` a column of few levels is target encoded and level
    coded instead of one-hot encoded; the graph encodes it the same way."""
    from sknas import preprocessing

    monkeypatch.setattr(preprocessing, "ONE_HOT_MAX_BYTES", 0)
    clf = NASClassifier(families=families, **QUICK).fit(*frame)
    parts = {name: list(columns) for name, _, columns in clf.preprocessor_.transformers_}
    assert parts["target"] == parts["codes"] == [2, 5]  # c (4 levels with None) and f
    assert_matches(clf, new_rows)


@pytest.mark.parametrize("family", ["mlp", "random_forest"])
def test_bags_of_fold_models(family, frame, new_rows):
    X, _ = frame
    y = X["a"].fillna(0).to_numpy() * 3.0 + (X["c"] == "x") + 100.0
    reg = NASRegressor(families=[family], **QUICK | {"cv": 3}).fit(X, y)
    assert all(isinstance(m, BaggedMember) for m in reg.ensemble_.members_)
    assert_matches(reg, new_rows)


@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_bag_of_networks_sharing_an_architecture(family, digits):
    """Fold models of one architecture: exported once, each with its own weights."""
    X, y, X_new = digits
    image_shape = (1, 8, 8) if family == "cnn" else None
    clf = NASClassifier(families=["linear"], image_shape=image_shape, **QUICK).fit(X, y)
    folds = [network_member(NETWORKS[family], 64, 10, "classification", seed=s) for s in (0, 1, 2)]
    assert_matches(with_members(clf, [BaggedMember(tuple(folds)), folds[1]], [0.7, 0.3]), X_new)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_searched_mixed_ensemble(task, frame, new_rows):
    """A search's ensemble, then one weighing a model of every family the search trained."""
    X, y = frame
    families = ["mlp", "resnet_mlp", "hist_gbdt", "random_forest", "linear"]
    params = {"n_trials": 8, "max_epochs": 3, "cv": None, "warm_start": True, "random_state": 0}
    if task == "classification":
        estimator = NASClassifier(families=families, **params).fit(X, y)
    else:
        target = X["a"].fillna(0).to_numpy() * 3.0 + (X["c"] == "x") + X["g"] ** 2
        estimator = NASRegressor(families=families, **params).fit(X, target)
    assert_matches(estimator, new_rows)
    by_family = {}
    for result in estimator._warm_journal.results:  # every trial's model, kept for warm starts
        if result.member is not None:
            by_family.setdefault(result.candidate.family, result.member)
    kinds = {type(member) for member in by_family.values()}
    assert kinds == {NeuralMember, ClassicalMember}
    weights = np.linspace(1.0, 2.0, len(by_family))
    assert_matches(with_members(estimator, list(by_family.values()), weights), new_rows)


@pytest.mark.slow  # a search over every family
def test_mixed_ensemble_of_every_kind(frame, new_rows):
    """Networks, trees, a linear model and a bag, weighted, in one graph."""
    X, y = frame
    clf = NASClassifier(families=["linear"], **QUICK).fit(X, y)
    features, target, _, _ = training_data(clf, X, y)
    n_features = features.shape[1]
    classical = [
        ClassicalMember(
            make_classical_estimator(family, params, task="classification", seed=0).fit(
                features, target
            ),
            "classification",
            2,
        )
        for family, params in CLASSICAL
    ]
    networks = [network_member(NETWORKS[f], n_features, 2, "classification") for f in NETWORKS]
    networks = networks[:2]  # the CNN wants images
    bag = BaggedMember((classical[0], networks[0]))
    members = [*classical, *networks, bag]
    assert_matches(with_members(clf, members, [0.3, 0.1, 0.1, 0.2, 0.15, 0.05, 0.1]), new_rows)


def fold_models(family, params, features, target, task, n_outputs, seen=None):
    """Three fold models of ``family`` on different rows (the first fold only on the rows
    that ``seen`` keeps, when given)."""
    folds = []
    for k in range(3):
        rows = np.arange(len(target)) % 3 != k
        if k == 0 and seen is not None:
            rows &= seen
        estimator = make_classical_estimator(family, params, task=task, seed=k)
        folds.append(ClassicalMember(estimator.fit(features[rows], target[rows]), task, n_outputs))
    return folds


@pytest.mark.slow  # bags of every family, exported and run: ~20 s each
@pytest.mark.parametrize("n_classes", [3, 2, 0], ids=["multiclass", "binary", "regression"])
def test_bags_of_every_kind_are_merged(n_classes, frame, new_rows):
    """Bags unpacked: one TreeEnsemble node for the forests, one for gradient boosting, on a
    DataFrame with unseen categories and NaN, with bags of networks and linear models."""
    X, _ = frame
    a = X["a"].fillna(0).to_numpy()
    if n_classes == 3:
        y = np.digitize(a + (X["c"] == "x"), [0.0, 0.8])
    elif n_classes == 2:
        y = (a + (X["c"] == "x") > 0.5).astype(int)
    else:
        y = a * 3.0 + (X["c"] == "x") + X["g"] ** 2 + 100.0
    task = "classification" if n_classes else "regression"
    estimator = (NASClassifier if n_classes else NASRegressor)(families=["linear"], **QUICK)
    estimator.fit(X, y)
    assert "target" in estimator.preprocessor_.named_transformers_  # column f's 60 levels
    features, target, mean, scale = training_data(estimator, X, y)
    n_outputs = n_classes or 1
    seen = target > 0 if n_classes == 3 else None  # one fold sees two of three classes
    bags = [
        fold_models("random_forest", {"n_estimators": 7}, features, target, task, n_outputs, seen),
        fold_models(
            "random_forest",
            {"estimator": "extra_trees", "n_estimators": 5},
            features,
            target,
            task,
            n_outputs,
        ),
        fold_models("hist_gbdt", {"max_iter": 12}, features, target, task, n_outputs, seen),
        fold_models("hist_gbdt", {"max_iter": 5}, features, target, task, n_outputs),
        fold_models("linear", {}, features, target, task, n_outputs),
    ]
    if task == "regression":
        bags = [[replace(m, target_mean=mean, target_scale=scale) for m in bag] for bag in bags]
    n_features = features.shape[1]
    for key, seeds in (
        (NETWORKS["mlp"], (0, 1, 2)),
        (NETWORKS["mlp"], (3, 4)),
        (NETWORKS["resnet_mlp"], (5, 6)),
    ):
        bags.append(
            [network_member(key, n_features, n_outputs, task, mean, scale, seed=s) for s in seeds]
        )
    members = [BaggedMember(tuple(bag)) for bag in bags]
    weights = [0.2, 0.1, 0.15, 0.05, 0.1, 0.2, 0.1, 0.1]
    with_members(estimator, members, weights)
    assert_matches(estimator, new_rows)
    nodes = [node.op_type for node in to_onnx(estimator).graph.node]
    assert nodes.count("TreeEnsemble") == 2
    assert_matches(estimator, new_rows.iloc[:1])


def test_written_to_path(iris, tmp_path):
    onnx = pytest.importorskip("onnx")
    X, y = iris
    clf = NASClassifier(families=["linear"], **QUICK).fit(X, y)
    model = to_onnx(clf, tmp_path / "model.onnx")
    assert onnx.load(tmp_path / "model.onnx") == model
    labels, proba = run_onnx(clf, X)
    assert labels.dtype == np.int64 and proba.shape == (150, 3)


def test_one_row(iris):
    X, y = iris
    clf = NASClassifier(families=["linear"], **QUICK).fit(X, y)
    assert_matches(clf, X[:1])


def test_unsupported_member_is_named(iris):
    X, y = iris
    clf = NASClassifier(families=["linear"], **QUICK).fit(X, y)
    with_members(clf, [clf.ensemble_.members_[0], object()])
    with pytest.raises(NotImplementedError, match=r"Ensemble member 1 \(trial 1\).*object"):
        to_onnx(clf)


def test_text_column_is_refused_by_name():
    rng = np.random.default_rng(0)
    words = np.array(["good", "bad", "food", "service", "slow", "fast", "table", "price"])
    X = pd.DataFrame(
        {
            "review": [" ".join(rng.choice(words, 5)) + f" {i}" for i in range(80)],
            "x": rng.normal(size=80),
        }
    )
    clf = NASClassifier(families=["linear"], **QUICK).fit(X, rng.integers(0, 2, 80))
    with pytest.raises(NotImplementedError, match="'review'"):
        to_onnx(clf)


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(NASClassifier())


def test_columns_without_values_or_numbers(rng):
    """Only categorical columns, one of them empty at fit; a numeric column that was all NaN."""
    n = 120
    X = pd.DataFrame(
        {
            "c": rng.choice(["x", "y", None], size=n),
            "d": pd.Categorical(rng.choice(["p", "q"], size=n)),
            "empty": [None] * n,
        }
    )
    y = (X["c"] == "x").astype(int) + rng.integers(0, 2, n)
    clf = NASClassifier(families=["linear", "hist_gbdt"], **QUICK | {"n_trials": 2}).fit(X, y)
    new = X.copy()
    new.loc[:5, "empty"] = "now"
    new.loc[6:9, "d"] = np.nan
    assert_matches(clf, new)
    X = pd.DataFrame({"a": rng.normal(size=n), "none": np.nan, "c": rng.choice(["x", "y"], n)})
    reg = NASRegressor(families=["linear"], **QUICK).fit(X, X["a"] * 5.0 + 1000.0)
    X.loc[:5, "none"] = 3.0
    assert_matches(reg, X)


def test_numeric_rows_missing_where_fit_saw_none(rng):
    X = rng.normal(size=(120, 3))
    X[:, 1] = np.nan
    X[::3, 0] = np.nan
    reg = NASRegressor(families=["linear"], **QUICK).fit(X, rng.normal(size=120))
    X_new = rng.normal(size=(20, 3))
    X_new[:3, 2] = np.nan  # no indicator column: imputed only
    assert_matches(reg, X_new)


def test_model_loaded_from_the_safe_file_exports_the_same_graph(frame, tmp_path):
    from sknas.persistence import load, save

    X, y = frame
    clf = NASClassifier(families=["linear", "random_forest"], **QUICK | {"cv": 3}).fit(X, y)
    save(clf, tmp_path / "model.zip")
    assert to_onnx(load(tmp_path / "model.zip")).graph == to_onnx(clf).graph
