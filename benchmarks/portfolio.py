"""The built-in portfolio on against off: the best validation score after 10 trials.

The six benchmark problems (``_report.PROBLEMS``) are not among those the portfolio was
built from (``benchmarks/build_portfolio.py``). For each problem and seed, two searches
of ``--n-trials`` trials with the same split and seed, ``portfolio=True`` then
``False`` (the default start: each family's default configuration, then TPE's random
start-up trials). Reports the best validation score, the test score of the ensemble
and the seconds each search took. Run::

    python benchmarks/portfolio.py [--n-trials 10] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import append_row, write_section  # noqa: E402
from datasets import PROBLEMS, split_problem  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "portfolio.jsonl"


def run(problem: str, seed: int, n_trials: int, portfolio: bool) -> dict:
    task, X_train, X_test, y_train, y_test = split_problem(problem, seed)
    estimator = NASClassifier if task == "classification" else NASRegressor
    started = time.perf_counter()
    model = estimator(n_trials=n_trials, portfolio=portfolio, refit=False, random_state=seed).fit(
        X_train, y_train
    )
    return {
        "problem": problem,
        "seed": seed,
        "portfolio": portfolio,
        "valid": float(model.best_score_),
        "test": float(model.score(X_test, y_test)),
        "seconds": time.perf_counter() - started,
    }


def report(rows: list[dict], n_trials: int, seeds: list[int]) -> str:
    frame = pd.DataFrame(rows)
    means = frame.pivot_table(
        index="problem", columns="portfolio", values=["valid", "test", "seconds"]
    )
    table = pd.DataFrame(
        {
            "valid, portfolio": means[("valid", True)],
            "valid, off": means[("valid", False)],
            "test, portfolio": means[("test", True)],
            "test, off": means[("test", False)],
            "seconds, portfolio": means[("seconds", True)],
            "seconds, off": means[("seconds", False)],
        }
    ).round(4)
    higher = int((table["valid, portfolio"] > table["valid, off"]).sum())
    return (
        f"## Portfolio on against off ({n_trials} trials)\n\n"
        f"`python benchmarks/portfolio.py --n-trials {n_trials} --seeds "
        f"{' '.join(map(str, seeds))}`: best validation score after the first {n_trials} "
        f"trials, the ensemble's test score (no refit) and the search's seconds, means over "
        f"{len(seeds)} seeds. None of these problems was used to build the portfolio.\n\n"
        f"{table.reset_index().to_markdown(index=False)}\n\n"
        f"The best validation score is higher with the portfolio on {higher} of "
        f"{len(table)} problems (target: at least 4 of 6)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    args = parser.parse_args()
    RESULTS.unlink(missing_ok=True)
    rows = []
    for problem in args.problems:
        for seed in args.seeds:
            for portfolio in (True, False):
                rows.append(run(problem, seed, args.n_trials, portfolio))
                append_row(RESULTS, rows[-1])
                print(rows[-1], flush=True)
    text = report(rows, args.n_trials, args.seeds)
    write_section("portfolio", text)
    print(text)


if __name__ == "__main__":
    main()
