"""A sequence search on a machine whose numba cache is empty (a fresh install).

aeon compiles MiniRocket's numba functions on their first call (about 20-30 s on 2 cores)
and caches them on disk. This points ``NUMBA_CACHE_DIR`` at a new empty folder before
anything imports numba, so every run here compiles as a fresh machine's first search does,
then fits ``NASClassifier(time_budget=T, random_state=seed)`` on GunPoint and prints one
line: the fit's wall time, test accuracy, trials, the ``minirocket`` trials (completed,
the first one's fit time, their errors), the ensemble's families and ``timings_``. Run
each budget in a process of its own (this script does: one run per invocation)::

    python benchmarks/cold_cache.py --time-budget 30 --seed 0
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="sknas-cold-numba-")

from aeon.datasets import load_gunpoint  # noqa: E402 - after NUMBA_CACHE_DIR is set

from sknas import NASClassifier  # noqa: E402
from sknas.exceptions import SearchFailedError  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, y = load_gunpoint(split="train")
    X_test, y_test = load_gunpoint(split="test")
    started = time.monotonic()
    clf = NASClassifier(time_budget=args.time_budget, random_state=args.seed)
    try:
        clf.fit(X, y)
    except SearchFailedError as error:
        wall = time.monotonic() - started
        print(f"budget {args.time_budget:g} s, seed {args.seed}: failed in {wall:.1f} s: {error}")
        return
    wall = time.monotonic() - started
    board = clf.leaderboard_
    rocket = board[board["family"] == "minirocket"].sort_values("trial_id")
    members = board.set_index("trial_id").loc[clf.ensemble_.trial_ids_, "family"]
    first = f" (the first in {rocket['fit_time'].iloc[0]:.1f} s)" if len(rocket) else ""
    print(
        f"budget {args.time_budget:g} s, seed {args.seed}: fit {wall:.1f} s, test accuracy "
        f"{clf.score(X_test, y_test):.4f}, {len(board)} trials, minirocket "
        f"{(rocket['state'] == 'COMPLETE').sum()} of {len(rocket)} completed{first}, "
        f"ensemble {sorted(set(members))}, timings "
        f"{ {name: round(seconds, 1) for name, seconds in clf.timings_.items()} }"
    )
    print("minirocket errors:", sorted({str(e)[:100] for e in rocket["error"].dropna()}))


if __name__ == "__main__":
    main()
