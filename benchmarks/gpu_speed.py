"""CUDA against CPU at an equal time budget, on generated 3x32x32 images.

Fits ``NASClassifier(time_budget=..., device=...)`` on ``--rows`` generated images of
four shapes (``datasets.shapes32``, 25 % held out for testing) once with ``device="cuda"``
and once with ``device="cpu"`` (every CPU core torch sees), and prints one JSON line
per device: fit seconds, trials run and completed, epochs trained, test accuracy and
the best family. Needs a GPU. Run::

    python benchmarks/gpu_speed.py [--time-budget 45] [--rows 8000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from datasets import shapes32  # noqa: E402

from sknas import NASClassifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=45.0)
    parser.add_argument("--rows", type=int, default=8000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("No CUDA device: this comparison needs a GPU.")
    X, y = shapes32(n=args.rows)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    for device in ("cuda", "cpu"):
        clf = NASClassifier(time_budget=args.time_budget, device=device, random_state=0)
        started = time.monotonic()
        clf.fit(X_train, y_train)
        board = clf.leaderboard_
        row = {
            "device": device,
            "cpu_threads": torch.get_num_threads(),
            "time_budget": args.time_budget,
            "fit_seconds": round(time.monotonic() - started, 1),
            "n_trials": len(board),
            "completed": int((board["state"] == "COMPLETE").sum()),
            "epochs_trained": int(board["n_epochs"].sum()),
            "test_accuracy": round(clf.score(X_test, y_test), 4),
            "best_family": board["family"].iloc[0],
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
