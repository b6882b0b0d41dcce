"""Command line: ``python -m sknas demo`` runs a real search on a bundled dataset."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

__all__ = ["main"]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sknas`` and the ``sknas`` script."""
    parser = argparse.ArgumentParser(prog="sknas", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="search networks for sklearn's digits and report")
    demo.add_argument("--time-budget", type=float, default=60.0, help="seconds (default 60)")
    demo.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    demo.add_argument("--top", type=int, default=10, help="leaderboard rows to print")
    demo.add_argument("--verbose", type=int, default=1, help="log every trial when > 0")
    args = parser.parse_args(argv)
    return _demo(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
