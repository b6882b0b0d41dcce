"""Side by side: sknas against scikit-learn's defaults and other AutoML systems.

Eight problems: the ablation's six (digits, breast_cancer, wine, diabetes and two generated
sets of 5,000 rows), ``mixed_frame`` (a DataFrame of numeric, category, string and bool
columns, 10 % missing in each) and ``imbalanced_1_20`` (binary, 1:20, scored by balanced
accuracy). For every problem and seed one 25 % test split (stratified for classification)
serves every system: ``sknas`` (``time_budget``, ``random_state=seed``, the problem's metric
as ``scoring``); scikit-learn's ``hist_gbdt``, ``random_forest`` and ``mlp`` with default
parameters, run to completion (see ``fit_hist_gbdt`` and ``_encoded`` for DataFrames); and, with the
same time budget and metric, ``flaml`` and ``autogluon`` when they import (``pip install
"flaml[automl]" autogluon.tabular``), skipped and named in the report otherwise.

Reported, and written to ``doc/benchmarks.md``: per problem, the test score (mean ± std over
seeds) and each system's mean rank (1 = best); and each system's fit wall time. Run::

    python benchmarks/compare.py --time-budget 60 --seeds 0 1 2

It takes about (8 problems x seeds x time budget) per time-budgeted system plus a few
minutes of baselines: half an hour at the defaults for sknas and the baselines, an hour more
with FLAML and AutoGluon. Results are appended to ``benchmarks/results/compare_<budget>s.jsonl``
as they come; a rerun skips the runs already there (failed runs are not saved, so a rerun
retries them). Run it on an otherwise idle machine: every system is timed by the same clock,
and a busy core makes a time budget worth far less.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import EXTRA_PROBLEMS, METRICS, PROBLEMS, append_row, split_problem, write_section  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402

ALL_PROBLEMS = PROBLEMS | EXTRA_PROBLEMS
SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "r2": r2_score,
}
#: optional system -> the module it needs
OPTIONAL = {"flaml": "flaml.automl", "autogluon": "autogluon.tabular"}
RESULTS = Path(__file__).resolve().parent / "results"
Data = np.ndarray | pd.DataFrame
Predict = Callable[[Data], np.ndarray]


@dataclass(frozen=True)
class Setting:
    """What every system gets besides the training rows."""

    task: str  # "classification" or "regression"
    metric: str  # a key of SCORERS
    seed: int
    time_budget: float
    workdir: str  # a scratch directory, removed after the run


def _pick(setting: Setting, classifier: type, regressor: type) -> type:
    """The classifier or the regressor, by the task."""
    return classifier if setting.task == "classification" else regressor


def _as_category(X: Data) -> Data:
    """Non-numeric DataFrame columns as pandas categoricals; arrays unchanged."""
    if not isinstance(X, pd.DataFrame):
        return X
    return X.astype({column: "category" for column in X.select_dtypes(exclude="number")})


def _encoded(X: Data, model: BaseEstimator, *, scale: bool) -> Pipeline:
    """``model`` after imputing (and scaling) numbers and one-hot encoding other columns."""
    numeric = make_pipeline(SimpleImputer(), StandardScaler()) if scale else SimpleImputer()
    if isinstance(X, pd.DataFrame):
        other = make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        )
        numeric = make_column_transformer(
            (numeric, make_column_selector(dtype_include="number")),
            (other, make_column_selector(dtype_exclude="number")),
        )
    return make_pipeline(numeric, model)


def fit_sknas(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """NASClassifier / NASRegressor with the time budget, the seed and the metric."""
    Estimator = _pick(s, NASClassifier, NASRegressor)
    est = Estimator(time_budget=s.time_budget, random_state=s.seed, scoring=s.metric)
    return est.fit(X, y).predict


def fit_hist_gbdt(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """HistGradientBoosting's defaults; string and bool columns as categorical features."""
    model = _pick(s, HistGradientBoostingClassifier, HistGradientBoostingRegressor)
    pipeline = make_pipeline(
        FunctionTransformer(_as_category), model(categorical_features="from_dtype")
    )
    return pipeline.fit(X, y).predict


