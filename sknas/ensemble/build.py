"""From a finished search to the ensemble a fitted estimator serves."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..history import SearchHistory
from ..scoring import PredictionScorer
from .fitted import FittedEnsemble
from .greedy import GreedyEnsembler

__all__ = ["build_ensemble"]


def build_ensemble(
    history: SearchHistory,
    y_valid: np.ndarray,
    scorer: PredictionScorer,
    *,
    ensemble_size: int,
    refit_with: Any = None,
    refit_data_ratio: float = 1.0,
    deadline: float | None = None,
) -> FittedEnsemble:
    """Select members by Caruana ensemble selection and optionally refit them on all data.

    Parameters
    ----------
    history : SearchHistory
        Trials with validation predictions and members (completed or pruned ones).
    y_valid : ndarray
        Validation targets the predictions are scored against.
    scorer : PredictionScorer
    ensemble_size : int
        Selection rounds; 1 keeps the best single trial.
    refit_with : object or None
        An evaluator with ``refit(candidate, n_epochs, deadline)``; None keeps the
        members trained on the training part.
    refit_data_ratio : float, default=1.0
        Rows of all data / rows of the training part, to predict refit times.
    deadline : float or None
        ``time.monotonic()`` value; a member is refit only if its predicted refit
        time fits before it, otherwise it keeps its training-part weights.

    Returns
    -------
    FittedEnsemble
    """
    scored = [r for r in history.results if r.scored and r.member is not None]
    if not scored:
        raise ValueError("No trial with a validation score to build an ensemble from.")
    if ensemble_size <= 1:
        best = history.best() or max(scored, key=lambda r: r.score)
        weights = np.array([1.0 if r is best else 0.0 for r in scored])
    else:
        weights = GreedyEnsembler(ensemble_size).select(
            [r.valid_pred for r in scored], y_valid, scorer
        )
    chosen = sorted((i for i in range(len(scored)) if weights[i] > 0), key=lambda i: -weights[i])
    members = []
    for i in chosen:
        result, member = scored[i], scored[i].member
        if refit_with is not None:
            epochs = max(1, result.best_epoch or result.n_epochs)
            expected = result.fit_time * epochs / max(1, result.n_epochs) * refit_data_ratio
            if deadline is None or time.monotonic() + expected < deadline:
                member = refit_with.refit(result.candidate, epochs, deadline) or member
        members.append(member)
    return FittedEnsemble(
        members, [weights[i] for i in chosen], [scored[i].candidate.trial_id for i in chosen]
    )
