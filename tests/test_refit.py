"""The refit on all rows: its batch sizes, and the guard that keeps a member whose refit
went wrong."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sknas import NASClassifier
from sknas.ensemble import REFIT_TOLERANCE, refit_members, refit_reserve, refit_seconds
from sknas.evaluation import Evaluator
from sknas.evaluation.nets import MIN_STEPS_PER_EPOCH, batch_size_for
from sknas.history import SearchHistory
from sknas.trial import Candidate, TrialResult, TrialState


class _Constant:
    """A member that predicts the same probabilities for every row."""

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)

    def predict(self, X):
        return np.tile(self.proba, (len(X), 1))


class _Evaluator:
    """Refits to a given member; scores a member by its probability of class 1."""

    def __init__(self, refit_to):
        self.refit_to = refit_to

    def refit(self, candidate, n_epochs, deadline):
        return self.refit_to

    def score_on_all_rows(self, member):
        return float(member.proba[1])


def _selection(original):
    candidate = Candidate(3, "mlp", {}, None, 0, 10, "test")
    result = TrialResult(candidate, TrialState.COMPLETE, score=0.9, n_epochs=10, member=original)
    return [(result, 1.0)]


@pytest.mark.parametrize(
    "refit_score, kept",
    [(0.9, False), (0.9 * (1 - REFIT_TOLERANCE) + 1e-9, False), (0.8, True), (np.nan, True)],
)
def test_a_refit_clearly_worse_on_all_rows_is_discarded(refit_score, kept):
    original = _Constant([0.1, 0.9])
    refit = _Constant([1 - refit_score, refit_score])
    [(member, note)] = refit_members(_selection(original), _Evaluator(refit))
    if kept:
        assert member is original
        assert note.startswith("kept: the refit scored") and "the original 0.9000" in note
    else:
        assert member is refit and note == "refit"


def test_a_failed_refit_keeps_the_original_and_says_so():
    original = _Constant([0.1, 0.9])
    [(member, note)] = refit_members(_selection(original), _Evaluator(None))
    assert member is original and note == "kept: the refit failed or was cut by the deadline"


def test_epochs_take_several_optimizer_steps_whatever_the_searched_batch_size():
    for n_rows in (20, 106, 1_000, 50_000):
        for batch_size in (32, 64, 128, 256, 512):
            capped = batch_size_for(batch_size, n_rows)
            assert 16 <= capped <= batch_size or capped == batch_size
            if n_rows >= 16 * MIN_STEPS_PER_EPOCH:
                assert n_rows // capped >= MIN_STEPS_PER_EPOCH


def test_a_sabotaged_refit_is_caught_in_a_real_search(monkeypatch):
    """Refits whose weights are scrambled score far worse on the training rows: the
    estimator keeps the members trained on the training part, and says so."""
    X, y = load_iris(return_X_y=True)
    real_refit = Evaluator.refit

    def scrambled_refit(self, candidate, n_epochs, deadline=None):
        member = real_refit(self, candidate, n_epochs, deadline)
        if member is None or not hasattr(member, "weights"):
            return member
        rng = np.random.default_rng(0)
        weights = {
            k: rng.permutation(v.ravel()).reshape(v.shape) for k, v in member.weights.items()
        }
        return dataclasses.replace(member, weights=weights)

    monkeypatch.setattr(Evaluator, "refit", scrambled_refit)
    params = dict(
        n_trials=2, families=["mlp"], max_epochs=20, cv=None, portfolio=False, random_state=0
    )
    guarded = NASClassifier(**params).fit(X, y)
    unrefit = NASClassifier(**params, refit=False).fit(X, y)
    notes = guarded.leaderboard_.dropna(subset=["refit"])["refit"]
    assert len(notes) == len(guarded.ensemble_.members_)
    assert all(note.startswith("kept: the refit scored") for note in notes)
    assert "kept: the refit scored" in guarded.summary()
    np.testing.assert_array_equal(guarded.predict_proba(X), unrefit.predict_proba(X))
    assert guarded.score(X, y) > 0.9


def test_time_is_kept_back_for_refitting_only_while_the_best_trial_could_use_it():
    history = SearchHistory()
    assert refit_reserve(history, most=6.0) == 6.0  # nothing completed yet

    def add(trial_id, score, fit_time):
        candidate = Candidate(trial_id, "cnn", {}, None, 0, 10, "test")
        history.add(
            TrialResult(
                candidate,
                TrialState.COMPLETE,
                score=score,
                n_epochs=10,
                best_epoch=5,
                fit_time=fit_time,
            )
        )

    add(0, 0.8, fit_time=8.0)  # refit: 8 s x 5 / 10 epochs x 1.25 of the rows = 5 s
    assert refit_seconds(history.best(), data_ratio=1.25) == pytest.approx(5.0)
    assert refit_reserve(history, most=6.0, data_ratio=1.25) == 6.0
    add(1, 0.9, fit_time=40.0)  # the best now needs 25 s: it would be kept as trained
    assert refit_reserve(history, most=6.0, data_ratio=1.25) == 0.0
    add(2, 0.95, fit_time=1.0)
    assert refit_reserve(history, most=6.0, data_ratio=1.25) == 6.0


def test_refit_notes_in_the_leaderboard():
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=2, max_epochs=10, cv=None, portfolio=False, random_state=0)
    clf.fit(X, y)
    notes = clf.leaderboard_.set_index("trial_id")["refit"]
    for trial_id in clf.ensemble_.trial_ids_:
        assert notes[trial_id] == "refit" or notes[trial_id].startswith("kept:")
    outside = set(notes.index) - set(clf.ensemble_.trial_ids_)
    assert notes[list(outside)].isna().all()
