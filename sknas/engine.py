"""The engine behind ``fit``: the search, ensemble selection and refits.

The estimator (:mod:`sknas._estimators`) validates its parameters and the data and
preprocesses; then it calls :func:`search_and_ensemble` once and sets its fitted
attributes from the :class:`FitOutcome`. Here the parts are wired together, reading the
estimator's parameters: the evaluator (a holdout or folds), the journal
(``checkpoint_dir``, ``warm_start``), the :class:`~sknas.study.Study` that owns the
trials, :func:`~sknas._search.run_search`, ensemble selection, refits, serving costs and
timings.
"""

from __future__ import annotations

import copy
import functools
import importlib
import time
import warnings
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._search import run_search
from ._validation import rows_for_fingerprint
from .artifacts import ArtifactStore
from .checkpoint import MemoryJournal, SearchJournal, fingerprint
from .cost_model import CostModel, DataSize
from .ensemble import (
    MAX_CANDIDATES,
    PROBE_ROWS,
    FittedEnsemble,
    check_against_baselines,
    continue_reserve,
    member_costs,
    refit_members,
    refit_reserve,
    select_members,
)
from .evaluation import Evaluator, make_split
from .evaluation.classical import CategoryCodes
from .evaluation.crossval import CrossValEvaluator, make_folds
from .evaluation.evaluator import LINEAR_MAX_ROWS
from .evaluation.nets import EPOCH_ROWS, batch_size_for
from .evaluation.rocket import compile_minirocket
from .evaluation.speed import training_seconds
from .exceptions import SearchFailedError
from .fidelity import make_pruner
from .history import SearchHistory
from .monitoring import ensemble_validation_predictions, reference_statistics
from .scoring import PredictionScorer, fit_decision_threshold, get_prediction_scorer
from .space import CLASSICAL_FAMILIES, SearchSpace, default_search_space
from .strategies import (
    Configuration,
    FusedStrategy,
    HyperoptStrategy,
    RandomStrategy,
    RegularizedEvolutionStrategy,
    Strategy,
)
from .study import Study
from .transfer import configurations_from_search, load_portfolio
from .trial import TrialResult
from .utils._logging import logger, verbose_logging
from .utils._progress import ProgressBar

__all__ = ["FitOutcome", "STRATEGIES", "search_and_ensemble", "starting_configurations"]

#: Budget used when neither ``time_budget`` nor ``n_trials`` is given (seconds).
DEFAULT_TIME_BUDGET = 60.0
#: Share of ``time_budget`` kept back from a holdout search for ensembling and refitting
#: while its best trial could be refit in it (:func:`~sknas.ensemble.refit_reserve`;
#: k-fold searches keep none: their members are bags, which are not refit).
REFIT_RESERVE = 0.10
#: Share of ``time_budget`` an image search (2-d CNNs, holdout) keeps back, at most, to
#: continue its chosen networks on every row (:func:`~sknas.ensemble.continue_reserve`,
#: :func:`~sknas.ensemble.refit_members` with ``continue_networks``): on symbols28 the
#: hand CNN trained 20 epochs on 80 % of the rows scored 0.960, 40 epochs on 80 % or 20
#: on all rows 0.976, and a 120 s search trained its best CNN 20 epochs on 80 % of the
#: rows and refit nothing.
CONTINUE_RESERVE = 1 / 3
#: Trained models a search keeps: the best ``MAX_CANDIDATES``, ranked as ensemble
#: selection ranks its library (score, then log loss or squared error), so it keeps
#: every model selection looks at (while they fit in :data:`KEPT_BYTES`) and no other.
KEPT_MODELS = MAX_CANDIDATES
#: Most bytes the kept models take (pickled, with their validation predictions; the
#: default baselines' on top), the lowest-ranked released first: models of a long search
#: on a large table otherwise piled up (a 300 s search on 40,000 rows of diamonds held
#: two random forests of 249 and 50 MiB to its end; a forest is now at most
#: :data:`~sknas.evaluation.classical.FOREST_MAX_BYTES`).
KEPT_BYTES = 256 * 2**20
#: Scored trials before evolution starts on images (``strategy="auto"``): as many as
#: the image portfolio's known-good CNNs. A CNN trial takes 20-75 s on 2 cores, so a
#: 120 s search scores 4-10 trials and never reached the fused strategy's twelve: on
#: digits28 every trial after the portfolio was a random TPE start-up network, most of
#: them pruned or skipped, and evolution with weight inheritance never ran.
IMAGE_TPE_TRIALS = 3
#: What the names ``strategy`` accepts stand for.
STRATEGIES = {
    "auto": FusedStrategy,
    "fused": FusedStrategy,
    "tpe": HyperoptStrategy,
    "evolution": RegularizedEvolutionStrategy,
    "random": RandomStrategy,
}


