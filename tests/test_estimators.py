"""Behaviour of NASClassifier / NASRegressor that users rely on."""

from __future__ import annotations

import pickle
import random
import re
import time

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from helpers import ScriptedStrategy
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknas
from sknas import NASClassifier, NASRegressor, SearchFailedError
from sknas.export import onnx_inputs
from sknas.summary import search_summary
from sknas.trial import SKIPPED

LEADERBOARD_MUST_HAVE = {
    "trial_id",
    "family",
    "proposer",
    "state",
    "score",
    "fit_time",
    "n_epochs",
    "params",
}


@pytest.fixture(scope="module")
def fitted_classifier(iris):
    X, y = iris
    return NASClassifier(**TINY).fit(X, y)


def test_classifier_learns_and_reports(fitted_classifier, iris):
    X, y = iris
    clf = fitted_classifier
    assert clf.score(X, y) > 0.9
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.n_features_in_ == 4
    assert clf.n_trials_ == 2 and len(clf.leaderboard_) == 2
    assert LEADERBOARD_MUST_HAVE <= set(clf.leaderboard_.columns)
    assert clf.best_score_ == clf.leaderboard_["score"].max()
    # Which of the two portfolio trials (a network and a forest) wins is the data's call.
    assert clf.best_params_["family"] == clf.leaderboard_["family"].iloc[0]
    assert set(clf.leaderboard_["family"]) == {"mlp", "random_forest"}
    if clf.best_params_["family"] == "mlp":
        assert {"lr", "batch_size", "optimizer", "genome"} <= set(clf.best_params_)
    assert clf.device_ == ("cuda" if torch.cuda.is_available() else "cpu")  # device="auto"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_regressor_learns_in_original_target_scale(regression_data):
    X, y = regression_data
    reg = NASRegressor(**TINY).fit(X, y)
    assert reg.score(X, y) > 0.8
    assert abs(reg.predict(X).mean() - y.mean()) < 0.2 * y.std()


def test_string_labels_and_feature_names_round_trip(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = NASClassifier(**TINY).fit(frame, labels)
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert set(clf.predict(frame)) <= set(labels)
    assert (clf.predict(frame) == labels).mean() > 0.9


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.array([[np.inf, 1.0]] * 10), np.arange(10) % 2, "infinity"),
        (np.ones((10, 2)), np.r_[np.arange(9) % 2, np.nan], "NaN"),
        (np.empty((0, 3)), np.empty(0), "0 sample"),
        (np.arange(10.0), np.arange(10) % 2, "Expected 2D array"),
        (np.ones((10, 2)), np.linspace(0, 1, 10), "Unknown label type"),
        (np.ones((10, 2)), np.zeros(10), re.escape("at least 2 classes in y; got 1 class (0.0)")),
        (
            pd.DataFrame(np.ones((10, 3)), columns=["a", "b", "a"]),
            np.arange(10) % 2,
            re.escape("X has columns that share a name: ['a']."),
        ),
        (np.ones((1, 2)), np.zeros(1), "1 sample"),
        (
            pd.DataFrame({"a": np.arange(10.0), "b": [[1, 2], [3]] * 5}),
            np.arange(10) % 2,
            re.escape("Column 'b' of X holds a list (row 0: [1, 2])"),
        ),
        (
            np.ones((10, 2)),
            np.array(["x", None] * 5, dtype=object),
            re.escape("y has 5 missing labels (None or NaN) among 10."),
        ),
        (
            np.ones((10, 2)),
            np.array(["x", 1] * 5, dtype=object),
            re.escape("y mixes labels of types ['int', 'str']"),
        ),
    ],
)
def test_bad_input_gets_clear_value_error(X, y, match):
    with pytest.raises(ValueError, match=match):
        NASClassifier(**TINY).fit(X, y)


def test_values_too_large_to_standardise_are_refused_by_column():
    # Finite, but their squares overflow: every trial used to fail with a diverged loss.
    X = np.c_[np.linspace(-1, 1, 20), np.linspace(-1e200, 1e200, 20)]
    with pytest.raises(ValueError, match=re.escape("Column(s) [1] of X hold values too large")):
        NASClassifier(**TINY).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="y holds values too large to standardise"):
        NASRegressor(**TINY).fit(X[:, :1], X[:, 1])


