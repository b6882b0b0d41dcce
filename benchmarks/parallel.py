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

``--against dask`` compares instead ``n_jobs=2`` on loky's worker processes with
``n_jobs=2`` on a local Dask cluster of two single-threaded worker processes (issue 18:
Dask may be at most 20 % slower per trial, a ratio of at least 0.8). Problems may also be
tables of ``benchmarks/large.py`` (their 75 % training split of seed 0), where shipping
the data once matters most::

    python benchmarks/parallel.py --against dask --n-trials 20 --cv none \
        --problems gen_classification_5000 gen_clf_100k
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import joblib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import write_section  # noqa: E402
from datasets import PROBLEMS  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402


def load(problem: str):
    """``task, X, y`` of a problem of ``datasets.PROBLEMS`` or a table of ``large.py``."""
    if problem in PROBLEMS:
        task, loader = PROBLEMS[problem]
        return (task, *loader())
    import large

    X, _, y, _ = large.split(problem, 0)
    return large.TABLES[problem].task, X, y


def trials_per_minute(
    problem: str,
    n_jobs: int,
    n_trials: int,
    seed: int,
    cv: str | int | None = "auto",
    backend: str | None = None,
) -> tuple[float, int]:
    """Trials per minute of search, and the trials that completed (not FAIL), on joblib's
    ``backend`` (None: its default, loky)."""
    task, X, y = load(problem)
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
    )
    with joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext():
        model.fit(X, y)
    board = model.leaderboard_
    return n_trials / (model.timings_["search"] / 60), int((board["state"] != "FAIL").sum())


@contextlib.contextmanager
def dask_cluster() -> Iterator[None]:
    """A local Dask cluster of two single-threaded worker processes, as the client."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        yield


def against_dask(args: argparse.Namespace, cv: str | int | None) -> None:
    """Trials per minute at ``n_jobs=2``: loky's workers against a local Dask cluster's."""
    rows, ratios = [], []
    trials_per_minute("digits", 2, 2, args.seed)  # starts the loky workers
    with dask_cluster():
        trials_per_minute("digits", 2, 2, args.seed, backend="dask")  # warms the workers
        for problem in args.problems:
            loky, ok_loky = trials_per_minute(problem, 2, args.n_trials, args.seed, cv)
            dask, ok_dask = trials_per_minute(problem, 2, args.n_trials, args.seed, cv, "dask")
            ratios.append(dask / loky)
            rows.append(
                f"| {problem} | {loky:.1f} | {dask:.1f} | **{dask / loky:.2f}** | "
                f"{ok_loky} / {ok_dask} |"
            )
            print(rows[-1], flush=True)
    verdict = "met" if min(ratios) >= 0.8 else f"missed: lowest {min(ratios):.2f}"
    text = "\n".join(
        [
            "## Parallel trials: a local Dask cluster against loky",
            "",
            f"`python benchmarks/parallel.py --against dask --n-trials {args.n_trials} --cv "
            f"{args.cv} --problems {' '.join(args.problems)}` (2 cores; both at `n_jobs=2`, "
            "the same candidates for the same epochs; Dask: a `LocalCluster` of two "
            "single-threaded worker processes; the workers' start-up is not counted):",
            "",
            "| problem | trials/min, loky | trials/min, Dask | ratio | not failed |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Target (issue 18): ratio >= 0.8 on every problem ({verdict}).",
        ]
    )
    print(text)
    write_section("parallel-dask", text)


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
    parser.add_argument(
        "--against",
        choices=["n_jobs=1", "dask"],
        default="n_jobs=1",
        help="compare n_jobs=2 with n_jobs=1 (default) or loky with Dask",
    )
    args = parser.parse_args()
    cv = None if args.cv == "none" else args.cv if args.cv == "auto" else int(args.cv)
    if args.against == "dask":
        against_dask(args, cv)
        return
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