#: The first trials: cheap for their data and strong, so a search whose budget a slow
#: trial would otherwise take has a model early (families' default points): on tables
#: gradient boosting, then a linear model (boosting first: on large tables it is the one
#: that needs the time, and the one that wins), on sequences MiniRocket (each search
#: keeps those of its families).
BASELINES = (
    Configuration("hist_gbdt", {}),
    Configuration("linear", {}),
    Configuration("minirocket", {}),
)


def _log_trial(result: TrialResult, history: SearchHistory) -> None:
    """One line per finished trial on the ``sknas`` logger."""
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


@dataclass
class FitOutcome:
    """What a search produced, for the estimator's fitted attributes."""

    ensemble: FittedEnsemble
    leaderboard: pd.DataFrame
    best: TrialResult
    n_trials: int
    reference: dict[str, Any]
    timings: dict[str, float]
    warm_journal: MemoryJournal | None
    decision_threshold: float | None = None


def search_and_ensemble(
    est: Any,
    X: Any,
    X_model: list[Any],
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    groups: np.ndarray | None,
    *,
    starts: list[tuple[list[Configuration], str]],
    device: str,
    started: float,
    category_codes: CategoryCodes | None = None,
) -> FitOutcome:
    """Search with ``est``'s parameters, then select and refit the ensemble.

    Parameters
    ----------
    est : NASClassifier or NASRegressor
        Its parameters, validated, and ``image_shape_``.
    X : ndarray or DataFrame
        The validated rows (fingerprinted for the journal; reference statistics).
    X_model : list of one ndarray or sparse matrix
        ``X`` preprocessed: what the trials train on, handed over in a list that the
        search empties, so that on a holdout it holds one copy of the rows (its
        training and validation parts), not two.
    y : ndarray
        Encoded targets (class indices, or float values).
    sample_weight, groups : ndarray or None
    starts : list of (configurations, proposer)
        What the study queues first (:func:`starting_configurations`).
    device : str
        Resolved torch device.
    started : float
        ``time.monotonic()`` when ``fit`` began: the budget counts from it.
    category_codes : CategoryCodes or None, default=None
        ``X_model``'s one-hot blocks and columns of level codes
        (:func:`~sknas.evaluation.classical.category_codes_of`), which gradient boosting
        splits on natively.

    Raises
    ------
    SearchFailedError
        When no trial scored.
    """
    scorer = get_prediction_scorer(est.scoring, est._task)
    time_budget = est.time_budget
    if time_budget is None and est.n_trials is None:
        time_budget = DEFAULT_TIME_BUDGET
    deadline = None if time_budget is None else started + time_budget
    rng = check_random_state(est.random_state)
    split_seed, strategy_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    seeds = {"split": int(split_seed), "strategy": int(strategy_seed)}
    fold_settings = {
        "task": est._task,
        "n_features": X.shape[1],
        "time_budget": time_budget or DEFAULT_TIME_BUDGET,
        "groups": groups,
    }
    folds = make_folds(est.cv, y, seed=seeds["split"], **fold_settings)
    data = [rows_for_fingerprint(X), y, sample_weight, groups]
    journal = _open_journal(est, data, seeds, starts)
    if journal is not None and journal.seeds != seeds:  # a resumed search keeps its seeds
        seeds = journal.seeds
        folds = make_folds(est.cv, y, seed=int(seeds["split"]), **fold_settings)
    evaluator = _make_evaluator(
        est, X_model.pop(), y, sample_weight, groups, folds, scorer, device, seeds, category_codes
    )
    probe = evaluator.probe_rows(PROBE_ROWS)  # rows to time the members' predictions on
    space = _search_space(est, evaluator, time_budget if deadline is not None else None)
    _import_ahead(space)
    compile_seconds = _compile_ahead(space, evaluator.split.image_shape)
    history = _run_study(
        est, evaluator, space, int(seeds["strategy"]), deadline, time_budget, starts, journal
    )
    if isinstance(journal, MemoryJournal) and not history.interrupted:
        # Its models beyond the best KEPT_MODELS (and KEPT_BYTES) released:
        journal.keep_as([history.with_artifacts(r) for r in history.results])
    best = _best_trial(est, history, compile_seconds)
    search_done = time.monotonic()
    ensemble, selection_seconds, refit_notes = _select_and_refit(
        est, history, evaluator, deadline, probe[:1]
    )
    valid_pred = ensemble_validation_predictions(history, ensemble)
    scorer = evaluator.scorer  # weighted as the validation rows are
    if valid_pred is not None:
        threshold = fit_decision_threshold(scorer, evaluator.y_valid_true, valid_pred)
        scorer = replace(scorer, threshold=threshold)
    reference = reference_statistics(est, X, valid_pred, evaluator.y_valid_true, scorer)
    refit_done = time.monotonic()
    costs = member_costs(ensemble, probe, None if deadline is None else deadline + 1.0)
    finished = time.monotonic()
    timings = {
        "compile": compile_seconds,
        "search": search_done - started,
        "trials": sum(r.fit_time + r.predict_time for r in history.results),
        "ensemble_selection": selection_seconds,
        "refit": refit_done - search_done - selection_seconds,
        "member_costs": finished - refit_done,
        "total": finished - started,
    }
    return FitOutcome(
        ensemble=ensemble,
        leaderboard=history.to_frame(refit_notes, costs),
        best=best,
        n_trials=len(history.results),
        reference=reference,
        timings=timings,
        warm_journal=journal if isinstance(journal, MemoryJournal) else None,
        decision_threshold=scorer.threshold,
    )


