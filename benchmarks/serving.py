"""Serving: time and working memory of ``predict`` on 1, 1,000 and 10,000 rows.

Six fitted models, fitted once and loaded by a fresh child process per measurement:

1. ``cnn``: a ``NASClassifier`` on sklearn's digits upscaled to 28x28 (``image_shape=(1,
   28, 28)``) whose ensemble is replaced by two CNN members built directly from their
   genomes, with 256 and 304 channels (:data:`CNN_KEYS`). Their weights are the
   initialisation's (time and memory do not depend on the weight values); the estimator's
   own validation and preprocessing run as for any fitted model.
2. ``table``: ``NASClassifier(n_trials=4, max_epochs=30, random_state=0)`` fitted on digits
   (64 columns), rows tiled to the requested count.
3. ``digits``: a default fit, ``NASClassifier(time_budget=60, random_state=0)``, on 75 % of
   digits as a numpy table (``cv="auto"`` makes its members bags of fold models).
4. ``frame``: a default fit, ``NASClassifier(time_budget=60, random_state=0)``, on a
   generated 5,000-row DataFrame (:func:`frame_data`: six numeric columns with missing
   values, three categorical ones, one with missing values); one-row input is a DataFrame.
5. ``digits10`` and ``frame10``: the same data searched for 10 s
   (``NASClassifier(time_budget=10, random_state=0)``), the setup of issue 20's "5.5 ms
   for one row": a search that short holds out 20 % instead of bagging fold models, so
   its members are fewer and lighter.

Systems, each in its own child: ``sknas`` (the pickled estimator), ``onnx`` (the whole model
exported by ``sknas.export.to_onnx``, run by onnxruntime with its default graph
optimisations, ``ORT_ENABLE_ALL``, and ``--threads`` intra-op threads when given; the input
dict is built once outside the timed calls with ``onnx_inputs``), ``hgb`` (a default
``HistGradientBoostingClassifier`` fitted on the same rows, for ``digits`` and ``frame``,
whose object column it gets as a category column, converted outside the timed calls),
``autogluon`` (AutoGluon's ``TabularPredictor`` with its default presets and
``time_limit=60``, fitted on the same rows for ``digits`` and ``frame`` and kept in memory
with ``predictor.persist()``, as its documentation advises for online prediction; numpy rows
become a DataFrame outside the timed calls). AutoGluon runs in its own virtual environment
(``bash benchmarks/setup_autogluon.sh``; path in ``SKNAS_AUTOGLUON_VENV``, default
``~/.cache/sknas/autogluon-venv``): its children, and its fit, use that environment's
Python; without the environment its rows are left out.

Each child loads the model, predicts one row (so that lazily built caches exist), reads its
resident memory (the "loaded model"), resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``) and predicts: ``peak MiB`` is the peak resident memory above
the loaded model, ``ms`` the median over repeated calls (201 calls for one row; 3 for 1,000;
1 for 10,000). For one row of the ``sknas`` system it also times the parts of ``predict``:
input validation, the preprocessor and each ensemble member. The file sizes of each model
(pickle, ``est.save`` and ONNX) are printed last. Run::

    python benchmarks/serving.py [--models cnn table digits frame digits10 frame10]
                                 [--sizes 1 1000 10000]
                                 [--systems sknas onnx hgb autogluon] [--baseline DIR]
                                 [--threads N]

``--baseline DIR`` also measures, interleaved in the same run, the ``sknas`` package found in
``DIR`` (say an older commit's, from ``git archive <commit> sknas | tar -x -C DIR``), and
the ratio of the two times (a package that cannot unpickle a newer model says so in its
row). Models are kept in ``--model-dir`` (default ``benchmarks/results/serving_models``) and
reused across runs, so that two code versions are measured on the same models; delete the
directory after a change to what the models hold. Results are printed as a table. Other
processes loading the CPU slow the timings down, and more so with several torch threads,
whose parallel regions wait for the slowest (``--threads 1`` treats both code versions
alike under load, and gives onnxruntime one intra-op thread: with its default of one per
core, a one-row run of ``digits`` pinned to one core took 6.2 ms instead of 2.1 ms); run
it on an otherwise idle machine where possible.
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
import pandas as pd
from scipy.ndimage import zoom
from sklearn.datasets import load_digits

MODEL_DIR = Path(__file__).resolve().parent / "results" / "serving_models"
#: Two CNN members of at least 256 channels on 28x28 inputs.
CNN_KEYS = (
    "cnn:conv256k3p-relu-d0-batch|conv256k3p-relu-d0-batch|dense128-relu-d0.2-none",
    "cnn:conv32k3p-relu-d0-batch|conv304k3-relu-d0-batch|dense64-relu-d0-none",
)
IMAGE_SHAPE = (1, 28, 28)
AUTOGLUON_VENV = Path(
    os.environ.get("SKNAS_AUTOGLUON_VENV", Path.home() / ".cache" / "sknas" / "autogluon-venv")
)
#: Seconds AutoGluon may fit, as the default sknas fits of ``digits`` and ``frame``.
AUTOGLUON_TIME_LIMIT = 60


def digits28() -> tuple[np.ndarray, np.ndarray]:
    """Digits upscaled from 8x8 to 28x28 (flat rows of 784 values) and their labels."""
    X, y = load_digits(return_X_y=True)
    images = zoom(X.reshape(-1, 8, 8), (1, 3.5, 3.5), order=1)
    return images.reshape(len(X), -1).astype(np.float32), y


def frame_data(n_rows: int = 5_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A DataFrame with numeric and categorical columns and missing values, and labels."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n_rows, 6))
    colour = rng.choice(["red", "green", "blue", "black"], size=n_rows)
    city = rng.choice([f"city{i}" for i in range(20)], size=n_rows)
    size = rng.choice(["S", "M", "L"], size=n_rows, p=[0.5, 0.3, 0.2])
    logit = numeric[:, 0] - numeric[:, 1] * numeric[:, 2] + (colour == "red") - (size == "L")
    y = (logit + rng.normal(scale=0.5, size=n_rows) > 0).astype(int)
    numeric[rng.random(numeric.shape) < 0.1] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(6)])
    frame["colour"] = pd.Categorical(colour)
    frame["city"] = pd.Series(city, dtype=object).where(rng.random(n_rows) > 0.05)
    frame["size"] = pd.Categorical(size)
    return frame, y


def _for_hgb(X: object) -> object:
    """``X`` as a default HGB takes it: ``frame``'s object column as a category one."""
    if not isinstance(X, pd.DataFrame):
        return X
    cities = pd.CategoricalDtype(sorted(frame_data()[0]["city"].dropna().unique()))
    return X.astype({"city": cities})


