"""Fit AutoGluon on one benchmark split; runs INSIDE the AutoGluon venv, not sknas's.

``benchmarks/compare.py`` writes a split into a directory and calls::

    $SKNAS_AUTOGLUON_VENV/bin/python benchmarks/autogluon_runner.py DIR

(the venv comes from ``benchmarks/setup_autogluon.sh``: AutoGluon 1.6.3 needs pandas < 3).
This file imports only numpy, pandas and AutoGluon, so it runs under either pandas.

The exchange format needs nothing but numpy and JSON (no pyarrow on sknas's side):

* ``DIR/spec.json``: ``columns`` (each ``{"name", "kind": "number" | "category",
  "categories"}``), ``problem_type`` (``binary``, ``multiclass`` or ``regression``),
  ``classes`` (the class labels, for classification), ``eval_metric``, ``time_limit``,
  ``presets``, ``num_cpus``.
* ``DIR/train.npz`` and ``DIR/test.npz``: one array per column, ``c0``, ``c1``, ... (floats
  with NaN for numbers; integer codes, -1 for missing, for categories), and ``y`` in
  ``train.npz`` (floats for regression, class indices into ``classes`` otherwise).

It fits a ``TabularPredictor`` (working directory a temporary folder, so CatBoost's
``catboost_info/`` and the models land there) and writes ``DIR/result.json``:
``predictions`` (floats, or class indices), ``fit_wall`` (seconds of ``fit``),
``predict_wall``, ``best_model``, ``num_models`` and the versions.

Presets (set by ``compare.py``): ``best_quality_v150`` by default. It is AutoGluon's
best-accuracy recipe for CPUs: a portfolio of configurations tuned for CPUs
(``zeroshot_2025_12_18_cpu``), each bagged over k folds, with the weighted ensemble chosen on
out-of-fold predictions (what matters on the small tables of this suite), early stopping of the
portfolio, and no second stack layer. Plain ``best_quality`` adds a stack layer and "dynamic
stacking", which first spends a quarter of ``time_limit`` on a holdout check of stacking; at
short budgets that check can end with no model fitted, after which AutoGluon 1.6.3 fails with
"Learner is already fit" (seen at 10 s). ``medium_quality`` (the default) fits each model once
on a single holdout; ``high``/``good_quality`` refit on all rows for faster inference, which
this comparison does not score. The neural models of the portfolio need torch, which this venv
leaves out: AutoGluon skips them (and warns that torch is missing).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def read_frame(path: Path, columns: list[dict]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Rebuild a DataFrame (and ``y`` when present) from an ``.npz`` of the exchange format.

    Parameters
    ----------
    path : Path
        The ``train.npz`` or ``test.npz`` file.
    columns : list of dict
        The ``columns`` of ``spec.json``.

    Returns
    -------
    frame : DataFrame
        Numbers as float64 with NaN; categories as pandas categoricals.
    y : ndarray or None
        The ``y`` array, or None when the file has none.
    """
    arrays = np.load(path, allow_pickle=False)
    data = {}
    for i, column in enumerate(columns):
        values = arrays[f"c{i}"]
        if column["kind"] == "category":
            data[column["name"]] = pd.Categorical.from_codes(values, column["categories"])
        else:
            data[column["name"]] = values
    y = arrays["y"] if "y" in arrays.files else None
    return pd.DataFrame(data), y


def fit_and_predict(directory: Path) -> dict:
    """Fit AutoGluon on ``directory``'s training split and predict its test split.

    Parameters
    ----------
    directory : Path
        Holds ``spec.json``, ``train.npz`` and ``test.npz``.

    Returns
    -------
    dict
        What ``result.json`` holds.
    """
    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    spec = json.loads((directory / "spec.json").read_text())
    train, y = read_frame(directory / "train.npz", spec["columns"])
    test, _ = read_frame(directory / "test.npz", spec["columns"])
    label = "__target__"
    classes = spec.get("classes")
    train[label] = y if classes is None else np.asarray(classes, dtype=object)[y]
    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)  # CatBoost writes catboost_info/ into the working directory
        predictor = TabularPredictor(
            label=label,
            problem_type=spec["problem_type"],
            eval_metric=spec["eval_metric"],
            path=str(Path(workdir) / "models"),
            verbosity=spec.get("verbosity", 0),
        )
        started = time.monotonic()
        predictor.fit(
            train,
            time_limit=spec["time_limit"],
            presets=spec["presets"],
            num_cpus=spec["num_cpus"],
            num_gpus=0,
        )
        fit_wall = time.monotonic() - started
        started = time.monotonic()
        predicted = predictor.predict(test).to_numpy()
        predict_wall = time.monotonic() - started
        best_model = str(predictor.model_best)
        num_models = len(predictor.model_names())
    if classes is None:
        predictions = [float(v) for v in predicted]
    else:
        index = {label_: i for i, label_ in enumerate(classes)}
        predictions = [index[v] for v in predicted.tolist()]
    return {
        "predictions": predictions,
        "fit_wall": fit_wall,
        "predict_wall": predict_wall,
        "best_model": best_model,
        "num_models": num_models,
        "presets": spec["presets"],
        "versions": {
            "autogluon.tabular": autogluon.tabular.__version__,
            "pandas": pd.__version__,
            "python": sys.version.split()[0],
        },
    }


def main() -> None:
    """Read the split in ``sys.argv[1]``, fit, and write ``result.json`` there."""
    directory = Path(sys.argv[1]).resolve()
    result = fit_and_predict(directory)
    (directory / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
