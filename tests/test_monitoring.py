"""Monitoring: reference statistics kept at fit, drift of new batches, the batch score."""

from __future__ import annotations

import copy
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from sknas import NASClassifier, NASRegressor, monitoring
from sknas.monitoring import MonitorReport, monitor, reference_statistics
from sknas.scoring import get_prediction_scorer

SEARCH = {"n_trials": 3, "max_epochs": 3, "families": ["linear"], "random_state": 0}


def make_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric (normal, skewed with missing values, counts) and categorical columns, and a
    binary label that depends on several of them."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "num": rng.normal(0.0, 1.0, n),
            "skewed": rng.exponential(2.0, n),
            "count": rng.poisson(3.0, n),
            "colour": rng.choice(["red", "green", "blue", "grey"], n, p=[0.2, 0.3, 0.3, 0.2]),
            "letter": rng.choice(list("abcdef"), n),
        }
    )
    X.loc[rng.random(n) < 0.05, "skewed"] = np.nan
    logit = X["num"] + (X["colour"] == "red") - 0.3 * X["count"] + rng.normal(0.0, 1.0, n)
    return X, np.where(logit > 0, "yes", "no")


def shifted(X: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``num`` shifted by one standard deviation, the frequency of ``"red"`` doubled."""
    X = X.copy()
    X["num"] += 1.0
    others = np.flatnonzero(X["colour"] != "red")  # a quarter of them: 0.2 -> 0.4
    rows = np.random.default_rng(seed).choice(others, len(others) // 4, replace=False)
    X.loc[rows, "colour"] = "red"
    return X


@pytest.fixture(scope="module")
def table():
    return make_table(4000, seed=0)


@pytest.fixture(scope="module")
def clf(table):
    """A holdout search on a DataFrame with numeric and categorical columns."""
    X, y = table
    return NASClassifier(cv=None, **SEARCH).fit(X, y)


@pytest.fixture(scope="module")
def reg(regression_data):
    """A k-fold search (the default on small data) on an array: out-of-fold reference."""
    X, y = regression_data
    return NASRegressor(n_trials=2, families=["linear"], random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def batch():
    return make_table(2000, seed=1)


def test_reference_is_compact_json(clf, table):
    reference = clf.reference_
    assert json.loads(json.dumps(reference, allow_nan=False)) == reference
    assert len(json.dumps(reference)) < 20_000
    kinds = {f["name"]: f["kind"] for f in reference["features"]}
    assert kinds == {
        "num": "numeric",
        "skewed": "numeric",
        "count": "discrete",
        "colour": "categorical",
        "letter": "categorical",
    }
    X, _ = table
    num = reference["features"][0]
    assert num["quantiles"] == pytest.approx(np.quantile(X["num"], np.linspace(0, 1, 101)))
    assert sum(num["bin_counts"]) == len(X)
    skewed = reference["features"][1]
    assert skewed["missing"] == X["skewed"].isna().sum() > 0
    colour = reference["features"][3]
    assert dict(zip(colour["categories"], colour["counts"], strict=True)) == dict(
        X["colour"].value_counts()
    )
    assert reference["n_rows"] == len(X)
    assert [p["name"] for p in reference["predictions"]] == ["predicted class", "confidence"]
    score = reference["score"]
    assert score["name"] == "accuracy" and score["n_rows"] == 0.2 * len(X)  # the holdout
    assert 0.7 < score["value"] <= 1.0


def test_shifted_feature_and_doubled_category_exactly_flagged(clf, batch):
    X, _ = batch
    report = clf.monitor(shifted(X))
    assert report.flagged == ["num", "colour"]
    features = report.features
    assert features.loc["num", "psi"] > 0.5
    assert 0.1 < features.loc["colour", "psi"] < 0.4  # about 0.2 in theory
    assert features.loc[["num", "colour"], "p_adjusted"].max() < 1e-10
    assert report.drifted


def test_at_most_one_false_flag_over_20_unshifted_resamples(clf):
    flags = [clf.monitor(make_table(2000, seed=100 + i)[0]).flagged for i in range(20)]
    assert sum(len(f) for f in flags) <= 1, flags


def test_unshifted_batch_is_not_flagged(clf, batch):
    X, y = batch
    report = clf.monitor(X, y)
    assert report.flagged == [] and not report.predictions["flagged"].any()
    assert not report.drifted


def test_batch_score_with_interval_next_to_validation_score(clf, batch):
    X, y = batch
    score = clf.monitor(X, y).score
    assert score["name"] == "accuracy" and score["n_rows"] == len(y)
    assert score["batch"] == pytest.approx(clf.score(X, y))
    assert score["ci_low"] < score["batch"] < score["ci_high"]
    assert score["ci_high"] - score["ci_low"] < 0.06  # about 4 standard errors at n=2000
    assert score["validation"] == clf.reference_["score"]["value"]
    assert not score["flagged"]
    assert clf.monitor(X).score is None


def test_large_batch_interval_resampled_m_out_of_n(clf, monkeypatch):
    X, y = make_table(8000, seed=2)
    full = clf.monitor(X, y).score
    monkeypatch.setattr(monitoring, "BOOTSTRAP_ROWS", 500)
    scaled = clf.monitor(X, y).score
    assert scaled["batch"] == full["batch"]
    p = full["batch"]
    normal = 2 * 1.96 * np.sqrt(p * (1 - p) / len(y))  # the accuracy's normal interval
    for score in (full, scaled):
        assert score["ci_low"] < p < score["ci_high"]
        assert score["ci_high"] - score["ci_low"] == pytest.approx(normal, rel=0.15)


def test_score_flagged_when_interval_below_validation(clf, batch):
    X, y = batch
    flipped = np.where(y == "yes", "no", "yes")
    flipped[::2] = y[::2]  # half the labels wrong
    score = clf.monitor(X, flipped).score
    assert score["flagged"] and score["ci_high"] < score["validation"]


def test_ks_and_chi2_agree_with_scipy_on_the_raw_data(clf, table, batch):
    X_train, _ = table
    X, _ = batch
    X = shifted(X).iloc[:300]
    features = clf.monitor(X).features
    ks = stats.ks_2samp(X_train["num"], X["num"])
    assert features.loc["num", "statistic"] == pytest.approx(ks.statistic, abs=0.01)
    assert features.loc["num", "p_value"] == pytest.approx(ks.pvalue, rel=0.5)
    counts = pd.DataFrame(
        {"train": X_train["colour"].value_counts(), "batch": X["colour"].value_counts()}
    )
    chi2 = stats.chi2_contingency(counts.to_numpy().T)
    assert features.loc["colour", "statistic"] == pytest.approx(chi2.statistic)
    assert features.loc["colour", "p_value"] == pytest.approx(chi2.pvalue)
    assert features.loc["num", "test"] == "ks" and features.loc["colour", "test"] == "chi2"
    assert features.loc["skewed", "test"] == "ks+missing"


def test_missing_values_and_unseen_categories_drift(clf, batch):
    X, _ = batch
    X = X.copy()
    X.loc[::2, "num"] = np.nan
    X["letter"] = X["letter"].astype(object)
    X.loc[::3, "letter"] = "never seen"
    features = clf.monitor(X).features
    assert features.loc["num", "missing_now"] == pytest.approx(0.5)
    assert features.loc["num", "missing_reference"] == 0.0
    assert set(features.index[features["flagged"]]) == {"num", "letter"}


def test_report_table_text_and_html(clf, batch):
    X, y = batch
    report = clf.monitor(shifted(X), y)
    assert isinstance(report, MonitorReport)
    assert list(report.features.columns) == [
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
    frame = report.to_frame()
    assert frame.index.names == ["part", "name"]
    assert list(frame.loc["prediction"].index) == ["predicted class", "confidence"]
    text = str(report)
    assert text == report.to_text()
    assert "2 of 5 features flagged (num, colour)" in text
    assert re.search(r"accuracy on the batch: 0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]", text)
    html = report._repr_html_()
    assert html.count("<table") == 2 and "percentile bootstrap" in html


def test_regressor_on_arrays_with_out_of_fold_reference(reg, regression_data):
    X, y = regression_data
    reference = reg.reference_
    assert [f["name"] for f in reference["features"]] == [f"x{j}" for j in range(6)]
    assert reference["score"]["name"] == "r2"
    assert reference["score"]["n_rows"] == len(y)  # out of fold: every row
    report = reg.monitor(X, y)
    assert list(report.predictions.index) == ["predicted value"]
    assert report.score["batch"] == pytest.approx(reg.score(X, y))
    X_shifted = X.copy()
    X_shifted[:, 2] += 2 * X[:, 2].std()
    assert reg.monitor(X_shifted).flagged == ["x2"]


def test_images_compared_by_channel_statistics():
    X, y = load_digits(return_X_y=True)
    images = X.reshape(-1, 1, 8, 8)
    model = NASClassifier(n_trials=1, max_epochs=1, families=["mlp"], cv=None, random_state=0)
    model.fit(images[:400], y[:400])
    names = [f["name"] for f in model.reference_["features"]]
    assert names == ["channel 0 mean", "channel 0 std"]
    assert model.reference_["image_channels"] == 1
    brighter = np.clip(images[400:800] + 3.0, 0, 16)
    assert "channel 0 mean" in model.monitor(brighter).flagged


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize(
    "bad",
    [
        lambda X: X.rename(columns={"num": "other"}),  # other columns
        lambda X: X.drop(columns="letter"),  # a feature missing
        lambda X: X.assign(extra=1.0),  # a feature too many
        lambda X: X.to_numpy(),  # no names, strings where numbers were
    ],
)
def test_bad_X_gets_the_errors_of_predict(clf, batch, bad):
    X = bad(batch[0])
    with pytest.raises(Exception) as predicted:
        clf.predict(X)
    with pytest.raises(type(predicted.value), match=re.escape(str(predicted.value))):
        clf.monitor(X)


def test_wrong_number_of_features_on_arrays(reg, regression_data):
    X, _ = regression_data
    with pytest.raises(ValueError) as predicted:
        reg.predict(X[:, :4])
    with pytest.raises(ValueError, match=re.escape(str(predicted.value))):
        reg.monitor(X[:, :4])


@pytest.mark.parametrize(
    "model, labels",
    [
        ("clf", lambda y: (y == "yes").astype(int)),  # numbers for string classes
        ("clf", lambda y: y[:-1]),  # one label short
        ("reg", lambda y: np.array(["a"] * len(y))),  # strings for a regression target
    ],
)
def test_bad_labels_get_the_errors_of_score(model, labels, request, batch, regression_data):
    estimator = request.getfixturevalue(model)
    X, y = batch if model == "clf" else regression_data
    y = labels(y)
    with pytest.raises(ValueError) as scored:
        estimator.score(X, y)
    with pytest.raises(ValueError, match=re.escape(str(scored.value))):
        estimator.monitor(X, y)


def test_unknown_labels_are_refused(clf, batch):
    X, y = batch
    with pytest.raises(ValueError, match=r"labels the estimator was not fitted on: \['maybe'\]"):
        clf.monitor(X, np.where(y == "yes", "maybe", y))


def test_unfitted_or_without_reference(clf, batch):
    with pytest.raises(NotFittedError):
        NASClassifier().monitor(batch[0])
    old = copy.copy(clf)
    del old.reference_
    with pytest.raises(ValueError, match="no reference statistics"):
        old.monitor(batch[0])
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, "):
        clf.monitor(batch[0].iloc[:0])


def test_function_and_method_agree(clf, batch):
    X, y = batch
    by_method, by_function = clf.monitor(X, y), monitor(clf, X, y)
    pd.testing.assert_frame_equal(by_method.to_frame(), by_function.to_frame())
    assert by_method.score == by_function.score


def test_large_tables_are_sampled_and_edge_columns_summarised(monkeypatch):
    monkeypatch.setattr(monitoring, "MAX_REFERENCE_ROWS", 500)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "all_missing": np.full(2000, np.nan),
            "constant": np.ones(2000),
            "flag": rng.random(2000) < 0.3,
            "level": pd.Categorical(rng.choice(["low", "high"], 2000), ["low", "mid", "high"]),
        }
    )
    estimator = SimpleNamespace(
        _task="classification",
        classes_=np.array([0, 1]),
        image_shape_=None,
        feature_names_in_=X.columns.to_numpy(),
    )
    proba = rng.dirichlet([1, 1], size=100)
    scorer = get_prediction_scorer(None, "classification")
    reference = reference_statistics(estimator, X, proba, rng.integers(0, 2, 100), scorer)
    assert json.loads(json.dumps(reference, allow_nan=False)) == reference
    assert reference["n_rows"] == 2000
    missing, constant, flag, level = reference["features"]
    assert missing["n"] == missing["missing"] == 500 and missing["categories"] == []
    assert constant["kind"] == "discrete" and constant["categories"] == [1.0]
    assert flag["kind"] == "categorical" and set(flag["categories"]) == {"True", "False"}
    assert set(level["categories"]) == {"low", "high"}  # the unused "mid" is not counted
