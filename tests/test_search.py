"""run_search: budgets, callbacks and Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from helpers import ScriptedStrategy
from sklearn.datasets import make_classification

from sknas import NASClassifier
from sknas._search import run_search
from sknas.artifacts import ArtifactStore, TrialArtifacts
from sknas.engine import _best_trial
from sknas.evaluation.callbacks import FiniteLossGuard
from sknas.exceptions import SearchFailedError
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.space import default_search_space
from sknas.strategies import RandomStrategy
from sknas.study import Study
from sknas.trial import Candidate, TrialResult, TrialState


def _study():
    return Study(RandomStrategy(), default_search_space("classification", max_epochs=5), 0)


def _instant(candidate, deadline):
    return TrialResult(candidate, TrialState.COMPLETE, score=float(candidate.trial_id))


def test_trial_budget_and_callbacks():
    seen = []
    history = run_search(
        _study(),
        _instant,
        n_trials=4,
        callbacks=[lambda r, h: seen.append((r.candidate.trial_id, len(h.results)))],
    )
    assert [r.candidate.trial_id for r in history.results] == [0, 1, 2, 3]
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert history.best().candidate.trial_id == 3 and not history.interrupted


def test_deadline_budget_and_deadline_passed_to_trials():
    deadlines = []

    def slow(candidate, deadline):
        deadlines.append(deadline)
        time.sleep(0.05)
        return _instant(candidate, deadline)

    deadline = time.monotonic() + 0.5
    history = run_search(_study(), slow, deadline=deadline)
    # No trial starts after the deadline (at most 0.5 / 0.05 + 1 trials, fewer on a busy
    # machine); the one in flight then is not waited for long.
    assert time.monotonic() < deadline + 1.0
    assert 1 <= len(history.results) <= 11 and set(deadlines) == {deadline}


def test_the_reserve_is_asked_again_before_every_trial():
    deadlines = []

    def record(candidate, deadline):
        deadlines.append(deadline)
        return _instant(candidate, deadline)

    deadline = time.monotonic() + 1000.0
    # Time kept back while fewer than two trials have run, then none.
    reserve = lambda history: 100.0 if len(history.results) < 2 else 0.0  # noqa: E731
    run_search(_study(), record, n_trials=4, deadline=deadline, reserve=reserve)
    assert deadlines == [deadline - 100.0] * 2 + [deadline] * 2
    # A reserve the clock has already passed ends the search before its first trial.
    history = run_search(_study(), record, deadline=deadline, reserve=lambda history: 2000.0)
    assert history.results == []


def test_a_budget_is_required():
    with pytest.raises(ValueError, match="budget"):
        run_search(_study(), _instant)


@pytest.fixture(autouse=True)
def _python_handles_ctrl_c():
    """Ctrl-C as Python sets it up. In the whole suite an earlier test (or a library it
    loaded) left SIGINT ignored, and the search then rightly leaves Ctrl-C alone."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_swallowed_inside_a_trial_still_stops_the_search():
    def swallowing(candidate, deadline):
        if candidate.trial_id == 2:
            try:  # what skorch does with KeyboardInterrupt in partial_fit
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                pass
        return _instant(candidate, deadline)

    history = run_search(_study(), swallowing, n_trials=10)
    assert history.interrupted
    # the interrupted trial keeps the score it reached (usable, never resumed from)
    assert [r.state for r in history.results] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED]
    assert history.results[-1].error == "interrupted by user"
    assert history.results[-1].score == 2.0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _InterruptTheNextTrial(logging.Handler):
    """Ctrl-C half a second after the first trial completes, during the next one."""

    def __init__(self):
        super().__init__()
        self.interrupted_at = None

    def emit(self, record):
        if self.interrupted_at is None and "COMPLETE" in record.getMessage():
            self.interrupted_at = float("inf")
            threading.Thread(target=self._send, daemon=True).start()

    def _send(self):
        time.sleep(0.5)
        self.interrupted_at = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture(scope="module")
def larger_data():
    return make_classification(n_samples=5000, n_features=20, random_state=0)


