"""The classical families: scikit-learn estimators searched, scored and ensembled like networks."""

from __future__ import annotations

import inspect
import math
import numbers
import time
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from ..preprocessing import coded_target_columns, level_code_columns, one_hot_blocks
from ..utils._native_threads import one_blas_thread, single_thread_when_small
from .rocket import MiniRocketClassifier, MiniRocketRegressor
from .treepack import PackedTrees, pack_forest, pack_hist_gbdt, packing_suits

__all__ = [
    "FOREST_MAX_BYTES",
    "CategoryCodes",
    "ClassicalMember",
    "StagesCut",
    "cap_forest_size",
    "category_codes_of",
    "early_stopping_rows",
    "fit_before",
    "share_grown",
    "make_classical_estimator",
    "still_improving",
]

_ESTIMATORS: dict[tuple[str, str], type[BaseEstimator]] = {
    ("linear", "classification"): LogisticRegression,
    ("linear", "regression"): Ridge,
    ("hist_gbdt", "classification"): HistGradientBoostingClassifier,
    ("hist_gbdt", "regression"): HistGradientBoostingRegressor,
    ("random_forest", "classification"): RandomForestClassifier,
    ("random_forest", "regression"): RandomForestRegressor,
    ("extra_trees", "classification"): ExtraTreesClassifier,
    ("extra_trees", "regression"): ExtraTreesRegressor,
    ("minirocket", "classification"): MiniRocketClassifier,
    ("minirocket", "regression"): MiniRocketRegressor,
}
#: Settings that are not searched: enough iterations, one core per trial.
#: Forests fit on one joblib job, which the OpenMP threads a search gives each trial do not
#: change. On two jobs (tried at ae189c0, reverted) a forest grew nearly twice the trees in
#: its time limit, and 120 s searches on 300,000 rows peaked at 1.60-1.88 GiB instead of
#: 1.24-1.30, at the same test accuracy. The extra trees explain under 0.2 GiB of that
#: (about 3 MB a tree on 200,000 rows); the rest was not traced.
_FIXED: dict[type[BaseEstimator], dict[str, Any]] = {
    LogisticRegression: {"max_iter": 1000},
    RandomForestClassifier: {"n_jobs": 1},
    RandomForestRegressor: {"n_jobs": 1},
    ExtraTreesClassifier: {"n_jobs": 1},
    ExtraTreesRegressor: {"n_jobs": 1},
}
#: The parameter that counts the stages of an ensemble that can grow (``warm_start``).
_STAGES: dict[type[BaseEstimator], str] = {
    HistGradientBoostingClassifier: "max_iter",
    HistGradientBoostingRegressor: "max_iter",
    RandomForestClassifier: "n_estimators",
    RandomForestRegressor: "n_estimators",
    ExtraTreesClassifier: "n_estimators",
    ExtraTreesRegressor: "n_estimators",
}
#: Share of an ensemble's stages fitted first, to time them, when a deadline is set.
PROBE_SHARE = 0.1