#: Seconds of the default searches behind the models that are plain ``NASClassifier`` fits.
SEARCH_SECONDS = {"digits": 60, "frame": 60, "digits10": 10, "frame10": 10}


def _data_of(model: str) -> str:
    """The data set ``model`` is fitted on: ``digits10`` on ``digits``' rows, and so on."""
    return model.removesuffix("10")


def training_data(model: str) -> tuple[object, np.ndarray]:
    """The rows ``model`` is fitted on (the first 75 % of ``digits``' rows for ``digits``)."""
    data = _data_of(model)
    if data == "frame":
        return frame_data()
    X, y = digits28() if data == "cnn" else load_digits(return_X_y=True)
    return (X[: len(X) * 3 // 4], y[: len(y) * 3 // 4]) if data == "digits" else (X, y)


def rows(model: str, n_rows: int) -> object:
    """``n_rows`` input rows for ``model``, its data set tiled as needed."""
    X = training_data(model)[0]
    positions = np.resize(np.arange(len(X)), n_rows)
    frame = _data_of(model) == "frame"
    return X.iloc[positions].reset_index(drop=True) if frame else X[positions]


def build_models(model_dir: Path, models: list[str]) -> None:
    """Fit and pickle the models not already in ``model_dir``."""
    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier

    from sknas import NASClassifier
    from sknas.ensemble.fitted import FittedEnsemble
    from sknas.evaluation.members import NeuralMember
    from sknas.export import to_onnx
    from sknas.persistence import save
    from sknas.space.genome import Genome
    from sknas.space.modules import GenomeNet

    model_dir.mkdir(parents=True, exist_ok=True)
    for model in models:
        path = model_dir / f"{model}.pkl"
        if path.exists():
            continue
        X, y = training_data(model)
        if model in SEARCH_SECONDS:
            est = NASClassifier(time_budget=SEARCH_SECONDS[model], random_state=0).fit(X, y)
            # A default HGB takes category columns natively: the object column is made one
            # (with the training categories) once, outside the timed calls.
            hgb = HistGradientBoostingClassifier(random_state=0).fit(_for_hgb(X), y)
            (model_dir / f"{model}_hgb.pkl").write_bytes(pickle.dumps(hgb))
        elif model == "table":
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
        save(est, model_dir / f"{model}.skn")
        try:
            to_onnx(est, model_dir / f"{model}.onnx")
        except (ImportError, NotImplementedError) as error:
            print(f"{model}: no ONNX graph ({error})", file=sys.stderr)


def _as_frame(X: object) -> pd.DataFrame:
    """``X`` as AutoGluon takes it: a DataFrame (numpy rows get columns ``c0``, ``c1``...)."""
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])