def test_ctrl_c_during_fit_returns_a_fitted_estimator_with_a_warning(larger_data):
    X, y = larger_data
    clf = NASClassifier(time_budget=60, max_epochs=4, random_state=0)
    # Interrupt after a trial has completed (not after so many seconds, which a busy
    # machine may spend inside the first trial).
    handler = _InterruptTheNextTrial()
    logger = logging.getLogger("sknas")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            clf.fit(X, y)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert time.monotonic() - handler.interrupted_at < 30  # not the 60 s budget
    assert (clf.leaderboard_["state"] == "COMPLETE").sum() >= 1
    assert clf.score(X, y) > 0.8


#: A network whose epochs take a second or two on 4,000 rows, with far more epochs than
#: 40 s allow. At batch size 16 and width 1024 the first epoch took over 10 s on a slow
#: day of the 2-core machine, past the trial's share of the budget (a quarter).
_SLOW_EPOCHS = {"max_epochs": 500, "batch_size": 64, "arch__width": 512, "arch__n_layers": 4}


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_ctrl_c_during_the_first_trial_keeps_its_score(larger_data, monkeypatch):
    X, y = larger_data
    # One network with far more epochs than 40 s allow, no pruning: Ctrl-C at the end of
    # its first epoch lands inside its training (sent from there, not by a timer: the
    # first epoch of a process took 3-6 s here); skorch stops there and the trial is
    # still scored. At 20 s the trial's 5 s share could end before its first epoch.
    epoch_end = FiniteLossGuard.on_epoch_end

    def ctrl_c_after_the_first_epoch(self, net, **kwargs):
        epoch_end(self, net, **kwargs)
        if len(net.history) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(FiniteLossGuard, "on_epoch_end", ctrl_c_after_the_first_epoch)
    clf = NASClassifier(
        time_budget=40,
        cv=None,  # one holdout trial: "auto" cross-validates 4,000 rows at 40 s
        strategy=ScriptedStrategy([("mlp", _SLOW_EPOCHS)]),
        portfolio=False,
        pruner="none",
        max_epochs=500,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(X, y)
    first = clf.leaderboard_.iloc[0]
    assert clf.n_trials_ == 1 and first["state"] == "PRUNED"
    assert first["error"] == "interrupted by user" and first["n_epochs"] == 1
    assert clf.score(X, y) > 0.7


_CTRL_C_AT_THE_FIRST_OPTIMIZER = """
import os, signal, threading
import torch
from sklearn.datasets import make_classification
from sknas import NASClassifier

made = torch.optim.Optimizer.__init__
def ctrl_c_soon(self, *args, **kwargs):  # lands in the first optimizer's lazy imports
    torch.optim.Optimizer.__init__ = made
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    made(self, *args, **kwargs)
torch.optim.Optimizer.__init__ = ctrl_c_soon
X, y = make_classification(n_samples=300, random_state=0)
try:
    NASClassifier(time_budget=20, families=["mlp"], portfolio=False).fit(X, y)
except KeyboardInterrupt:  # when nothing was scored
    pass
torch.export.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),))
print("exported")
"""


@pytest.mark.slow  # a process of its own: importing torch and sknas takes seconds
def test_ctrl_c_in_the_first_network_trial_leaves_torch_whole():
    """PyTorch imports torch._dynamo (2 s) when the first optimizer is made; a Ctrl-C
    inside that import, in the first network trial, left half-imported modules behind,
    and torch.export (the ONNX export) then failed for the rest of the process."""
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_AT_THE_FIRST_OPTIMIZER],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("exported")


def test_second_ctrl_c_aborts_at_once():
    def swallowing_twice(candidate, deadline):
        for _ in range(2):
            try:  # skorch swallows KeyboardInterrupt, but not the second Ctrl-C's exception
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                pass
        return _instant(candidate, deadline)

    with pytest.raises(KeyboardInterrupt):
        run_search(_study(), swallowing_twice, n_trials=10)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_history_keeps_light_records_and_only_the_best_models(rng):
    history = SearchHistory(artifacts=ArtifactStore(max_models=3))
    scores = rng.permutation(10) / 10
    for i, score in enumerate(scores):
        candidate = Candidate(i, "mlp", {}, None, 0, 1, "test")
        result = TrialResult(candidate, TrialState.COMPLETE, float(score), member=object())
        record = history.add(replace(result, valid_pred=np.zeros(2)))
        assert record.member is None and record.valid_pred is None
    assert all(r.member is None and r.valid_pred is None for r in history.results)
    kept = sorted(r.score for r in history.kept())
    assert kept == sorted(scores)[-3:] and len(history.artifacts) == 3
    assert all(r.member is not None and r.valid_pred is not None for r in history.kept())
    assert len(history.results) == 10 and history.best().score == max(scores)


