"""Image inputs: digits as 1x8x8 images, and a generated 3x32x32 task.

1. ``digits``: sklearn's digits as ``(n, 1, 8, 8)`` images, a 25 % stratified test split
   per seed, ``NASClassifier(time_budget=...)`` with its default image families (cnn and
   mlp); test accuracy per seed and its mean (target: >= 0.99 at 120 s).
2. ``shapes32``: 2,000 generated 3x32x32 images of four shapes (horizontal or vertical
   bar, square, cross) at random places and colours on noise; whether ``fit`` kept to its
   budget, whether a CNN is in the leaderboard, test accuracy and peak resident memory.

Every run is a child process (so that its peak memory is its own). Run::

    python benchmarks/images.py [--time-budget 120] [--seeds 0 1 2] [--shapes-budget 60]

It takes about (seeds x time budget + shapes budget). Rows are appended to
``benchmarks/results/images.jsonl``; the table goes to ``doc/benchmarks.md``. Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import append_row, write_section  # noqa: E402

from sknas import NASClassifier  # noqa: E402
from sknas.space import IMAGE_FAMILIES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "images.jsonl"


def shapes32(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy 3x32x32 images of one of four shapes (the class), placed and coloured at random."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 0.4, (n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 4, n)
    for image, label in zip(X, y, strict=True):
        top, left = rng.integers(2, 20, 2)
        colour = rng.uniform(0.5, 1.5, 3)[:, None, None]
        patch = np.zeros((10, 10), np.float32)
        if label == 0:
            patch[4:6, :] = 1  # horizontal bar
        elif label == 1:
            patch[:, 4:6] = 1  # vertical bar
        elif label == 2:
            patch[1:9, 1:9] = 1  # square
        else:
            patch[4:6, :] = patch[:, 4:6] = 1  # cross
        image[:, top : top + 10, left : left + 10] += colour * patch
    return X, y


def run(task: str, seed: int, time_budget: float) -> dict:
    """One search, in this process; its test accuracy, timings and peak memory."""
    if task == "digits":
        X, y = load_digits(return_X_y=True)
        X = X.reshape(-1, 1, 8, 8)
    else:
        X, y = shapes32(seed=seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    clf = NASClassifier(time_budget=time_budget, random_state=seed)
    started = time.monotonic()
    clf.fit(X_train, y_train)
    wall = time.monotonic() - started
    board = clf.leaderboard_
    return {
        "task": task,
        "seed": seed,
        "time_budget": time_budget,
        "test_accuracy": clf.score(X_test, y_test),
        "fit_seconds": wall,
        "n_trials": len(board),
        "trials_by_family": board["family"].value_counts().to_dict(),
        "best_family": board["family"].iloc[0],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_child(task: str, seed: int, time_budget: float) -> dict:
    command = [sys.executable, __file__, "--child", task, str(seed), str(time_budget)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(rows: list[dict]) -> str:
    """Markdown: digits accuracy per seed and mean; the 32x32 run's budget and memory."""
    frame = pd.DataFrame(rows)
    lines = [
        "`python benchmarks/images.py` on this project's 2-core CPU machine; each run in "
        f"its own process, default families for images ({', '.join(IMAGE_FAMILIES)}).",
        "",
    ]
    for task, group in frame.groupby("task", sort=False):
        table = group[
            ["seed", "time_budget", "test_accuracy", "fit_seconds", "n_trials", "best_family"]
            + ["peak_rss_mib"]
        ]
        lines += [f"### {task}", "", table.to_markdown(index=False, floatfmt=".4f"), ""]
        lines.append(f"Mean test accuracy: {group['test_accuracy'].mean():.4f}.")
        lines += [f"Trials by family: {group['trials_by_family'].tolist()}.", ""]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shapes-budget", type=float, default=60.0)
    args = parser.parse_args()
    RESULTS.parent.mkdir(exist_ok=True)
    runs = [("digits", seed, args.time_budget) for seed in args.seeds]
    runs.append(("shapes32", 0, args.shapes_budget))
    rows = []
    for task, seed, budget in runs:
        row = _in_child(task, seed, budget)
        rows.append(row)
        append_row(RESULTS, row)
        print(
            f"{task:9s} seed {seed} accuracy {row['test_accuracy']:.4f} "
            f"fit {row['fit_seconds']:.1f}s / {budget:g}s trials {row['n_trials']} "
            f"peak {row['peak_rss_mib']:.0f} MiB {row['trials_by_family']}",
            flush=True,
        )
    text = report(rows)
    print(text)
    write_section("images", "## Image inputs: digits and generated 3x32x32 shapes\n\n" + text)


if __name__ == "__main__":
    main()
