"""From a finished search to the ensemble a fitted estimator serves: select, then refit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..history import SearchHistory
from ..scoring import PredictionScorer
from ..trial import TrialResult
from .costs import one_row_ms
from .greedy import GreedyEnsembler

__all__ = [
    "CONTINUE_EPOCHS_FACTOR",
    "CONTINUE_SHARE",
    "MIN_CONTINUE_EPOCHS",
    "REFIT_TOLERANCE",
    "continue_epochs",
    "continue_reserve",
    "refit_members",
    "refit_reserve",
    "refit_seconds",
    "select_members",
]


def select_members(
    history: SearchHistory,
    y_valid: np.ndarray,
    scorer: PredictionScorer,
    *,
    ensemble_size: int,
    tie_breaker: PredictionScorer | None = None,
    max_predict_ms: float | None = None,
    X_probe: np.ndarray | None = None,
) -> list[tuple[TrialResult, float]]:
    """Caruana ensemble selection over every scored trial (completed or pruned).

    Parameters
    ----------
    history : SearchHistory
    y_valid : ndarray
        Validation targets the stored predictions are scored against.
    scorer : PredictionScorer
    ensemble_size : int
        Selection rounds; 1 keeps the best single trial.
    tie_breaker : PredictionScorer or None
        Decides between additions with equal scores (see :class:`GreedyEnsembler`).
    max_predict_ms : float or None, default=None
        A latency budget: the most milliseconds the chosen members may take together
        to predict one row (each member's time measured here by :func:`one_row_ms` on
        ``X_probe``, for the :data:`~sknas.ensemble.MAX_CANDIDATES` best trials only).
        Selection then only adds members that keep within it, so a slow member enters
        only where the budget leaves room for it; when no member fits alone, the
        fastest is kept. None: no budget. Validation and preprocessing time are not
        counted, and a refit member predicts about as fast as the member measured.
    X_probe : ndarray or None, default=None
        One preprocessed row, as the members receive them; needed with
        ``max_predict_ms``.

    Returns
    -------
    list of (TrialResult, weight)
        Heaviest first; weights sum to one.
    """
    scored = history.kept()
    if not scored:
        raise ValueError("No trial with a validation score to build an ensemble from.")
    if max_predict_ms is not None and X_probe is None:
        raise ValueError("select_members with max_predict_ms needs X_probe, a row to time.")

    def cost(i: int) -> float:
        return one_row_ms(scored[i].member, X_probe[:1])

    if ensemble_size <= 1 and max_predict_ms is None:
        best = history.best()
        if best is None or best.candidate.trial_id not in history.artifacts:
            return [(max(scored, key=lambda r: r.score), 1.0)]
        return [(history.with_artifacts(best), 1.0)]
    ensembler = GreedyEnsembler(
        max(ensemble_size, 1), tie_breaker=tie_breaker, max_cost=max_predict_ms
    )
    weights = ensembler.select(
        [r.valid_pred for r in scored], y_valid, scorer, None if max_predict_ms is None else cost
    )
    order = np.argsort(-weights, kind="stable")
    return [(scored[i], float(weights[i])) for i in order if weights[i] > 0]


#: A refit member is kept only when its score on every searched row is at most this
#: share (of the score's magnitude) below the member it would replace.
REFIT_TOLERANCE = 0.02
#: Fewest epochs a network continues for on all rows (``continue_networks``): fewer
#: would spend most of them warming the learning rate up and down again.
MIN_CONTINUE_EPOCHS = 2
#: Share of its time a continuing network plans to train (``continue_networks``): the
#: rest absorbs a first epoch slower than the trial's and scoring the result.
CONTINUE_SHARE = 0.9
#: Most epochs a network continues for, as a multiple of its planned epochs
#: (``continue_networks``, :func:`continue_epochs`). With at most its trial's epochs, a
#: 240 s digits28 search whose selection was its cheapest CNN left 31 s of its reserve
#: unused.
CONTINUE_EPOCHS_FACTOR = 2


def refit_members(
    selection: Sequence[tuple[TrialResult, float]],
    evaluator: Any,
    *,
    data_ratio: float = 1.0,
    deadline: float | None = None,
    continue_networks: bool = False,
) -> list[tuple[Any, str]]:
    """Retrain selected members on all data, heaviest first, while the deadline allows.

    Each member trains for the epochs at which it had its best validation loss. With
    ``continue_networks`` (and a deadline), a network member instead continues from its
    trained weights on all rows, for the epochs that fit in its share of the time left
    (shares in proportion to the weights of the members still to go; at most
    :func:`continue_epochs`, at least :data:`MIN_CONTINUE_EPOCHS`): a CNN on a CPU gains from
    every epoch and row that a budget allows, and a refit from scratch rarely fits.
    A member keeps the model trained on the training part when its predicted refit time
    (its trial's training time, scaled by epochs and ``data_ratio``) would pass
    ``deadline``, when its refit fails or is cut short, and when the refit scores
    clearly worse on the rows both have seen or held out (every searched row, the
    search's metric: more than :data:`REFIT_TOLERANCE` of the score's magnitude lower)
    than the model it would replace: a refit has those rows as training data, so
    scoring lower there means its training went wrong.

    Parameters
    ----------
    selection : sequence of (TrialResult, weight)
    evaluator : object
        Has ``refit(candidate, n_epochs, deadline, start_from=None) -> member or None``
        and ``score_on_all_rows(member) -> float``.
    data_ratio : float, default=1.0
        Rows of all data / rows of the training part.
    deadline : float or None
        ``time.monotonic()`` value.
    continue_networks : bool, default=False
        Continue network members from their weights instead of training them afresh.

    Returns
    -------
    list of (member, str)
        One member per selected trial, in order, and what became of its refit
        (``"refit"``, ``"continued N epochs on all rows"``, or why the member trained on
        the training part was kept).
    """
    members = []
    weight_left = sum(weight for _, weight in selection)
    for result, weight in selection:
        original = result.member
        share, weight_left = weight / max(weight_left, 1e-12), weight_left - weight
        start_from, ends = None, deadline
        if continue_networks and deadline is not None and result.candidate.genome is not None:
            now = time.monotonic()
            ends = now + CONTINUE_SHARE * share * (deadline - now)  # this member's own
            seconds = result.fit_time / max(1, result.n_epochs) * data_ratio  # an epoch
            epochs = min(continue_epochs(result), int((ends - now) / max(seconds, 1e-9)))
            expected, start_from = epochs * seconds, original
            if epochs < MIN_CONTINUE_EPOCHS:
                members.append((original, "kept: no time to continue before the deadline"))
                continue
        else:
            epochs = max(1, result.best_epoch or result.n_epochs)
            expected = refit_seconds(result, data_ratio)
        if deadline is not None and time.monotonic() + expected >= deadline:
            members.append((original, "kept: no time to refit before the deadline"))
            continue
        refit = evaluator.refit(result.candidate, epochs, ends, start_from=start_from)
        if refit is None:
            members.append((original, "kept: the refit failed or was cut by the deadline"))
            continue
        before = evaluator.score_on_all_rows(original)
        after = evaluator.score_on_all_rows(refit)
        if not after >= before - REFIT_TOLERANCE * abs(before):  # NaN too
            note = f"kept: the refit scored {after:.4f} on all rows, the original {before:.4f}"
            members.append((original, note))
        elif start_from is not None:
            members.append((refit, f"continued {epochs} epochs on all rows"))
        else:
            members.append((refit, "refit"))
    return members


def refit_seconds(result: TrialResult, data_ratio: float = 1.0) -> float:
    """Predicted seconds to refit ``result``'s member on all rows: its training time,
    scaled to the epochs of its best validation loss and by ``data_ratio`` (rows of all
    data / rows it trained on)."""
    epochs = max(1, result.best_epoch or result.n_epochs)
    return result.fit_time * epochs / max(1, result.n_epochs) * data_ratio


def refit_reserve(history: SearchHistory, most: float, data_ratio: float = 1.0) -> float:
    """Seconds a search keeps back before its deadline for refitting, now.

    ``most`` while the best completed trial so far could be refit in it (or none has
    completed); nothing once the best would take longer than ``most`` to refit: it would
    be kept as trained anyway (:func:`refit_members`), so the time goes to the search. On
    images and large tables, where one trial takes more than a tenth of the budget, the
    reserve was otherwise spent waiting.

    Examples
    --------
    >>> from sknas.history import SearchHistory
    >>> refit_reserve(SearchHistory(), most=6.0)
    6.0
    """
    best = history.best()
    if best is None or refit_seconds(best, data_ratio) <= most:
        return most
    return 0.0


def continue_epochs(result: TrialResult) -> int:
    """Most epochs ``result``'s network continues for on every row: its planned epochs
    (the configuration's ``max_epochs``, or the epochs it trained if more) times
    :data:`CONTINUE_EPOCHS_FACTOR`.

    The plan, not the epochs trained: an evolved child whose schedule the deadline cut to
    7 epochs carries weights its parent trained for 24, and a 240 s digits28 search that
    chose such a child continued it for 14 epochs and ended 53 s early.

    Examples
    --------
    >>> from sknas.trial import Candidate, TrialResult, TrialState
    >>> child = Candidate(3, "cnn", {"max_epochs": 24}, None, 0, 7, "evolution")
    >>> continue_epochs(TrialResult(child, TrialState.COMPLETE, n_epochs=7))
    48
    """
    planned = int(result.candidate.params.get("max_epochs", 1))
    return CONTINUE_EPOCHS_FACTOR * max(1, result.n_epochs, planned)


def continue_reserve(history: SearchHistory, most: float, data_ratio: float = 1.0) -> float:
    """Seconds an image search keeps back, now, to continue its networks on every row.

    ``most``, or less once the best completed trial could continue for the most epochs
    it may on every row in less (its time per epoch, scaled by ``data_ratio``, times
    :func:`continue_epochs`; :func:`refit_members` with ``continue_networks``): the time
    it would not use goes to the search.

    Examples
    --------
    >>> from sknas.history import SearchHistory
    >>> continue_reserve(SearchHistory(), most=40.0)
    40.0
    """
    best = history.best()
    if best is None:
        return most
    epoch = best.fit_time / max(1, best.n_epochs) * data_ratio
    return min(most, continue_epochs(best) * epoch)
