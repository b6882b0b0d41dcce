"""Completed trials per minute with ``n_jobs=2`` against ``n_jobs=1``, in one run.

For each problem, two searches over the same trials: ``strategy="random"`` proposes the
same candidates (with the same seeds) whatever the order trials finish in, and
successive halving is off (its decisions depend on which trials finished first), so the
two runs train the same candidates for the same epochs and differ only in how the trials
are executed. Each runs ``--n-trials`` trials (default families: networks and classical
baselines) and its search time (``timings_["search"]``) gives trials per minute. The loky
workers are started before the first measurement; their start-up (one-off per process)
is reported apart. ``--cv`` is the searches' ``cv`` (default ``"auto"``: without a time
budget a small table gets five-fold trials, so one trial is five fits; ``none`` gives
holdout trials, the unit of work of measurements before ``cv`` existed). Target: a ratio
of at least 1.7 on 2 cores. Run::

    python benchmarks/parallel.py [--n-trials 40] [--problems digits gen_classification_5000]
                                  [--cv auto|none|K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import write_section  # noqa: E402
from datasets import PROBLEMS  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402


def trials_per_minute(
    problem: str, n_jobs: int, n_trials: int, seed: int, cv: str | int | None = "auto"
) -> tuple[float, int]:
    """Trials per minute of search, and the trials that completed (not FAIL)."""
    task, load = PROBLEMS[problem]
    X, y = load()
    estimator = NASClassifier if task == "classification" else NASRegressor
    model = estimator(
        n_trials=n_trials,
        max_epochs=20,
        strategy="random",
        pruner="none",
        ensemble_size=1,
        refit=False,
        random_state=seed,
        n_jobs=n_jobs,
        cv=cv,
    ).fit(X, y)
    board = model.leaderboard_
    return n_trials / (model.timings_["search"] / 60), int((board["state"] != "FAIL").sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument(
        "--problems",
        nargs="+",
        default=["digits", "gen_classification_5000", "gen_regression_5000"],
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", default="auto", help='"auto", "none" or a number of folds')
    args = parser.parse_args()
    cv = None if args.cv == "none" else args.cv if args.cv == "auto" else int(args.cv)
    started = time.monotonic()
    trials_per_minute("digits", 2, 2, args.seed)  # starts the loky workers
    start_up = time.monotonic() - started
    rows, ratios = [], []
    for problem in args.problems:
        one, ok_one = trials_per_minute(problem, 1, args.n_trials, args.seed, cv)
        two, ok_two = trials_per_minute(problem, 2, args.n_trials, args.seed, cv)
        ratios.append(two / one)
        rows.append(
            f"| {problem} | {one:.1f} | {two:.1f} | **{two / one:.2f}** | {ok_one} / {ok_two} |"
        )
        print(rows[-1], flush=True)
    verdict = "met" if min(ratios) >= 1.7 else f"missed: lowest {min(ratios):.2f}"
    text = "\n".join(
        [
            "## Parallel trials: n_jobs=2 against n_jobs=1",
            "",
            f"`python benchmarks/parallel.py --n-trials {args.n_trials} --cv {args.cv}` (2 "
            "cores; random "
            "strategy and no successive halving, so both runs train the same candidates for "
            f"the same epochs; default families; the loky workers' start-up, {start_up:.1f} s "
            "once per process, is not counted):",
            "",
            "| problem | trials/min, n_jobs=1 | trials/min, n_jobs=2 | ratio | not failed |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Target: ratio >= 1.7 on every problem ({verdict}).",
        ]
    )
    print(text)
    write_section("parallel", text)


if __name__ == "__main__":
    main()
