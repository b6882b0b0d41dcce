"""``init_from`` against a cold start, at equal time budget, measured side by side.

For each problem and seed: an earlier search on a related, smaller problem (half the
classes when there are at least four, else a third of the rows), then two searches
on the full problem with the same ``time_budget`` and split: a cold start, and one
``init_from`` the earlier search. Reports how long each took to reach the cold
start's final best validation score (from ``leaderboard_["finished_at"]``; the
earlier search's time is not counted) and the ratio of the two. Both searches run
with ``portfolio=False``, so that the comparison isolates ``init_from``.

The cold start's final best is the luckiest of its many trials on a small validation
set, so the ratio is often infinite for either start. As a complement, the report also
gives the ratio at the *common level*, the lower of the two final bests, which both
searches reached. Run::

    python benchmarks/init_from.py [--time-budget 60] [--source-budget 30] [--seeds 0]
    python benchmarks/init_from.py --append --seeds 2 --problems diabetes   # more runs
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import append_row, write_section  # noqa: E402
from datasets import PROBLEMS, split_problem  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "init_from.jsonl"


def related_problem(X: np.ndarray, y: np.ndarray, task: str, seed: int):
    """Half the classes (the lower labels) when there are at least four, else a third of
    the rows; with a description."""
    classes = np.unique(y) if task == "classification" else []
    if len(classes) >= 4:
        keep = np.isin(y, classes[: len(classes) // 2])
        return X[keep], y[keep], f"{len(classes) // 2} of {len(classes)} classes"
    rows = np.random.default_rng(seed).permutation(len(X))[: len(X) // 3]
    return X[rows], y[rows], "a third of the rows"


def reach_time(board: pd.DataFrame, level: float) -> float:
    """Seconds until a completed trial scored at least ``level`` (inf when none did)."""
    completed = board[(board["state"] == "COMPLETE") & (board["score"] >= level - 1e-12)]
    return float(completed["finished_at"].min()) if len(completed) else math.inf


def run(problem: str, seed: int, time_budget: float, source_budget: float) -> dict:
    task, X_train, _, y_train, _ = split_problem(problem, seed)
    estimator = NASClassifier if task == "classification" else NASRegressor
    X_source, y_source, relation = related_problem(X_train, y_train, task, seed)
    source = estimator(time_budget=source_budget, portfolio=False, random_state=seed + 100)
    source.fit(X_source, y_source)
    runs = {}
    for name, init_from in [("cold", None), ("init_from", source.leaderboard_)]:
        model = estimator(
            time_budget=time_budget, portfolio=False, init_from=init_from, random_state=seed
        ).fit(X_train, y_train)
        runs[name] = model
    target = float(runs["cold"].best_score_)
    cold_time = reach_time(runs["cold"].leaderboard_, target)
    warm_time = reach_time(runs["init_from"].leaderboard_, target)
    common = min(target, float(runs["init_from"].best_score_))
    cold_common = reach_time(runs["cold"].leaderboard_, common)
    warm_common = reach_time(runs["init_from"].leaderboard_, common)
    return {
        "problem": problem,
        "seed": seed,
        "source": relation,
        "cold_best": target,
        "init_from_best": float(runs["init_from"].best_score_),
        "cold_seconds": cold_time,
        "init_from_seconds": warm_time,
        "ratio": warm_time / cold_time,
        "ratio_common": warm_common / cold_common,
        "cold_trials": int(runs["cold"].n_trials_),
        "init_from_trials": int(runs["init_from"].n_trials_),
    }


def report(rows: list[dict], time_budget: float, source_budget: float) -> str:
    frame = pd.DataFrame(rows)
    table = frame[
        [
            "problem",
            "seed",
            "source",
            "cold_best",
            "init_from_best",
            "cold_seconds",
            "init_from_seconds",
            "ratio",
            "ratio_common",
        ]
    ].round(3)
    medians = frame.groupby("problem", sort=False)["ratio"].median()
    summary = ", ".join(f"{problem} {ratio:.2f}" for problem, ratio in medians.items())
    common = frame.groupby("problem", sort=False)["ratio_common"].median()
    common_summary = ", ".join(f"{problem} {ratio:.2f}" for problem, ratio in common.items())
    perfect = frame.loc[frame["cold_best"] >= 1.0, "problem"].unique()
    return (
        f"## init_from against a cold start ({time_budget:g} s each)\n\n"
        f"`python benchmarks/init_from.py --time-budget {time_budget:g} --source-budget "
        f"{source_budget:g}`: an earlier {source_budget:g}-second search on a related "
        "problem (half the classes, or a third of the rows), then a cold start and an "
        "`init_from` start on the full training rows, both with `portfolio=False`. "
        "`*_seconds`: when each search first reached the cold start's final best "
        "validation score; `ratio` = init_from / cold (the target is at most 0.7; inf: "
        "never reached).\n\n"
        f"{table.to_markdown(index=False)}\n\n"
        f"Median ratio per problem: {summary}; at most 0.7 on {int((medians <= 0.7).sum())} "
        f"of {len(medians)} problems, and in {int((frame['ratio'] <= 0.7).sum())} of "
        f"{len(frame)} runs. Where the cold start's validation score was perfect (1.0: "
        f"{', '.join(perfect) or 'none'}), the time to reach it is that of the first "
        "perfect trial, which says little about either start.\n\n"
        "Complement (not the acceptance): `ratio_common` compares the times to reach the "
        "lower of the two final bests, which both searches reached. Median per problem: "
        f"{common_summary}; at most 0.7 on {int((common <= 0.7).sum())} of {len(common)}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--source-budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument(
        "--append", action="store_true", help="keep earlier results and report them all"
    )
    args = parser.parse_args()
    if not args.append:
        RESULTS.unlink(missing_ok=True)
    rows = [json.loads(line) for line in RESULTS.open()] if RESULTS.exists() else []
    for problem in args.problems:
        for seed in args.seeds:
            rows.append(run(problem, seed, args.time_budget, args.source_budget))
            append_row(RESULTS, rows[-1])
            print(rows[-1], flush=True)
    text = report(rows, args.time_budget, args.source_budget)
    write_section("init-from", text)
    print(text)


if __name__ == "__main__":
    main()
