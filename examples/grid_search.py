"""Grid search over sknas's own parameters with scikit-learn's ``GridSearchCV``.

A ``NASClassifier`` is an ordinary estimator: ``GridSearchCV`` clones it for every
candidate setting and fold, sets the grid's parameters (here the model families
searched and the size of the final ensemble), fits each clone with its own small
search, and refits the best setting on all training rows. Each of those fits is a
complete sknas search, so give each a small budget (``n_trials`` and
``time_budget``). Run::

    python examples/grid_search.py [--n-trials 4] [--time-budget 5] [--cv 3] [--seed 0]
"""

from __future__ import annotations

import argparse

import pandas as pd
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split

from sknas import NASClassifier


def main(argv: list[str] | None = None) -> float:
    """Grid-search families x ensemble size on breast cancer; return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=4, help="trials per sknas fit")
    parser.add_argument("--time-budget", type=float, default=5.0, help="seconds per sknas fit")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    nas = NASClassifier(
        n_trials=args.n_trials,
        time_budget=args.time_budget,  # whichever is reached first ends a search
        max_epochs=args.max_epochs,
        random_state=args.seed,
    )
    grid = {
        "families": [["mlp"], ["linear", "random_forest"]],  # a network vs classical models
        "ensemble_size": [1, 10],  # the single best trial vs a greedy ensemble
    }
    # Each fit is a search that already uses the CPU cores, so the grid runs one at a time.
    search = GridSearchCV(nas, grid, cv=args.cv, scoring="accuracy")
    search.fit(X_train, y_train)

    results = pd.DataFrame(search.cv_results_)
    results["families"] = results["param_families"].map("+".join)
    columns = ["families", "param_ensemble_size", "mean_test_score", "std_test_score"]
    print(results[columns].sort_values("mean_test_score", ascending=False).to_string(index=False))
    print(f"\nbest parameters: {search.best_params_} (CV accuracy {search.best_score_:.4f})")

    # The refit winner is a fitted NASClassifier like any other; a clone is unfitted
    # and carries the grid's winning parameters.
    best = search.best_estimator_
    print(f"its best trial: {best.best_params_['family']}, ensemble {best.ensemble_}")
    fresh = clone(best)
    print(f"clone: families={fresh.families}, fitted={hasattr(fresh, 'ensemble_')}")

    accuracy = search.score(X_test, y_test)
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
