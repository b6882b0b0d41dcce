"""The refit on all rows: its batch sizes, and the guard that keeps a member whose refit
went wrong."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris

from sknas import NASClassifier
from sknas.ensemble import (
    CONTINUE_EPOCHS_FACTOR,
    CONTINUE_SHARE,
    REFIT_TOLERANCE,
    continue_epochs,
    continue_reserve,
    refit_members,
    refit_reserve,
    refit_seconds,
)
from sknas.evaluation import Evaluator, make_split
from sknas.evaluation.callbacks import LearningRateSchedule
from sknas.evaluation.evaluator import CONTINUE_LR_SCALE
from sknas.evaluation.nets import MIN_STEPS_PER_EPOCH, batch_size_for
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.space import default_search_space
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

    def refit(self, candidate, n_epochs, deadline, start_from=None):
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

    def scrambled_refit(self, candidate, n_epochs, deadline=None, start_from=None):
        member = real_refit(self, candidate, n_epochs, deadline, start_from)
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


class _Continuing(_Evaluator):
    """Records how each member is refit; the refit scores as well as the original."""

    def __init__(self):
        super().__init__(_Constant([0.1, 0.9]))
        self.calls = []

    def refit(self, candidate, n_epochs, deadline, start_from=None):
        self.calls.append((candidate.trial_id, n_epochs, deadline, start_from))
        return self.refit_to


def _networks(*fit_times):
    """Two network trials of 20 epochs, weights 0.75 and 0.25."""
    selection = []
    for trial_id, (fit_time, weight) in enumerate(zip(fit_times, (0.75, 0.25), strict=True)):
        candidate = Candidate(trial_id, "cnn", {}, object(), 0, 20, "test")
        result = TrialResult(
            candidate,
            TrialState.COMPLETE,
            score=0.9,
            n_epochs=20,
            best_epoch=12,
            fit_time=fit_time,
            member=_Constant([0.1, 0.9]),
        )
        selection.append((result, weight))
    return selection


def test_networks_continue_for_the_epochs_their_share_of_the_time_left_allows():
    """Heaviest first, each continues from its own weights for the epochs that fit in its
    weight's share of the time left (at most CONTINUE_EPOCHS_FACTOR times its planned epochs)."""
    evaluator = _Continuing()
    selection = _networks(20.0, 0.5)  # an epoch on all rows: 1.25 s and 0.03 s
    now = time.monotonic()
    members = refit_members(
        selection, evaluator, data_ratio=1.25, deadline=now + 10.0, continue_networks=True
    )
    (first, epochs_a, ends_a, from_a), (second, epochs_b, _, from_b) = evaluator.calls
    assert (first, second) == (0, 1)
    assert from_a is selection[0][0].member and from_b is selection[1][0].member
    assert epochs_a == int(CONTINUE_SHARE * 0.75 * 10.0 / 1.25)  # 5 of its 20
    assert ends_a == pytest.approx(now + CONTINUE_SHARE * 0.75 * 10.0, abs=0.2)
    longest = CONTINUE_EPOCHS_FACTOR * 20  # 2.5 s of time would allow more
    assert epochs_b == longest
    assert [note for _, note in members] == [
        f"continued {epochs_a} epochs on all rows",
        f"continued {longest} epochs on all rows",
    ]


def test_a_network_without_time_for_its_fewest_epochs_is_kept_as_trained():
    evaluator = _Continuing()
    selection = _networks(200.0, 200.0)  # 12.5 s an epoch on all rows
    deadline = time.monotonic() + 10.0
    members = refit_members(
        selection, evaluator, data_ratio=1.25, deadline=deadline, continue_networks=True
    )
    assert evaluator.calls == []  # 9 s / 12.5 s is fewer than MIN_CONTINUE_EPOCHS
    assert [note for _, note in members] == ["kept: no time to continue before the deadline"] * 2
    assert members[0][0] is selection[0][0].member