def _make_evaluator(
    est: Any,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    groups: np.ndarray | None,
    folds: list[tuple[np.ndarray, np.ndarray]] | None,
    scorer: PredictionScorer,
    device: str,
    seeds: dict,
    category_codes: CategoryCodes | None,
) -> Evaluator | CrossValEvaluator:
    """What trains and scores a trial: on a holdout, or on every fold of ``folds``."""
    if folds is not None:
        return CrossValEvaluator(
            X,
            y,
            folds,
            task=est._task,
            scorer=scorer,
            sample_weight=sample_weight,
            image_shape=est.image_shape_,
            category_codes=category_codes,
            device=device,
            trial_timeout=est.trial_timeout,
        )
    split = make_split(
        X,
        y,
        task=est._task,
        validation_fraction=est.validation_fraction,
        seed=int(seeds["split"]),
        sample_weight=sample_weight,
        image_shape=est.image_shape_,
        category_codes=category_codes,
        in_place=True,  # X is the search's own matrix, handed over (search_and_ensemble)
        groups=groups,
    )
    return Evaluator(
        split, scorer.weighted(split.w_valid), device=device, trial_timeout=est.trial_timeout
    )


def starting_configurations(est: Any) -> list[tuple[list[Configuration], str]]:
    """What the search tries first, with the proposer named in the leaderboard:
    the best of ``init_from``, then cheap baselines and the built-in portfolio."""
    starts = []
    if est.init_from is not None:
        starts.append((configurations_from_search(est.init_from), "init_from"))
    if est.portfolio:
        if est.time_budget is not None or est.n_trials is None:  # a search on the clock
            starts.append((list(BASELINES), "baseline"))
        starts.append((load_portfolio(est._task, est.image_shape_), "portfolio"))
    return starts


