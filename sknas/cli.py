"""Command line: ``demo`` (a real search on a bundled dataset), ``fit``, ``predict`` and
``monitor``.

::

    python -m sknas demo
    python -m sknas fit data.csv --target COLUMN [--time-budget S] -o model.skn
    python -m sknas predict model.skn new.csv [-o predictions.csv]
    python -m sknas monitor model.skn new.csv [--target COLUMN] [-o report.csv]

``monitor`` prints the drift report of ``sknas.monitoring`` and exits with status 1 when
a feature, the predictions or the batch's score is flagged (0 otherwise; 2 on errors).

Models are saved as sknas model files (``sknas.persistence``), which load without
running code from the file. ``--format pickle``, or a file name ending in ``.pkl`` or
``.pickle``, saves and loads pickles instead: loading a pickle runs code from it, so
load only pickles you trust.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .exceptions import SearchFailedError

__all__ = ["main"]


_VERBOSE = "0: quiet, 1: a progress bar (default), 2: one line per trial"
_PICKLE_SUFFIXES = (".pkl", ".pickle")
_FORMAT_HELP = (
    "sknas: the safe model file; pickle: loading runs code from the file, use only for "
    "files you trust; auto (default): pickle for names ending in .pkl or .pickle, else sknas"
)


class CommandError(Exception):
    """A problem with the command's inputs, reported as one line (exit status 2)."""


def _read_csv(path: str) -> Any:
    import pandas as pd

    if not Path(path).is_file():
        raise CommandError(f"no such file: {path}")
    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path} as CSV: {error}") from error


@contextmanager
def _data_errors(path: str) -> Iterator[None]:
    """Report the estimator's refusal of the data in ``path`` (a ``ValueError`` that says
    what to fix, or a search whose every trial failed) as one line."""
    try:
        yield
    except (ValueError, SearchFailedError) as error:
        raise CommandError(f"{path}: {error}") from error


def _model_format(path: str, requested: str) -> str:
    """``"sknas"`` or ``"pickle"``: as requested, or by the file name's suffix."""
    if requested != "auto":
        return requested
    return "pickle" if Path(path).suffix.lower() in _PICKLE_SUFFIXES else "sknas"


def _save_model(model: Any, path: str, requested: str) -> None:
    from .persistence import save

    if _model_format(path, requested) == "pickle":
        Path(path).write_bytes(pickle.dumps(model))
    else:
        save(model, path)


def _load_model(path: str, requested: str) -> Any:
    """A model saved by ``sknas fit``; a :class:`CommandError` when the file is not one."""
    from .persistence import load

    if not Path(path).is_file():
        raise CommandError(f"no such file: {path}")
    try:
        if _model_format(path, requested) == "pickle":
            model = pickle.loads(Path(path).read_bytes())
        else:
            model = load(path)
    except Exception as error:  # whatever the problem, the file is not a usable model
        raise CommandError(f"{path} is not a model saved by 'sknas fit': {error}") from error
    if not hasattr(model, "feature_names_in_"):
        raise CommandError(f"{path} is not a model saved by 'sknas fit': it has no column names.")
    return model


def _demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import NASClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    print(
        f"sknas demo: digits, {len(X_train)} training and {len(X_test)} test images "
        f"(8x8, flattened), time_budget={args.time_budget:g}s, random_state={args.seed}"
    )
    clf = NASClassifier(time_budget=args.time_budget, random_state=args.seed, verbose=args.verbose)
    start = time.monotonic()
    clf.fit(X_train, y_train)
    elapsed = time.monotonic() - start
    columns = ["trial_id", "family", "proposer", "state", "score", "n_epochs", "fit_time", "genome"]
    print(f"\nLeaderboard (top {args.top} of {clf.n_trials_} trials, validation accuracy):")
    print(clf.leaderboard_[columns].head(args.top).to_string(index=False))
    print(f"\nfit took {elapsed:.1f}s on {clf.device_}; best validation accuracy", end=" ")
    print(f"{clf.best_score_:.4f}")
    print(f"test accuracy: {clf.score(X_test, y_test):.4f}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from sklearn.utils.multiclass import type_of_target

    from . import NASClassifier, NASRegressor

    frame = _read_csv(args.data)
    if args.target not in frame.columns:
        raise CommandError(
            f"no column {args.target!r} in {args.data}; its columns are {list(frame.columns)}"
        )
    y = frame.pop(args.target)
    frame = _with_dates(frame, args.dates or [], args.data)
    task = args.task
    if task == "auto":
        task = "regression" if type_of_target(y.dropna()) == "continuous" else "classification"
    Estimator = NASClassifier if task == "classification" else NASRegressor
    model = Estimator(time_budget=args.time_budget, random_state=args.seed, verbose=args.verbose)
    with _data_errors(args.data):
        model.fit(frame, y)
    _save_model(model, args.output, args.format)
    print(
        f"{task}: {model.n_trials_} trials, best validation score {model.best_score_:.4f}; "
        f"model saved to {args.output}"
    )
    return 0


def _with_dates(frame: Any, columns: list[str], path: str) -> Any:
    """``frame`` with ``columns`` (date strings in the CSV file) read as dates."""
    from .preprocessing import parse_dates

    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise CommandError(f"--dates names columns {path} lacks: {missing}")
    frame = frame.copy()
    for column in columns:
        try:
            frame[column] = parse_dates(frame[column])
        except (TypeError, ValueError, OverflowError) as error:
            raise CommandError(f"{path}: column {column!r} does not hold dates: {error}") from None
    return frame


def _predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model, args.format)
    columns = list(model.feature_names_in_)
    frame = _read_csv(args.data)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise CommandError(f"{args.data} lacks the model's columns {missing}")
    with _data_errors(args.data):
        predictions = model.predict(frame[columns])
    import pandas as pd

    output = pd.DataFrame({"prediction": predictions})
    if args.output:
        output.to_csv(args.output, index=False)
    else:
        output.to_csv(sys.stdout, index=False)
    return 0


