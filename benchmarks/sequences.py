"""Sequences: sknas against MiniRocket on aeon's bundled time-series problems.

Each problem keeps its own train/test split (UCR/UEA, offline through
``aeon.datasets.load_classification``): the univariate GunPoint, ArrowHead,
ItalyPowerDemand, OSULeaf and ACSF1 and the multivariate BasicMotions and JapaneseVowels
(whose series differ in length: every series is padded with its last value to the
longest, for both systems, as sknas's error message advises). Per problem and seed:

- ``sknas``: ``NASClassifier(time_budget=T, random_state=seed)`` on the ``(n, C, L)``
  array as it is (the ``minirocket`` and ``cnn1d`` families);
- ``minirocket``: aeon's ``MiniRocketClassifier`` (10,000 features, ridge classifier with
  leave-one-out penalty), the reference, which fits in seconds rather than ``T``.

aeon's InceptionTime needs TensorFlow, which this project does not install; it is left
out. Rows (test accuracy, fit seconds, sknas's trials, best family and the ensemble's
families, whether a 1-d CNN is in it) go to ``benchmarks/results/sequences.jsonl`` and
a table is printed. Other processes loading the CPU mean fewer trials within the budget.
Run::

    python benchmarks/sequences.py [--time-budget 120] [--seeds 0 1 2] [--problems GunPoint]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import append_row
from aeon.classification.convolution_based import MiniRocketClassifier
from aeon.datasets import load_classification

from sknas import NASClassifier

PROBLEMS = (
    "GunPoint",
    "ArrowHead",
    "ItalyPowerDemand",
    "OSULeaf",
    "ACSF1",
    "BasicMotions",
    "JapaneseVowels",
)
RESULTS = Path(__file__).resolve().parent / "results" / "sequences.jsonl"


def padded(series: list[np.ndarray] | np.ndarray, length: int) -> np.ndarray:
    """Series of shape ``(C, L_i)`` as one ``(n, C, length)`` array, each padded with its
    last value."""
    return np.stack(
        [np.pad(s, ((0, 0), (0, length - s.shape[1])), mode="edge") for s in series]
    ).astype(np.float64)


def load(problem: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The problem's own train and test parts, padded to one length when they vary."""
    X_train, y_train = load_classification(problem, split="train")
    X_test, y_test = load_classification(problem, split="test")
    if isinstance(X_train, list) or isinstance(X_test, list):
        length = max(s.shape[1] for s in [*X_train, *X_test])
        X_train, X_test = padded(X_train, length), padded(X_test, length)
    return X_train, y_train, X_test, y_test


def run_problem(problem: str, seed: int, time_budget: float) -> list[dict]:
    X_train, y_train, X_test, y_test = load(problem)
    shared = {"problem": problem, "seed": seed, "n_train": len(X_train)}
    shared["shape"] = list(X_train.shape[1:])
    started = time.monotonic()
    search = NASClassifier(time_budget=time_budget, random_state=seed).fit(X_train, y_train)
    seconds = time.monotonic() - started
    board = search.leaderboard_.set_index("trial_id")
    members = sorted(set(board.loc[search.ensemble_.trial_ids_, "family"]))
    sknas = {
        "system": "sknas",
        "accuracy": search.score(X_test, y_test),
        "fit_seconds": seconds,
        "n_trials": search.n_trials_,
        "trials_by_family": board["family"].value_counts().to_dict(),
        "best_family": search.best_params_["family"],
        "ensemble_families": members,
        "cnn1d_in_ensemble": "cnn1d" in members,
        # Where an overrun comes from: the phases of fit, and the trial that ended last.
        "timings": {phase: round(t, 1) for phase, t in search.timings_.items()},
        "last_trial": _last_trial(search.leaderboard_),
    }
    started = time.monotonic()
    rocket = MiniRocketClassifier(random_state=seed, n_jobs=1).fit(X_train, y_train)
    reference = {
        "system": "minirocket",
        "accuracy": float(np.mean(rocket.predict(X_test) == y_test)),
        "fit_seconds": time.monotonic() - started,
    }
    return [shared | sknas, shared | reference]


def _last_trial(board: pd.DataFrame) -> dict:
    """Family, state, proposer, time taken and end (s into the search) of the last trial."""
    last = board.loc[board["finished_at"].idxmax()]
    return {
        "family": last["family"],
        "state": last["state"],
        "proposer": last["proposer"],
        "fit_time": round(float(last["fit_time"]), 1),
        "finished_at": round(float(last["finished_at"]), 1),
        "error": None if pd.isna(last["error"]) else str(last["error"])[:120],
    }


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    args = parser.parse_args(argv)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    rows = []
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for problem in args.problems:
        for seed in args.seeds:
            for row in run_problem(problem, seed, args.time_budget):
                row = {"commit": commit, "time_budget": args.time_budget, **row}
                row["accuracy"] = round(float(row["accuracy"]), 4)
                row["fit_seconds"] = round(row["fit_seconds"], 1)
                rows.append(row)
                append_row(RESULTS, row)
                print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    means = table.pivot_table(index="problem", columns="system", values="accuracy")
    print(table[["problem", "seed", "system", "accuracy", "fit_seconds"]].to_string(index=False))
    print(means.round(4).to_string())
    print(f"mean accuracy: {means.mean().round(4).to_dict()}")
    chosen = table[table["system"] == "sknas"].groupby("problem")["cnn1d_in_ensemble"].mean()
    print(f"share of seeds with a 1-d CNN in sknas's ensemble: {chosen.round(2).to_dict()}")
    return table


if __name__ == "__main__":
    main()