def _open_journal(
    est: Any,
    data: list[np.ndarray | None],
    seeds: dict,
    starts: list[tuple[list[Configuration], str]],
) -> SearchJournal | MemoryJournal | None:
    """Where the search records itself: ``checkpoint_dir``, or memory for ``warm_start``
    (the previous fit's record when it searched the same ``data`` the same way)."""
    if est.checkpoint_dir is None and not est.warm_start:
        return None
    settings = _search_settings(est) | {
        "starts": [
            [proposer] + [c.key() for c in configurations] for configurations, proposer in starts
        ]
    }
    key = fingerprint(data, settings)
    if est.checkpoint_dir is not None:
        return SearchJournal(est.checkpoint_dir, key, seeds)
    previous = getattr(est, "_warm_journal", None)
    if previous is not None and previous.key == key:
        return previous
    return MemoryJournal(key, seeds)


def _search_settings(est: Any) -> dict[str, Any]:
    """The parameters that shape the search (not its budget, ensemble or logging)."""
    ignored = {"time_budget", "n_trials", "trial_timeout", "ensemble_size", "max_predict_ms"}
    ignored |= {"refit", "verbose", "warm_start", "checkpoint_dir", "n_jobs"}
    ignored |= {"init_from"}  # what it starts the search with counts (see _open_journal)
    settings = {
        name: value for name, value in est.get_params(deep=False).items() if name not in ignored
    }
    if not isinstance(est.strategy, str):  # its settings, not its identity
        settings["strategy"] = [type(est.strategy).__name__, vars(est.strategy)]
    if not isinstance(est.random_state, Integral):
        settings["random_state"] = None
    return settings


def _search_space(est: Any, evaluator: Evaluator, time_budget: float | None) -> SearchSpace:
    """The families ``est`` searches on the evaluator's data (``time_budget``: None for
    a search without a deadline)."""
    return default_search_space(
        est._task,
        max_epochs=est.max_epochs,
        families=est.families,
        image_shape=evaluator.split.image_shape,
        n_rows=evaluator.split.n_rows,
        sparse=evaluator.split.sparse,
        n_features=evaluator.split.n_features,
        time_budget=time_budget,
    )


def _import_ahead(space: SearchSpace) -> None:
    """Import what PyTorch imports the first time an optimizer is made (``torch._dynamo``
    and part of ``torch._inductor``, about 2 s), before the search when it trains
    networks, instead of inside its first network trial: a Ctrl-C there interrupted the
    import and left ``torch._inductor`` half imported, and every later ``torch.export``
    in the process (the ONNX export) failed."""
    if _classical_only(space):
        return
    importlib.import_module("torch._dynamo")


def _classical_only(space: SearchSpace) -> bool:
    """Whether ``space`` trains no networks."""
    return set(space.family_names) <= {*CLASSICAL_FAMILIES, "minirocket"}


def _compile_ahead(space: SearchSpace, sequence_shape: tuple[int, ...] | None) -> float:
    """Compile what the search's families run through numba before the first trial,
    returning the seconds it took (0 when nothing needs it).

    On a machine whose numba cache is empty, MiniRocket's first call compiles for about
    20 s: inside a trial, that time was the trial's, so the cost model priced every later
    ``minirocket`` trial as if it compiled again and the fold rule stopped the baseline
    after its first fold. Here the search pays it once, on its clock (``timings_
    ["compile"]``), and trials are timed as they run; in a process that already compiled,
    or with the cache filled, it takes well under a second.
    """
    if "minirocket" not in space.family_names:
        return 0.0
    started = time.monotonic()
    compile_minirocket(n_channels=sequence_shape[0] if sequence_shape else None)
    seconds = time.monotonic() - started
    logger.info("Compiled MiniRocket's numba functions in %.1f s.", seconds)
    return seconds


