"""A strategy written only against the public protocol (examples/custom_strategy.py)
works wherever the built-in ones do: checkpoints, warm starts, parallel trials, init_from."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from sknas import NASClassifier

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def strategy_class():
    sys.path.insert(0, str(EXAMPLES))
    try:
        from custom_strategy import ExploreThenExploit
    finally:
        sys.path.remove(str(EXAMPLES))
    return ExploreThenExploit


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:200], y[:200]


def _model(strategy, **params):
    settings = {"n_trials": 8, "max_epochs": 3, "portfolio": False, "random_state": 0}
    return NASClassifier(strategy=strategy, **settings | params)


def test_its_proposals_follow_the_defaults_and_nothing_is_mutated(strategy_class, data):
    strategy = strategy_class(n_explore=2)
    model = _model(strategy).fit(*data)
    proposers = list(model.leaderboard_.sort_values("trial_id")["proposer"])
    assert proposers[:5] == ["default"] * 5  # the study's queue: each family's default
    assert set(proposers[5:]) <= {"explore", "exploit"} and len(proposers) == 8
    assert not hasattr(strategy, "space_")  # the estimator searched with a copy
    assert model.score(*data) > 0.85


@pytest.mark.slow  # three searches
def test_checkpoint_resume_equals_an_uninterrupted_search(strategy_class, data, tmp_path):
    whole = _model(strategy_class(n_explore=2)).fit(*data)
    first = _model(strategy_class(n_explore=2), n_trials=6, checkpoint_dir=tmp_path)
    first.fit(*data)
    resumed = _model(strategy_class(n_explore=2), checkpoint_dir=tmp_path).fit(*data)
    columns = ["trial_id", "family", "proposer", "params", "seed"]
    expected = whole.leaderboard_.sort_values("trial_id")[columns].reset_index(drop=True)
    got = resumed.leaderboard_.sort_values("trial_id")[columns].reset_index(drop=True)
    assert got.equals(expected)


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_warm_start_goes_on_and_n_jobs_2_runs(strategy_class, data):
    model = _model(strategy_class(n_explore=2), n_trials=6, warm_start=True).fit(*data)
    model.set_params(n_trials=9).fit(*data)
    assert sorted(model.leaderboard_["trial_id"]) == list(range(9))
    parallel = _model(strategy_class(n_explore=2), n_jobs=2).fit(*data)
    assert parallel.n_trials_ == 8 and parallel.score(*data) > 0.85


def test_init_from_works_with_any_strategy(strategy_class, data):
    earlier = _model(strategy_class(), n_trials=3).fit(*data)
    model = _model(strategy_class(), n_trials=4, init_from=earlier).fit(*data)
    proposers = list(model.leaderboard_.sort_values("trial_id")["proposer"])
    assert proposers[:3] == ["init_from"] * 3