@dataclass(frozen=True)
class CategoryCodes:
    """A preprocessed matrix's categorical columns as category codes, for histogram
    gradient boosting to split on natively.

    One-hot encoding turns a table's categorical columns into many columns, which
    histogram gradient boosting bins and scans one by one (five times slower on a table
    of 24 numbers and 6 categories, 300,000 rows) and can only split one level from the
    rest at a time. Given the level's position instead, with ``categorical_features``,
    it splits on sets of levels, as a default ``HistGradientBoostingClassifier`` does on
    a DataFrame's ``category`` columns. A one-hot block groups the rarer levels of a
    column with many; such a column's every level reaches the trees through its column
    of level codes (``levels``).

    Parameters
    ----------
    blocks : tuple of (int, int)
        ``(start, width)`` of each categorical column's one-hot block
        (:func:`sknas.preprocessing.one_hot_blocks`).
    levels : tuple of (int, float), default=()
        ``(column, scale)`` of each column of level codes divided by ``scale``
        (negative: a level unseen in training;
        :func:`sknas.preprocessing.level_code_columns`).
    dropped : tuple of int, default=()
        Columns left out: the target encodings of columns with level codes
        (:func:`sknas.preprocessing.coded_target_columns`; on 750,000 rows, 2 of 6
        categorical columns, they added 5 s to a 30 s boosting and nothing to its score).

    Examples
    --------
    >>> X = np.array([[0.5, 0, 1, 0, 0.5], [1.5, 0, 0, 0, -0.5]], dtype=np.float32)
    >>> CategoryCodes(((1, 3),), ((4, 2.0),))(X)  # codes, then the other columns
    array([[1. , 1. , 0.5],
           [nan, nan, 1.5]], dtype=float32)
    """

    blocks: tuple[tuple[int, int], ...]
    levels: tuple[tuple[int, float], ...] = ()
    dropped: tuple[int, ...] = ()

    @property
    def n_categorical(self) -> int:
        """Code columns, which come first in the output: the blocks', then the levels'."""
        return len(self.blocks) + len(self.levels)

    def n_outputs(self, n_features: int) -> int:
        """Columns of the output for ``n_features`` input columns."""
        return self.n_categorical + len(self.other_columns(n_features))

    def n_inputs(self, n_outputs: int) -> int:
        """Columns of the input that gives ``n_outputs`` columns."""
        widths = sum(width for _, width in self.blocks)
        return n_outputs - self.n_categorical + widths + len(self.levels) + len(self.dropped)

    def other_columns(self, n_features: int) -> np.ndarray:
        """The input columns outside every block and level column and not dropped, in
        order (after the codes in the output)."""
        inside = np.zeros(n_features, dtype=bool)
        for start, width in self.blocks:
            inside[start : start + width] = True
        for column, _ in self.levels:
            inside[column] = True
        inside[list(self.dropped)] = True
        return np.flatnonzero(~inside)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Codes ``0..width-1`` (NaN where a block is all zero or a level code negative:
        a level unseen in training), then the other columns; float32, as ``X`` is.
        Gradient boosting with categorical features makes its own float64 matrix from
        its input in any case (its ordinal encoding), so a float64 input only doubled
        what it holds besides: 177 MB instead of 88 MB on 750,000 rows x 30 columns."""
        others = self.other_columns(X.shape[1])
        out = np.empty((X.shape[0], self.n_categorical + len(others)), dtype=np.float32)
        for k, (start, width) in enumerate(self.blocks):
            block = X[:, start : start + width]
            codes = block.argmax(axis=1).astype(np.float32)
            codes[block.max(axis=1) <= 0] = np.nan
            out[:, k] = codes
        for k, (column, scale) in enumerate(self.levels, start=len(self.blocks)):
            codes = np.rint(X[:, column] * np.float32(scale))
            codes[codes < 0] = np.nan
            out[:, k] = codes
        for k, column in enumerate(others, start=self.n_categorical):  # no temporary
            out[:, k] = X[:, column]
        return out


def category_codes_of(preprocessor: Any) -> CategoryCodes | None:
    """The :class:`CategoryCodes` of a fitted preprocessor's output; None when it encodes
    no categorical column."""
    blocks, levels = one_hot_blocks(preprocessor), level_code_columns(preprocessor)
    if not (blocks or levels):
        return None
    return CategoryCodes(blocks, levels, coded_target_columns(preprocessor))


def make_classical_estimator(
    family: str,
    params: Mapping[str, Any],
    *,
    task: str,
    seed: int,
    codes: CategoryCodes | None = None,
) -> BaseEstimator:
    """An unfitted estimator of a classical family.

    Parameters
    ----------
    family : {"linear", "hist_gbdt", "random_forest", "minirocket"}
    params : mapping
        Constructor arguments; the ``random_forest`` family's ``estimator``
        chooses between random forests and extra trees.
    task : {"classification", "regression"}
    seed : int
        The estimator's ``random_state`` where it has one.
    codes : CategoryCodes or None, default=None
        For ``hist_gbdt``: its input's first columns are these category codes
        (``categorical_features``).

    Examples
    --------
    >>> make_classical_estimator("linear", {"alpha": 2.0}, task="regression", seed=0)
    Ridge(alpha=2.0, random_state=0)
    """
    params = dict(params)
    name = params.pop("estimator", family)
    cls = _ESTIMATORS[name, task]
    if "random_state" in cls().get_params():
        params["random_state"] = seed
    if codes is not None and cls in _BOOSTED:
        params["categorical_features"] = list(range(codes.n_categorical))
    return cls(**_FIXED.get(cls, {}), **params)


def early_stopping_rows(
    estimator: BaseEstimator,
    n_train: int,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    w_valid: np.ndarray | None,
) -> dict[str, Any]:
    """``fit`` arguments that let gradient boosting stop early on the search's validation
    rows instead of on a tenth of its ``n_train`` training rows (which it would otherwise
    set aside); empty where it would not stop early, for other estimators, and before
    scikit-learn 1.7 (which added ``X_val``). Networks stop early on the same rows.
    """
    if not isinstance(estimator, _BOOSTED):
        return {}
    if "X_val" not in inspect.signature(estimator.fit).parameters:
        return {}
    stops = estimator.early_stopping
    if not (stops is True or (stops == "auto" and n_train > 10_000)):  # scikit-learn's rule
        return {}
    return {"X_val": X_valid, "y_val": y_valid, "sample_weight_val": w_valid}


#: Most bytes a forest's trees may take. Fully grown (``min_samples_leaf=1``, the default),
#: a tree has about twice as many nodes as it has training rows, at 72 bytes a node for
#: regression: a default random forest took 249 MiB on 32,000 rows of diamonds, 2.0 GiB on
#: 245,000 rows of flights. A 300 s search on diamonds held such a forest to its end and
#: peaked at 1.12 GiB in the refit, 0.34 GiB above the search's end, where the forest grew
#: again on all rows beside it. Capped at 9,000 leaves a tree (124 MiB), test R² was
#: 0.9918 against 0.9918 on diamonds and 0.8645 against 0.8641 on flights, and accuracy
#: 0.8936 against 0.8960 on gen_clf_100k (75,000 rows; 151 MiB against 211). A cap that
#: does not bind changes neither time nor accuracy measurably (the trees grow best first).
FOREST_MAX_BYTES = 128 * 2**20
#: Bytes of a tree node besides its values (scikit-learn's node record).
_NODE_BYTES = 64


def cap_forest_size(estimator: BaseEstimator, n_rows: int, n_classes: int = 1) -> int | None:
    """Bound the leaves of a forest's trees so that the forest fits in
    :data:`FOREST_MAX_BYTES`, where trees grown on ``n_rows`` rows could take more.

    A tree's leaves are bounded by its rows over ``min_samples_leaf`` (and by
    ``max_leaf_nodes``); each node holds ``n_classes`` values (1 for regression). Where
    the forest's ``n_estimators`` such trees would exceed the bound, ``max_leaf_nodes`` is
    set to what fits (trees then grow best first). Other estimators are left as they are.

    Returns
    -------
    int or None
        The ``max_leaf_nodes`` set, or None when nothing was changed.

    Examples
    --------
    >>> forest = RandomForestRegressor(n_estimators=100)
    >>> cap_forest_size(forest, 1_000), cap_forest_size(forest, 1_000_000)
    (None, 9320)
    >>> forest.max_leaf_nodes
    9320
    """
    if not isinstance(estimator, _FORESTS):
        return None
    params = estimator.get_params()
    leaf = params["min_samples_leaf"]  # a float is a share of the rows
    if not isinstance(leaf, numbers.Integral):
        leaf = max(1, math.ceil(leaf * n_rows))
    leaves = n_rows // leaf
    if params["max_leaf_nodes"] is not None:
        leaves = min(leaves, params["max_leaf_nodes"])
    node_bytes = _NODE_BYTES + 8 * n_classes
    most = max(2, FOREST_MAX_BYTES // (params["n_estimators"] * 2 * node_bytes))
    if leaves <= most:
        return None
    estimator.set_params(max_leaf_nodes=most)
    return most


def fit_before(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    deadline: float | None,
    **fit_params: Any,
) -> StagesCut | None:
    """Fit ``estimator``, growing fewer stages where the whole fit would pass ``deadline``.

    Boosted and bagged ensembles first fit :data:`PROBE_SHARE` of their stages, in two
    ``warm_start`` steps (a fifth of them, then the rest): every fit repeats a fixed cost
    (gradient boosting bins the data again: 2.0 s of a 10-stage fit's 4.2 s on 600,000
    rows), and the two steps' times tell it apart from a stage's, so that the last step
    grows as many more stages as fit before the ``time.monotonic()`` deadline, up to all
    of them. The second step runs only if it is expected to end before the deadline
    (:func:`_second_step`): a forest started with 16 s left on 225,000 rows grew its
    first 2 trees in 14 s and then 8 more in 56 s, 54 s past the deadline. The steps give
    the same model as one ``fit`` when nothing is cut. Other estimators fit in one go.
    ``fit_params`` go to every ``fit``. A small fit runs on one OpenMP thread, a logistic
    regression on one BLAS thread (:mod:`sknas.utils._native_threads`).

    Returns
    -------
    StagesCut or None
        What was cut (its ``str``: such as ``"max_iter=120 of 500"``), or None when
        nothing was.
    """
    alternating_blas = isinstance(estimator, LogisticRegression)
    with (
        single_thread_when_small(*X.shape[:2]),
        one_blas_thread() if alternating_blas else nullcontext(),
    ):
        stages = _STAGES.get(type(estimator))
        if deadline is None or stages is None:
            estimator.fit(X, y, sample_weight=sample_weight, **fit_params)
            return None
        planned = estimator.get_params()[stages]
        probe = max(1, round(planned * PROBE_SHARE))
        with warnings.catch_warnings():
            # Forests warn that "balanced" class weights may differ between warm starts on
            # different data; every step here fits the same data.
            warnings.filterwarnings("ignore", "class_weight presets", UserWarning)
            first, seconds = max(1, probe // 5), []
            for grown in dict.fromkeys((first, probe)):  # one step if probe is 1
                if (
                    seconds
                    and time.monotonic() + _second_step(estimator, seconds[0], first, grown)
                    > deadline
                ):
                    probe = first  # the second step would end past the deadline
                    break
                started = time.monotonic()
                estimator.set_params(warm_start=True, **{stages: grown})
                estimator.fit(X, y, sample_weight=sample_weight, **fit_params)
                seconds.append(time.monotonic() - started)
            fixed, per_stage = _fit_costs(seconds, first, probe)
            target = planned
            if _n_stages(estimator) == probe:  # else early stopping ended the boosting
                affordable = probe + int((deadline - time.monotonic() - fixed) / per_stage)
                target = max(probe, min(planned, affordable))
                if target > probe:
                    estimator.set_params(**{stages: target})
                    estimator.fit(X, y, sample_weight=sample_weight, **fit_params)
        estimator.set_params(warm_start=False, **{stages: target})
        return None if target == planned else StagesCut(stages, target, planned)


def share_grown(estimator: BaseEstimator, cut: StagesCut | None) -> float:
    """Share of its planned stages fitted ``estimator`` grew: fewer where :func:`fit_before`
    cut it (``cut``) or early stopping ended a boosting; 1.0 for what has no stages.

    The cost model learns a stage's time from it: a boosting early-stopped at about a
    third of its 500 iterations, counted as all 500, taught it a third of an iteration's
    time."""
    stages = _STAGES.get(type(estimator))
    if stages is None:
        return 1.0
    planned = cut.planned if cut is not None else estimator.get_params()[stages]
    return min(1.0, _n_stages(estimator) / max(1, planned))


def still_improving(estimator: BaseEstimator) -> bool:
    """Whether fitted ``estimator`` is a gradient boosting that grew all its ``max_iter``
    iterations while stopping early on validation rows: its score still improved in its
    last ``n_iter_no_change`` iterations."""
    return (
        isinstance(estimator, _BOOSTED)
        and bool(getattr(estimator, "do_early_stopping_", False))
        and estimator.n_iter_ >= estimator.max_iter
    )


class StagesCut(NamedTuple):
    """The stages an ensemble grew of those planned, as :func:`fit_before` cut it."""

    parameter: str
    grown: int
    planned: int

    def __str__(self) -> str:
        return f"{self.parameter}={self.grown} of {self.planned}"


def _second_step(estimator: BaseEstimator, first_seconds: float, first: int, probe: int) -> float:
    """Seconds the probe's second step is expected to take, from the first's.

    A forest's steps cost their trees only: ``probe - first`` more trees at the first
    step's pace. A boosting's repeat the binning of the rows, most of a short step's time
    on many rows: its second step takes at least the first's time, which is what is
    expected (at the first step's pace per iteration, binning counted in, a boosting's
    second step would look up to four times as long as it is, and be skipped).
    """
    if isinstance(estimator, _BOOSTED):
        return first_seconds
    return first_seconds * (probe - first) / first


def _fit_costs(seconds: list[float], first: int, probe: int) -> tuple[float, float]:
    """A fit's fixed seconds and seconds per stage, from the probe's steps: ``first``
    stages in ``seconds[0]``, then ``probe - first`` more in ``seconds[1]``, each step
    paying the fixed cost once. With one step, or steps too alike to separate the two
    (``probe < 2 * first + 1``), all of it counts as stages: the slower, safer estimate."""
    if len(seconds) == 2 and probe - first > first:
        per_stage = (seconds[1] - seconds[0]) / (probe - 2 * first)
        # A first step slowed by something once (a busy core) would make stages look
        # cheap and the last step overrun: the fixed cost is at most half of the second.
        per_stage = max(per_stage, 0.5 * seconds[1] / (probe - first))
        fixed = min(seconds[0] - first * per_stage, seconds[1] - (probe - first) * per_stage)
        if fixed >= 0:
            return fixed, per_stage
    return 0.0, max(sum(seconds) / probe, 1e-9)


def _n_stages(estimator: BaseEstimator) -> int:
    """Stages a fitted boosted or bagged ensemble has."""
    if hasattr(estimator, "n_iter_"):
        return int(estimator.n_iter_)
    return len(estimator.estimators_)


@dataclass(frozen=True, eq=False)
class ClassicalMember:
    """A fitted classical estimator, predicting as the ensemble expects.

    Parameters
    ----------
    estimator : BaseEstimator
        Fitted on class codes ``0..n_outputs-1`` or on standardised targets.
    task : {"classification", "regression"}
    n_outputs : int
        Number of classes (columns of ``predict``), or 1.
    target_mean, target_scale : float
        Maps standardised regression outputs back to the target's scale.
    codes : CategoryCodes or None, default=None
        What the estimator's input is made from the preprocessed matrix, if not it.
    """

    estimator: BaseEstimator
    task: str
    n_outputs: int
    target_mean: float = 0.0
    target_scale: float = 1.0
    codes: CategoryCodes | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_outputs)`` or target values ``(n,)``, float64.

        Forests and histogram gradient boosting predict a few rows through their trees
        packed into flat arrays (:mod:`sknas.evaluation.treepack`; built on the first
        batch small enough to use them, and left out of pickles), with the same numbers
        as scikit-learn's predictions. A trial's validation rows are too many: the
        search keeps its forests unpacked (packed trees add 21 MB to the 48 MB of a
        50-tree forest on 60,000 rows).
        """
        if self.codes is not None:
            X = self.codes(X)
        dense = isinstance(X, np.ndarray)
        forest = dense and isinstance(self.estimator, _FORESTS)
        packed = self._packed_for(len(X)) if dense else None
        if self.task == "regression":
            if forest:
                pred = _forest_average(self.estimator, X, packed)[:, 0]
            elif packed is not None:
                pred = self.estimator._loss.link.inverse(_boosted_raw(self.estimator, packed, X))
            else:
                pred = np.asarray(self.estimator.predict(X), dtype=np.float64)
            return pred * self.target_scale + self.target_mean
        proba = np.zeros((X.shape[0], self.n_outputs))
        if forest:
            proba[:, self.estimator.classes_] = _forest_average(self.estimator, X, packed)
        elif packed is not None:
            raw = _boosted_raw(self.estimator, packed, X).reshape(len(X), -1, order="F")
            proba[:, self.estimator.classes_] = self.estimator._loss.predict_proba(raw)
        else:
            proba[:, self.estimator.classes_] = self.estimator.predict_proba(X)
        return proba

    def _packed_for(self, n_rows: int) -> PackedTrees | None:
        """The packed trees where they predict ``n_rows`` rows faster than scikit-learn,
        else None; packed on the first such batch (sized from the trees until then)."""
        if "_packed_cache" not in self.__dict__:
            sizes = _tree_sizes(self.estimator)
            if sizes is None or not packing_suits(n_rows, *sizes):
                return None
        packed = self._packed()
        return packed if packed is not None and packed.suits(n_rows) else None

    def _packed(self) -> PackedTrees | None:
        """The estimator's trees packed (None for other estimators), built on first use."""
        if "_packed_cache" not in self.__dict__:
            if isinstance(self.estimator, _FORESTS):
                packed = pack_forest(self.estimator, getattr(self.estimator, "n_classes_", 1))
            elif isinstance(self.estimator, _BOOSTED):
                packed = pack_hist_gbdt(self.estimator)
            else:
                packed = None
            # Assigned whole once built: threads predicting at once see none or all of it.
            object.__setattr__(self, "_packed_cache", packed)
        return self.__dict__["_packed_cache"]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_packed_cache", None)
        return state