def _monitor(args: argparse.Namespace) -> int:
    model = _load_model(args.model, args.format)
    frame = _read_csv(args.data)
    y = None
    if args.target is not None:
        if args.target not in frame.columns:
            raise CommandError(
                f"no column {args.target!r} in {args.data}; its columns are {list(frame.columns)}"
            )
        y = frame.pop(args.target)
    columns = [str(column) for column in getattr(model, "feature_names_in_", [])]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise CommandError(f"{args.data} lacks the model's columns {missing}")
    with _data_errors(args.data):
        report = model.monitor(frame[columns] if columns else frame, y)
    print(report.to_text())
    if args.output:
        report.to_frame().to_csv(args.output)
    return 1 if report.drifted else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sknas`` and the ``sknas`` script."""
    parser = argparse.ArgumentParser(
        prog="sknas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="search networks for sklearn's digits and report")
    demo.add_argument("--time-budget", type=float, default=60.0, help="seconds (default 60)")
    demo.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    demo.add_argument("--top", type=int, default=10, help="leaderboard rows to print")
    demo.add_argument("--verbose", type=int, default=1, help=_VERBOSE)
    fit = commands.add_parser("fit", help="search on a CSV file and save the model")
    fit.add_argument("data", help="CSV file with a header row")
    fit.add_argument("--target", required=True, help="the column to predict")
    fit.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    fit.add_argument("--time-budget", type=float, default=60.0, help="seconds (default 60)")
    fit.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    fit.add_argument("--verbose", type=int, default=1, help=_VERBOSE)
    fit.add_argument(
        "--dates",
        nargs="+",
        metavar="COLUMN",
        help="columns of date strings to read as dates (the calendar as numbers); predict "
        "and monitor then read those columns as dates too",
    )
    fit.add_argument("-o", "--output", default="model.skn", help="model file (model.skn)")
    fit.add_argument(
        "--format", choices=["auto", "sknas", "pickle"], default="auto", help=_FORMAT_HELP
    )
    predict = commands.add_parser("predict", help="predict a CSV file with a saved model")
    predict.add_argument("model", help="a model file saved by 'sknas fit'")
    predict.add_argument("data", help="CSV file with the model's columns")
    predict.add_argument("-o", "--output", help="CSV file for the predictions (else stdout)")
    predict.add_argument(
        "--format", choices=["auto", "sknas", "pickle"], default="auto", help=_FORMAT_HELP
    )
    monitor = commands.add_parser(
        "monitor",
        help="compare a CSV file with the data a saved model was trained on (exit status 1 "
        "when a feature, the predictions or the score is flagged)",
    )
    monitor.add_argument("model", help="a model file saved by 'sknas fit'")
    monitor.add_argument("data", help="CSV file with the model's columns")
    monitor.add_argument("--target", help="the labels' column, to score the batch")
    monitor.add_argument("-o", "--output", help="CSV file for the per-feature report")
    monitor.add_argument(
        "--format", choices=["auto", "sknas", "pickle"], default="auto", help=_FORMAT_HELP
    )
    args = parser.parse_args(argv)
    commands_by_name = {"demo": _demo, "fit": _fit, "predict": _predict, "monitor": _monitor}
    command = commands_by_name[args.command]
    try:
        return command(args)
    except CommandError as error:
        print(f"sknas {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout stopped (``| head``): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