def fit_random_forest(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """RandomForest's defaults on one core."""
    forest = _pick(s, RandomForestClassifier, RandomForestRegressor)(random_state=s.seed, n_jobs=1)
    return _encoded(X, forest, scale=False).fit(X, y).predict


def fit_mlp(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """sklearn's MLP with its defaults, after a StandardScaler."""
    mlp = _pick(s, MLPClassifier, MLPRegressor)(random_state=s.seed)
    return _encoded(X, mlp, scale=True).fit(X, y).predict


def _flaml_balanced_error(X_val: Data, y_val: np.ndarray, estimator: object, *_, **__) -> tuple:
    """Balanced accuracy in FLAML's custom-metric form (it has none built in): a loss."""
    return 1 - balanced_accuracy_score(y_val, estimator.predict(X_val)), {}


def fit_flaml(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """FLAML's AutoML with the same time budget and metric."""
    from flaml import AutoML

    metric = _flaml_balanced_error if s.metric == "balanced_accuracy" else s.metric
    automl = AutoML()
    automl.fit(X, y, task=s.task, time_budget=s.time_budget, metric=metric, seed=s.seed, verbose=0)
    return automl.predict


def _frame(X: Data) -> pd.DataFrame:
    """``X`` as a DataFrame with string column names, as AutoGluon takes it."""
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X).add_prefix("x")


def fit_autogluon(X: Data, y: np.ndarray, s: Setting) -> Predict:
    """AutoGluon's TabularPredictor with the same time limit and metric."""
    from autogluon.tabular import TabularPredictor

    classes = len(np.unique(y))
    kind = "regression" if s.task == "regression" else "binary" if classes == 2 else "multiclass"
    predictor = TabularPredictor(
        label="target", problem_type=kind, eval_metric=s.metric, path=s.workdir, verbosity=0
    )
    predictor.fit(_frame(X).assign(target=y), time_limit=s.time_budget)
    return lambda X_test: predictor.predict(_frame(X_test)).to_numpy()


SYSTEMS: dict[str, Callable[[Data, np.ndarray, Setting], Predict]] = {
    "sknas": fit_sknas,
    "hist_gbdt": fit_hist_gbdt,
    "random_forest": fit_random_forest,
    "mlp": fit_mlp,
    "flaml": fit_flaml,
    "autogluon": fit_autogluon,
}


def run_one(problem: str, seed: int, system: str, time_budget: float) -> dict:
    """Fit ``system`` on the problem's training split for ``seed``; its test score and fit time."""
    task, X_train, X_test, y_train, y_test = split_problem(problem, seed, ALL_PROBLEMS)
    metric = METRICS[problem]
    with tempfile.TemporaryDirectory() as workdir:
        setting = Setting(task, metric, seed, time_budget, workdir)
        started = time.monotonic()
        predict = SYSTEMS[system](X_train, y_train, setting)
        wall = time.monotonic() - started
        score = float(SCORERS[metric](y_test, predict(X_test)))
    return {"metric": metric, "test_score": score, "wall": wall}


def _attempt(problem: str, seed: int, system: str, time_budget: float, out: Path) -> dict:
    """Run once and append the row to ``out``; a failure is printed and scored NaN, not saved."""
    row = {"problem": problem, "seed": seed, "system": system}
    try:
        row |= run_one(problem, seed, system, time_budget)
    except Exception as error:
        traceback.print_exc()
        print(f"{problem:24s} seed {seed} {system:14s} FAILED: {error!r}", flush=True)
        return row | {"test_score": np.nan, "wall": np.nan, "error": repr(error)}
    append_row(out, row)
    print(
        f"{problem:24s} seed {seed} {system:14s} {row['metric']} {row['test_score']:.4f} "
        f"fit {row['wall']:.1f}s",
        flush=True,
    )
    return row


def _mean_std(scores: pd.Series) -> str:
    """``mean ± std`` over the seeds that ran, and how many failed."""
    ok = scores.dropna()
    text = f"{ok.mean():.4f} ± {ok.std(ddof=0):.4f}" if len(ok) else "—"
    failed = len(scores) - len(ok)
    return text + (f" ({failed} failed)" if failed else "")


def report(frame: pd.DataFrame, time_budget: float, skipped: list[str]) -> str:
    """Scores with mean ranks, and fit wall times, as markdown."""
    problems, systems = list(dict.fromkeys(frame["problem"])), list(dict.fromkeys(frame["system"]))
    frame = frame.assign(
        rank=frame.groupby(["problem", "seed"])["test_score"].rank(
            ascending=False, na_option="bottom"
        )
    )
    scores = frame.groupby(["problem", "system"])["test_score"].agg(_mean_std).unstack()
    scores = scores.loc[problems, systems]
    scores.insert(0, "metric", [METRICS[p] for p in problems])
    ranks = frame.groupby("system")["rank"].mean()[systems]
    scores.loc["**mean rank**"] = [""] + [f"**{r:.2f}**" for r in ranks]
    wall = frame.groupby(["problem", "system"])["wall"].mean().unstack().loc[problems, systems]
    wall.loc["mean"] = wall.mean()
    seeds = sorted(frame["seed"].unique())
    notes = [f"Not installed, so not compared: {', '.join(skipped)}."] if skipped else []
    failed = frame[frame["test_score"].isna()]
    if len(failed):
        pairs = sorted(set(zip(failed["problem"], failed["system"], strict=True)))
        notes.append("Failed runs: " + ", ".join(f"{p} / {s}" for p, s in pairs) + ".")
    return "\n\n".join(
        [
            f"## Comparison at equal time budget ({time_budget:g} s)\n\n"
            f"`python benchmarks/compare.py --time-budget {time_budget:g} --seeds "
            f"{' '.join(map(str, seeds))}` on a {os.cpu_count()}-core machine: test score on a "
            f"25 % split (the same for every system), mean ± std over {len(seeds)} seeds. "
            f"sknas, FLAML and AutoGluon search for {time_budget:g} s for the problem's metric; "
            "hist_gbdt, random_forest and mlp are scikit-learn's defaults, run to completion. "
            "Rank 1 is best within a problem and seed; a failed run ranks last.",
            *notes,
            scores.to_markdown(),
            "### Fit wall time (seconds, mean over seeds)",
            wall.to_markdown(floatfmt=".1f"),
        ]
    )


def _importable(module: str) -> bool:
    """Whether ``module`` imports."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def main() -> None:
    """Run what the results file lacks, then print the report and write it to the doc."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--problems", nargs="+", choices=list(ALL_PROBLEMS), default=list(ALL_PROBLEMS)
    )
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-write-doc", action="store_true", help="leave doc/benchmarks.md be")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # MLP's defaults, as they are
    skipped = [s for s in args.systems if s in OPTIONAL and not _importable(OPTIONAL[s])]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"compare_{args.time_budget:g}s.jsonl"
    saved = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    done = {(row["problem"], row["seed"], row["system"]): row for row in saved}
    rows = []
    for problem in args.problems:
        for seed in args.seeds:
            for system in [s for s in args.systems if s not in skipped]:
                previous = done.get((problem, seed, system))  # resume an interrupted run
                rows.append(previous or _attempt(problem, seed, system, args.time_budget, out))
    text = report(pd.DataFrame(rows), args.time_budget, skipped)
    print(text)
    if not args.no_write_doc:
        write_section(f"compare-{args.time_budget:g}s", text)


if __name__ == "__main__":
    main()
