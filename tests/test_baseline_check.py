"""Ensemble selection checked against the default baselines on held-out rows."""

from __future__ import annotations

import numpy as np
import pytest

from sknas.ensemble import check_against_baselines, select_members
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.trial import Candidate, TrialResult, TrialState

R2 = get_prediction_scorer("r2", "regression")
ACCURACY = get_prediction_scorer("accuracy", "classification")
LOG_LOSS = get_prediction_scorer("neg_log_loss", "classification")
MSE = get_prediction_scorer("neg_mean_squared_error", "regression")


def _history(
    y: np.ndarray, predictions: list[np.ndarray], proposers: list[str], scorer=R2
) -> SearchHistory:
    history = SearchHistory()
    for i, (pred, proposer) in enumerate(zip(predictions, proposers, strict=True)):
        candidate = Candidate(i, "mlp", {}, None, i, 1, proposer)
        history.add(
            TrialResult(
                candidate,
                TrialState.COMPLETE,
                score=scorer(y, pred),
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


def test_a_tie_held_out_goes_to_the_baseline():
    """Same labels as the baseline on every one of 40 rows, but calibrated: log loss
    breaks the tie for the selection; held out it is no better, so the default stands."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=40)
    right = np.where(rng.uniform(size=40) < 0.8, y, 1 - y)  # about 80 % of the labels right
    baseline = np.column_stack([1 - right, right]) * 0.4 + 0.3  # probabilities 0.3 / 0.7
    calibrated = np.column_stack([1 - right, right]) * 0.6 + 0.2  # 0.2 / 0.8
    history = _history(y, [baseline, calibrated], ["baseline", "tpe"], scorer=ACCURACY)
    selection = select_members(history, y, ACCURACY, ensemble_size=5, tie_breaker=LOG_LOSS)
    assert [r.candidate.trial_id for r, _ in selection] == [1]
    checked, note = check_against_baselines(
        selection, history, y, ACCURACY, ensemble_size=5, tie_breaker=LOG_LOSS
    )
    assert [(r.candidate.trial_id, w) for r, w in checked] == [(0, 1.0)]
    accuracy = np.mean(right == y)
    assert f"scored {accuracy:.4f} and the better default baseline {accuracy:.4f}" in note


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