def _run_study(
    est: Any,
    evaluator: Evaluator,
    space: SearchSpace,
    seed: int,
    deadline: float | None,
    time_budget: float | None,
    starts: list[tuple[list[Configuration], str]],
    journal: SearchJournal | MemoryJournal | None = None,
) -> SearchHistory:
    """Run a study of ``space`` from the ``starts`` configurations, or from where
    ``journal`` stopped if it holds trials; with ``refit``, part of the time budget is
    kept back for refitting."""
    study = Study(
        _make_strategy(est.strategy, evaluator.split.image_shape),
        space,
        seed,
        starts=starts,
        pruner=make_pruner(est.pruner),
        journal=journal,
        artifacts=ArtifactStore(
            KEPT_MODELS,
            functools.partial(_tie_breaker(est, evaluator), evaluator.y_valid_true),
            max_bytes=KEPT_BYTES,
        ),
        weight_inheritance=est.weight_inheritance,
        cost_model=_cost_model(evaluator, None if deadline is None else time_budget, space),
    )
    bagged = isinstance(evaluator, CrossValEvaluator)  # bags are not refit
    reserve = None
    if deadline is not None and est.refit and not bagged and _continues(evaluator):
        reserve = functools.partial(
            continue_reserve, most=CONTINUE_RESERVE * time_budget, data_ratio=_data_ratio(evaluator)
        )
    elif deadline is not None and est.refit and not bagged:
        reserve = functools.partial(
            refit_reserve, most=REFIT_RESERVE * time_budget, data_ratio=_data_ratio(evaluator)
        )
    callbacks = [_log_trial]
    progress = ProgressBar(est.n_trials, deadline) if est.verbose == 1 else None
    if progress is not None:
        callbacks.append(progress)
    try:
        with verbose_logging(est.verbose >= 2):
            return run_search(
                study,
                evaluator,
                n_trials=est.n_trials,
                deadline=deadline,
                reserve=reserve,
                callbacks=callbacks,
                n_jobs=1 if est.n_jobs is None else est.n_jobs,
                synchronous_batch=est.synchronous_batch,
            )
    finally:
        if progress is not None:
            progress.close()


def _make_strategy(strategy: Any, image_shape: tuple[int, ...] | None) -> Strategy:
    """The search's strategy: ``strategy`` itself (a copy: what the user passed is never
    mutated) or the one it names; ``"auto"`` on images is the fused strategy with
    evolution from :data:`IMAGE_TPE_TRIALS` scored trials on."""
    if not isinstance(strategy, str):
        return copy.deepcopy(strategy)
    if strategy == "auto" and image_shape is not None and len(image_shape) == 3:
        return FusedStrategy(n_tpe_trials=IMAGE_TPE_TRIALS)
    return STRATEGIES[strategy]()


def _cost_model(
    evaluator: Evaluator | CrossValEvaluator, search_seconds: float | None, space: SearchSpace
) -> CostModel:
    """The cost model of a search of ``search_seconds`` over ``space`` on
    ``evaluator``'s data; on tables with networks in ``space`` and a time budget to plan,
    its dense networks priced by timing a few training steps on the device
    (:func:`training_seconds`)."""
    split = evaluator.split
    folds = len(evaluator.evaluators) if isinstance(evaluator, CrossValEvaluator) else 1
    model = CostModel(
        DataSize(
            n_train=split.n_rows,
            n_valid=len(split.y_valid),
            n_features=split.n_features,
            n_outputs=split.n_outputs,
            n_fits=folds,
            rows_per_epoch=EPOCH_ROWS,
            image_shape=split.image_shape,
            batch_size_for=functools.partial(batch_size_for, n_rows=split.n_rows),
            linear_rows=LINEAR_MAX_ROWS,
            boosting_features=split.n_coded_features,
            regression=split.task == "regression",
            density=split.density,
            weighted=split.w_train is not None,
        ),
        search_seconds,
    )
    if search_seconds is not None and split.image_shape is None and not _classical_only(space):
        started = time.monotonic()
        try:
            model.measure_networks(
                functools.partial(
                    training_seconds, n_outputs=split.n_outputs, device=evaluator.device
                )
            )
        except RuntimeError as error:  # torch's errors; the constants still price them
            logger.warning("Could not time networks on %s: %s", evaluator.device, error)
        else:
            seconds = time.monotonic() - started
            logger.info("Timed dense networks on %s in %.2f s.", evaluator.device, seconds)
    return model


