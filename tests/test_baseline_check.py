"""Ensemble selection checked against the default baselines on held-out rows."""

from __future__ import annotations

import numpy as np
import pytest

from sknas.ensemble import check_against_baselines, select_members
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.trial import Candidate, TrialResult, TrialState

R2 = get_prediction_scorer("r2", "regression")
MSE = get_prediction_scorer("neg_mean_squared_error", "regression")


def _history(y: np.ndarray, predictions: list[np.ndarray], proposers: list[str]) -> SearchHistory:
    history = SearchHistory()
    for i, (pred, proposer) in enumerate(zip(predictions, proposers, strict=True)):
        candidate = Candidate(i, "mlp", {}, None, i, 1, proposer)
        history.add(
            TrialResult(
                candidate,
                TrialState.COMPLETE,
                score=R2(y, pred),
                fit_time=1.0,
                n_epochs=1,
                valid_pred=pred,
                member=object(),
            )
        )
    return history


def _noisy_problem(seed: int, n: int = 300, lucky: int = 40):
    """Targets, a baseline that knows the signal, and ``lucky`` models that are the
    baseline plus noise of their own: none is better, some look better by chance."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = signal + rng.normal(size=n)
    baseline = signal.copy()
    others = [baseline + rng.normal(scale=0.6, size=n) for _ in range(lucky)]
    return y, [baseline, *others]


def _select(history, y):
    selection = select_members(history, y, R2, ensemble_size=25, tie_breaker=MSE)
    return selection, check_against_baselines(
        selection, history, y, R2, ensemble_size=25, tie_breaker=MSE
    )


@pytest.mark.parametrize("seed", range(5))
def test_a_selection_of_lucky_models_gives_way_to_the_baseline(seed):
    y, predictions = _noisy_problem(seed)
    history = _history(y, predictions, ["baseline"] + ["tpe"] * (len(predictions) - 1))
    selection, (checked, note) = _select(history, y)
    assert len(selection) >= 2  # the selection blends in lucky noise ...
    assert [(r.candidate.trial_id, w) for r, w in checked] == [(0, 1.0)]  # ... the check not
    assert note.startswith("chosen alone: held out over 5 folds")


@pytest.mark.parametrize("seed", range(5))
def test_a_single_lucky_model_gives_way_to_the_baseline(seed):
    """The best-looking of 200 models that are the baseline plus noise, selected alone
    (``ensemble_size=1``, or a selection that settles on one trial)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=300)
    y = signal + rng.normal(size=300)
    predictions = [signal] + [signal + rng.normal(scale=0.25, size=300) for _ in range(200)]
    history = _history(y, predictions, ["baseline"] + ["tpe"] * 200)
    selection = select_members(history, y, R2, ensemble_size=1)
    assert [r.candidate.trial_id for r, _ in selection] != [0]  # one looks best by luck
    checked, note = check_against_baselines(selection, history, y, R2, ensemble_size=1)
    assert [(r.candidate.trial_id, w) for r, w in checked] == [(0, 1.0)]
    assert note.startswith("chosen alone")
    alone, note = check_against_baselines(checked, history, y, R2, ensemble_size=1)
    assert alone == checked and note is None  # a baseline alone is not checked again


@pytest.mark.parametrize("seed", range(5))
def test_a_model_that_knows_more_than_the_baseline_keeps_the_selection(seed):
    y, predictions = _noisy_problem(seed)
    rng = np.random.default_rng(100 + seed)
    better = 0.7 * y + 0.3 * predictions[0] + rng.normal(scale=0.1, size=len(y))
    predictions = [predictions[0], better, *predictions[1:6]]
    history = _history(y, predictions, ["baseline"] + ["tpe"] * (len(predictions) - 1))
    selection, (checked, note) = _select(history, y)
    assert note is None and checked == selection
    assert 1 in {r.candidate.trial_id for r, _ in checked}


def test_without_baselines_or_on_many_rows_nothing_is_checked():
    y, predictions = _noisy_problem(0)
    history = _history(y, predictions, ["tpe"] * len(predictions))
    selection, (checked, note) = _select(history, y)
    assert note is None and checked == selection
    y, predictions = _noisy_problem(0, n=4_000, lucky=3)
    history = _history(y, predictions, ["baseline"] + ["tpe"] * 3)
    _, (_, note) = _select(history, y)
    assert note is None


def test_weighted_scorers_are_subset_with_their_rows():
    y, predictions = _noisy_problem(1)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    history = _history(y, predictions, ["baseline"] + ["tpe"] * (len(predictions) - 1))
    selection = select_members(history, y, R2.weighted(weights), ensemble_size=25)
    checked, note = check_against_baselines(
        selection,
        history,
        y,
        R2.weighted(weights),
        ensemble_size=25,
        tie_breaker=MSE.weighted(weights),
    )
    assert [r.candidate.trial_id for r, _ in checked] == [0] and note is not None
