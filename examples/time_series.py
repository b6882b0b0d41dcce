"""Time-series classification: sequences of shape (n, channels, length) straight into
``NASClassifier``.

The search chooses between MiniRocket features with a ridge or logistic head and 1-d
convolution networks (inception, residual or plain blocks, kernel sizes, dilations,
pooling; the first is an InceptionTime-like network), and ensembles the best. The
problems are aeon's bundled UCR/UEA sets with their own train/test splits (offline; the
``sequences`` extra): GunPoint (univariate, 50 training series of 150 steps) by default, or
``--problem BasicMotions`` (6 channels), ``ArrowHead``, ``ItalyPowerDemand``, ...

aeon compiles MiniRocket's numba code on its first use on a machine (20-30 s with an empty
cache on 2 cores, then cached); the search pays it from its budget before its first trial
(``timings_["compile"]``, in the summary).

Run: ``python examples/time_series.py [--problem GunPoint] [--time-budget 60]``.
"""

from __future__ import annotations

import argparse

from aeon.datasets import load_classification

from sknas import NASClassifier


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="GunPoint")
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, y_train = load_classification(args.problem, split="train")
    X_test, y_test = load_classification(args.problem, split="test")
    n, channels, length = X_train.shape
    print(f"{args.problem}: {n} training series of {channels} channel(s) x {length} steps")

    clf = NASClassifier(
        time_budget=args.time_budget, n_trials=args.n_trials, random_state=args.seed
    )
    clf.fit(X_train, y_train)  # (n, C, L) arrays are sequences: clf.sequence_shape_
    board = clf.leaderboard_
    print(board[["trial_id", "family", "state", "score", "fit_time"]].head(8).to_string())
    by_family: dict[str, float] = {}
    members = board.set_index("trial_id").loc[clf.ensemble_.trial_ids_, "family"]
    for family, weight in zip(members, clf.ensemble_.weights_, strict=True):
        by_family[family] = by_family.get(family, 0.0) + round(float(weight), 3)
    print(f"sequence_shape_={clf.sequence_shape_}, ensemble weight by family: {by_family}")
    accuracy = clf.score(X_test, y_test)
    print(f"test accuracy {accuracy:.4f} on {len(X_test)} series")
    return float(accuracy)


if __name__ == "__main__":
    main()