def test_wrong_feature_count_and_unfitted_predict(fitted_classifier, iris):
    X, _ = iris
    with pytest.raises(ValueError, match="X has 3 features, but NASClassifier is expecting 4"):
        fitted_classifier.predict(X[:, :3])
    with pytest.raises(ValueError, match="X has columns that share a name"):
        fitted_classifier.predict(pd.DataFrame(X, columns=["a", "b", "a", "c"]))
    with pytest.raises(NotFittedError):
        NASClassifier().predict(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"time_budget": -1}, "time_budget"),
        ({"families": ["mlp", "transformer"]}, "families"),
        ({"scoring": "r2"}, "scoring"),
        ({"device": "tpu"}, "device"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
    ],
)
def test_bad_parameters_get_clear_errors(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        NASClassifier(**(TINY | params)).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error(iris):
    with pytest.raises(ValueError, match="CUDA is not available"):
        NASClassifier(**TINY, device="cuda").fit(*iris)


def test_fit_does_not_mutate_inputs_or_parameters(iris):
    X, y = iris
    X_frozen, y_frozen = X.copy(), y.copy()
    strategy = ScriptedStrategy([("mlp", {})])
    clf = NASClassifier(**TINY, strategy=strategy).fit(X, y)
    np.testing.assert_array_equal(X, X_frozen)
    np.testing.assert_array_equal(y, y_frozen)
    assert clf.strategy is strategy and not hasattr(strategy, "space_")


def test_fit_leaves_float32_rows_and_images_as_they_were(iris):
    # The search reorders its own preprocessed matrix in place; never the caller's.
    X, y = iris
    images = np.random.default_rng(0).random((len(y), 1, 4, 4), dtype=np.float32)
    for rows in (np.ascontiguousarray(X, dtype=np.float32), images):
        frozen = rows.copy()
        NASClassifier(**TINY, validation_fraction=0.3).fit(rows, y)
        np.testing.assert_array_equal(rows, frozen)


def test_failed_and_diverging_trials_are_recorded_and_search_goes_on(iris):
    X, y = iris
    script = [
        ("mlp", {"optimizer__no_such_option": 1.0}),  # raises inside skorch/torch
        ("mlp", {"lr": 1e6, "optimizer": "sgd", "arch__norm": "none"}),  # diverges to NaN
        ("mlp", {}),
    ]
    clf = NASClassifier(
        n_trials=3,
        max_epochs=20,
        portfolio=False,  # the script's trials only
        random_state=0,
        strategy=ScriptedStrategy(script),
    ).fit(X, y)
    board = clf.leaderboard_.set_index("trial_id")
    assert board.loc[0, "state"] == "FAIL" and "no_such_option" in board.loc[0, "error"]
    assert board.loc[1, "state"] == "FAIL"
    assert "NonFiniteLossError" in board.loc[1, "error"]
    assert board.loc[2, "state"] == "COMPLETE"
    assert clf.ensemble_.trial_ids_ == [2]
    assert clf.score(X, y) > 0.9


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_trial_timeout_stops_one_network_and_the_search_goes_on(iris):
    X, y = np.repeat(iris[0], 40, axis=0), np.repeat(iris[1], 40)  # 6,000 rows
    script = [
        ("mlp", {"arch__width": 1024, "arch__n_layers": 4, "batch_size": 8}),  # slow
        ("linear", {}),
    ]
    clf = NASClassifier(
        n_trials=2,
        max_epochs=50,
        trial_timeout=0.5,
        cv=None,  # with folds, each fold gets its share of trial_timeout
        portfolio=False,
        random_state=0,
        strategy=ScriptedStrategy(script),
    ).fit(X, y)
    board = clf.leaderboard_.set_index("trial_id")
    # an untimed trial of this network takes far longer; the bound leaves room for a busy machine
    # (600 steps an epoch: cut inside the first, so there is no model to keep)
    assert board.loc[0, "state"] == "FAIL" and board.loc[0, "fit_time"] < 5.0
    assert board.loc[0, "error"] == "stopped by trial_timeout=0.5s before its first epoch ended"
    assert board.loc[1, "state"] == "COMPLETE" and pd.isna(board.loc[1, "error"])
    assert clf.score(X, y) > 0.9


def test_all_trials_failing_raises_and_leaves_estimator_unfitted(iris):
    X, y = iris
    clf = NASClassifier(
        n_trials=2, portfolio=False, strategy=ScriptedStrategy([("mlp", {"optimizer__bad": 1})])
    )
    with pytest.raises(
        SearchFailedError, match="All 2 trials .* failed.*unexpected keyword argument 'bad'"
    ):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert not [name for name in vars(clf) if name.endswith("_")]


def test_a_budget_too_small_for_any_trial_says_so(iris):
    X, y = iris
    with pytest.raises(
        SearchFailedError,
        match=r"No trial ran, so nothing was fitted: time_budget=0.01 s ended before the "
        r"first trial could run; give a larger time_budget",
    ):
        NASClassifier(time_budget=0.01, random_state=0).fit(X, y)


def test_same_seed_same_search_and_caller_rng_untouched(iris, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = iris
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    states = (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state().clone())

    first = NASClassifier(n_trials=3, max_epochs=10, random_state=0).fit(X, y)
    second = NASClassifier(n_trials=3, max_epochs=10, random_state=0).fit(X, y)

    np.testing.assert_array_equal(first.leaderboard_["score"], second.leaderboard_["score"])
    np.testing.assert_array_equal(first.leaderboard_["seed"], second.leaderboard_["seed"])
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_array_equal(np.random.get_state()[1], states[0])
    assert random.getstate() == states[1]
    assert torch.equal(torch.get_rng_state(), states[2])
    assert list(tmp_path.iterdir()) == []  # fit writes no files


def test_time_budget_is_respected():
    X, y = make_classification(n_samples=6000, n_features=30, random_state=0)
    budget = 4.0
    start = time.monotonic()
    clf = NASClassifier(time_budget=budget, max_epochs=200, random_state=0).fit(X, y)
    elapsed = time.monotonic() - start
    # generous for a busy machine, yet far below what max_epochs=200 would take
    assert elapsed <= 1.5 * budget + 4, elapsed
    assert clf.n_trials_ >= 1 and clf.score(X, y) > 0.7  # chance: 0.5


def test_pickle_round_trip_predicts_identically(fitted_classifier, iris):
    X, _ = iris
    restored = pickle.loads(pickle.dumps(fitted_classifier))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_classifier.predict_proba(X))
    pd.testing.assert_frame_equal(restored.leaderboard_, fitted_classifier.leaderboard_)


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_works_in_pipeline_cross_validation_grid_search_and_clone(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), NASClassifier(**TINY))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85

    grid = GridSearchCV(NASClassifier(**TINY), param_grid={"max_epochs": [5, 20]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["max_epochs"] in (5, 20)
    assert grid.score(X, y) > 0.85

    clf = NASClassifier(**TINY, families=["mlp"])
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_fused_search_records_proposers_parents_pruning_and_ensemble(iris):
    X, y = iris
    clf = NASClassifier(n_trials=24, max_epochs=9, random_state=0).fit(X, y)
    board = clf.leaderboard_
    children = board[board["proposer"] == "evolution"]
    assert len(children) >= 3 and children["parent_id"].notna().all()
    assert set(children["parent_id"]) <= set(board["trial_id"])
    assert "PRUNED" in set(board["state"])
    weights = clf.ensemble_.weights_
    assert weights.sum() == pytest.approx(1.0) and len(clf.ensemble_.members_) == len(weights)
    assert set(clf.ensemble_.trial_ids_) <= set(board.loc[board["state"] != "FAIL", "trial_id"])
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("strategy", ["random", "tpe", "evolution"])
def test_every_named_strategy_runs_without_pruning(iris, strategy):
    X, y = iris
    clf = NASClassifier(
        n_trials=5,
        max_epochs=5,
        strategy=strategy,
        pruner="none",
        ensemble_size=1,
        refit=False,
        cv=None,
        random_state=0,
    ).fit(X, y)
    assert set(clf.leaderboard_["state"]) == {"COMPLETE"}
    assert len(clf.ensemble_.members_) == 1
    assert clf.ensemble_.trial_ids_[0] == clf.leaderboard_["trial_id"].iloc[0]


def test_summary_tells_what_ran_failed_and_serves(iris):
    X, y = iris
    script = [("mlp", {"optimizer__no_such_option": 1.0}), ("linear", {}), ("mlp", {})]
    clf = NASClassifier(
        n_trials=3,
        max_epochs=10,
        portfolio=False,
        random_state=0,
        strategy=ScriptedStrategy(script),
    )
    with pytest.raises(NotFittedError):
        clf.summary()
    text = clf.fit(X, y).summary()
    assert text.startswith("NASClassifier: 3 trials in ")
    assert "search overhead" in text and "States: COMPLETE 2, FAIL 1" in text
    assert "1 x TypeError" in text and "no_such_option" in text
    for trial_id, weight in zip(clf.ensemble_.trial_ids_, clf.ensemble_.weights_, strict=True):
        assert f"weight {weight:.2f}  trial {trial_id}  " in text
    assert "linear" in text.split("Trials by family and proposer:")[1]


def test_summary_counts_skipped_candidates_on_one_line(iris):
    X, y = iris
    clf = NASClassifier(n_trials=1, families=["linear"], portfolio=False, random_state=0)
    clf.fit(X, y)
    skipped = [
        {"trial_id": 10 + i, "state": "FAIL", "error": f"{SKIPPED}predicted to need {i}.0 s"}
        for i in range(5)
    ]
    failed = {"trial_id": 20, "state": "FAIL", "error": "ValueError: bad"}
    board = pd.concat([clf.leaderboard_, pd.DataFrame([*skipped, failed])], ignore_index=True)
    text = search_summary("NASClassifier", board, clf.ensemble_, clf.timings_)
    assert "Skipped: 5 candidates the cost model predicted could not finish" in text
    assert "Failures:\n  1 x ValueError: bad" in text and "predicted to need" not in text
    assert "Failures" not in search_summary("X", board.iloc[:-1], clf.ensemble_, clf.timings_)


def test_leaderboard_and_summary_show_what_each_member_costs_to_serve(iris):
    X, y = iris
    script = [("mlp", {}), ("linear", {}), ("random_forest", {})]
    clf = NASClassifier(
        n_trials=3, max_epochs=5, portfolio=False, random_state=0, strategy=ScriptedStrategy(script)
    ).fit(X, y)
    board = clf.leaderboard_.set_index("trial_id")
    members = dict(zip(clf.ensemble_.trial_ids_, clf.ensemble_.members_, strict=True))
    for trial_id, member in members.items():
        row = board.loc[trial_id]
        assert row["member_bytes"] == len(pickle.dumps(member, protocol=pickle.HIGHEST_PROTOCOL))
        assert 0 < row["predict_ms_1row"] < 1000 and 0 < row["predict_ms_per_1000"]
        n_parameters = getattr(member, "n_parameters", None)  # networks only
        if n_parameters:
            assert row["member_bytes"] >= 4 * n_parameters  # float32 weights
    others = board.drop(index=list(members))
    assert others[["member_bytes", "predict_ms_1row"]].isna().all().all()
    text = clf.summary()
    assert text.count("serving: ") == len(members) and "ms for one row" in text
    assert clf.timings_["member_costs"] >= 0 and "serving costs" in text


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_a_search_on_the_clock_starts_with_cheap_baselines_on_tables():
    # A default fit under load once spent its whole budget on one portfolio network's
    # five folds and failed; the baselines take a second and leave a model.
    X, y = load_breast_cancer(return_X_y=True)
    clf = NASClassifier(time_budget=6, random_state=0).fit(X, y)
    first = clf.leaderboard_.sort_values("trial_id").head(2)
    assert list(first["family"]) == ["hist_gbdt", "linear"]
    assert set(first["proposer"]) == {"baseline"} and set(first["state"]) == {"COMPLETE"}
    assert clf.score(X, y) > 0.95
    # Without a time budget the trials are the user's count: the portfolio comes first.
    counted = NASClassifier(n_trials=1, max_epochs=2, random_state=0).fit(X[:100], y[:100])
    assert list(counted.leaderboard_["proposer"]) == ["portfolio"]


def test_estimators_save_a_safe_file_and_export_onnx(fitted_classifier, iris, tmp_path):
    X, _ = iris
    fitted_classifier.save(tmp_path / "model.skn")
    loaded = sknas.load(tmp_path / "model.skn")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted_classifier.predict_proba(X))
    onnxruntime = pytest.importorskip("onnxruntime")
    graph = fitted_classifier.to_onnx(tmp_path / "model.onnx")
    assert [output.name for output in graph.graph.output] == ["label", "probabilities"]
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    _, proba = session.run(None, onnx_inputs(fitted_classifier, X))
    np.testing.assert_allclose(proba, fitted_classifier.predict_proba(X), atol=1e-5)


def test_an_image_search_starts_with_the_known_good_convolution_networks():
    X, y = load_digits(return_X_y=True)
    clf = NASClassifier(image_shape=(1, 8, 8), n_trials=1, max_epochs=1, random_state=0)
    board = clf.fit(X[:200] / 16, y[:200]).leaderboard_
    assert list(board["proposer"]) == ["portfolio"] and list(board["family"]) == ["cnn"]


def test_notebooks_show_the_search_under_the_estimator_diagram(iris):
    clf = NASClassifier(n_trials=3, max_epochs=10, random_state=0)
    unfitted = clf._repr_html_()
    assert "NASClassifier" in unfitted and "sknas-summary" not in unfitted
    html = clf.fit(*iris)._repr_html_()
    diagram, summary = html.split('<div class="sknas-summary">')
    assert "sk-top-container" in diagram and "NASClassifier" in diagram  # sklearn's, first
    assert "NASClassifier: 3 trials in " in summary and "Best 3 trials" in summary
    assert summary.count("<tr>") == 3 + len(clf.ensemble_.trial_ids_)  # the tables' rows
    best = clf.leaderboard_.iloc[0]
    assert f"<td>{best['family']}</td>" in summary and f"{best['score']:.4f}" in summary
    bundle = clf._repr_mimebundle_()["text/html"]  # what Jupyter asks for (new diagram ids)
    assert bundle.split('<div class="sknas-summary">')[1] == summary


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_verbose_shows_a_progress_bar_or_one_line_per_trial(iris, capsys, verbose):
    NASClassifier(n_trials=3, max_epochs=5, random_state=0, verbose=verbose).fit(*iris)
    err = capsys.readouterr().err
    bar = "sknas search: 100%" in err and "3/3 trial" in err and "trials=3 best=0." in err
    lines = len(re.findall(r"^\[sknas\] trial +\d", err, flags=re.MULTILINE))
    assert (bool(err), bar, lines) == {
        0: (False, False, 0),
        1: (True, True, 0),
        2: (True, False, 3),
    }[verbose]


def test_a_single_epoch_budget_is_searched(iris):
    clf = NASClassifier(n_trials=3, max_epochs=1, random_state=0).fit(*iris)
    networks = clf.leaderboard_[clf.leaderboard_["family"].isin(["mlp", "resnet_mlp"])]
    assert len(networks) and (networks["budget_epochs"] == 1).all()
    assert clf.score(*iris) > 0.6


def test_a_latency_budget_smaller_than_any_member_keeps_the_fastest_alone():
    X, y = load_breast_cancer(return_X_y=True)
    params = {"n_trials": 6, "max_epochs": 5, "cv": None, "random_state": 0}
    free = NASClassifier(**params).fit(X, y)
    tight = NASClassifier(**params, max_predict_ms=1e-9).fit(X, y)
    assert len(free.ensemble_.members_) > 1  # the budget is what makes the difference
    assert len(tight.ensemble_.members_) == 1
    assert tight.score(X, y) > 0.9
