"""Shared benchmark plumbing: the problems, and writing a section of doc/benchmarks.md."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.model_selection import train_test_split

DOC = Path(__file__).resolve().parents[1] / "doc" / "benchmarks.md"


def _generated_classification():
    return make_classification(
        n_samples=5000,
        n_features=20,
        n_informative=10,
        n_classes=3,
        class_sep=0.8,
        flip_y=0.02,
        random_state=0,
    )


def _generated_regression():
    return make_friedman1(n_samples=5000, n_features=10, noise=1.0, random_state=0)


#: name -> (task, loader returning X, y); all offline.
PROBLEMS: dict[str, tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]]]] = {
    "digits": ("classification", lambda: load_digits(return_X_y=True)),
    "breast_cancer": ("classification", lambda: load_breast_cancer(return_X_y=True)),
    "wine": ("classification", lambda: load_wine(return_X_y=True)),
    "diabetes": ("regression", lambda: load_diabetes(return_X_y=True)),
    "gen_classification_5000": ("classification", _generated_classification),
    "gen_regression_5000": ("regression", _generated_regression),
}


def _mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """3,000 rows of numeric, category, string and bool columns, about 10 % NaN in each.

    Three balanced classes cut from a latent score that depends on two numeric columns, the
    category, the 40-level string column and the bool; values go missing after the target
    is drawn, at random.
    """
    rng = np.random.default_rng(0)
    n = 3000
    numeric = rng.normal(size=(n, 4))
    colour = rng.integers(0, 5, size=n)
    city = rng.integers(0, 40, size=n)
    member = rng.random(n) < 0.4
    latent = (
        numeric[:, 0]
        - 0.8 * numeric[:, 1] ** 2
        + np.array([1.0, -1.0, 0.5, 0.0, -0.5])[colour]
        + rng.normal(size=40)[city]
        + 0.8 * member
        + rng.normal(scale=0.5, size=n)
    )
    y = np.digitize(latent, np.quantile(latent, [1 / 3, 2 / 3]))
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(4)]).assign(
        colour=pd.Categorical(np.array(["red", "green", "blue", "grey", "black"])[colour]),
        city=pd.Series([f"city_{c:02d}" for c in city], dtype=object),
        member=pd.Series(member, dtype=object),
    )
    return frame.mask(rng.random(frame.shape) < 0.1), y


def _imbalanced() -> tuple[np.ndarray, np.ndarray]:
    """4,000 rows of 20 features, two classes about 1:20 (1 % of labels flipped)."""
    return make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=8,
        weights=[0.95],
        flip_y=0.01,
        random_state=0,
    )


#: Two more for the comparison (the ablation keeps to PROBLEMS): mixed column types with
#: missing values, and a 1:20 class imbalance. Same form as PROBLEMS.
EXTRA_PROBLEMS: dict[
    str, tuple[str, Callable[[], tuple[pd.DataFrame | np.ndarray, np.ndarray]]]
] = {
    "mixed_frame": ("classification", _mixed_frame),
    "imbalanced_1_20": ("classification", _imbalanced),
}

#: The metric each problem is scored with (a sklearn scoring name).
METRICS: dict[str, str] = {
    "digits": "accuracy",
    "breast_cancer": "accuracy",
    "wine": "accuracy",
    "diabetes": "r2",
    "gen_classification_5000": "accuracy",
    "gen_regression_5000": "r2",
    "mixed_frame": "accuracy",
    "imbalanced_1_20": "balanced_accuracy",
}


def split_problem(
    problem: str, seed: int, problems: dict = PROBLEMS
) -> tuple[str, Any, Any, np.ndarray, np.ndarray]:
    """``task, X_train, X_test, y_train, y_test`` of ``problems[problem]``: a quarter of
    the rows held out for testing (stratified for classification), drawn by ``seed``."""
    task, load = problems[problem]
    X, y = load()
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    return task, X_train, X_test, y_train, y_test


def append_row(path: Path, row: dict) -> None:
    """Append one result as a JSON line (the results files are resumable logs)."""
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def write_section(name: str, text: str, path: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of ``path``, between HTML comment markers."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.strip()}\n{end}"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(updated)
