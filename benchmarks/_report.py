"""Shared benchmark plumbing: the problems, and writing a section of doc/benchmarks.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_friedman1,
)

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
