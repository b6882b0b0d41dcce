"""The command line the README's quick start runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import bounded_by_trials

import sknas
from sknas.cli import main

# The commands take a time budget; the tests bound their searches by trials instead, so
# that a busy machine runs the same search (bounded_by_trials records what was passed).


def test_demo_runs_a_real_search_and_reports_test_accuracy(capsys, monkeypatch):
    passed = bounded_by_trials(monkeypatch, sknas, n_trials=2, max_epochs=5)
    assert main(["demo", "--time-budget", "6", "--verbose", "0", "--top", "3"]) == 0
    assert [p["time_budget"] for p in passed] == [6.0]
    out = capsys.readouterr().out
    assert "Leaderboard (top 3 of 2 trials" in out
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.9


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.fixture
def iris_csv(tmp_path, iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[y]
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("name", ["model.skn", "model.pkl"])
def test_fit_then_predict_a_csv_file(name, iris_csv, tmp_path, capsys, monkeypatch):
    passed = bounded_by_trials(monkeypatch, sknas, n_trials=2, max_epochs=20)
    path, frame = iris_csv
    model = tmp_path / name
    args = ["fit", str(path), "--target", "species", "--time-budget", "4", "-o", str(model)]
    assert main(args) == 0
    assert [p["time_budget"] for p in passed] == [4.0]
    assert "classification: 2 trials" in capsys.readouterr().out and model.is_file()
    predictions = tmp_path / "predictions.csv"
    new = frame.drop(columns="species").sample(frac=1.0, random_state=0)  # any column order
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "-o", str(predictions)]) == 0
    predicted = pd.read_csv(predictions)["prediction"]
    assert np.mean(predicted.to_numpy() == frame.loc[new.index, "species"].to_numpy()) > 0.9
    assert main(["predict", str(model), str(path)]) == 0  # to stdout; the target is ignored
    assert capsys.readouterr().out.splitlines()[0] == "prediction"
    is_zip = model.read_bytes()[:2] == b"PK"
    assert is_zip == (name == "model.skn")  # the safe file, or a pickle by its suffix


def test_the_format_flag_overrides_the_suffix(iris_csv, tmp_path, capsys, monkeypatch):
    bounded_by_trials(monkeypatch, sknas, n_trials=1, max_epochs=5)
    path, _ = iris_csv
    safe, pickled = tmp_path / "model.pkl", tmp_path / "model.bin"
    fit = ["fit", str(path), "--target", "species", "--verbose", "0"]
    assert main([*fit, "-o", str(safe), "--format", "sknas"]) == 0
    assert main([*fit, "-o", str(pickled), "--format", "pickle"]) == 0
    assert type(sknas.load(safe)).__name__ == "NASClassifier"  # (sknas.NASClassifier is patched)
    assert pickled.read_bytes()[:2] != b"PK"
    capsys.readouterr()
    assert main(["predict", str(safe), str(path), "--format", "sknas"]) == 0
    from_safe = capsys.readouterr().out
    assert main(["predict", str(pickled), str(path), "--format", "pickle"]) == 0
    assert capsys.readouterr().out == from_safe
    assert main(["predict", str(pickled), str(path)]) == 2  # read as a safe file: refused
    err = capsys.readouterr().err
    assert "is not a model saved by 'sknas fit'" in err and "not a complete sknas model" in err


def test_the_default_output_is_a_safe_model_file(iris_csv, tmp_path, monkeypatch):
    bounded_by_trials(monkeypatch, sknas, n_trials=1, max_epochs=5)
    path, frame = iris_csv
    monkeypatch.chdir(tmp_path)
    assert main(["fit", str(path), "--target", "species", "--verbose", "0"]) == 0
    loaded = sknas.load(tmp_path / "model.skn")
    assert list(loaded.feature_names_in_) == list(frame.columns.drop("species"))


def test_fit_detects_a_regression_target(tmp_path, regression_data, capsys, monkeypatch):
    bounded_by_trials(monkeypatch, sknas, n_trials=2, max_epochs=20)
    X, y = regression_data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(target=y)
    frame.to_csv(tmp_path / "data.csv", index=False)
    model = tmp_path / "model.skn"
    args = ["fit", str(tmp_path / "data.csv"), "--target", "target", "--time-budget", "3"]
    assert main([*args, "-o", str(model)]) == 0
    assert capsys.readouterr().out.startswith("regression:")


def test_fit_reads_the_named_columns_as_dates(tmp_path, capsys, monkeypatch):
    """`--dates`: date strings become the calendar as numbers (a weekend effect is
    learnt); predict reads the same strings as dates; a column of other strings, or one
    the file lacks, is one clear line."""
    bounded_by_trials(monkeypatch, sknas, n_trials=2, max_epochs=20)
    when = pd.Series(pd.date_range("2024-01-01", periods=300, freq="11h"))
    frame = pd.DataFrame({"when": when.astype(str), "weekend": when.dt.dayofweek >= 5})
    frame[:200].to_csv(tmp_path / "train.csv", index=False)
    frame[200:].drop(columns="weekend").to_csv(tmp_path / "new.csv", index=False)
    model, predictions = tmp_path / "model.skn", tmp_path / "predictions.csv"
    fit = ["fit", str(tmp_path / "train.csv"), "--target", "weekend", "-o", str(model)]
    assert main([*fit, "--dates", "when"]) == 0
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "-o", str(predictions)]) == 0
    predicted = pd.read_csv(predictions)["prediction"].to_numpy()
    assert np.mean(predicted == frame["weekend"][200:].to_numpy()) > 0.9
    capsys.readouterr()
    assert main([*fit, "--dates", "weekend"]) == 2  # the target is not among the columns
    assert "--dates names columns" in capsys.readouterr().err
    pd.DataFrame({"when": ["soon"] * 10, "y": [0, 1] * 5}).to_csv(tmp_path / "bad.csv")
    assert main(["fit", str(tmp_path / "bad.csv"), "--target", "y", "--dates", "when"]) == 2
    assert "column 'when' does not hold dates" in capsys.readouterr().err


def test_command_errors_are_one_clear_line(iris_csv, tmp_path, capsys, monkeypatch):
    bounded_by_trials(monkeypatch, sknas, n_trials=1, max_epochs=5)
    path, frame = iris_csv
    (tmp_path / "notes.txt").write_text("not a model")
    frame[["sepal_l"]].to_csv(tmp_path / "narrow.csv", index=False)
    cases = [
        (["fit", str(tmp_path / "missing.csv"), "--target", "y"], "no such file"),
        (["fit", str(path), "--target", "colour"], "no column 'colour'"),
        (["predict", str(tmp_path / "notes.txt"), str(path)], "is not a model saved by"),
        (["predict", str(tmp_path / "missing.skn"), str(path)], "no such file"),
        (["predict", str(tmp_path / "notes.txt"), str(path), "--format", "pickle"], "not a model"),
    ]
    for args, message in cases:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sknas {args[0]}: error: ") and message in err
    model = tmp_path / "model.skn"
    assert (
        main(["fit", str(path), "--target", "species", "--time-budget", "2", "-o", str(model)]) == 0
    )
    assert main(["predict", str(model), str(tmp_path / "narrow.csv")]) == 2
    assert "lacks the model's columns ['sepal_w', 'petal_l', 'petal_w']" in capsys.readouterr().err
    # The estimator's refusal of the data, as one line too.
    frame.iloc[:0].to_csv(tmp_path / "header.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "header.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sknas predict: error: {tmp_path / 'header.csv'}: Found array with 0")
    frame.assign(sepal_l=np.inf).to_csv(tmp_path / "infinite.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "infinite.csv")]) == 2
    assert "infinity" in capsys.readouterr().err


@pytest.mark.slow  # a process of its own: importing torch and sknas takes seconds
def test_predictions_piped_into_a_reader_that_stops_end_without_a_traceback(
    iris_csv, tmp_path, monkeypatch
):
    bounded_by_trials(monkeypatch, sknas, n_trials=1, max_epochs=5)
    path, _ = iris_csv
    model = tmp_path / "model.skn"
    assert main(["fit", str(path), "--target", "species", "--verbose", "0", "-o", str(model)]) == 0
    root = Path(sknas.__file__).resolve().parents[1]  # where ``-m sknas`` finds the package
    many = pd.concat([pd.read_csv(path)] * 300)  # more than a pipe's buffer of predictions
    many.to_csv(path, index=False)
    predict = f"{sys.executable} -m sknas predict {model} {path} | head -1"
    done = subprocess.run(predict, shell=True, capture_output=True, text=True, cwd=root)
    assert done.stdout == "prediction\n" and done.stderr == ""


@pytest.mark.slow  # a fit and a monitor run through the CLI
def test_monitor_flags_a_shifted_csv_file_in_its_exit_status(tmp_path, capsys, monkeypatch):
    bounded_by_trials(monkeypatch, sknas, n_trials=2, max_epochs=5)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["a", "b", "c"])
    frame["label"] = np.where(frame["a"] + frame["b"] > 0, "yes", "no")
    frame.iloc[:700].to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "model.skn"
    assert main(["fit", str(tmp_path / "train.csv"), "--target", "label", "-o", str(model)]) == 0
    frame.iloc[700:].to_csv(tmp_path / "same.csv", index=False)
    shifted = frame.iloc[700:].assign(c=frame["c"].iloc[700:] + 1.0)
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    capsys.readouterr()
    same = ["monitor", str(model), str(tmp_path / "same.csv"), "--target", "label"]
    assert main(same) == 0
    assert "accuracy" in capsys.readouterr().out
    report = tmp_path / "report.csv"
    assert main(["monitor", str(model), str(tmp_path / "shifted.csv"), "-o", str(report)]) == 1
    assert "c" in capsys.readouterr().out
    table = pd.read_csv(report, index_col=[0, 1])
    assert list(table.loc["feature"].query("flagged").index) == ["c"]
    assert main(["monitor", str(model), str(tmp_path / "same.csv"), "--target", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err
