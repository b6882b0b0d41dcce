"""Serving: time and working memory of ``predict`` on 1, 1,000 and 10,000 rows.

Two fitted models, pickled once and loaded by a fresh child process per measurement:

1. ``cnn``: a ``NASClassifier`` on sklearn's digits upscaled to 28x28 (``image_shape=(1,
   28, 28)``) whose ensemble is replaced by two CNN members built directly from their
   genomes, with 256 and 304 channels (:data:`CNN_KEYS`). Their weights are the
   initialisation's (time and memory do not depend on the weight values); the estimator's
   own validation and preprocessing run as for any fitted model.
2. ``table``: ``NASClassifier(n_trials=4, max_epochs=30, random_state=0)`` fitted on digits
   (64 columns), rows tiled to the requested count.

Each child loads the model, predicts one row (so that lazily built caches exist), reads its
resident memory (the "loaded model"), resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``) and predicts: ``peak MiB`` is the peak resident memory above
the loaded model, ``ms`` the median over repeated calls (201 calls for one row; 3 for 1,000;
1 for 10,000). For one row it also times the parts of ``predict``:
input validation, the preprocessor and each ensemble member. Run::

    python benchmarks/serving.py [--models cnn table] [--sizes 1 1000 10000] [--baseline DIR]
                                 [--threads N]

``--baseline DIR`` also measures, interleaved in the same run, the ``sknas`` package found in
``DIR`` (say an older commit's, from ``git archive <commit> sknas | tar -x -C DIR``), and
the ratio of the two times. Models are kept in ``--model-dir`` (default
``benchmarks/results/serving_models``) and reused across runs, so that two code versions are
measured on the same models. Results are printed as a table. Other processes loading the
CPU slow the timings down, and more so with several torch threads, whose parallel regions wait
for the slowest (``--threads 1`` treats both code versions alike under load); run it on an
otherwise idle machine where possible.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import zoom
from sklearn.datasets import load_digits

MODEL_DIR = Path(__file__).resolve().parent / "results" / "serving_models"
#: Two CNN members of at least 256 channels on 28x28 inputs.
CNN_KEYS = (
    "cnn:conv256k3p-relu-d0-batch|conv256k3p-relu-d0-batch|dense128-relu-d0.2-none",
    "cnn:conv32k3p-relu-d0-batch|conv304k3-relu-d0-batch|dense64-relu-d0-none",
)
IMAGE_SHAPE = (1, 28, 28)


def digits28() -> tuple[np.ndarray, np.ndarray]:
    """Digits upscaled from 8x8 to 28x28 (flat rows of 784 values) and their labels."""
    X, y = load_digits(return_X_y=True)
    images = zoom(X.reshape(-1, 8, 8), (1, 3.5, 3.5), order=1)
    return images.reshape(len(X), -1).astype(np.float32), y


def rows(model: str, n_rows: int) -> np.ndarray:
    """``n_rows`` input rows for ``model``, the data set tiled as needed."""
    X = digits28()[0] if model == "cnn" else load_digits(return_X_y=True)[0]
    return np.resize(X, (n_rows, X.shape[1]))


def build_models(model_dir: Path, models: list[str]) -> None:
    """Fit and pickle the models not already in ``model_dir``."""
    import torch

    from sknas import NASClassifier
    from sknas.ensemble.fitted import FittedEnsemble
    from sknas.evaluation.members import NeuralMember
    from sknas.space.genome import Genome
    from sknas.space.modules import GenomeNet

    model_dir.mkdir(parents=True, exist_ok=True)
    for model in models:
        path = model_dir / f"{model}.pkl"
        if path.exists():
            continue
        if model == "table":
            X, y = load_digits(return_X_y=True)
            est = NASClassifier(n_trials=4, max_epochs=30, random_state=0).fit(X, y)
        else:
            X, y = digits28()
            est = NASClassifier(
                families=["mlp"], image_shape=IMAGE_SHAPE, n_trials=1, max_epochs=2, random_state=0
            ).fit(X[:500], y[:500])
            members = []
            for seed, key in enumerate(CNN_KEYS):
                genome = Genome.from_key(key)
                torch.manual_seed(seed)
                module = GenomeNet(genome, X.shape[1], 10, IMAGE_SHAPE)
                members.append(
                    NeuralMember.from_module(
                        module,
                        genome=genome,
                        n_features=X.shape[1],
                        n_outputs=10,
                        task="classification",
                        image_shape=IMAGE_SHAPE,
                    )
                )
            est.ensemble_ = FittedEnsemble(members, [0.5, 0.5], [-1, -2])
        path.write_bytes(pickle.dumps(est))


def _rss_kib() -> tuple[int, int]:
    """Current and peak resident memory of this process, in KiB."""
    status = Path("/proc/self/status").read_text()
    return tuple(
        int(re.search(rf"{name}:\s+(\d+)", status).group(1)) for name in ("VmRSS", "VmHWM")
    )


def measure(model: str, path: Path, n_rows: int) -> dict:
    """In this process: load ``path``, predict ``n_rows`` rows; time and peak memory."""
    X = rows(model, n_rows)
    est = pickle.loads(path.read_bytes())
    est.predict(X[:1])
    loaded, _ = _rss_kib()
    Path("/proc/self/clear_refs").write_text("5")  # the peak mark starts again from now
    repeats = 201 if n_rows == 1 else 3 if n_rows <= 1000 else 1
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        est.predict(X)
        times.append(time.perf_counter() - started)
    _, peak = _rss_kib()
    result = {
        "model": model,
        "rows": n_rows,
        "ms": 1000 * float(np.median(times)),
        "loaded_mib": loaded / 1024,
        "peak_mib": (peak - loaded) / 1024,
    }
    if n_rows == 1:
        result["parts_ms"] = _parts(est, X)
    return result


def _parts(est, X: np.ndarray) -> dict[str, float]:
    """Median milliseconds of each part of a one-row ``predict``."""

    def median_ms(call) -> float:
        times = []
        for _ in range(201):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return 1000 * float(np.median(times))

    X_valid = est._validated_X(X)
    X_prep = est.preprocessor_.transform(X_valid)
    parts = {
        "validate": median_ms(lambda: est._validated_X(X)),
        "preprocess": median_ms(lambda: est.preprocessor_.transform(X_valid)),
    }
    for i, member in enumerate(est.ensemble_.members_):
        parts[f"member{i}:{type(member).__name__}"] = median_ms(lambda m=member: m.predict(X_prep))
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "table"], choices=["cnn", "table"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 1000, 10000])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--baseline", type=Path, help="a directory holding another sknas")
    parser.add_argument(
        "--threads", type=int, help="torch threads in each child (default: torch's)"
    )
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "PATH", "ROWS"), help="internal")
    args = parser.parse_args()
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        model, path, n_rows = args.child
        print(json.dumps(measure(model, Path(path), int(n_rows))))
        return
    build_models(args.model_dir, args.models)
    print("| model | rows | code | ms (median) | peak MiB above loaded | loaded MiB |")
    print("|---|---:|---|---:|---:|---:|")
    codes = {"current": None} | ({"baseline": args.baseline} if args.baseline else {})
    for model in args.models:
        path = args.model_dir / f"{model}.pkl"
        for n_rows in args.sizes:
            times = {}
            for code, directory in codes.items():
                result = _run_child(model, path, n_rows, directory, args.threads)
                if isinstance(result, str):
                    print(f"| {model} | {n_rows:,} | {code} | failed: {result} | | |", flush=True)
                    continue
                times[code] = result["ms"]
                print(
                    f"| {model} | {n_rows:,} | {code} | {result['ms']:.2f} "
                    f"| {result['peak_mib']:.0f} | {result['loaded_mib']:.0f} |",
                    flush=True,
                )
                if "parts_ms" in result:
                    parts = ", ".join(f"{k} {v:.3f}" for k, v in result["parts_ms"].items())
                    print(f"|  |  | {code} | parts (ms): {parts} | | |", flush=True)
            if len(times) == 2:
                ratio = times["current"] / times["baseline"]
                print(f"|  |  | current / baseline time | {ratio:.3f} | | |", flush=True)


def _run_child(
    model: str, path: Path, n_rows: int, directory: Path | None, threads: int | None
) -> dict | str:
    """Measure in a fresh process, importing sknas from ``directory`` when given."""
    env = dict(os.environ)
    if directory is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(directory), env.get("PYTHONPATH", "")])
    child = [sys.executable, __file__, "--child", model, str(path), str(n_rows)]
    child += ["--threads", str(threads)] if threads else []
    done = subprocess.run(child, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        return done.stderr.strip()[-200:].replace("\n", " ")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
