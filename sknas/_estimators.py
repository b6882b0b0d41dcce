"""``NASClassifier`` and ``NASRegressor``: the scikit-learn face of the search.

This module validates, encodes and wires parts together; the algorithms live in
:mod:`sknas.strategies`, :mod:`sknas.evaluation`, :mod:`sknas._search` and
:mod:`sknas.ensemble`.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, estimator_html_repr
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
)

from ._search import run_search
from ._validation import rows_for_fingerprint, validate_fit_data, validate_predict_X
from .checkpoint import MemoryJournal, SearchJournal, fingerprint
from .ensemble import MAX_CANDIDATES, FittedEnsemble, member_costs, refit_members, select_members
from .evaluation import Evaluator, make_split
from .evaluation.crossval import CrossValEvaluator, make_folds
from .exceptions import SearchFailedError
from .fidelity import PRUNER_METHODS, make_pruner
from .history import SearchHistory
from .monitoring import MonitorReport, ensemble_validation_predictions, reference_statistics
from .monitoring import monitor as monitor_batch
from .preprocessing import (
    ChannelStandardizer,
    FrameTransform,
    NumericTransform,
    make_tabular_preprocessor,
    serving_transform,
    text_columns_of,
)
from .scoring import SCORINGS, PredictionScorer, get_prediction_scorer
from .space import default_search_space
from .strategies import (
    Configuration,
    FusedStrategy,
    HyperoptStrategy,
    RandomStrategy,
    RegularizedEvolutionStrategy,
    Strategy,
)
from .strategies.base import candidate_key
from .study import Study
from .summary import search_summary, search_summary_html
from .transfer import configurations_from_search, load_portfolio
from .trial import TrialResult
from .utils._compat import HasMethods, Interval, StrOptions
from .utils._device import resolve_device
from .utils._logging import logger, verbose_logging
from .utils._progress import ProgressBar

__all__ = ["NASClassifier", "NASRegressor"]

#: Budget used when neither ``time_budget`` nor ``n_trials`` is given (seconds).
DEFAULT_TIME_BUDGET = 60.0
#: Share of ``time_budget`` kept back from a holdout search for ensembling and refitting
#: (k-fold searches keep none: their members are bags, which are not refit).
REFIT_RESERVE = 0.10
#: Trained models a search keeps (the best-scored; ensemble selection looks at the
#: best ``MAX_CANDIDATES``, and the margin covers ties broken by log loss).
KEPT_MODELS = 2 * MAX_CANDIDATES
_FLOATS = [np.float64, np.float32]

_STRATEGIES = {
    "auto": FusedStrategy,
    "fused": FusedStrategy,
    "tpe": HyperoptStrategy,
    "evolution": RegularizedEvolutionStrategy,
    "random": RandomStrategy,
}


#: The first trials on tables: cheap on any size and strong, so a search whose budget a
#: slow trial would otherwise take has a model within seconds (families' default points).
BASELINES = (Configuration("linear", {}), Configuration("hist_gbdt", {}))


def _log_trial(result: TrialResult, history: SearchHistory) -> None:
    candidate = result.candidate
    best = history.best()
    logger.info(
        "trial %3d %-11s %-12s %-8s score=%.4f best=%.4f epochs=%d %.1fs%s",
        candidate.trial_id,
        candidate.family,
        candidate.proposer,
        result.state.value,
        result.score,
        best.score if best else float("nan"),
        result.n_epochs,
        result.fit_time + result.predict_time,
        f"  ({result.error})" if result.error else "",
    )


class _BaseNAS(BaseEstimator):
    """Shared parameters, validation and search of the two estimators."""

    _task: str

    _parameter_constraints: dict = {
        "time_budget": [Interval(Real, 0, None, closed="neither"), None],
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "trial_timeout": [Interval(Real, 0, None, closed="neither"), None],
        "families": [StrOptions({"auto"}), list, tuple],
        "image_shape": [tuple, list, None],
        "text_columns": ["array-like", None],
        "strategy": [
            StrOptions(set(_STRATEGIES)),
            HasMethods(["reset", "propose", "observe", "state_dict", "load_state_dict"]),
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "pruner": [StrOptions({"successive_halving", "none"}), HasMethods(list(PRUNER_METHODS))],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "cv": [
            StrOptions({"auto"}),
            Interval(Integral, 2, None, closed="left"),
            HasMethods(["split", "get_n_splits"]),
            None,
        ],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "refit": ["boolean"],
        "scoring": [StrOptions(set(SCORINGS["classification"] + SCORINGS["regression"])), None],
        "device": [str],
        "n_jobs": [Integral, None],
        "synchronous_batch": [Interval(Integral, 1, None, closed="left"), None],
        "weight_inheritance": ["boolean"],
        "init_from": [BaseEstimator, pd.DataFrame, None],
        "portfolio": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        trial_timeout: float | None = None,
        families: str | list[str] | tuple[str, ...] = "auto",
        image_shape: tuple[int, int, int] | None = None,
        text_columns: list[Any] | None = None,
        strategy: str | Strategy = "auto",
        max_epochs: int = 50,
        pruner: str | Any = "successive_halving",
        validation_fraction: float = 0.2,
        cv: str | int | Any | None = "auto",
        ensemble_size: int = 25,
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
        self.text_columns = text_columns
        self.strategy = strategy
        self.max_epochs = max_epochs
        self.pruner = pruner
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.ensemble_size = ensemble_size
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
        return search_summary(type(self).__name__, self.leaderboard_, self.ensemble_, self.timings_)

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
        state.pop("_warm_journal", None)  # every trial's model: for warm starts, not serving
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # imputed, with missing-value indicators
        tags.input_tags.categorical = True  # DataFrame columns: one-hot encoded
        tags.input_tags.string = True
        tags.input_tags.sparse = True  # CSR or CSC: see sknas._validation
        return tags

    def _validated_X(self, X: Any) -> Any:
        """``X`` checked against what ``fit`` saw (feature count and names, image shape)."""
        return validate_predict_X(self, X)

    def _validate_and_search(self, X: Any, y: Any, sample_weight: Any, groups: Any) -> None:
        """Validate, search, ensemble, and set every fitted attribute (or raise first)."""
        started = time.monotonic()
        self._validate_params()
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(
                f"device must be 'auto', 'cpu' or 'cuda[:index]', got {self.device!r}."
            )
        if self.n_jobs == 0:
            raise ValueError("n_jobs=0 runs nothing; use None or 1 (one at a time), k or -1.")
        scorer = get_prediction_scorer(self.scoring, self._task)
        X, y, sample_weight, groups = validate_fit_data(self, X, y, sample_weight, groups)
        starts = self._starting_configurations()
        y_encoded = self._encode_target(y)
        device = resolve_device(self.device)
        time_budget = self.time_budget
        if time_budget is None and self.n_trials is None:
            time_budget = DEFAULT_TIME_BUDGET
        deadline = None if time_budget is None else started + time_budget

        rng = check_random_state(self.random_state)
        split_seed, strategy_seed = rng.randint(np.iinfo(np.int32).max, size=2)
        seeds = {"split": int(split_seed), "strategy": int(strategy_seed)}
        fold_settings = {
            "task": self._task,
            "n_features": X.shape[1],
            "time_budget": time_budget or DEFAULT_TIME_BUDGET,
            "groups": groups,
        }
        folds = make_folds(self.cv, y_encoded, seed=seeds["split"], **fold_settings)
        if self.image_shape_ is None:
            text_columns = text_columns_of(X, self.text_columns)
            preprocessor = make_tabular_preprocessor(X, text_columns).fit(X)
        else:
            text_columns = []
            preprocessor = ChannelStandardizer(self.image_shape_).fit(X)
        X_model = preprocessor.transform(X)
        data = [rows_for_fingerprint(X), y_encoded, sample_weight, groups]
        journal = self._journal(data, seeds, starts)
        if journal is not None and journal.seeds != seeds:  # a resumed search keeps its seeds
            seeds = journal.seeds
            folds = make_folds(self.cv, y_encoded, seed=int(seeds["split"]), **fold_settings)
        evaluator = self._evaluator(X_model, y_encoded, sample_weight, folds, scorer, device, seeds)
        history = self._search(
            evaluator, int(seeds["strategy"]), deadline, time_budget, starts, journal
        )
        self._warm_journal = journal if isinstance(journal, MemoryJournal) else None
        best = self._best_trial(history)
        search_done = time.monotonic()
        ensemble, selection_seconds, refit_notes = self._ensemble(history, evaluator, deadline)
        valid_pred = ensemble_validation_predictions(history, ensemble)
        self.reference_ = reference_statistics(
            self, X, valid_pred, evaluator.y_valid_true, evaluator.scorer
        )
        refit_done = time.monotonic()
        costs = member_costs(ensemble, X_model, None if deadline is None else deadline + 1.0)

        self.preprocessor_ = preprocessor
        self.text_columns_ = text_columns
        self.ensemble_ = ensemble
        self.leaderboard_ = history.to_frame(refit_notes, costs)
        self.best_params_ = {
            "family": best.candidate.family,
            **best.candidate.params,
            "genome": best.candidate.genome,
        }
        self.best_score_ = best.score
        self.n_trials_ = len(history.results)
        self.device_ = device
        finished = time.monotonic()
        self.timings_ = {
            "search": search_done - started,
            "trials": sum(r.fit_time + r.predict_time for r in history.results),
            "ensemble_selection": selection_seconds,
            "refit": refit_done - search_done - selection_seconds,
            "member_costs": finished - refit_done,
            "total": finished - started,
        }

    def _evaluator(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        folds: list[tuple[np.ndarray, np.ndarray]] | None,
        scorer: PredictionScorer,
        device: str,
        seeds: dict,
    ) -> Evaluator | CrossValEvaluator:
        """What trains and scores a trial: on a holdout, or on every fold of ``folds``."""
        if folds is not None:
            return CrossValEvaluator(
                X,
                y,
                folds,
                task=self._task,
                scorer=scorer,
                sample_weight=sample_weight,
                image_shape=self.image_shape_,
                device=device,
                trial_timeout=self.trial_timeout,
            )
        split = make_split(
            X,
            y,
            task=self._task,
            validation_fraction=self.validation_fraction,
            seed=int(seeds["split"]),
            sample_weight=sample_weight,
            image_shape=self.image_shape_,
        )
        return Evaluator(
            split, scorer.weighted(split.w_valid), device=device, trial_timeout=self.trial_timeout
        )

    def _starting_configurations(self) -> list[tuple[list[Configuration], str]]:
        """What the search tries first, with the proposer named in the leaderboard:
        the best of ``init_from``, then cheap baselines and the built-in portfolio."""
        starts = []
        if self.init_from is not None:
            starts.append((configurations_from_search(self.init_from), "init_from"))
        if self.portfolio:
            if self.time_budget is not None or self.n_trials is None:  # a search on the clock
                starts.append((list(BASELINES), "baseline"))
            starts.append((load_portfolio(self._task, self.image_shape_), "portfolio"))
        return starts

    def _journal(
        self,
        data: list[np.ndarray | None],
        seeds: dict,
        starts: list[tuple[list[Configuration], str]],
    ) -> SearchJournal | MemoryJournal | None:
        """Where the search records itself: ``checkpoint_dir``, or memory for ``warm_start``
        (the previous fit's record when it searched the same ``data`` the same way)."""
        if self.checkpoint_dir is None and not self.warm_start:
            return None
        settings = self._search_settings() | {
            "starts": [
                [proposer] + [candidate_key(c.family, c.params, c.genome) for c in configurations]
                for configurations, proposer in starts
            ]
        }
        key = fingerprint(data, settings)
        if self.checkpoint_dir is not None:
            return SearchJournal(self.checkpoint_dir, key, seeds)
        previous = getattr(self, "_warm_journal", None)
        if previous is not None and previous.key == key:
            return previous
        return MemoryJournal(key, seeds)

    def _search_settings(self) -> dict[str, Any]:
        """The parameters that shape the search (not its budget, ensemble or logging)."""
        ignored = {"time_budget", "n_trials", "trial_timeout", "ensemble_size", "refit"}
        ignored |= {"verbose", "warm_start", "checkpoint_dir", "n_jobs"}
        ignored |= {"init_from"}  # what it starts the search with counts (see _journal)
        settings = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name not in ignored
        }
        if not isinstance(self.strategy, str):  # its settings, not its identity
            settings["strategy"] = [type(self.strategy).__name__, vars(self.strategy)]
        if not isinstance(self.random_state, Integral):
            settings["random_state"] = None
        return settings

    def _search(
        self,
        evaluator: Evaluator,
        seed: int,
        deadline: float | None,
        time_budget: float | None,
        starts: list[tuple[list[Configuration], str]],
        journal: SearchJournal | MemoryJournal | None = None,
    ) -> SearchHistory:
        """Run the strategy, from the ``starts`` configurations or from where ``journal``
        stopped if it holds trials; with ``refit``, part of the time budget is kept
        back for refitting."""
        space = default_search_space(
            self._task,
            max_epochs=self.max_epochs,
            families=self.families,
            image_shape=evaluator.split.image_shape,
            n_rows=evaluator.split.n_rows,
            sparse=evaluator.split.sparse,
            n_features=evaluator.split.n_features,
        )
        if isinstance(self.strategy, str):
            strategy = _STRATEGIES[self.strategy]()
        else:
            strategy = copy.deepcopy(self.strategy)  # never mutate what the user passed
        study = Study(
            strategy,
            space,
            seed,
            starts=starts,
            pruner=make_pruner(self.pruner),
            journal=journal,
            max_models=KEPT_MODELS,
            weight_inheritance=self.weight_inheritance,
        )
        bagged = isinstance(evaluator, CrossValEvaluator)  # bags are not refit
        if deadline is not None and self.refit and not bagged:
            deadline -= REFIT_RESERVE * time_budget
        callbacks = [_log_trial]
        progress = ProgressBar(self.n_trials, deadline) if self.verbose == 1 else None
        if progress is not None:
            callbacks.append(progress)
        try:
            with verbose_logging(self.verbose >= 2):
                return run_search(
                    study,
                    evaluator,
                    n_trials=self.n_trials,
                    deadline=deadline,
                    callbacks=callbacks,
                    n_jobs=1 if self.n_jobs is None else self.n_jobs,
                    synchronous_batch=self.synchronous_batch,
                )
        finally:
            if progress is not None:
                progress.close()

    def _best_trial(self, history: SearchHistory) -> TrialResult:
        """The best scored trial; raise when there is none, warn when interrupted."""
        scored = history.scored()
        best = history.best() or max(scored, key=lambda r: r.score, default=None)
        if best is None:
            if history.interrupted:
                raise KeyboardInterrupt
            errors = sorted({r.error or r.state.value for r in history.results})
            raise SearchFailedError(
                f"All {len(history.results)} trials of the search failed, so nothing was "
                f"fitted. Errors: {'; '.join(errors[:5]) or 'no trial ran (budget too small)'}."
            )
        if history.interrupted:
            warnings.warn(
                f"The search was interrupted; the estimator is fitted from the "
                f"{len(scored)} trials that were scored.",
                UserWarning,
                stacklevel=5,
            )
        return best

    def _ensemble(
        self, history: SearchHistory, evaluator: Evaluator, deadline: float | None
    ) -> tuple[FittedEnsemble, float, dict[int, str]]:
        """Select members on validation predictions, then refit them while time allows;
        also what became of each member's refit, by trial id."""
        started = time.monotonic()
        smooth = "neg_log_loss" if self._task == "classification" else "neg_mean_squared_error"
        selection = select_members(
            history,
            evaluator.y_valid_true,
            evaluator.scorer,
            ensemble_size=self.ensemble_size,
            tie_breaker=get_prediction_scorer(smooth, self._task).weighted(evaluator.w_valid),
        )
        selection_seconds = time.monotonic() - started
        trial_ids = [r.candidate.trial_id for r, _ in selection]
        if isinstance(evaluator, CrossValEvaluator):  # bags saw every row: nothing to refit
            note = f"kept: a bag of {len(evaluator.evaluators)} fold models, no refit needed"
            refits = [(result.member, note) for result, _ in selection]
        elif self.refit:
            split = evaluator.split
            refits = refit_members(
                selection,
                evaluator,
                data_ratio=(split.n_rows + split.X_valid.shape[0]) / split.n_rows,
                deadline=deadline,
            )
        else:
            refits = [(result.member, "kept: refit=False") for result, _ in selection]
        ensemble = FittedEnsemble([m for m, _ in refits], [w for _, w in selection], trial_ids)
        notes = dict(zip(trial_ids, [note for _, note in refits], strict=True))
        return ensemble, selection_seconds, notes

    def _fit(self, X: Any, y: Any, sample_weight: Any, groups: Any) -> _BaseNAS:
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
        X = self._validated_X(X)
        fast = serving_transform(self.preprocessor_)  # the same matrix, without overhead
        if isinstance(fast, NumericTransform) and isinstance(X, np.ndarray):
            return self.ensemble_.predict(fast(X))
        if isinstance(fast, FrameTransform) and isinstance(X, pd.DataFrame):
            return self.ensemble_.predict(fast(X))
        return self.ensemble_.predict(self.preprocessor_.transform(X))

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class NASClassifier(ClassifierMixin, _BaseNAS):
    """Neural architecture search for classification, as a scikit-learn classifier.

    ``fit`` selects model families and hyperparameters with hyperopt's TPE, then
    refines architectures by aging evolution seeded from TPE's best trials. Every
    candidate network trains through skorch with early stopping on a held-out
    validation split, under successive halving so that weak candidates stop early.
    ``predict`` uses a Caruana ensemble of the trained candidates, refit on all data.

    Parameters
    ----------
    time_budget : float, default=None
        Wall-clock seconds for ``fit``. With ``n_trials`` also None, 60 seconds.
        Trials running at the deadline stop: networks after the running batch,
        gradient boosting and forests with the stages that fit in time.
    n_trials : int, default=None
        Maximum number of trials. Give this (not ``time_budget``) for a run that
        ``random_state`` makes exactly reproducible.
    trial_timeout : float, default=None
        Seconds one trial may train. A network then stops after the running batch
        and keeps its best weights so far; gradient boosting and forests keep the
        stages that fit in time. The cut is noted in ``leaderboard_`` (``error``).
        Logistic regression and ridge always fit to the end.
    families : "auto" or list of str, default="auto"
        Model families to search: the networks ``"mlp"``, ``"resnet_mlp"`` and, for
        images, ``"cnn"``; the classical ``"hist_gbdt"`` (histogram gradient
        boosting), ``"linear"`` (logistic regression or ridge) and
        ``"random_forest"`` (random forest or extra trees). ``"auto"`` searches all
        five on tables, and ``cnn`` on images (``families=["cnn", "mlp"]`` adds the
        MLP).
    image_shape : tuple of int, default=None
        ``(C, H, W)`` when the rows of a 2-d ``X`` are flattened images (such as
        digits' 64 features as ``(1, 8, 8)``). Arrays of shape ``(n, H, W)`` or
        ``(n, C, H, W)`` are taken as images without it.
    text_columns : list of column names, default=None
        The DataFrame columns vectorised as free text (TF-IDF of words and word
        pairs, reduced to at most 128 dense columns; see
        :func:`sknas.preprocessing.make_tabular_preprocessor`) instead of one-hot
        encoded. None: the string columns :func:`sknas.preprocessing.text_columns_of`
        finds by its rule (many distinct values of several words); an empty list:
        none.
    strategy : {"auto", "fused", "tpe", "evolution", "random"} or Strategy, default="auto"
        How candidates are proposed; ``"auto"`` is ``"fused"`` (TPE, then evolution).
        An object needs the strategy protocol (``reset``, ``propose``, ``observe``,
        ``state_dict``, ``load_state_dict``; see :class:`sknas.strategies.Strategy`);
        it is copied, never mutated.
    max_epochs : int, default=50
        Most epochs one candidate trains for (early stopping may stop it sooner).
    pruner : {"successive_halving", "none"} or object, default="successive_halving"
        ``"successive_halving"`` judges candidates after 1/9 and 1/3 of their epochs
        and stops those outside the top third (recorded as PRUNED); ``"none"``
        trains every candidate to its budget; an object needs the pruner protocol
        of :mod:`sknas.fidelity` (``fidelity_for``, ``record``, ``state_dict``,
        ``load_state_dict``) and is copied, never mutated.
    validation_fraction : float, default=0.2
        Share of the training rows held out (stratified) to score candidates when
        ``cv`` makes no folds.
    cv : "auto", int, cross-validation splitter or None, default="auto"
        How trials are scored. None: on a holdout of ``validation_fraction``. An
        int ``k >= 2``: k shuffled folds (stratified for classification); or any
        scikit-learn splitter (``KFold``, ``StratifiedKFold``, ``GroupKFold`` with
        ``groups`` given to ``fit``, ``TimeSeriesSplit``). With folds a trial trains
        one model per fold and is scored on its out-of-fold predictions of every
        row, ensemble selection weighs members on those, and a member is the bag
        of its fold models (no refit); successive halving judges on the first fold.
        ``"auto"``: 5 folds when the data are small (rows x features at most
        2,500 per second of ``time_budget`` and at most 10,000 rows; fewer folds
        when a class has fewer than 5 rows, or the data fewer than 10), else a
        holdout.
    ensemble_size : int, default=25
        Rounds of greedy ensemble selection on validation predictions; 1 predicts
        with the best single trial.
    refit : bool, default=True
        Retrain the ensemble's members on all rows (with the epochs they reached)
        when the time budget allows; 10% of ``time_budget`` is kept for this. A
        refit that scores clearly worse on those rows than the member it would
        replace is discarded and the member kept (``leaderboard_["refit"]`` says
        what became of each member's refit).
    scoring : str, default=None
        Metric the search and the ensemble selection maximise, from
        :data:`sknas.scoring.SCORINGS`; None means accuracy.
    device : {"auto", "cpu", "cuda"}, default="auto"
        ``"auto"`` trains on CUDA when a GPU is present; with several GPUs, trials
        go to them in turn.
    n_jobs : int, default=None
        Trials run at once, on the workers of the active joblib backend: loky
        processes by default, a Dask cluster under
        ``joblib.parallel_config(backend="dask")``. None means 1 (trials run in
        this process); -1 means all workers. Each trial gets the cores divided
        among the workers as torch and BLAS threads.
    synchronous_batch : int, default=None
        None: each trial is proposed as soon as a worker is free, from the results
        so far. An int ``k``: trials are proposed ``k`` at a time, and a batch's
        results are all told before the next batch; with ``n_trials`` and
        ``random_state`` the search is then the same for every ``n_jobs``.
    weight_inheritance : bool, default=True
        A network that evolution derives from a parent trial starts from the
        parent's trained weights wherever shapes allow (widening and new residual
        blocks keep what the parent computed); ``leaderboard_["inherited"]`` is the
        share of its parameters that did.
    init_from : fitted NASClassifier or NASRegressor, or DataFrame, default=None
        An earlier search to start from, on this or other data (any numbers of
        features and classes): its 8 best distinct configurations are the first
        trials (proposer ``"init_from"``; the fastest to train first), adapted to
        this search (numbers clipped into its ranges, families it does not search
        left out), and TPE counts their results as its own observations. Give the estimator or its
        ``leaderboard_``; only the latter survives :func:`sklearn.base.clone`
        (cross-validation, grid search), which unfits estimators, and it keeps
        this estimator's pickle free of the earlier models.
    portfolio : bool, default=True
        Try, after ``init_from``, first a default linear model and a default
        histogram gradient boosting on tables when the search runs on a time
        budget (proposer ``"baseline"``: seconds on any size, so that a good model
        exists before a slow trial could take the budget), then the
        built-in portfolio: configurations chosen offline to do well together
        over varied problems, or on images a few known-good convolution networks
        (proposer ``"portfolio"``; see
        :func:`sknas.transfer.load_portfolio`). A family among them does not also
        start from its default configuration. Strategies without ``enqueue``
        ignore it.
    checkpoint_dir : str or path-like, default=None
        A directory where the search records every finished trial (atomically).
        A ``fit`` killed at any moment and started again with the same directory,
        data and search parameters resumes without re-running finished trials;
        under a trial budget and ``random_state`` it ends as an uninterrupted run
        would. A directory written for other data or parameters is refused.
        Budgets, ``ensemble_size`` and ``refit`` may change between the runs.
    warm_start : bool, default=False
        A later ``fit`` on the same data, with the same search parameters,
        continues this search (the trials already run count towards ``n_trials``;
        ``time_budget`` is the new call's). The record is kept in memory and is not
        pickled.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the search and every network.
    verbose : int, default=0
        1: a progress bar on stderr (budget used, trials, best score so far);
        2: one log line per trial instead.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Columns of ``X``; for images, values per image (C x H x W).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the images ``fit`` saw, None for tables.
    text_columns_ : list
        The DataFrame columns vectorised as free text (empty for arrays and images).
    leaderboard_ : pandas.DataFrame
        One row per trial, best first; ``refit`` says, for the ensemble's members,
        ``"refit"`` or why the member trained on the training part was kept.
    best_params_ : dict
        Family, training parameters and genome of the best trial.
    best_score_ : float
        Its validation score.
    ensemble_ : FittedEnsemble
        What ``predict`` uses: ``members_``, ``weights_`` and ``trial_ids_``.
    reference_ : dict
        Statistics of the training inputs and of the ensemble's validation predictions
        and score, which ``monitor`` compares batches with (JSON-able; see
        :func:`sknas.monitoring.reference_statistics`).
    n_trials_ : int
    device_ : str
        Device the search trained on.
    timings_ : dict
        Seconds spent in ``fit``: ``search`` (from the start of ``fit``), ``trials``
        (training and validation prediction, summed over trials),
        ``ensemble_selection``, ``refit``, ``member_costs`` (measuring what each member
        costs to serve: ``leaderboard_``'s ``member_bytes``, ``predict_ms_1row`` and
        ``predict_ms_per_1000``, filled for the ensemble's members) and ``total``.

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

    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> NASClassifier:
        """Search, train and keep the best model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric values (NaN allowed); a DataFrame may also have categorical,
            string and bool columns.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, honoured by every family's training, by
            validation scoring and by ensemble selection.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` splitter such as ``GroupKFold``.

        Returns
        -------
        self : NASClassifier
        """
        return self._fit(X, y, sample_weight, groups)

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"NASClassifier needs samples of at least 2 classes in y; got 1 class "
                f"({encoder.classes_[0]!r})."
            )
        self.classes_ = encoder.classes_
        return encoder.transform(y)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``."""
        return self._predict_raw(X)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class NASRegressor(RegressorMixin, _BaseNAS):
    """Neural architecture search for regression, as a scikit-learn regressor.

    Same search as :class:`NASClassifier`; targets are standardised internally and
    predictions mapped back. ``scoring=None`` means R².

    Parameters
    ----------
    time_budget, n_trials, trial_timeout, families, image_shape, text_columns, strategy, \
max_epochs, pruner, validation_fraction, cv, ensemble_size, refit, scoring, device, \
n_jobs, synchronous_batch, weight_inheritance, init_from, portfolio, checkpoint_dir, warm_start, \
random_state, verbose
        As for :class:`NASClassifier`.

    Attributes
    ----------
    n_features_in_, feature_names_in_, image_shape_, text_columns_, leaderboard_, best_params_, \
best_score_, ensemble_, reference_, n_trials_, device_, timings_
        As for :class:`NASClassifier`.

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

    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> NASRegressor:
        """Search, train and keep the best model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric values (NaN allowed); a DataFrame may also have categorical,
            string and bool columns.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, honoured by every family's training, by
            validation scoring and by ensemble selection.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` splitter such as ``GroupKFold``.

        Returns
        -------
        self : NASRegressor
        """
        return self._fit(X, y, sample_weight, groups)

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets."""
        return self._predict_raw(X)
