"""The ``minirocket`` family: MiniRocket features of sequences and a linear head.

MiniRocket (Dempster et al. 2021, through aeon) turns each series into 10,000
proportions of positive values of fixed dilated convolutions; a linear model on them
is the fast reference of time-series classification. The estimators here take the
flat rows the search trains on (``n_channels`` says how they hold the series), so
they are searched, scored, ensembled and pickled like the other classical families.

aeon compiles MiniRocket's numba functions on their first call and caches the machine
code next to its sources (``cache=True``; in ``NUMBA_CACHE_DIR`` when that is set, as it
must be where aeon's directory is read-only). Measured with :func:`compile_minirocket`
on this project's 2-core machine, the other core busy: 21.1 s with an empty cache, 0.4 s
in a later process. A search that has the ``minirocket`` family calls
:func:`compile_minirocket` before its first trial, so that the compile is the search's
(``timings_["compile"]``; once per machine and installation of aeon and numba), not a
trial's whose time would price the family.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV, RidgeCV
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array

from ..utils._native_threads import one_blas_thread

__all__ = [
    "RIDGE_ALPHAS",
    "MiniRocketClassifier",
    "MiniRocketRegressor",
    "compile_minirocket",
]

#: Penalties the ridge heads choose from by leave-one-out cross-validation (MiniRocket's).
RIDGE_ALPHAS = np.logspace(-3, 3, 10)
#: MiniRocket's kernels span 9 steps: shorter series are zero padded to this length.
MIN_LENGTH = 9


@contextmanager
def _numpy_global_rng_kept() -> Iterator[None]:
    """aeon's MiniRocket seeds numpy's global generator: restore the caller's state."""
    state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what aeon seeds
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


class _MiniRocketFeatures:
    """Shared by both estimators: rows to series, and the fitted MiniRocket transform."""

    n_channels: int
    n_kernels: int
    random_state: Any

    def _series(self, X: Any) -> np.ndarray:
        X = check_array(X, dtype=np.float32)
        if X.shape[1] % self.n_channels:
            raise ValueError(
                f"X has {X.shape[1]} features per row, not a multiple of n_channels="
                f"{self.n_channels}."
            )
        series = X.reshape(len(X), self.n_channels, -1)
        if series.shape[2] < MIN_LENGTH:
            series = np.pad(series, ((0, 0), (0, 0), (0, MIN_LENGTH - series.shape[2])))
        return series

    def _fit_features(self, X: Any) -> np.ndarray:
        from aeon.transformations.collection.convolution_based import MiniRocket

        series = self._series(X)
        seed = np.random.default_rng(self.random_state).integers(2**31 - 1)
        with _numpy_global_rng_kept():
            self.minirocket_ = MiniRocket(self.n_kernels, n_jobs=1, random_state=int(seed))
            self.minirocket_.fit(series)
        features = self.minirocket_.transform(series)
        self.scaler_ = StandardScaler(with_mean=False).fit(features)
        return self.scaler_.transform(features)

    def _features(self, X: Any) -> np.ndarray:
        features = self.minirocket_.transform(self._series(X))
        return self.scaler_.transform(features)


