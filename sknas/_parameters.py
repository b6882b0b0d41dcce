"""The estimators' parameters: their constraints, the checks scikit-learn's constraints
cannot express, and the parameter and attribute sections of both docstrings."""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator

from .engine import STRATEGIES
from .fidelity import PRUNER_METHODS
from .scoring import SCORINGS
from .utils._compat import HasMethods, Interval, StrOptions

__all__ = ["ATTRIBUTES", "PARAMETERS", "check_parameter_values", "parameter_constraints"]

_SHARED_CONSTRAINTS: dict[str, list[Any]] = {
    "time_budget": [Interval(Real, 0, None, closed="neither"), None],
    "n_trials": [Interval(Integral, 1, None, closed="left"), None],
    "trial_timeout": [Interval(Real, 0, None, closed="neither"), None],
    "families": [StrOptions({"auto"}), list, tuple],
    "image_shape": [tuple, list, None],
    "sequence_shape": [tuple, list, None],
    "text_columns": ["array-like", None],
    "strategy": [
        StrOptions(set(STRATEGIES)),
        HasMethods(["reset", "propose", "observe", "state_dict", "load_state_dict"]),
    ],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "pruner": [StrOptions({"successive_halving", "none"}), HasMethods(list(PRUNER_METHODS))],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"})],
    "cv": [
        StrOptions({"auto"}),
        Interval(Integral, 2, None, closed="left"),
        HasMethods(["split", "get_n_splits"]),
        None,
    ],
    "ensemble_size": [Interval(Integral, 1, None, closed="left")],
    "max_predict_ms": [Interval(Real, 0, None, closed="neither"), None],
    "refit": ["boolean"],
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


def parameter_constraints(task: str) -> dict[str, list[Any]]:
    """The constraints of the estimator for ``task`` (its own ``scoring`` names only)."""
    return _SHARED_CONSTRAINTS | {"scoring": [StrOptions(set(SCORINGS[task])), None]}


def check_parameter_values(estimator: Any) -> None:
    """What the constraints above cannot say: ``device`` strings and ``n_jobs=0``."""
    device = estimator.device
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:index]', got {device!r}.")
    if estimator.n_jobs == 0:
        raise ValueError("n_jobs=0 runs nothing; use None or 1 (one at a time), k or -1.")


PARAMETERS = """\
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
        Model families to search: the networks ``"mlp"``, ``"resnet_mlp"``, for
        images ``"cnn"`` and for sequences ``"cnn1d"``; the classical
        ``"hist_gbdt"`` (histogram gradient boosting), ``"linear"`` (logistic
        regression or ridge), ``"random_forest"`` (random forest or extra trees)
        and, for sequences, ``"minirocket"`` (MiniRocket features and a ridge or
        logistic head; needs the ``sequences`` extra, aeon). ``"auto"`` searches all
        five tabular families on tables, ``cnn`` on images (``families=["cnn",
        "mlp"]`` adds the MLP), and ``minirocket`` and ``cnn1d`` on sequences (a
        sequence search needs one of these two).
    image_shape : tuple of int, default=None
        ``(C, H, W)`` when the rows of a 2-d ``X`` are flattened images (such as
        digits' 64 features as ``(1, 8, 8)``). Arrays of shape ``(n, C, H, W)`` are
        taken as images without it (grayscale ``(n, H, W)`` arrays need their
        channel axis: ``X[:, None]``).
    sequence_shape : tuple of int, default=None
        ``(C, L)`` when the rows of a 2-d ``X`` are flattened sequences of ``C``
        channels and ``L`` time steps (channel by channel). Arrays of shape
        ``(n, C, L)`` are taken as sequences without it. Sequences must have one
        length and no missing values (pad or fill them first).
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
    validation_fraction : float or "auto", default="auto"
        Share of the training rows held out (stratified) to score candidates when
        ``cv`` makes no folds. ``"auto"``: a fifth of the rows, at most 25,000
        (``sknas.evaluation.data.VALIDATION_MAX_ROWS``), so that large tables train
        on the rest.
    cv : "auto", int, cross-validation splitter or None, default="auto"
        How trials are scored. None: on a holdout of ``validation_fraction``. An
        int ``k >= 2``: k shuffled folds (stratified for classification; with
        ``groups`` given to ``fit``, each group on one side, as in the holdout); or any
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
    max_predict_ms : float or None, default=None
        A latency budget for ensemble selection: the most milliseconds the ensemble's
        members may take together to predict one row, each member timed on this machine
        at the end of the search (the fastest of three one-row predictions after a
        warm-up). Greedy selection then only adds members that keep the sum within it;
        members already chosen can gain weight freely; when no member fits alone, the
        fastest one is the ensemble. Input validation and preprocessing are not counted,
        and a whole predict can take longer than the sum when the members together
        exceed the CPU cache. None: no budget (selection by validation score alone).
    refit : bool, default=True
        Retrain the ensemble's members on all rows (with the epochs they reached)
        when the time budget allows; 10% of ``time_budget`` is kept for this. A
        refit that scores clearly worse on those rows than the member it would
        replace is discarded and the member kept (``leaderboard_["refit"]`` says
        what became of each member's refit).
    scoring : str, default=None
        Metric the search and the ensemble selection maximise, from
        :data:`sknas.scoring.SCORINGS`; None means accuracy. A binary classifier
        scored by balanced accuracy or an F1 score also tunes its decision threshold
        for it (``decision_threshold_``).
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
        histogram gradient boosting on tables, a default MiniRocket on sequences,
        when the search runs on a time budget (proposer ``"baseline"``: cheap for
        their data, so that a good model exists before a slow trial could take the
        budget, and the untuned defaults ensemble selection is checked against), then the
        built-in portfolio: configurations chosen offline to do well together
        over varied problems, or on images a few known-good convolution networks
        (proposer ``"portfolio"``; see
        :func:`sknas.transfer.load_portfolio`). A family among them does not also
        start from its default configuration.
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
"""

ATTRIBUTES = """\
    n_features_in_ : int
        Columns of ``X``; for images, values per image (C x H x W); for sequences,
        values per sequence (C x L).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` had string column names.
    image_shape_ : tuple of int or None
        The shape of one input ``fit`` saw: ``(C, H, W)`` for images, ``(C, L)`` for
        sequences, None for tables.
    sequence_shape_ : tuple of int or None
        ``(C, L)`` of the sequences ``fit`` saw, None for tables and images.
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
        Seconds spent in ``fit``: ``compile`` (numba compiling MiniRocket before the
        first trial, when the ``minirocket`` family is searched: about 20 s on a machine
        whose numba cache is empty, under a second after), ``search`` (from the start of
        ``fit``), ``trials``
        (training and validation prediction, summed over trials),
        ``ensemble_selection``, ``refit``, ``member_costs`` (measuring what each member
        costs to serve: ``leaderboard_``'s ``member_bytes``, ``predict_ms_1row`` and
        ``predict_ms_per_1000``, filled for the ensemble's members) and ``total``.
"""
