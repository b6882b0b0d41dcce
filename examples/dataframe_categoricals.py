"""A pandas DataFrame straight in: numeric, categorical, string and bool columns, with gaps.

sknas takes a DataFrame as it is. Numeric columns are imputed (median, plus an
indicator of where values were missing) and standardised; ``category``, string
(``object``) and bool columns are one-hot encoded, a missing value being a category
of its own; a category never seen in ``fit`` becomes all zeros at predict time
instead of an error. The column names are kept in ``feature_names_in_`` and checked
when predicting.

The data is a generated customer table where churn depends on the plan, the region
and autopay as much as on the numbers, so a model that ignores the non-numeric
columns is clearly worse. Run::

    python examples/dataframe_categoricals.py [--time-budget 30] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknas import NASClassifier

PLANS = ["basic", "standard", "premium"]
NUMERIC = ["tenure_months", "monthly_charge"]


def make_customers(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A customer table with missing values in four of its five columns, and churn."""
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, n_rows)
    charge = rng.normal(60.0, 20.0, n_rows).clip(10.0, None)
    plan = rng.choice(PLANS, n_rows, p=[0.4, 0.35, 0.25])
    region = rng.choice(["north", "south", "east", "west", "central"], n_rows)
    autopay = rng.random(n_rows) < 0.5
    plan_effect = {"basic": 1.8, "standard": 0.0, "premium": -1.8}
    region_effect = {"north": 0.0, "south": 1.2, "east": -0.6, "west": 0.0, "central": -1.2}
    logit = (
        -0.03 * (tenure - 24.0)
        + 0.02 * (charge - 60.0)
        + pd.Series(plan).map(plan_effect).to_numpy()
        + pd.Series(region).map(region_effect).to_numpy()
        - 1.5 * autopay
    )
    churned = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))
    X = pd.DataFrame(
        {
            "tenure_months": tenure.round(1),
            "monthly_charge": charge.round(2),
            "plan": pd.Categorical(plan, categories=PLANS),
            "region": pd.Series(region, dtype=object),
            "autopay": pd.array(autopay, dtype="boolean"),  # nullable bool: may hold <NA>
        }
    )
    for column, rate in [
        ("tenure_months", 0.1),
        ("plan", 0.05),
        ("region", 0.05),
        ("autopay", 0.1),
    ]:
        X.loc[rng.random(n_rows) < rate, column] = None
    return X, np.where(churned, "churned", "stayed")


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Fit on the DataFrame; return test accuracies of sknas and of two baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--n-rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = make_customers(args.n_rows, args.seed)
    print(X.head().to_string(), "\n")
    print("missing:", X.isna().mean().round(2).to_dict())
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )

    clf = NASClassifier(
        time_budget=args.time_budget,
        n_trials=args.n_trials,
        max_epochs=args.max_epochs,
        random_state=args.seed,
    )
    clf.fit(X_train, y_train)  # the DataFrame as it is: no encoding by hand
    print("feature_names_in_:", list(clf.feature_names_in_))
    columns = ["trial_id", "family", "proposer", "state", "score", "fit_time"]
    print(clf.leaderboard_[columns].head().to_string(index=False))

    scores = {"sknas": clf.score(X_test, y_test)}
    majority = DummyClassifier().fit(X_train, y_train)
    scores["majority class"] = majority.score(X_test, y_test)
    numeric_only = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
    numeric_only.fit(X_train[NUMERIC], y_train)
    scores["numeric columns only"] = numeric_only.score(X_test[NUMERIC], y_test)
    for name, score in scores.items():
        print(f"test accuracy, {name:>20}: {score:.4f}")

    # New customers, one on a plan and in a region that fit never saw, one with gaps.
    new = pd.DataFrame(
        {
            "tenure_months": [2.0, 36.0, None],
            "monthly_charge": [85.0, 40.0, 60.0],
            "plan": pd.Categorical(["basic", "student", None]),
            "region": ["south", "islands", None],
            "autopay": pd.array([False, True, None], dtype="boolean"),
        }
    )
    churn = clf.predict_proba(new)[:, list(clf.classes_).index("churned")]
    shown = new.assign(churn_probability=churn.round(3), prediction=clf.predict(new))
    print("\nnew customers:\n" + shown.to_string(index=False))
    return scores


if __name__ == "__main__":
    main()