class MiniRocketClassifier(ClassifierMixin, _MiniRocketFeatures, BaseEstimator):
    """MiniRocket features, then a ridge classifier or logistic regression.

    The ridge head (MiniRocket's recipe, for up to a few thousand series) chooses its
    penalty among :data:`RIDGE_ALPHAS` by leave-one-out cross-validation; its
    probabilities are the softmax of its decision values times a temperature fitted to
    5-fold out-of-fold decision values (log loss), so that they average sensibly with
    the networks' in an ensemble.

    Parameters
    ----------
    n_channels : int, default=1
        Channels of the series the flat rows of ``X`` hold (channel by channel).
    n_kernels : int, default=10_000
        MiniRocket's features (rounded down to a multiple of 84).
    head : {"ridge", "logistic"}, default="ridge"
    class_weight : dict, "balanced" or None, default=None
    random_state : int or None, default=None

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 30)); y = np.repeat([0, 1], 20); X[y == 1, 10:20] += 2
    >>> clf = MiniRocketClassifier(n_kernels=840, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.score(X, y) > 0.9
    ((2, 2), True)
    """

    def __init__(
        self,
        n_channels: int = 1,
        n_kernels: int = 10_000,
        head: str = "ridge",
        class_weight: Any = None,
        random_state: int | None = None,
    ) -> None:
        self.n_channels = n_channels
        self.n_kernels = n_kernels
        self.head = head
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MiniRocketClassifier:
        """Fit MiniRocket on ``X``'s series and the head on their features."""
        features = self._fit_features(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if self.head == "logistic":
            self.head_ = LogisticRegression(max_iter=1000, class_weight=self.class_weight)
            with one_blas_thread():  # 4-5 times faster (sknas.utils._native_threads)
                self.head_.fit(features, y, sample_weight=sample_weight)
            self.temperature_ = 1.0
            return self
        if self.head != "ridge":
            raise ValueError(f"head must be 'ridge' or 'logistic', got {self.head!r}.")
        self.head_ = self._ridge().fit(features, y, sample_weight=sample_weight)
        self.temperature_ = self._temperature(features, y, sample_weight)
        return self

    def _ridge(self) -> RidgeClassifierCV:
        return RidgeClassifierCV(alphas=RIDGE_ALPHAS, class_weight=self.class_weight)

    def _temperature(self, features: np.ndarray, y: np.ndarray, sample_weight: Any) -> float:
        """The factor of the ridge's decision values whose softmax has the least log loss
        on out-of-fold decisions (1 when a class has fewer than 2 rows)."""
        n_splits = min(5, int(np.bincount(np.searchsorted(self.classes_, y)).min()))
        if n_splits < 2:
            return 1.0
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=0)
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        decisions = cross_val_predict(
            self._ridge(), features, y, cv=folds, method="decision_function", params=params
        )
        logits = self._logits(decisions)
        truth = np.searchsorted(self.classes_, y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)

        def log_loss(log_temperature: float) -> float:
            proba = softmax(np.exp(log_temperature) * logits, axis=1)
            picked = proba[np.arange(len(truth)), truth]
            return -float(np.average(np.log(np.maximum(picked, 1e-12)), weights=weights))

        return float(np.exp(minimize_scalar(log_loss, bounds=(-3, 5), method="bounded").x))

    @staticmethod
    def _logits(decisions: np.ndarray) -> np.ndarray:
        """Decision values as one column per class (a binary ridge gives one column)."""
        decisions = np.asarray(decisions, dtype=np.float64)
        return np.column_stack([-decisions, decisions]) if decisions.ndim == 1 else decisions

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``, float64."""
        features = self._features(X)
        if self.head == "logistic":
            return self.head_.predict_proba(features)
        logits = self._logits(self.head_.decision_function(features))
        return softmax(self.temperature_ * logits, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class MiniRocketRegressor(RegressorMixin, _MiniRocketFeatures, BaseEstimator):
    """MiniRocket features, then a ridge regression whose penalty leave-one-out
    cross-validation chooses among :data:`RIDGE_ALPHAS`.

    Parameters
    ----------
    n_channels : int, default=1
        Channels of the series the flat rows of ``X`` hold (channel by channel).
    n_kernels : int, default=10_000
    random_state : int or None, default=None
    """

    def __init__(
        self, n_channels: int = 1, n_kernels: int = 10_000, random_state: int | None = None
    ) -> None:
        self.n_channels = n_channels
        self.n_kernels = n_kernels
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MiniRocketRegressor:
        """Fit MiniRocket on ``X``'s series and the ridge on their features."""
        features = self._fit_features(X)
        self.head_ = RidgeCV(alphas=RIDGE_ALPHAS).fit(features, y, sample_weight=sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets."""
        return self.head_.predict(self._features(X))


def compile_minirocket(n_channels: int | None = None) -> None:
    """Run MiniRocket once on a tiny problem, so that numba compiles (and caches, for
    later processes) its functions now rather than in a search's first trial.

    Parameters
    ----------
    n_channels : int or None, default=None
        Channels of the series to come: 1 compiles the univariate transform, more the
        multivariate one (each is about half of the compile); None both.
    """
    rng = np.random.default_rng(0)
    channel_counts = (1, 2) if n_channels is None else (min(n_channels, 2),)
    for channels in channel_counts:
        X = rng.normal(size=(4, channels * 16))
        MiniRocketRegressor(n_channels=channels, n_kernels=84, random_state=0).fit(X, X[:, 0])