def test_without_a_deadline_networks_are_refit_afresh():
    evaluator = _Continuing()
    refit_members(_networks(2.0, 2.0), evaluator, continue_networks=True)
    assert [(epochs, start) for _, epochs, _, start in evaluator.calls] == [(12, None)] * 2


def test_a_continued_network_starts_from_its_weights_at_a_lower_peak(monkeypatch):
    """One more epoch from the trial's weights keeps what 20 epochs learnt; one epoch
    from scratch does not. The restart peaks at CONTINUE_LR_SCALE of the trial's rate."""
    X, y = load_digits(return_X_y=True)
    split = make_split(
        X.astype(np.float32), y, task="classification", validation_fraction=0.2, seed=0
    )
    evaluator = Evaluator(split, get_prediction_scorer("accuracy", "classification"))
    family = default_search_space("classification", max_epochs=20)["mlp"]
    params, genome = family.decode(family.default_point())
    params |= {"lr": 1e-3, "max_epochs": 20}
    trial = evaluator(Candidate(0, "mlp", params, genome, 0, 20, "test"))
    peaks = []
    real_begin = LearningRateSchedule.on_train_begin

    def on_train_begin(self, net, X=None, **kwargs):
        peaks.append(net.lr)
        return real_begin(self, net, X, **kwargs)

    monkeypatch.setattr(LearningRateSchedule, "on_train_begin", on_train_begin)
    later = time.monotonic() + 60
    continued = evaluator.refit(trial.candidate, 1, later, start_from=trial.member)
    afresh = evaluator.refit(trial.candidate, 1, later)
    assert peaks == [pytest.approx(1e-3 * CONTINUE_LR_SCALE), pytest.approx(1e-3)]
    trained = evaluator.score_on_all_rows(trial.member)
    assert evaluator.score_on_all_rows(continued) >= trained - 0.01
    assert evaluator.score_on_all_rows(afresh) < trained - 0.05


def test_an_image_search_keeps_back_only_what_continuing_its_best_trial_needs():
    history = SearchHistory()
    assert continue_reserve(history, most=40.0) == 40.0  # nothing completed yet
    trials = [(0.9, 60.0, 10, 40.0), (0.95, 10.0, 10, 25.0), (0.97, 3.5, 7, 12.5)]
    for trial_id, (score, fit_time, epochs, expected) in enumerate(trials):
        candidate = Candidate(trial_id, "cnn", {"max_epochs": 10}, None, 0, epochs, "test")
        history.add(
            TrialResult(
                candidate, TrialState.COMPLETE, score=score, fit_time=fit_time, n_epochs=epochs
            )
        )
        # the best's most epochs on all rows (twice its planned 10) at its time per epoch
        # x 1.25 of the rows, at most 40 s: the last, cut to 7 epochs, 20 x 0.5 s x 1.25
        assert CONTINUE_EPOCHS_FACTOR == 2
        assert continue_reserve(history, most=40.0, data_ratio=1.25) == pytest.approx(expected)


def test_a_network_cut_short_continues_for_twice_its_planned_epochs():
    """An evolved child whose schedule the deadline shortened carries weights trained
    for its plan's epochs: the cap counts the plan, not the epochs it trained."""
    evaluator = _Continuing()
    candidate = Candidate(0, "cnn", {"max_epochs": 24}, object(), 0, 7, "evolution")
    child = TrialResult(
        candidate,
        TrialState.COMPLETE,
        score=0.9,
        n_epochs=7,
        fit_time=0.7,
        member=_Constant([0.1, 0.9]),
    )
    assert continue_epochs(child) == 2 * 24
    refit_members(
        [(child, 1.0)], evaluator, deadline=time.monotonic() + 60.0, continue_networks=True
    )
    assert [epochs for _, epochs, _, _ in evaluator.calls] == [48]  # 0.1 s each: time for more
