"""``NASClassifier`` and ``NASRegressor``: the scikit-learn face of the search.

``fit`` validates the parameters (:mod:`sknas._parameters`) and the data
(:mod:`sknas._validation`), preprocesses, makes one call into :mod:`sknas.engine` and
sets the fitted attributes; ``predict`` runs the fitted ensemble. See doc/architecture.md.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import estimator_html_repr
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._parameters import ATTRIBUTES, PARAMETERS, check_parameter_values, parameter_constraints
from ._validation import (
    check_class_labels,
    check_hashable_values,
    validate_fit_data,
    validate_predict_X,
)
from .engine import search_and_ensemble, starting_configurations
from .evaluation.classical import category_codes_of
from .monitoring import MonitorReport
from .monitoring import monitor as monitor_batch
from .preprocessing import check_numeric_columns, fit_preprocessor, serving_transform
from .scoring import predicted_classes
from .strategies import Strategy
from .summary import search_summary, search_summary_html
from .utils._device import resolve_device

__all__ = ["NASClassifier", "NASRegressor"]


class _BaseNAS(BaseEstimator):
    """Shared parameters, validation and search of the two estimators."""

    _task: str

    def __init__(
        self,
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        trial_timeout: float | None = None,
        families: str | list[str] | tuple[str, ...] = "auto",
        image_shape: tuple[int, int, int] | None = None,
        sequence_shape: tuple[int, int] | None = None,
        text_columns: list[Any] | None = None,
        strategy: str | Strategy = "auto",
        max_epochs: int = 50,
        pruner: str | Any = "successive_halving",
        validation_fraction: float | str = "auto",
        cv: str | int | Any | None = "auto",
        ensemble_size: int = 25,
        max_predict_ms: float | None = None,
        refit: bool = True,
        scoring: str | None = None,
        device: str = "auto",
        n_jobs: int | None = None,
        synchronous_batch: int | None = None,
        weight_inheritance: bool = True,
        init_from: BaseEstimator | pd.DataFrame | None = None,
        portfolio: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.trial_timeout = trial_timeout
        self.families = families
        self.image_shape = image_shape
        self.sequence_shape = sequence_shape
        self.text_columns = text_columns
        self.strategy = strategy
        self.max_epochs = max_epochs
        self.pruner = pruner
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.ensemble_size = ensemble_size
        self.max_predict_ms = max_predict_ms
        self.refit = refit
        self.scoring = scoring
        self.device = device
        self.n_jobs = n_jobs
        self.synchronous_batch = synchronous_batch
        self.weight_inheritance = weight_inheritance
        self.init_from = init_from
        self.portfolio = portfolio
        self.checkpoint_dir = checkpoint_dir
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "ensemble_")

    def summary(self) -> str:
        """A text account of the fitted search: trials by family and proposer, failures
        and why, the ensemble's members and weights, and where the time went."""
        check_is_fitted(self)
        decision = None
        if getattr(self, "decision_threshold_", None) is not None:
            decision = (
                f"Decision: class {self.classes_[1]} where its probability is at least "
                f"{self.decision_threshold_:g} (tuned for {self.scoring} on the ensemble's "
                "validation predictions)"
            )
        return search_summary(
            type(self).__name__, self.leaderboard_, self.ensemble_, self.timings_, decision
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator to ``path`` as a safe model file.

        One zip archive (a JSON manifest, network weights as safetensors, the
        preprocessing and classical members through skops) that :func:`sknas.load`
        reads back without unpickling anything; see :mod:`sknas.persistence`.

        Parameters
        ----------
        path : str or path-like
            Conventionally ending in ``.skn``.
        """
        from .persistence import save

        save(self, path)

    def to_onnx(self, path: str | os.PathLike | None = None) -> Any:
        """The whole fitted estimator as one ONNX graph; written to ``path`` when given.

        Preprocessing, every member and the weighted average, with probabilities and
        labels (or values) as outputs; needs the ``onnx`` extra. See
        :func:`sknas.export.to_onnx` (and :func:`sknas.export.onnx_inputs` for the
        graph's inputs).

        Returns
        -------
        onnx.ModelProto
        """
        from .export import to_onnx

        return to_onnx(self, path)

    def _html_repr(self) -> str:
        """scikit-learn's diagram, followed for a fitted estimator by the search's
        headline, best trials and ensemble (what notebooks display)."""
        html = estimator_html_repr(self)
        if not self.__sklearn_is_fitted__():
            return html
        summary = search_summary_html(
            type(self).__name__, self.leaderboard_, self.ensemble_, self.timings_
        )
        return html + summary

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_warm_journal", None)  # the record and best models: warm starts only
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # imputed, with missing-value indicators
        tags.input_tags.categorical = True  # DataFrame columns: one-hot encoded
        tags.input_tags.string = True
        tags.input_tags.sparse = True  # CSR or CSC: see sknas._validation
        return tags

    def _validated_X(self, X: Any) -> Any:
        """``X`` checked against what ``fit`` saw (feature count and names, input shape)."""
        return validate_predict_X(self, X)

    def _validate_and_search(self, X: Any, y: Any, sample_weight: Any, groups: Any) -> None:
        """Validate, search, ensemble, and set every fitted attribute (or raise first)."""
        started = time.monotonic()
        self._validate_params()
        check_parameter_values(self)
        X, y, sample_weight, groups = validate_fit_data(self, X, y, sample_weight, groups)
        starts = starting_configurations(self)
        y_encoded = self._encode_target(y)
        device = resolve_device(self.device)
        preprocessor, X_model, text_columns = fit_preprocessor(
            X,
            y_encoded,
            task=self._task,
            image_shape=self.image_shape_,
            text_columns=self.text_columns,
        )
        handed_over = [X_model]  # the search frees it once it holds the rows it trains on
        del X_model
        outcome = search_and_ensemble(
            self,
            X,
            handed_over,
            y_encoded,
            sample_weight,
            groups,
            starts=starts,
            device=device,
            started=started,
            category_codes=category_codes_of(preprocessor),
        )
        self._warm_journal = outcome.warm_journal
        self.preprocessor_ = preprocessor
        self.text_columns_ = text_columns
        self.ensemble_ = outcome.ensemble
        self.leaderboard_ = outcome.leaderboard
        best = outcome.best.candidate
        self.best_params_ = {"family": best.family, **best.params, "genome": best.genome}
        self.best_score_ = outcome.best.score
        self.reference_ = outcome.reference
        self.n_trials_ = outcome.n_trials
        self.device_ = device
        self.timings_ = outcome.timings
        if self._task == "classification":
            self.decision_threshold_ = outcome.decision_threshold

    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> _BaseNAS:
        """Search, train and keep the best model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric values (NaN allowed); a DataFrame may also have categorical,
            string and bool columns. Also images ``(n, C, H, W)`` and sequences
            ``(n, C, L)`` (finite values, one length).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, honoured by every family's training, by
            validation scoring and by ensemble selection.
        groups : array-like of shape (n_samples,), default=None
            Group labels. The splits ``cv`` makes itself (an int, ``"auto"``, the
            holdout) then keep each group on one side; a splitter of your own uses
            them if it is group-aware, such as ``GroupKFold``.

        Returns
        -------
        self : estimator
        """
        try:
            self._validate_and_search(X, y, sample_weight, groups)
        except BaseException:
            for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
                delattr(self, name)  # a failed fit leaves the estimator unfitted
            raise
        return self

    def monitor(self, X: Any, y: Any = None) -> MonitorReport:
        """Drift of a batch against the training data, and its score when labelled.

        Each feature's drift (population stability index and a two-sample test), the
        drift of the predictions and, with ``y``, the score on the batch with a
        bootstrap interval next to the validation score; see :mod:`sknas.monitoring`.

        Parameters
        ----------
        X : array-like or DataFrame
            A batch of rows, checked as ``predict`` checks them.
        y : array-like of shape (n_samples,), default=None
            Its labels or targets.

        Returns
        -------
        MonitorReport
        """
        return monitor_batch(self, X, y)

    def _predict_raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.ensemble_.predict(self._model_rows(self._validated_X(X)))

    def _model_rows(self, X: Any) -> Any:
        """Validated ``X`` as the members' matrix: through the preprocessor's fast form
        where it has one (the same matrix, without overhead). When the preprocessing
        fails, a cause in the data is reported by column (lists among a column's values,
        words or infinity in a column that was numeric at fit)."""
        fast = serving_transform(self.preprocessor_)
        try:
            if fast is not None and isinstance(X, fast.input_type):
                return fast(X)
            return self.preprocessor_.transform(X)
        except (TypeError, ValueError):  # what numpy, pandas and scikit-learn raise
            if isinstance(X, pd.DataFrame):
                check_hashable_values(X)
                check_numeric_columns(self.preprocessor_, X)
            raise

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class NASClassifier(ClassifierMixin, _BaseNAS):
    __doc__ = f"""Neural architecture search for classification, as a scikit-learn classifier.

    ``fit`` selects model families and hyperparameters with hyperopt's TPE, then
    refines architectures by aging evolution seeded from TPE's best trials. Every
    candidate network trains through skorch with early stopping, under successive
    halving so that weak candidates stop early; small data are cross-validated (``cv``).
    ``predict`` uses a Caruana ensemble of the trained candidates (refit on all rows
    after a holdout search, bags of fold models after a cross-validated one).

    Parameters
    ----------
{PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    decision_threshold_ : float or None
        ``predict`` gives the second class where its probability reaches this
        threshold, tuned on the ensemble's validation predictions for a binary task
        scored by balanced accuracy or an F1 score (when it beats 0.5 there); None:
        the most probable class.
{ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknas import NASClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NASClassifier(n_trials=2, max_epochs=30, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _task = "classification"
    _parameter_constraints: dict = parameter_constraints(_task)

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        check_class_labels(y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"NASClassifier needs samples of at least 2 classes in y; got 1 class "
                f"({encoder.classes_.tolist()[0]!r})."
            )
        self.classes_ = encoder.classes_
        return encoder.transform(y)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``."""
        return self._predict_raw(X)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class, or the class ``decision_threshold_`` decides."""
        proba = self.predict_proba(X)
        threshold = getattr(self, "decision_threshold_", None)  # None in older model files
        return self.classes_[predicted_classes(proba, threshold)]


class NASRegressor(RegressorMixin, _BaseNAS):
    __doc__ = f"""Neural architecture search for regression, as a scikit-learn regressor.

    Same search as :class:`NASClassifier`; targets are standardised internally and
    predictions mapped back. ``scoring=None`` means R².

    Parameters
    ----------
{PARAMETERS}
    Attributes
    ----------
{ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sknas import NASRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = NASRegressor(n_trials=2, max_epochs=30, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8
    True
    """

    _task = "regression"
    _parameter_constraints: dict = parameter_constraints(_task)

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        y = y.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.std(y)  # the networks learn y standardised
        if not np.isfinite(spread):
            raise ValueError(
                f"y holds values too large to standardise in float64 (up to "
                f"{np.abs(y).max():.3g} in magnitude; their squares overflow). Rescale y, "
                "for example divide it by a power of ten, and scale predictions back."
            )
        return y

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets."""
        return self._predict_raw(X)
