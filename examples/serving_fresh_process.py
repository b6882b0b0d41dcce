"""Serving: pickle a fitted search, load it in a fresh Python process, predict the same.

A fitted ``NASClassifier`` holds only data (trimmed members, numpy weights, the
preprocessing), so a plain ``pickle`` is the whole model: a new process that has
sknas installed unpickles it, without the search, the training data or a GPU, and
predicts exactly what the process that fitted it predicts. This script fits, writes
the pickle (to a temporary directory, or to ``--model``), runs a second Python
interpreter that loads it and writes its predictions, and compares them bit for bit.

Loading a pickle runs code: unpickle only files you wrote yourself (or otherwise
trust), never a model from an unknown source. Run::

    python examples/serving_fresh_process.py [--time-budget 15] [--model model.pkl]
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import sknas
from sknas import NASClassifier

#: What the serving process runs: load the model and the rows, write the predictions.
SERVE = """
import pickle, sys
import numpy as np
import sknas
model_path, rows_path, out_path = sys.argv[1:]
with open(model_path, "rb") as f:
    model = pickle.load(f)  # only ever a pickle you trust
X = np.load(rows_path)
np.savez(out_path, labels=model.predict(X), proba=model.predict_proba(X))
print(f"served {len(X)} rows with {type(model).__name__} (sknas {sknas.__version__})")
"""


def predict_in_fresh_process(model_path: Path, X: np.ndarray, workdir: Path) -> dict:
    """Labels and probabilities for ``X`` from a new interpreter that loads ``model_path``."""
    rows_path, out_path = workdir / "rows.npy", workdir / "served.npz"
    np.save(rows_path, X)
    # The child imports the same sknas as this process (also from a source checkout).
    source_root = str(Path(sknas.__file__).resolve().parents[1])
    paths = [source_root, *filter(None, [os.environ.get("PYTHONPATH")])]
    completed = subprocess.run(
        [sys.executable, "-c", SERVE, str(model_path), str(rows_path), str(out_path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"The serving process failed:\n{completed.stderr}")
    print(completed.stdout.strip())
    with np.load(out_path) as served:
        return {"labels": served["labels"], "proba": served["proba"]}


def main(argv: list[str] | None = None) -> bool:
    """Fit, pickle, predict in a new process; return whether both predict identically."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=15.0)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--model", type=Path, default=None, help="where to write the pickle")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    clf = NASClassifier(
        time_budget=args.time_budget, n_trials=args.n_trials, random_state=args.seed
    ).fit(X_train, y_train)
    family = clf.leaderboard_.set_index("trial_id")["family"]
    members = [family[trial_id] for trial_id in clf.ensemble_.trial_ids_]
    print(f"fitted: {clf.n_trials_} trials; ensemble {clf.ensemble_} of {members}")
    labels, proba = clf.predict(X_test), clf.predict_proba(X_test)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_path = args.model if args.model is not None else workdir / "model.pkl"
        with open(model_path, "wb") as f:
            pickle.dump(clf, f)
        print(f"pickle: {model_path.stat().st_size / 1024:.0f} KiB")
        served = predict_in_fresh_process(model_path, X_test, workdir)

    identical = np.array_equal(served["labels"], labels) and np.array_equal(served["proba"], proba)
    accuracy = float(np.mean(served["labels"] == y_test))
    print(f"served test accuracy: {accuracy:.4f}")
    print(f"fresh-process predictions identical to in-process ones: {identical}")
    return identical


if __name__ == "__main__":
    main()
