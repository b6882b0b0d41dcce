"""The GPU path in one run, for a machine with CUDA: train on CUDA, serve on a CPU.

1. Runs the tests marked ``gpu`` (``pytest -m gpu``).
2. Fits ``NASClassifier(device="cuda")`` and ``device="cpu"`` on digits as 1x8x8 images with
   the same trial budget and reports both fit times, the test accuracies, the trials that
   failed and the peak CUDA memory.
3. Pickles the CUDA model, loads it in a fresh process with CUDA hidden, and reports the
   largest difference between the two processes' probabilities (target: 1e-5).

Prints one JSON line, and writes it to ``$OUT/gpu_check.json`` when ``OUT`` is set. Run::

    python benchmarks/gpu_check.py [--n-trials 12]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier

_PREDICT_ON_CPU = """
import pickle, sys
import numpy as np
import torch
assert not torch.cuda.is_available()
model = pickle.load(open(sys.argv[1], "rb"))
np.save(sys.argv[3], model.predict_proba(np.load(sys.argv[2])))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=12)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("No CUDA device: this check needs a GPU.")
    report: dict = {"device": torch.cuda.get_device_name(0)}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"])
    report["gpu_tests_exit_status"] = tests.returncode

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    models = {}
    for device in ("cuda", "cpu"):
        started = time.monotonic()
        models[device] = NASClassifier(
            n_trials=args.n_trials,
            max_epochs=30,
            image_shape=(1, 8, 8),
            device=device,
            random_state=0,
        ).fit(X_train, y_train)
        board = models[device].leaderboard_
        report[device] = {
            "fit_s": round(time.monotonic() - started, 2),
            "test_accuracy": round(models[device].score(X_test, y_test), 4),
            "failed": int((board["state"] == "FAIL").sum()),
            "errors": sorted(set(board["error"].dropna())),
        }
    report["cuda"]["peak_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)

    with tempfile.TemporaryDirectory() as tmp:
        model, data, out = (Path(tmp) / name for name in ("m.pkl", "X.npy", "p.npy"))
        model.write_bytes(pickle.dumps(models["cuda"]))
        np.save(data, X_test)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        command = [sys.executable, "-c", _PREDICT_ON_CPU, str(model), str(data), str(out)]
        subprocess.run(command, check=True, env=env)
        difference = np.abs(np.load(out) - models["cuda"].predict_proba(X_test)).max()
    report["cuda_model_on_cpu_max_abs_difference"] = float(difference)
    line = json.dumps(report)
    print(line)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