def _best_trial(est: Any, history: SearchHistory, compile_seconds: float = 0.0) -> TrialResult:
    """The best scored trial; raise when there is none, warn when interrupted."""
    scored = history.scored()
    best = history.best() or max(scored, key=lambda r: r.score, default=None)
    if best is None:
        if history.interrupted:
            raise KeyboardInterrupt
        if not history.results:
            advice = (
                f"time_budget={est.time_budget} s ended before the first trial could run; "
                "give a larger time_budget (a few seconds at least)"
            )
            if compile_seconds >= 1.0:
                advice = (
                    f"compiling MiniRocket's numba code took {compile_seconds:.1f} s of the "
                    "budget (once per machine: later fits load it from numba's cache in "
                    "under a second); fit again, or raise time_budget"
                )
            raise SearchFailedError(f"No trial ran, so nothing was fitted: {advice}.")
        errors = sorted(
            {r.error or f"{r.state.value} without a finite score" for r in history.results}
        )
        raise SearchFailedError(
            f"All {len(history.results)} trials of the search failed, so nothing was "
            f"fitted. Errors: {'; '.join(errors[:5])}."
        )
    if history.interrupted:
        warnings.warn(
            f"The search was interrupted; the estimator is fitted from the "
            f"{len(scored)} trials that were scored.",
            UserWarning,
            stacklevel=6,
        )
    return best


def _tie_breaker(est: Any, evaluator: Evaluator) -> PredictionScorer:
    """What ranks members of equal validation scores: log loss or squared error."""
    smooth = "neg_log_loss" if est._task == "classification" else "neg_mean_squared_error"
    return get_prediction_scorer(smooth, est._task).weighted(evaluator.w_valid)


def _continues(evaluator: Evaluator | CrossValEvaluator) -> bool:
    """Whether a refit continues the chosen networks from their weights: on 2-d images
    searched on a holdout (:data:`CONTINUE_RESERVE`)."""
    shape = evaluator.split.image_shape
    return not isinstance(evaluator, CrossValEvaluator) and shape is not None and len(shape) == 3


def _data_ratio(evaluator: Evaluator) -> float:
    """Rows of all data / rows a holdout trial trains on: what a refit scales by."""
    split = evaluator.split
    return (split.n_rows + split.X_valid.shape[0]) / split.n_rows


def _select_and_refit(
    est: Any,
    history: SearchHistory,
    evaluator: Evaluator,
    deadline: float | None,
    X_probe: Any,
) -> tuple[FittedEnsemble, float, dict[int, str]]:
    """Select members on validation predictions, then refit them while time allows;
    also what became of each member's refit, by trial id."""
    started = time.monotonic()
    tie_breaker = _tie_breaker(est, evaluator)
    selection = select_members(
        history,
        evaluator.y_valid_true,
        evaluator.scorer,
        ensemble_size=est.ensemble_size,
        tie_breaker=tie_breaker,
        max_predict_ms=est.max_predict_ms,
        X_probe=X_probe,
    )
    check = None
    if est.max_predict_ms is None:  # a baseline alone might not keep a latency budget
        selection, check = check_against_baselines(
            selection,
            history,
            evaluator.y_valid_true,
            evaluator.scorer,
            ensemble_size=est.ensemble_size,
            tie_breaker=tie_breaker,
        )
    selection_seconds = time.monotonic() - started
    trial_ids = [r.candidate.trial_id for r, _ in selection]
    if isinstance(evaluator, CrossValEvaluator):  # bags saw every row: nothing to refit
        note = f"kept: a bag of {len(evaluator.evaluators)} fold models, no refit needed"
        refits = [(result.member, note) for result, _ in selection]
    elif est.refit:
        refits = refit_members(
            selection,
            evaluator,
            data_ratio=_data_ratio(evaluator),
            deadline=deadline,
            continue_networks=_continues(evaluator),
        )
    else:
        refits = [(result.member, "kept: refit=False") for result, _ in selection]
    ensemble = FittedEnsemble([m for m, _ in refits], [w for _, w in selection], trial_ids)
    notes = dict(zip(trial_ids, [note for _, note in refits], strict=True))
    if check is not None:
        notes[trial_ids[0]] = f"{check}; {notes[trial_ids[0]]}"
    return ensemble, selection_seconds, notes
