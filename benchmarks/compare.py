"""Peers side by side, fresh: sknas, FLAML, AutoGluon, default HGB and a linear model.

Every table of the registry (``benchmarks/datasets.py``; by default its 15 real tables) and
every seed get one 25 % test split (stratified for classification) that serves every system:

* ``sknas``: ``NASClassifier`` / ``NASRegressor`` with ``time_budget``, ``random_state=seed``
  and the table's metric as ``scoring``, otherwise defaults;
* ``flaml``: FLAML's ``AutoML`` with the same budget, metric and seed, ``n_jobs=2``;
* ``autogluon``: AutoGluon 1.6.3's ``TabularPredictor`` (``presets="best_quality_v150"``, see
  ``autogluon_runner.py`` for why) with ``time_limit`` = the budget and ``num_cpus=2``, run in
  its own venv (``bash benchmarks/setup_autogluon.sh``; path in ``SKNAS_AUTOGLUON_VENV``,
  default ``~/.cache/sknas/autogluon-venv``);
* ``hgb``: ``HistGradientBoostingClassifier`` / ``Regressor`` with default parameters;
  non-numeric columns become categoricals, which it takes natively (``from_dtype``) with NaN;
* ``linear``: ``LogisticRegression`` / ``Ridge`` with default parameters, after the same
  column split: numbers median-imputed and standardised, categoricals one-hot encoded.

Every run is fresh, in a process of its own limited to 2 cores (CPU affinity and
``OMP_NUM_THREADS``); a crash, an error or a run past the hard limit becomes a row that says
why. Each system's fit wall time is recorded (overrunning the budget is part of the
comparison); sknas's rows also hold its trial count, its ensemble's families and
``timings_`` (fit's phases), so an overrun says where it came from. Rows are keyed by
(code version, table, seed, system) and appended to
``benchmarks/results/compare_<budget>s.jsonl`` as they come. The code version is the git
commit, with a hash of the uncommitted changes to ``sknas/``, ``pyproject.toml`` and these
benchmark files appended when there are any. A rerun resumes rows of the same version only:
after a commit everything runs again. ``--retry-failed`` reruns the failed rows of the
version.

Report (stdout and ``benchmarks/results/compare_<budget>s.md``): per-table mean ± std per
system, mean rank per system (all tables, development, held out), sknas against AutoGluon
(paired difference ± standard error per table, tables won), sknas minus HGB per table, and
fit wall times. Run::

    bash benchmarks/setup_autogluon.sh                  # once, about 2 minutes
    python benchmarks/compare.py --time-budget 60 --seeds 0 1 2

The full run is 15 tables x 3 seeds x (3 budgeted systems of 60 s + start-up and baselines),
about two and a half hours; run it on an otherwise idle machine (a busy core makes a time
budget worth far less). ``--tables``, ``--held-out-only``, ``--development-only`` and
``--systems`` pick a part; ``--report-only`` reports what the file holds for this version
(``--code-version COMMIT``: for the rows of another one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _report import append_row, write_section  # noqa: E402
from datasets import HELD_OUT, REAL_TABLES, TABLES, split_problem  # noqa: E402

RESULTS = HERE / "results"
CORES = 2
#: Systems searched under the time budget (the others run to completion).
BUDGETED = ("sknas", "flaml", "autogluon")
AUTOGLUON_VENV = Path(
    os.environ.get("SKNAS_AUTOGLUON_VENV", Path.home() / ".cache" / "sknas" / "autogluon-venv")
)
AUTOGLUON_PRESETS = "best_quality_v150"
RESULT_MARK = "@@RESULT "
#: Paths whose uncommitted changes make the code version differ from the commit.
VERSIONED = [
    "sknas",
    "pyproject.toml",
    "benchmarks/compare.py",
    "benchmarks/datasets.py",
    "benchmarks/autogluon_runner.py",
]
Data = np.ndarray | pd.DataFrame


@dataclass(frozen=True)
class Setting:
    """What every system gets besides the training rows.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    metric : str
        ``"accuracy"``, ``"balanced_accuracy"`` or ``"r2"``.
    seed : int
        Seed of the split and of the system.
    time_budget : float
        Seconds for the budgeted systems.
    sknas_params : dict
        Extra keyword arguments of sknas's estimator.
    autogluon_presets : str
        AutoGluon's ``presets``.
    """

    task: str
    metric: str
    seed: int
    time_budget: float
    sknas_params: dict = field(default_factory=dict)
    autogluon_presets: str = AUTOGLUON_PRESETS


@dataclass
class Fitted:
    """A system's test predictions, its fit wall time and anything worth keeping."""

    predictions: np.ndarray
    fit_wall: float
    extra: dict = field(default_factory=dict)
    #: sknas's most probable classes where it decides at a tuned threshold (scored too)
    most_probable: np.ndarray | None = None


