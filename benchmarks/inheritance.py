"""Weight inheritance on against off, at equal time budget, measured side by side.

For each problem and seed, two ``strategy="evolution"`` searches over the networks
(``families=["mlp", "resnet_mlp"]``, where inheritance applies) with the same
``time_budget``, ``weight_inheritance=True`` then ``False``. Reports the best validation
score, the test score, the trials run, and how long the search with inheritance took to
reach the final best validation score of the search without it (from
``leaderboard_["finished_at"]``). Run::

    python benchmarks/inheritance.py [--time-budget 30] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import append_row, write_section  # noqa: E402
from datasets import split_problem  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "inheritance.jsonl"
DEFAULT_PROBLEMS = ["digits", "breast_cancer", "gen_classification_5000", "gen_regression_5000"]


def run(problem: str, seed: int, time_budget: float, inherit: bool) -> dict:
    """One search; its scores and the time its best-so-far validation score reached each
    level (to compare against the other setting)."""
    task, X_train, X_test, y_train, y_test = split_problem(problem, seed)
    estimator = NASClassifier if task == "classification" else NASRegressor
    model = estimator(
        time_budget=time_budget,
        families=["mlp", "resnet_mlp"],
        strategy="evolution",
        weight_inheritance=inherit,
        random_state=seed,
    ).fit(X_train, y_train)
    board = model.leaderboard_.sort_values("finished_at")
    completed = board["state"] == "COMPLETE"
    return {
        "problem": problem,
        "seed": seed,
        "inherit": inherit,
        "valid": float(model.best_score_),
        "test": float(model.score(X_test, y_test)),
        "trials": int(model.n_trials_),
        "mean_inherited": float(board["inherited"].mean()),
        "curve": [
            [float(t), float(s)]
            for t, s in zip(
                board.loc[completed, "finished_at"],
                board.loc[completed, "score"].cummax(),
                strict=True,
            )
        ],
    }


def seconds_to_reach(curve: list[list[float]], target: float) -> float:
    """When a best-so-far curve first reached ``target`` (inf if never)."""
    return next((t for t, s in curve if s >= target - 1e-12), float("inf"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS)
    args = parser.parse_args()
    rows = []
    for problem in args.problems:
        for seed in args.seeds:
            on = run(problem, seed, args.time_budget, True)
            off = run(problem, seed, args.time_budget, False)
            for row in (on, off):
                append_row(RESULTS, row | {"time_budget": args.time_budget})
            rows.append(
                {
                    "problem": problem,
                    "seed": seed,
                    "valid on": on["valid"],
                    "valid off": off["valid"],
                    "test on": on["test"],
                    "test off": off["test"],
                    "trials on/off": f"{on['trials']}/{off['trials']}",
                    "inherited share": on["mean_inherited"],
                    "seconds to off best, on": seconds_to_reach(on["curve"], off["valid"]),
                    "seconds to off best, off": seconds_to_reach(off["curve"], off["valid"]),
                }
            )
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    means = frame.groupby("problem")[["valid on", "valid off", "test on", "test off"]].mean()
    to_on, to_off = frame["seconds to off best, on"], frame["seconds to off best, off"]
    reached = to_on <= to_off
    text = "\n".join(
        [
            "## Weight inheritance: on against off",
            "",
            f"`python benchmarks/inheritance.py --time-budget {args.time_budget:g} --seeds "
            f"{' '.join(map(str, args.seeds))}` (evolution over mlp and resnet_mlp, same budget, "
            "run side by side):",
            "",
            frame.to_markdown(index=False, floatfmt=".4f"),
            "",
            "Means by problem:",
            "",
            means.to_markdown(floatfmt=".4f"),
            "",
            f"Mean validation score: on {frame['valid on'].mean():.4f}, off "
            f"{frame['valid off'].mean():.4f}; mean test score: on {frame['test on'].mean():.4f}, "
            f"off {frame['test off'].mean():.4f}. The search with inheritance reached the final "
            f"best validation score of the one without it no later in {int(reached.sum())} of "
            f"{len(frame)} runs (median {np.median(to_on):.1f} s against "
            f"{np.median(to_off):.1f} s).",
        ]
    )
    print(text)
    write_section(f"inheritance-{args.time_budget:g}s", text)


if __name__ == "__main__":
    main()
