"""The digits scenario end to end: images in, a searched CNN ensemble out.

sklearn's digits are 8x8 grey images; given as ``(n, 1, 8, 8)`` arrays, sknas searches
convolutional networks (with searched shifts, flips and cutout) next to MLPs, and
serves the ensemble of the best. Run::

    python examples/digits_nas.py [--time-budget 120] [--seed 0]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main(argv: list[str] | None = None) -> float:
    """Search on 75 % of digits, print the leaderboard, return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    images = X.reshape(-1, 1, 8, 8)  # or keep the rows and pass image_shape=(1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    clf = NASClassifier(time_budget=args.time_budget, random_state=args.seed)
    clf.fit(X_train, y_train)

    board = clf.leaderboard_
    columns = ["trial_id", "family", "proposer", "state", "score", "n_epochs", "genome"]
    print(board[columns].head(10).to_string(index=False))
    print(f"\n{len(board)} trials: {board['family'].value_counts().to_dict()}")
    print(f"ensemble: {clf.ensemble_}")
    accuracy = clf.score(X_test, y_test)
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