def _tree_sizes(estimator: BaseEstimator) -> tuple[int, int] | None:
    """Internal nodes and trees of a fitted forest or gradient boosting (binary trees:
    ``(nodes - 1) / 2`` internal nodes each), None for other estimators."""
    if isinstance(estimator, _FORESTS):
        nodes = [tree.tree_.node_count for tree in estimator.estimators_]
    elif isinstance(estimator, _BOOSTED):
        nodes = [len(tree.nodes) for iteration in estimator._predictors for tree in iteration]
    else:
        return None
    return sum((n - 1) // 2 for n in nodes), len(nodes)


_FORESTS = (
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
)


_BOOSTED = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def _forest_average(
    forest: BaseEstimator, X: np.ndarray, packed: PackedTrees | None = None
) -> np.ndarray:
    """The forest's ``predict_proba`` (or ``predict`` as one column) on validated ``X``.

    The same sums in the same order as scikit-learn's with ``n_jobs=1``, so the same
    numbers, without its per-tree checks and joblib dispatch; with ``packed`` (the
    forest's trees packed), every tree at once.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n_columns = getattr(forest, "n_classes_", 1)
    if packed is not None:
        # Sequential sums from zero in estimator order, as the loop below adds them.
        leaves = packed.leaf_values(X.astype(np.float64))
        parts = np.zeros((len(X), len(forest.estimators_) + 1, n_columns))
        parts[:, 1:] = leaves
        return np.add.accumulate(parts, axis=1)[:, -1] / len(forest.estimators_)
    total = np.zeros((len(X), n_columns))
    for tree in forest.estimators_:
        total += tree.tree_.predict(X)[:, :n_columns]
    total /= len(forest.estimators_)
    return total


def _boosted_raw(model: BaseEstimator, packed: PackedTrees, X: np.ndarray) -> np.ndarray:
    """A histogram gradient boosting model's raw predictions on validated ``X``, shape
    ``(n,)`` or ``(n * n_trees_per_iteration,)`` (column-major), as its ``_raw_predict``
    sums them: the baseline, then each iteration's trees in order."""
    n_rows, per_iteration = len(X), model.n_trees_per_iteration_
    leaves = packed.leaf_values(np.asarray(X, dtype=np.float64))
    parts = np.empty((n_rows, len(packed.roots) // per_iteration + 1, per_iteration))
    parts[:, 0] = np.zeros((n_rows, per_iteration)) + model._baseline_prediction
    parts[:, 1:] = leaves.reshape(n_rows, -1, per_iteration)
    return np.add.accumulate(parts, axis=1)[:, -1].ravel(order="F")
