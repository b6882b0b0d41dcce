"""Memory over a long search: resident memory growth after warm-up across many trials.

Runs one search of ``--trials`` tiny trials (iris, 3 epochs each, default families) while a
thread samples the process's resident memory (``/proc/self/statm``, Linux) every 50 ms, and
reports the growth from the end of the warm-up to the peak of the rest. The warm-up is the
first ``KEPT_MODELS`` (50) trials: a search keeps the trained models of its best 50 trials
for the ensemble, so until then memory grows by design; after it, each new model replaces
one. The target is at most 50 MiB of growth after the warm-up. With ``--warm-start-fits
K``, instead: K consecutive ``warm_start=True`` fits of ``--trials`` more trials each, and
the resident memory after each (target: the last within 50 MiB of the first). Run::

    python benchmarks/soak.py [--trials 300]
    python benchmarks/soak.py --trials 100 --warm-start-fits 3
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import threading
import time
from pathlib import Path

from sklearn.datasets import load_iris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import write_section  # noqa: E402

from sknas import NASClassifier  # noqa: E402
from sknas.engine import KEPT_MODELS  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_mib() -> float:
    """This process's resident set size in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--warm-start-fits", type=int, default=0)
    args = parser.parse_args()
    X, y = load_iris(return_X_y=True)
    if args.warm_start_fits:
        warm_start_fits(X, y, args.trials, args.warm_start_fits)
        return
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.monotonic(), resident_mib()))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    clf = NASClassifier(n_trials=args.trials, max_epochs=3, random_state=0).fit(X, y)
    done.set()
    sampler.join()
    wall = time.monotonic() - started
    board = clf.leaderboard_.sort_values("trial_id")
    trial_seconds = (board["fit_time"] + board["predict_time"]).cumsum().to_numpy()
    warm_end = started + trial_seconds[min(KEPT_MODELS, len(board)) - 1]
    after_warm_up = [rss for t, rss in samples if t <= warm_end][-1]
    peak = max(rss for t, rss in samples if t > warm_end)
    growth = peak - after_warm_up
    verdict = "met" if growth <= 50 else f"missed by {growth - 50:.1f} MiB"
    text = (
        "## Soak: memory over a long search\n\n"
        f"`python benchmarks/soak.py --trials {args.trials}`: {clf.n_trials_} trials in "
        f"{wall:.0f} s; resident memory {after_warm_up:.0f} MiB after the warm-up (the first "
        f"{KEPT_MODELS} trials), peak {peak:.0f} MiB afterwards: growth **{growth:.1f} MiB** "
        f"(target <= 50 MiB: {verdict})."
    )
    print(text)
    write_section("soak", text)


def warm_start_fits(X, y, trials: int, fits: int) -> None:
    """Resident memory after each of ``fits`` warm-started fits of ``trials`` more trials."""
    clf = NASClassifier(max_epochs=3, random_state=0, warm_start=True)
    after, held = [], []
    started = time.monotonic()
    for k in range(1, fits + 1):
        clf.set_params(n_trials=k * trials).fit(X, y)
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the OS: RSS = live memory
        after.append(resident_mib())
        held.append(sum(r.member is not None for r in clf._warm_journal.results))
    growth = after[-1] - after[0]
    verdict = "met" if growth <= 50 else f"missed by {growth - 50:.1f} MiB"
    text = (
        "## Soak: warm-started fits\n\n"
        f"`python benchmarks/soak.py --trials {trials} --warm-start-fits {fits}`: "
        f"{clf.n_trials_} trials in {time.monotonic() - started:.0f} s; resident memory after "
        f"each fit {', '.join(f'{m:.0f}' for m in after)} MiB, trained models held by the "
        f"record {', '.join(map(str, held))} (at most {KEPT_MODELS}): growth from the first "
        f"to the last **{growth:.1f} MiB** (target <= 50 MiB: {verdict})."
    )
    print(text)
    write_section("soak_warm_start", text)


if __name__ == "__main__":
    main()