# -- the systems ---------------------------------------------------------------------------


def categorise(X_train: Data, X_test: Data) -> tuple[Data, Data]:
    """Non-numeric DataFrame columns as pandas categoricals, with the training part's categories.

    Parameters
    ----------
    X_train, X_test : DataFrame or ndarray
        The two parts of a split; arrays are returned unchanged.

    Returns
    -------
    X_train, X_test
        The test part's values unseen in training become NaN, as for an unknown category.
    """
    if not isinstance(X_train, pd.DataFrame):
        return X_train, X_test
    other = X_train.select_dtypes(exclude="number").columns
    dtypes = {c: pd.CategoricalDtype(pd.unique(X_train[c].dropna())) for c in other}
    dtypes = {
        c: X_train[c].dtype if isinstance(X_train[c].dtype, pd.CategoricalDtype) else dtype
        for c, dtype in dtypes.items()
    }
    return X_train.astype(dtypes), X_test.astype(dtypes)


def _timed_fit(model: Any, X: Data, y: np.ndarray, X_test: Data) -> Fitted:
    """Fit ``model`` and predict ``X_test``, timing the fit."""
    started = time.monotonic()
    model.fit(X, y)
    wall = time.monotonic() - started
    return Fitted(np.asarray(model.predict(X_test)), wall)