def test_the_store_releases_the_lowest_ranked_models_beyond_its_bytes(rng):
    """Forests of hundreds of MiB piled up in long searches: the store's bytes are
    bounded, the best models kept first, and a model larger than the bound alone stays
    only when it is the best."""
    store = ArtifactStore(max_models=50, max_bytes=1_000_000)
    pred = np.zeros(100)  # 800 bytes
    sizes = {0: 300_000, 1: 300_000, 2: 300_000, 3: 300_000, 4: 2_000_000}
    scores = {0: 0.5, 1: 0.9, 2: 0.7, 3: 0.8, 4: 0.6}
    for i in range(4):
        store.put(i, scores[i], TrialArtifacts(np.zeros(sizes[i] // 8), pred))
    assert sorted(i for i in range(4) if i in store) == [1, 2, 3]  # 0 was the worst
    assert 900_000 < store.unpinned_bytes <= 1_000_000
    store.put(4, scores[4], TrialArtifacts(np.zeros(sizes[4] // 8), pred))
    assert 4 not in store and sorted(i for i in range(4) if i in store) == [1, 2, 3]
    store.put(5, 0.95, TrialArtifacts(np.zeros(sizes[4] // 8), pred))
    assert [i for i in range(6) if i in store] == [5]  # the best, alone over the bound
    store.put(6, 0.1, TrialArtifacts(np.zeros(10), pred), pinned=True)
    assert 6 in store and 5 in store  # the baselines count on top


def test_the_store_keeps_the_default_baselines_whatever_their_rank(rng):
    """The check against the baselines needs their predictions: a search of hundreds of
    trials on a small table released them from a store of its 50 best (no check ran)."""
    history = SearchHistory(artifacts=ArtifactStore(max_models=3))
    scores = [0.1, 0.2] + list(0.5 + rng.random(20) / 10)
    for i, score in enumerate(scores):
        proposer = "baseline" if i < 2 else "evolution"
        candidate = Candidate(i, "linear" if i else "hist_gbdt", {}, None, 0, 1, proposer)
        result = TrialResult(candidate, TrialState.COMPLETE, score, member=object())
        history.add(replace(result, valid_pred=np.zeros(2)))
    kept = sorted(r.score for r in history.kept())
    assert kept == [0.1, 0.2] + sorted(scores)[-3:]  # the baselines and the best three


def test_the_store_keeps_what_ensemble_selection_would_look_at(rng):
    """Equal scores are ranked by the tie breaker, then by arrival, as the ensembler's
    library ranks them: the kept models are exactly its first ``max_candidates``."""
    y = rng.integers(0, 2, 60)
    predictions = [rng.dirichlet([1, 1], 60) for _ in range(30)]
    scores = [float(s) for s in rng.integers(0, 3, 30)]  # many ties
    log_loss = get_prediction_scorer("neg_log_loss", "classification")
    store = ArtifactStore(max_models=8, tie_breaker=lambda pred: log_loss(y, pred))
    for i, (score, pred) in enumerate(zip(scores, predictions, strict=True)):
        store.put(i, score, TrialArtifacts(object(), pred))
    own = [(score, log_loss(y, pred)) for score, pred in zip(scores, predictions, strict=True)]
    library = sorted(range(30), key=lambda i: own[i], reverse=True)[:8]
    assert sorted(library) == sorted(i for i in range(30) if i in store)


def test_a_search_with_no_score_says_what_each_trial_ended_as():
    history = SearchHistory()
    unscored = Candidate(0, "linear", {}, None, 0, 1, "baseline")
    history.add(TrialResult(unscored, TrialState.COMPLETE, score=float("nan")))
    diverged = Candidate(1, "mlp", {}, None, 1, 1, "tpe")
    history.add(TrialResult(diverged, TrialState.FAIL, error="NonFiniteLossError: diverged"))
    expected = "Errors: COMPLETE without a finite score; NonFiniteLossError: diverged."
    with pytest.raises(SearchFailedError, match=expected):
        _best_trial(None, history)
