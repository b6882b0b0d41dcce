"""Peak memory of a search on a large sparse matrix: it must stay near the non-zeros.

A 100,000 x 50,000 CSR matrix with 0.1 % non-zeros (5 million values; dense float64 it
would take 40 GB, float32 20 GB) and a binary target given by a sparse linear rule, split
80/20. ``NASClassifier(time_budget=60, random_state=0)`` fits on the 80 % and predicts the
20 %. Prints, as one JSON line: the matrix's bytes, the process's resident memory before
the fit, its peak resident memory over the fit and prediction (``ru_maxrss``), the trials
by family and state, the fit's wall time and the test accuracy. Issue 21's target: peak
below 2 GiB. Run::

    python benchmarks/sparse_memory.py [--rows 100000] [--columns 50000] [--density 0.001]
                                       [--time-budget 60] [--seed 0]

Other processes loading the CPU slow the search (fewer trials in the budget), not the
memory of a trial.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sknas import NASClassifier


def _rss_mib() -> float:
    """Current resident memory of this process, in MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sparse_problem(
    rows: int, columns: int, density: float, seed: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Non-negative sparse rows (TF-IDF-like values) and a target from a sparse linear rule."""
    rng = np.random.default_rng(seed)
    X = sp.random(rows, columns, density=density, format="csr", dtype=np.float64, random_state=rng)
    weights = np.zeros(columns)
    informative = rng.choice(columns, size=columns // 10, replace=False)
    weights[informative] = rng.normal(size=len(informative))
    score = X @ weights
    y = (score > np.median(score)).astype(int)
    return X, y


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = sparse_problem(args.rows, args.columns, args.density, args.seed)
    n_train = int(0.8 * args.rows)
    X_train, X_test, y_train, y_test = X[:n_train], X[n_train:], y[:n_train], y[n_train:]
    before = _rss_mib()
    started = time.monotonic()
    model = NASClassifier(time_budget=args.time_budget, random_state=args.seed)
    model.fit(X_train, y_train)
    fit_seconds = time.monotonic() - started
    accuracy = float(model.score(X_test, y_test))
    board = model.leaderboard_
    row = {
        "shape": list(X.shape),
        "nnz": int(X.nnz),
        "matrix_mib": round((X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20, 1),
        "dense_float32_gib": round(X.shape[0] * X.shape[1] * 4 / 2**30, 1),
        "rss_before_fit_mib": round(before, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
        "fit_seconds": round(fit_seconds, 1),
        "time_budget": args.time_budget,
        "trials": board.groupby(["family", "state"])
        .size()
        .rename("n")
        .reset_index()
        .to_dict("records"),
        "failures": board.loc[board["state"] == "FAIL", "error"]
        .str.slice(0, 60)
        .value_counts()
        .to_dict(),
        "ensemble_families": sorted(
            {board.set_index("trial_id").loc[t, "family"] for t in model.ensemble_.trial_ids_}
        ),
        "test_accuracy": round(accuracy, 4),
        "target_peak_gib": 2.0,
    }
    row["peak_below_target"] = row["peak_rss_mib"] < 2.0 * 1024
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main(sys.argv[1:])