def fit_sknas(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """sknas with the budget, the seed and the metric (and ``--sknas-params``)."""
    import sknas
    from sknas import NASClassifier, NASRegressor

    Estimator = NASClassifier if s.task == "classification" else NASRegressor
    model = Estimator(
        time_budget=s.time_budget, random_state=s.seed, scoring=s.metric, **s.sknas_params
    )
    fitted = _timed_fit(model, X, y, X_test)
    board = model.leaderboard_
    members = board.set_index("trial_id").loc[model.ensemble_.trial_ids_, "family"]
    fitted.extra = {
        "sknas": sknas.__version__,
        "trials": len(board),
        "ensemble_families": sorted(set(members)),
        "timings": {phase: round(seconds, 2) for phase, seconds in model.timings_.items()},
    }
    threshold = getattr(model, "decision_threshold_", None)
    if threshold is not None:
        fitted.extra["decision_threshold"] = threshold
        fitted.most_probable = model.classes_[model.predict_proba(X_test).argmax(axis=1)]
    return fitted


def _flaml_balanced_error(X_val: Data, y_val: np.ndarray, estimator: Any, *_: Any, **__: Any):
    """Balanced accuracy in FLAML's custom-metric form (it has none built in): a loss."""
    from sklearn.metrics import balanced_accuracy_score

    return 1 - balanced_accuracy_score(y_val, estimator.predict(X_val)), {}


def fit_flaml(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """FLAML's AutoML with the same budget, metric and seed, on 2 cores."""
    import flaml
    from flaml import AutoML

    metric = _flaml_balanced_error if s.metric == "balanced_accuracy" else s.metric
    automl = AutoML()
    started = time.monotonic()
    automl.fit(
        X,
        y,
        task=s.task,
        time_budget=s.time_budget,
        metric=metric,
        seed=s.seed,
        n_jobs=CORES,
        verbose=0,
    )
    wall = time.monotonic() - started
    predictions = np.asarray(automl.predict(X_test))
    return Fitted(predictions, wall, {"flaml": flaml.__version__, "best": automl.best_estimator})


def _exchange(X: Data, y: np.ndarray | None, columns: list[dict], path: Path) -> None:
    """Write ``X`` (and ``y``) as ``autogluon_runner.py`` reads them: one array per column."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    arrays = {}
    for i, (column, spec) in enumerate(zip(frame.columns, columns, strict=True)):
        values = frame[column]
        if spec["kind"] == "category":
            categories = [str(c) for c in values.cat.categories]
            codes = (
                values.cat.rename_categories(categories)
                .cat.set_categories(spec["categories"])
                .cat.codes
            )
            arrays[f"c{i}"] = codes.to_numpy(dtype=np.int64)
        else:
            arrays[f"c{i}"] = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
    if y is not None:
        arrays["y"] = y
    np.savez(path, **arrays)


def fit_autogluon(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """AutoGluon in its venv: same time limit and metric, 2 CPUs, a temporary directory."""
    python = AUTOGLUON_VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"no AutoGluon venv at {AUTOGLUON_VENV}: bash benchmarks/setup_autogluon.sh"
        )
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X).add_prefix("x")
    columns = []
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            categories = [str(c) for c in frame[column].cat.categories]
            columns.append({"name": str(column), "kind": "category", "categories": categories})
        else:
            columns.append({"name": str(column), "kind": "number"})
    spec: dict[str, Any] = {
        "columns": columns,
        "eval_metric": s.metric,
        "time_limit": s.time_budget,
        "presets": s.autogluon_presets,
        "num_cpus": CORES,
    }
    if s.task == "classification":
        classes = np.unique(y)
        spec["classes"] = classes.tolist()
        spec["problem_type"] = "binary" if len(classes) == 2 else "multiclass"
        y_sent = np.searchsorted(classes, y)
    else:
        spec["problem_type"] = "regression"
        y_sent = np.asarray(y, dtype=float)
    with tempfile.TemporaryDirectory(prefix="sknas-ag-") as directory:
        folder = Path(directory)
        (folder / "spec.json").write_text(json.dumps(spec))
        _exchange(X, y_sent, columns, folder / "train.npz")
        _exchange(X_test, None, columns, folder / "test.npz")
        started = time.monotonic()
        done = subprocess.run(
            [str(python), str(HERE / "autogluon_runner.py"), str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        process_wall = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"autogluon_runner exited {done.returncode}: {done.stderr[-1500:]}")
        result = json.loads((folder / "result.json").read_text())
    predictions = np.asarray(result["predictions"])
    if s.task == "classification":
        predictions = np.asarray(spec["classes"], dtype=object)[predictions.astype(int)]
        predictions = predictions.astype(np.asarray(y).dtype)
    extra = {k: result[k] for k in ("best_model", "num_models", "presets", "versions")}
    return Fitted(predictions, result["fit_wall"], extra | {"process_wall": process_wall})


def fit_hgb(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """HistGradientBoosting's defaults; non-numeric columns as its native categoricals."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    Model = (
        HistGradientBoostingClassifier
        if s.task == "classification"
        else HistGradientBoostingRegressor
    )
    return _timed_fit(Model(random_state=s.seed), X, y, X_test)


def fit_linear(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """LogisticRegression / Ridge defaults; numbers imputed and scaled, categories one-hot."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    if isinstance(X, pd.DataFrame):
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numbers = [c for c in X.columns if c not in categorical]
        onehot = OneHotEncoder(handle_unknown="ignore")  # a missing value is a category of its own
        numeric = make_column_transformer((numeric, numbers), (onehot, categorical))
    model = LogisticRegression() if s.task == "classification" else Ridge()
    return _timed_fit(make_pipeline(numeric, model), X, y, X_test)


SYSTEMS: dict[str, Callable[[Data, np.ndarray, Data, Setting], Fitted]] = {
    "sknas": fit_sknas,
    "autogluon": fit_autogluon,
    "flaml": fit_flaml,
    "hgb": fit_hgb,
    "linear": fit_linear,
}


def available(system: str) -> str | None:
    """Why ``system`` cannot run here, or None when it can."""
    if system == "autogluon" and not (AUTOGLUON_VENV / "bin" / "python").exists():
        return f"no venv at {AUTOGLUON_VENV} (bash benchmarks/setup_autogluon.sh)"
    if system == "flaml":
        try:
            import flaml.automl  # noqa: F401
        except ImportError:
            return 'not installed (pip install "flaml[automl]")'
    return None


# -- one run, in a process of its own ------------------------------------------------------


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The table's metric of the predictions."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score

    scorer = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score}
    return float(scorer.get(metric, r2_score)(y_true, y_pred))


def run_one(
    table: str,
    seed: int,
    system: str,
    time_budget: float,
    sknas_params: dict | None = None,
    autogluon_presets: str = AUTOGLUON_PRESETS,
) -> dict:
    """Fit ``system`` on ``table``'s training split for ``seed``; test score and fit time.

    Parameters
    ----------
    table : str
        A registry table.
    seed : int
        Seed of the split and the system.
    system : str
        A key of :data:`SYSTEMS`.
    time_budget : float
        Seconds for the budgeted systems.
    sknas_params : dict, optional
        Extra keyword arguments of sknas's estimator.
    autogluon_presets : str
        AutoGluon's ``presets``.

    Returns
    -------
    dict
        ``test_score``, ``fit_wall``, ``n_train``, ``n_test`` and ``extra``.
    """
    task, X_train, X_test, y_train, y_test = split_problem(table, seed)
    setting = Setting(
        task, TABLES[table].metric, seed, time_budget, sknas_params or {}, autogluon_presets
    )
    if system != "sknas":  # sknas takes string, bool and object columns as they are
        X_train, X_test = categorise(X_train, X_test)
    fitted = SYSTEMS[system](X_train, y_train, X_test, setting)
    if fitted.most_probable is not None:
        most_probable = score(setting.metric, y_test, fitted.most_probable)
        fitted.extra["test_score_most_probable_class"] = most_probable
    return {
        "test_score": score(setting.metric, y_test, fitted.predictions),
        "fit_wall": fitted.fit_wall,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "extra": fitted.extra,
    }


def _child(args: argparse.Namespace) -> None:
    """The ``--one`` mode: run one (table, seed, system) and print its result line."""
    warnings.filterwarnings("ignore")
    table, seed, system = args.one
    try:
        params = json.loads(args.sknas_params)
        result = run_one(table, int(seed), system, args.time_budget, params, args.autogluon_presets)
        result["status"] = "ok"
    except Exception as error:  # the row says why
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(error).__name__}: {error}"[:2000]}
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)


def _limited_env() -> dict[str, str]:
    """The environment of a run: every thread pool at 2 threads."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(CORES)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _pin_cores() -> None:
    """In the child before exec: keep to the first 2 cores this process may use."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[:CORES]
        os.sched_setaffinity(0, cores)


def run_child(command: list[str], hard_limit: float) -> dict:
    """Run ``command`` (a ``--one`` child) on 2 cores with thread limits, in a session of its
    own; its result row, or a row that says why there is none (past ``hard_limit`` seconds,
    a crash), with the run's wall time."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_limited_env(),
        preexec_fn=_pin_cores,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=hard_limit)
    except BaseException as error:  # past the hard limit, or interrupted: end the run's group
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if not isinstance(error, subprocess.TimeoutExpired):
            raise
        return {
            "status": "timeout",
            "error": f"killed after the hard limit of {hard_limit:g} s",
            "run_wall": time.monotonic() - started,
        }
    run_wall = time.monotonic() - started
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not lines:
        tail = stderr.strip()[-1500:] or stdout.strip()[-1500:]
        return {
            "status": "failed",
            "error": f"process exited {process.returncode} without a result: {tail}",
            "run_wall": run_wall,
        }
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    if result["status"] != "ok" and stderr.strip():
        result["traceback"] = stderr.strip()[-3000:]
    return result | {"run_wall": run_wall}


def launch(table: str, seed: int, system: str, args: argparse.Namespace) -> dict:
    """Run one (table, seed, system) in a fresh process and return its row's measurements."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        table,
        str(seed),
        system,
        "--time-budget",
        str(args.time_budget),
        "--sknas-params",
        args.sknas_params,
        "--autogluon-presets",
        args.autogluon_presets,
    ]
    hard_limit = args.hard_limit or 4 * args.time_budget + 300
    return run_child(command, hard_limit)


# -- versions, resuming --------------------------------------------------------------------


def code_version() -> str:
    """The git commit, plus a hash of uncommitted changes to the paths that matter."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    commit = git("rev-parse", "HEAD").strip()
    diff = git("diff", "HEAD", "--", *VERSIONED)
    untracked = git("ls-files", "--others", "--exclude-standard", "--", *VERSIONED).split()
    if not diff and not untracked:
        return commit
    digest = hashlib.sha256(diff.encode())
    for path in sorted(untracked):
        digest.update(path.encode() + (ROOT / path).read_bytes())
    return f"{commit}+dirty.{digest.hexdigest()[:10]}"


def system_config(system: str, args: argparse.Namespace) -> dict:
    """What a system was run with besides the defaults (a row resumes only with the same)."""
    if system == "sknas":
        return json.loads(args.sknas_params)
    if system == "autogluon":
        return {"presets": args.autogluon_presets}
    return {}


def load_rows(path: Path, version: str, args: argparse.Namespace) -> dict[tuple, dict]:
    """The latest row per (table, seed, system) of ``version`` and this run's settings.

    Rows of other versions, older rows without a version and rows run with other settings
    (``--sknas-params``, ``--autogluon-presets``) are ignored: they never resume.
    """
    rows: dict[tuple, dict] = {}
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row.get("commit") == version and row.get("config") == system_config(row["system"], args):
            rows[(row["table"], row["seed"], row["system"])] = row
    return rows


# -- report --------------------------------------------------------------------------------


def _mean_std(scores: pd.Series) -> str:
    """``mean ± std`` over the seeds that ran, and how many failed."""
    ok = scores.dropna()
    text = f"{ok.mean():.4f} ± {ok.std(ddof=0):.4f}" if len(ok) else "—"
    failed = len(scores) - len(ok)
    return text + (f" ({failed} failed)" if failed else "")


def _paired(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per table: mean and standard error of ``a - b`` over the seeds where both ran."""
    wide = frame.pivot_table(index=["table", "seed"], columns="system", values="test_score")
    if a not in wide or b not in wide:
        return pd.DataFrame(columns=["mean", "se", "n"])
    diff = (wide[a] - wide[b]).dropna().groupby(level="table")
    out = pd.DataFrame({"mean": diff.mean(), "n": diff.count()})
    out["se"] = diff.std(ddof=1) / np.sqrt(out["n"])
    return out


def report(frame: pd.DataFrame, args: argparse.Namespace, version: str, skipped: dict) -> str:
    """Scores, ranks, paired differences and fit times as markdown."""
    tables = [t for t in TABLES if t in set(frame["table"])]
    systems = [s for s in args.systems if s in set(frame["system"])]
    frame = frame.assign(
        rank=frame.groupby(["table", "seed"])["test_score"].rank(
            ascending=False, na_option="bottom"
        )
    )
    label = {t: t + (" †" if TABLES[t].held_out else "") for t in tables}
    scores = frame.groupby(["table", "system"])["test_score"].agg(_mean_std).unstack()
    scores = scores.reindex(index=tables, columns=systems)
    scores.insert(0, "rows", [TABLES[t].rows for t in tables])
    scores.insert(0, "metric", [TABLES[t].metric for t in tables])
    scores.index = [label[t] for t in tables]

    def mean_rank(part: list[str]) -> list[str]:
        sub = frame[frame["table"].isin(part)]
        ranks = sub.groupby("system")["rank"].mean().reindex(systems)
        return [f"{r:.2f}" if pd.notna(r) else "—" for r in ranks]

    ranks = pd.DataFrame(
        {
            f"all ({len(tables)} tables)": mean_rank(tables),
            "development": mean_rank([t for t in tables if not TABLES[t].held_out]),
            "held out": mean_rank([t for t in tables if TABLES[t].held_out]),
        },
        index=systems,
    ).T

    sections = [
        f"## Peers at equal time budget ({args.time_budget:g} s)",
        f"`python benchmarks/compare.py --time-budget {args.time_budget:g} --seeds "
        f"{' '.join(map(str, sorted(frame['seed'].unique())))}` on a {os.cpu_count()}-core "
        f"machine ({platform.processor() or platform.machine()}), code version `{version}`. "
        "Test score on a 25 % split (the same for every system), mean ± std over seeds; every "
        "run fresh in its own process on 2 cores. sknas, FLAML and AutoGluon (presets "
        f"{args.autogluon_presets}) search for the budget; hgb and linear are scikit-learn's "
        "defaults, run to completion. † marks held-out tables (never used for tuning). Rank 1 "
        "is best within a table and seed; a failed run ranks last.",
    ]
    if skipped:
        sections.append(
            "Not run here: " + "; ".join(f"{s}: {why}" for s, why in skipped.items()) + "."
        )
    sections += [scores.to_markdown(), "### Mean rank", ranks.to_markdown()]

    for other, title in (("autogluon", "AutoGluon"), ("hgb", "default HGB")):
        paired = _paired(frame, "sknas", other)
        if paired.empty:
            continue
        paired = paired.reindex(tables).dropna(subset=["mean"])
        if other == "autogluon":
            ahead = int((paired["mean"] > 0).sum())
            headline = (
                f"sknas is ahead of AutoGluon on {ahead} of {len(paired)} tables "
                f"(behind on {int((paired['mean'] < 0).sum())})."
            )
        else:
            worst = paired["mean"].idxmin()
            below = paired.index[paired["mean"] < -0.005].tolist()
            least = "Largest shortfall" if paired["mean"].min() < 0 else "Smallest lead"
            headline = (
                f"{least}: {label[worst]} ({paired['mean'].min():+.4f}). "
                f"Tables more than 0.005 below HGB: {', '.join(below) or 'none'}."
            )
        table = pd.DataFrame(
            {
                "sknas − " + other: [
                    f"{m:+.4f} ± {se:.4f}" if pd.notna(se) else f"{m:+.4f}"
                    for m, se in zip(paired["mean"], paired["se"], strict=True)
                ],
                "seeds": paired["n"].astype(int).to_numpy(),  # index: labels, not names
            },
            index=[label[t] for t in paired.index],
        )
        sections += [
            f"### sknas minus {title} (paired over seeds, mean ± standard error)",
            headline,
            table.to_markdown(),
        ]

    wall = frame.groupby(["table", "system"])["fit_wall"].mean().unstack()
    wall = wall.reindex(index=tables, columns=systems)
    wall.index = [label[t] for t in tables]
    wall.loc["mean"] = wall.mean()
    wall.loc["max"] = frame.groupby("system")["fit_wall"].max().reindex(systems)
    budgeted = [s for s in systems if s in BUDGETED]
    over = frame[frame["system"].isin(budgeted)].groupby("system")["fit_wall"]
    overrun = ", ".join(
        f"{s} {over.get_group(s).max() / args.time_budget:.2f}x"
        for s in budgeted
        if s in over.groups
    )
    sections += [
        "### Fit wall time (seconds, mean over seeds)",
        f"Longest fit as a multiple of the budget: {overrun or '—'}.",
        wall.to_markdown(floatfmt=".1f"),
    ]
    return "\n\n".join(sections + failed_runs(frame))


def failed_runs(frame: pd.DataFrame) -> list[str]:
    """The report's "Failed runs" section (a heading and one line per run), or nothing."""
    failed = frame[frame["status"] != "ok"].drop_duplicates(["table", "seed", "system", "error"])
    if not len(failed):
        return []
    lines = [
        f"- {r.table} / seed {r.seed} / {r.system}: {r.status}: {str(r.error)[:200]}"
        for r in failed.itertuples()
    ]
    return ["### Failed runs", "\n".join(lines)]


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=list(TABLES),
        default=None,
        help="registry tables (default: the real ones)",
    )
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--held-out-only", action="store_true")
    part.add_argument("--development-only", action="store_true")
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument(
        "--sknas-params",
        default="{}",
        help="JSON of extra sknas keyword arguments, e.g. '{\"cv\": 5}' (recorded in the rows)",
    )
    parser.add_argument(
        "--autogluon-presets", default=AUTOGLUON_PRESETS, help="AutoGluon's presets (recorded)"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument(
        "--hard-limit",
        type=float,
        default=None,
        help="seconds before a run is killed (default 4 x budget + 300)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="rerun failed rows")
    parser.add_argument("--report-only", action="store_true", help="run nothing, report")
    parser.add_argument(
        "--code-version",
        help="with --report-only: report the rows of this code version (a full commit hash "
        "as the rows give it) instead of the working tree's",
    )
    parser.add_argument("--write-doc", action="store_true", help="also update doc/benchmarks.md")
    parser.add_argument(
        "--one", nargs=3, metavar=("TABLE", "SEED", "SYSTEM"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def selected_tables(args: argparse.Namespace) -> list[str]:
    """The tables to run: ``--tables`` or the real ones, then the held-out filter."""
    tables = args.tables or REAL_TABLES
    if args.held_out_only:
        tables = [t for t in tables if t in HELD_OUT]
    if args.development_only:
        tables = [t for t in tables if t not in HELD_OUT]
    return tables


def main(argv: list[str] | None = None) -> None:
    """Run what the results file lacks for this code version, then report."""
    args = parse_args(argv)
    if args.one:
        _child(args)
        return
    if args.code_version and not args.report_only:
        raise SystemExit("--code-version reports rows only; add --report-only")
    version = args.code_version or code_version()
    if "+dirty" in version:
        print(f"note: uncommitted changes; code version {version}", file=sys.stderr)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"compare_{args.time_budget:g}s.jsonl"
    done = load_rows(out, version, args)
    skipped = {s: why for s in args.systems if (why := available(s))}
    tables = selected_tables(args)
    for table in tables:
        for seed in args.seeds:
            for system in args.systems:
                previous = done.get((table, seed, system))
                if (
                    args.report_only
                    or system in skipped
                    or (previous and (previous["status"] == "ok" or not args.retry_failed))
                ):
                    continue
                row = {
                    "commit": version,
                    "table": table,
                    "seed": seed,
                    "system": system,
                    "time_budget": args.time_budget,
                    "metric": TABLES[table].metric,
                    "held_out": TABLES[table].held_out,
                    "config": system_config(system, args),
                    "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "cpu_count": os.cpu_count(),
                }
                row |= launch(table, seed, system, args)
                append_row(out, row)
                done[(table, seed, system)] = row
                shown = f"{row['test_score']:.4f}" if row["status"] == "ok" else row["status"]
                print(
                    f"{table:24s} seed {seed} {system:10s} {row['metric']:17s} {shown:>8s} "
                    f"fit {row.get('fit_wall', float('nan')):6.1f}s run {row['run_wall']:6.1f}s"
                    + (f"  {row.get('error', '')[:150]}" if row["status"] != "ok" else ""),
                    flush=True,
                )
    rows = [
        r
        for key, r in done.items()
        if key[0] in tables and key[1] in args.seeds and key[2] in args.systems
    ]
    if not rows:
        print("nothing to report")
        return
    frame = pd.DataFrame(rows)
    frame.loc[frame["status"] != "ok", "test_score"] = np.nan
    for column in ("fit_wall", "error"):
        if column not in frame:
            frame[column] = np.nan
    text = report(frame, args, version, skipped)
    print(text)
    (args.results_dir / f"compare_{args.time_budget:g}s.md").write_text(text + "\n")
    if args.write_doc:
        write_section(f"compare-{args.time_budget:g}s", text)


if __name__ == "__main__":
    main()
