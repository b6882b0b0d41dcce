"""checkpoint_dir: a search journal that survives SIGKILL and resumes exactly."""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sknas import NASClassifier
from sknas.evaluation import Evaluator

SEARCH = {"n_trials": 8, "max_epochs": 15, "random_state": 0}


def _columns(board):
    return board[["trial_id", "family", "state", "score", "n_epochs", "genome"]]


@pytest.fixture
def trials_run(monkeypatch):
    """Every candidate evaluated from now on."""
    evaluate = Evaluator.__call__
    calls = []
    monkeypatch.setattr(
        Evaluator,
        "__call__",
        lambda self, c, *a, **k: calls.append(c) or evaluate(self, c, *a, **k),
    )
    return calls


@pytest.fixture(scope="module")
def uninterrupted(iris):
    return NASClassifier(**SEARCH).fit(*iris)


def test_a_resumed_search_ends_as_an_uninterrupted_one(iris, uninterrupted, tmp_path):
    X, y = iris
    first = NASClassifier(**SEARCH | {"n_trials": 3}, checkpoint_dir=tmp_path).fit(X, y)
    assert len(first.leaderboard_) == 3
    recorded = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("trial_*.pkl")}
    resumed = NASClassifier(**SEARCH, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_search(resumed, uninterrupted, X)
    # The three recorded trials were read back, not run again.
    current = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("trial_*.pkl")}
    assert all(current[name] == mtime for name, mtime in recorded.items())
    assert len(list(tmp_path.glob("trial_*.pkl"))) == 8
    assert not list(tmp_path.glob(".*.tmp"))


def assert_same_search(resumed, uninterrupted, X):
    board, expected = _columns(resumed.leaderboard_), _columns(uninterrupted.leaderboard_)
    assert board.to_dict("records") == expected.to_dict("records")
    np.testing.assert_allclose(resumed.predict_proba(X), uninterrupted.predict_proba(X))


@pytest.mark.slow  # a search in a child process, killed, then resumed to the end
def test_a_search_killed_with_sigkill_resumes(iris, uninterrupted, tmp_path):
    X, y = iris
    child = textwrap.dedent(
        f"""
        from sklearn.datasets import load_iris
        from sknas import NASClassifier
        X, y = load_iris(return_X_y=True)
        NASClassifier(**{SEARCH!r}, checkpoint_dir={str(tmp_path)!r}).fit(X, y)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("trial_*.pkl"))) < 3 and time.monotonic() < deadline:
            assert process.poll() is None, "the search ended before it could be killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    n_recorded = len(list(tmp_path.glob("trial_*.pkl")))
    assert 3 <= n_recorded < SEARCH["n_trials"]
    (tmp_path / ".trial_00007.pkl.tmp").write_bytes(b"a write cut short")
    resumed = NASClassifier(**SEARCH, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_search(resumed, uninterrupted, X)
    assert not list(tmp_path.glob(".*.tmp"))


#: The record of an earlier search, as init_from takes it (the leaderboard_'s columns).
_EARLIER_SEARCH = pd.DataFrame(
    [["linear", {"C": 2.0}, None, "COMPLETE", 0.9]],
    columns=["family", "params", "genome", "state", "score"],
)


@pytest.mark.parametrize(
    "change",
    [
        {"X_scale": 2.0},
        {"max_epochs": 7},
        {"families": ["mlp"]},
        {"random_state": 1},
        {"portfolio": False},
        {"init_from": _EARLIER_SEARCH},
    ],
    ids=["data", "max_epochs", "families", "random_state", "portfolio", "init_from"],
)
def test_a_journal_of_another_search_is_refused(iris, tmp_path, change):
    X, y = iris
    NASClassifier(n_trials=1, max_epochs=5, random_state=0, checkpoint_dir=tmp_path).fit(X, y)
    params = {"n_trials": 1, "max_epochs": 5, "random_state": 0} | change
    X = X * params.pop("X_scale", 1.0)
    with pytest.raises(ValueError, match="holds a search for other data or other search"):
        NASClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)


def test_warm_start_continues_the_search_in_memory(iris, uninterrupted, trials_run):
    X, y = iris
    clf = NASClassifier(**SEARCH | {"n_trials": 3}, warm_start=True).fit(X, y)
    trials_run.clear()
    clf.set_params(n_trials=8).fit(X, y)
    assert len(trials_run) == 5  # only the new trials ran
    assert_same_search(clf, uninterrupted, X)
    assert "_warm_journal" not in pickle.loads(pickle.dumps(clf)).__dict__
    clf.fit(X[:, ::-1], y)  # other data: a new search
    assert len(trials_run) == 5 + 8


def test_without_warm_start_each_fit_searches_afresh(iris, trials_run):
    X, y = iris
    clf = NASClassifier(n_trials=2, max_epochs=5, random_state=0).fit(X, y)
    trials_run.clear()
    clf.set_params(n_trials=3).fit(X, y)
    assert len(trials_run) == 3 and len(clf.leaderboard_) == 3


def test_every_torch_load_is_weights_only():
    # sknas stores weights as numpy arrays and needs no torch.load; any future one must
    # not unpickle arbitrary objects.
    package = Path(__file__).resolve().parents[1] / "sknas"
    for source in package.rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", source.read_text()):
            assert "weights_only=True" in call, f"{source}: {call}"
