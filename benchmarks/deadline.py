"""Does ``fit`` keep to ``time_budget``? Wall time of repeated fits, search to refit.

Fits ``NASClassifier(time_budget=T, random_state=seed)`` (default families: networks and
the classical baselines, ensembling and refit on) on the generated 5,000-row
classification problem, once per seed, and reports each fit's wall time and the worst
one against the target ``1.1 * T`` (33 s for 30 s). Run::

    python benchmarks/deadline.py [--time-budget 30] [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import write_section  # noqa: E402
from datasets import PROBLEMS  # noqa: E402

from sknas import NASClassifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    X, y = PROBLEMS["gen_classification_5000"][1]()
    walls = []
    for seed in args.seeds:
        started = time.monotonic()
        clf = NASClassifier(time_budget=args.time_budget, random_state=seed).fit(X, y)
        walls.append(time.monotonic() - started)
        timings = ", ".join(f"{k} {v:.1f}" for k, v in clf.timings_.items())
        print(f"seed {seed}: fit {walls[-1]:.2f} s ({clf.n_trials_} trials; {timings})", flush=True)
    target = 1.1 * args.time_budget
    verdict = "met" if max(walls) <= target else f"missed by {max(walls) - target:.2f} s"
    text = (
        "## Time budget: wall time of `fit`\n\n"
        f"`python benchmarks/deadline.py --time-budget {args.time_budget:g}` "
        f"(gen_classification_5000, default families, refit on), seeds {args.seeds}: "
        f"fit wall times {', '.join(f'{w:.2f}' for w in walls)} s; maximum "
        f"**{max(walls):.2f} s** against {target:.0f} s ({verdict})."
    )
    print(text)
    write_section(f"deadline-{args.time_budget:g}s", text)


if __name__ == "__main__":
    main()
