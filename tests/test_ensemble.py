"""Caruana ensemble selection and the fitted ensemble."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sknas.ensemble import FittedEnsemble, GreedyEnsembler, refit_members, select_members
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.trial import Candidate, TrialResult, TrialState

ACCURACY = get_prediction_scorer(None, "classification")


def _complementary(rng, n=300):
    """Three noisy probability models; each is right on a different two thirds."""
    y = rng.integers(0, 2, n)
    preds = []
    for k in range(3):
        proba = np.full((n, 2), 0.5)
        right = (np.arange(n) % 3) != k
        proba[np.arange(n), y] = np.where(right, 0.8, 0.3)
        proba[np.arange(n), 1 - y] = 1 - proba[np.arange(n), y]
        preds.append(proba)
    return y, preds


def test_selection_combines_complementary_models_and_beats_each(rng):
    y, preds = _complementary(rng)
    weights = GreedyEnsembler(10).select(preds, y, ACCURACY)
    assert weights.sum() == pytest.approx(1.0)
    assert (weights > 0).sum() >= 2
    ensemble = sum(w * p for w, p in zip(weights, preds, strict=True))
    assert ACCURACY(y, ensemble) == 1.0
    assert max(ACCURACY(y, p) for p in preds) < 0.7


def test_selection_never_does_worse_than_the_best_single_model_on_validation(rng):
    y = rng.integers(0, 3, 200)
    preds = [rng.dirichlet(np.ones(3), 200) for _ in range(6)]
    for size in (1, 3, 25):
        weights = GreedyEnsembler(size).select(preds, y, ACCURACY)
        ensemble = sum(w * p for w, p in zip(weights, preds, strict=True))
        assert ACCURACY(y, ensemble) >= max(ACCURACY(y, p) for p in preds)


def test_regression_selection_averages_unbiased_noisy_models(rng):
    y = rng.normal(size=500)
    preds = [y + rng.normal(scale=1.0, size=500) for _ in range(4)]
    scorer = get_prediction_scorer("neg_mean_squared_error", "regression")
    weights = GreedyEnsembler(20).select(preds, y, scorer)
    assert (weights > 0).sum() >= 3


class _Member:
    def __init__(self, value):
        self.value = value

    def predict(self, X):
        return np.full((len(X), 2), [1 - self.value, self.value])


def test_fitted_ensemble_averages_members_by_weight():
    ensemble = FittedEnsemble([_Member(0.2), _Member(0.8)], [1, 3], [4, 9])
    np.testing.assert_allclose(ensemble.predict(np.zeros((2, 1)))[0], [0.35, 0.65])
    assert ensemble.trial_ids_ == [4, 9] and ensemble.weights_.tolist() == [0.25, 0.75]
    with pytest.raises(ValueError, match="non-negative"):
        FittedEnsemble([_Member(0.2)], [-1], [0])
    with pytest.raises(ValueError, match="one weight"):
        FittedEnsemble([_Member(0.2)], [1, 2], [0])


class _Refitter:
    def __init__(self):
        self.calls = []

    def refit(self, candidate, n_epochs, deadline, start_from=None):
        self.calls.append((candidate.trial_id, n_epochs))
        return _Member(0.5)

    def score_on_all_rows(self, member):
        return member.value


def _history(rng):
    y, preds = _complementary(rng)
    history = SearchHistory()
    for i, pred in enumerate(preds):
        candidate = Candidate(i, "mlp", {"max_epochs": 9}, None, i, 9, "test")
        history.add(
            TrialResult(
                candidate,
                TrialState.COMPLETE,
                score=ACCURACY(y, pred),
                fit_time=1.0,
                n_epochs=9,
                valid_pred=pred,
                member=_Member(i / 10),
                best_epoch=6,
            )
        )
    return history, y


def test_selected_members_are_refit_with_the_epochs_they_reached(rng):
    history, y = _history(rng)
    selection = select_members(history, y, ACCURACY, ensemble_size=10)
    assert len(selection) >= 2 and sum(w for _, w in selection) == pytest.approx(1.0)
    refitter = _Refitter()
    members = refit_members(selection, refitter)
    assert len(refitter.calls) == len(members) == len(selection)
    assert {epochs for _, epochs in refitter.calls} == {6}
    assert all(member.value == 0.5 and note == "refit" for member, note in members)


def test_refits_that_do_not_fit_the_deadline_are_skipped(rng):
    history, y = _history(rng)
    selection = select_members(history, y, ACCURACY, ensemble_size=1)
    refitter = _Refitter()
    members = refit_members(selection, refitter, deadline=time.monotonic() + 0.1)
    assert refitter.calls == [] and len(members) == 1
    assert members[0] == (selection[0][0].member, "kept: no time to refit before the deadline")


def test_ties_in_accuracy_are_broken_by_the_smoother_metric():
    y = np.array([0, 1, 1, 0])
    confident = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8], [0.8, 0.2]])
    hesitant = np.array([[0.6, 0.4], [0.4, 0.6], [0.45, 0.55], [0.55, 0.45]])
    log_loss = get_prediction_scorer("neg_log_loss", "classification")
    weights = GreedyEnsembler(1, tie_breaker=log_loss).select([hesitant, confident], y, ACCURACY)
    assert weights.tolist() == [0.0, 1.0]
    assert GreedyEnsembler(1).select([hesitant, confident], y, ACCURACY).tolist() == [1.0, 0.0]


def _strong_and_weak(rng, n=300):
    """Model 2 right on 90 % of the rows, models 0 and 1 on 70 % (different rows)."""
    y = rng.integers(0, 2, n)
    preds = []
    for share in (0.7, 0.7, 0.9):
        right = rng.random(n) < share
        proba = np.full((n, 2), 0.0)
        proba[np.arange(n), y] = np.where(right, 0.8, 0.3)
        proba[np.arange(n), 1 - y] = 1 - proba[np.arange(n), y]
        preds.append(proba)
    return y, preds


def test_a_cost_budget_keeps_out_the_member_that_does_not_fit(rng):
    y, preds = _strong_and_weak(rng)
    costs = [1.0, 1.0, 5.0]
    free = GreedyEnsembler(10).select(preds, y, ACCURACY)
    assert free[2] > 0
    weights = GreedyEnsembler(10, max_cost=2.5).select(preds, y, ACCURACY, costs.__getitem__)
    # what selection makes of the two members that fit, as if the third did not exist
    np.testing.assert_array_equal(weights, [*GreedyEnsembler(10).select(preds[:2], y, ACCURACY), 0])
    # a budget that fits everything changes nothing
    unlimited = GreedyEnsembler(10, max_cost=7.0).select(preds, y, ACCURACY, costs.__getitem__)
    np.testing.assert_array_equal(unlimited, free)


def test_members_already_chosen_gain_weight_without_cost(rng):
    y, preds = _complementary(rng)
    costs = [2.0, 2.0, 2.0]
    weights = GreedyEnsembler(10, max_cost=2.0).select(preds, y, ACCURACY, costs.__getitem__)
    assert (weights > 0).sum() == 1


def test_when_nothing_fits_the_cheapest_member_is_the_ensemble(rng):
    y, preds = _complementary(rng)
    costs = [3.0, 2.0, 4.0]
    weights = GreedyEnsembler(10, max_cost=1.0).select(preds, y, ACCURACY, costs.__getitem__)
    assert weights.tolist() == [0.0, 1.0, 0.0]


def test_costs_are_asked_once_for_the_candidates_considered_only(rng):
    y, preds = _complementary(rng)
    asked = []

    def cost(i):
        asked.append(i)
        return 1.0

    GreedyEnsembler(10, max_candidates=2, max_cost=5.0).select(preds, y, ACCURACY, cost)
    assert sorted(asked) == sorted(set(asked)) and len(asked) == 2
    with pytest.raises(ValueError, match="needs each model's cost"):
        GreedyEnsembler(10, max_cost=5.0).select(preds, y, ACCURACY)


class _Slow(_Member):
    def predict(self, X):
        time.sleep(0.03)
        return super().predict(X)


def test_select_members_times_each_member_against_the_latency_budget(rng):
    history, y = _history(rng)
    free = select_members(history, y, ACCURACY, ensemble_size=10)
    slow_id = free[0][0].candidate.trial_id  # the heaviest member
    history.artifacts.get(slow_id).member.__class__ = _Slow  # 30 ms a call; the others microseconds
    probe = np.zeros((5, 1))
    budgeted = select_members(
        history, y, ACCURACY, ensemble_size=10, max_predict_ms=20.0, X_probe=probe
    )
    assert slow_id not in [r.candidate.trial_id for r, _ in budgeted]
    assert sum(w for _, w in budgeted) == pytest.approx(1.0)
    single = select_members(
        history, y, ACCURACY, ensemble_size=1, max_predict_ms=20.0, X_probe=probe
    )
    assert len(single) == 1 and single[0][0].candidate.trial_id != slow_id
    with pytest.raises(ValueError, match="needs X_probe"):
        select_members(history, y, ACCURACY, ensemble_size=10, max_predict_ms=20.0)