def build_autogluon(model_dir: Path, models: list[str]) -> None:
    """Fit AutoGluon's predictors not already in ``model_dir``, each in a child run by its
    virtual environment's Python (``--fit-autogluon``)."""
    for model in models:
        if model not in ("digits", "frame") or (model_dir / f"{model}_autogluon").exists():
            continue
        child = [str(AUTOGLUON_VENV / "bin" / "python"), __file__, "--fit-autogluon", model]
        done = subprocess.run(
            [*child, "--model-dir", str(model_dir)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print(f"{model}: AutoGluon's fit failed: {done.stderr[-300:]}", file=sys.stderr)


def fit_autogluon(model_dir: Path, model: str) -> None:
    """In AutoGluon's environment: fit its predictor on ``model``'s rows and save it."""
    import tempfile

    from autogluon.tabular import TabularPredictor

    X, y = training_data(model)
    train = _as_frame(X).assign(__target__=y)
    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)  # CatBoost writes catboost_info/ into the working directory
        TabularPredictor(
            label="__target__", path=str(model_dir / f"{model}_autogluon"), verbosity=0
        ).fit(train, time_limit=AUTOGLUON_TIME_LIMIT)


def _rss_kib() -> tuple[int, int]:
    """Current and peak resident memory of this process, in KiB."""
    status = Path("/proc/self/status").read_text()
    return tuple(
        int(re.search(rf"{name}:\s+(\d+)", status).group(1)) for name in ("VmRSS", "VmHWM")
    )


def _loader(system: str, model: str, model_dir: Path, threads: int | None = None) -> object:
    """Load ``system``'s copy of ``model``; return ``prepare(X)``, which returns a function
    of no argument that predicts ``X``. ``threads``: onnxruntime's intra-op threads."""
    if system == "hgb":
        hgb = pickle.loads((model_dir / f"{model}_hgb.pkl").read_bytes())

        def prepare_hgb(X: object) -> object:
            X = _for_hgb(X)
            return lambda: hgb.predict(X)

        return prepare_hgb
    if system == "autogluon":
        from autogluon.tabular import TabularPredictor

        predictor = TabularPredictor.load(str(model_dir / f"{model}_autogluon"))
        predictor.persist()

        def prepare_autogluon(X: object) -> object:
            X = _as_frame(X)
            return lambda: predictor.predict(X)

        return prepare_autogluon
    est = pickle.loads((model_dir / f"{model}.pkl").read_bytes())
    if system == "sknas":
        return lambda X: lambda: est.predict(X)
    import onnxruntime

    from sknas.export import onnx_inputs

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: onnxruntime's default, one per core
    session = onnxruntime.InferenceSession(
        str(model_dir / f"{model}.onnx"), options, providers=["CPUExecutionProvider"]
    )

    def prepare(X: object) -> object:
        feed = onnx_inputs(est, X)
        return lambda: session.run(None, feed)

    return prepare


def measure(
    system: str, model: str, model_dir: Path, n_rows: int, threads: int | None = None
) -> dict:
    """In this process: load ``system``'s copy of ``model``, predict ``n_rows`` rows; time
    and peak memory (``threads``: onnxruntime's intra-op threads)."""
    X = rows(model, n_rows)
    prepare = _loader(system, model, model_dir, threads)
    prepare(X[:1])()
    loaded, _ = _rss_kib()
    predict = prepare(X)
    Path("/proc/self/clear_refs").write_text("5")  # the peak mark starts again from now
    repeats = 201 if n_rows == 1 else 3 if n_rows <= 1000 else 1
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict()
        times.append(time.perf_counter() - started)
    _, peak = _rss_kib()
    result = {
        "model": model,
        "rows": n_rows,
        "ms": 1000 * float(np.median(times)),
        "loaded_mib": loaded / 1024,
        "peak_mib": (peak - loaded) / 1024,
    }
    if n_rows == 1 and system == "sknas":
        result["parts_ms"] = _parts(pickle.loads((model_dir / f"{model}.pkl").read_bytes()), X)
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
    try:  # the fast path predict takes for numeric arrays and DataFrames (newer versions)
        from sknas.preprocessing import FrameTransform, serving_transform

        fast = serving_transform(est.preprocessor_)
        kind = pd.DataFrame if isinstance(fast, FrameTransform) else np.ndarray
        transform = fast if fast is not None and isinstance(X_valid, kind) else None
    except ImportError:
        transform = None
    transform = transform or est.preprocessor_.transform
    X_prep = transform(X_valid)
    parts = {
        "validate": median_ms(lambda: est._validated_X(X)),
        "preprocess": median_ms(lambda: transform(X_valid)),
    }
    for i, member in enumerate(est.ensemble_.members_):
        parts[f"member{i}:{type(member).__name__}"] = median_ms(lambda m=member: m.predict(X_prep))
    return parts


MODELS = ("cnn", "table", "digits", "frame", "digits10", "frame10")
SYSTEMS = ("sknas", "onnx", "hgb", "autogluon")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 1000, 10000])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--baseline", type=Path, help="a directory holding another sknas")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch and onnxruntime intra-op threads in each child (default: theirs)",
    )
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "MODEL", "ROWS"), help="internal")
    parser.add_argument("--fit-autogluon", metavar="MODEL", help="internal")
    args = parser.parse_args()
    if args.fit_autogluon:
        fit_autogluon(args.model_dir, args.fit_autogluon)
        return
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        system, model, n_rows = args.child
        print(json.dumps(measure(system, model, args.model_dir, int(n_rows), args.threads)))
        return
    build_models(args.model_dir, args.models)
    if "autogluon" in args.systems and (AUTOGLUON_VENV / "bin" / "python").exists():
        build_autogluon(args.model_dir, args.models)
    print("| model | rows | system | ms (median) | peak MiB above loaded | loaded MiB |")
    print("|---|---:|---|---:|---:|---:|")
    for model in args.models:
        runs = [("sknas", None)] + ([("sknas", args.baseline)] if args.baseline else [])
        runs += [(system, None) for system in args.systems if system != "sknas"]
        for n_rows in args.sizes:
            times = {}
            for system, directory in runs:
                name = f"{system} (baseline)" if directory else system
                if system == "onnx" and not (args.model_dir / f"{model}.onnx").exists():
                    continue
                if system == "hgb" and not (args.model_dir / f"{model}_hgb.pkl").exists():
                    continue
                if system == "autogluon" and not (args.model_dir / f"{model}_autogluon").exists():
                    continue
                result = _run_child(system, model, args, n_rows, directory)
                if isinstance(result, str):
                    print(f"| {model} | {n_rows:,} | {name} | failed: {result} | | |", flush=True)
                    continue
                times[name] = result["ms"]
                print(
                    f"| {model} | {n_rows:,} | {name} | {result['ms']:.3f} "
                    f"| {result['peak_mib']:.0f} | {result['loaded_mib']:.0f} |",
                    flush=True,
                )
                if "parts_ms" in result:
                    parts = ", ".join(f"{k} {v:.3f}" for k, v in result["parts_ms"].items())
                    print(f"|  |  | {name} | parts (ms): {parts} | | |", flush=True)
            if "sknas (baseline)" in times and "sknas" in times:
                ratio = times["sknas"] / times["sknas (baseline)"]
                print(f"|  |  | sknas / baseline time | {ratio:.3f} | | |", flush=True)
    print("\n| model | pickle bytes | save() bytes | ONNX bytes |\n|---|---:|---:|---:|")
    for model in args.models:
        sizes = [args.model_dir / f"{model}{suffix}" for suffix in (".pkl", ".skn", ".onnx")]
        print(
            f"| {model} | "
            + " | ".join(f"{p.stat().st_size:,}" if p.exists() else "-" for p in sizes)
            + " |"
        )


def _run_child(
    system: str, model: str, args: argparse.Namespace, n_rows: int, directory: Path | None
) -> dict | str:
    """Measure in a fresh process, importing sknas from ``directory`` when given."""
    env = dict(os.environ)
    if directory is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(directory), env.get("PYTHONPATH", "")])
    python = AUTOGLUON_VENV / "bin" / "python" if system == "autogluon" else sys.executable
    child = [str(python), __file__, "--child", system, model, str(n_rows)]
    child += ["--model-dir", str(args.model_dir)]
    # AutoGluon's environment has no torch: its tree models take no thread setting from here
    child += ["--threads", str(args.threads)] if args.threads and system != "autogluon" else []
    done = subprocess.run(child, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        return done.stderr.strip()[-200:].replace("\n", " ")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
