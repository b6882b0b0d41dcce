"""The classical families: trained, scored, refit and ensembled like the networks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from sknas import NASClassifier, NASRegressor
from sknas.evaluation import Evaluator, make_split
from sknas.evaluation.classical import make_classical_estimator
from sknas.scoring import get_prediction_scorer
from sknas.space import CLASSICAL_FAMILIES, TABULAR_FAMILIES, default_search_space
from sknas.trial import Candidate, TrialState


def _classical_candidate(task: str, family: str, **overrides) -> Candidate:
    space = default_search_space(task, max_epochs=10)
    params, genome = space[family].decode(space[family].default_point() | overrides)
    assert genome is None
    return Candidate(0, family, params, None, 0, 1, "test")


@pytest.fixture(scope="module", params=["classification", "regression"])
def task_evaluator(request):
    task = request.param
    if task == "classification":
        X, y = make_classification(
            n_samples=300, n_features=6, n_classes=3, n_informative=4, random_state=0
        )
    else:
        X, y = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
        y = y * 10 + 500  # far from standardised
    split = make_split(X, y, task=task, validation_fraction=0.25, seed=0)
    return task, Evaluator(split, get_prediction_scorer(None, task))


@pytest.mark.parametrize("family", CLASSICAL_FAMILIES)
def test_each_classical_family_trains_scores_and_refits(task_evaluator, family):
    task, evaluator = task_evaluator
    result = evaluator(_classical_candidate(task, family))
    assert result.state is TrialState.COMPLETE, result.error
    assert result.score > (0.6 if task == "classification" else 0.5)
    X_valid = evaluator.split.X_valid
    np.testing.assert_allclose(result.member.predict(X_valid), result.valid_pred)
    refit = evaluator.refit(result.candidate, n_epochs=1)
    served = pickle.loads(pickle.dumps(refit)).predict(X_valid)
    assert served.shape == result.valid_pred.shape
    if task == "regression":  # predictions come back in the target's own scale
        assert abs(np.mean(served) - np.mean(evaluator.split.y_valid_true)) < 50


def test_a_classical_failure_is_a_failed_trial(task_evaluator):
    task, evaluator = task_evaluator
    bad = "C" if task == "classification" else "alpha"
    result = evaluator(_classical_candidate(task, "linear", **{bad: -1.0}))
    assert result.state is TrialState.FAIL and "InvalidParameterError" in result.error


def test_the_forest_family_chooses_random_forest_or_extra_trees():
    params = {"n_estimators": 10, "max_features": "sqrt", "min_samples_leaf": 1}
    forest = make_classical_estimator(
        "random_forest", params | {"estimator": "random_forest"}, task="classification", seed=3
    )
    trees = make_classical_estimator(
        "random_forest", params | {"estimator": "extra_trees"}, task="classification", seed=3
    )
    assert isinstance(forest, RandomForestClassifier) and isinstance(trees, ExtraTreesClassifier)
    assert forest.random_state == 3 and forest.n_jobs == 1


def test_without_the_portfolio_a_search_tries_every_family_first_and_ensembles_them(iris):
    X, y = iris
    clf = NASClassifier(
        n_trials=len(TABULAR_FAMILIES), max_epochs=10, portfolio=False, random_state=0
    )
    clf.fit(X, y)
    board = clf.leaderboard_
    assert set(board["family"]) == set(TABULAR_FAMILIES)
    assert (board["state"] == "COMPLETE").sum() + (board["state"] == "PRUNED").sum() == 5
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("families", [["hist_gbdt"], ["mlp", "linear"]])
def test_families_restricts_the_search(regression_data, families):
    X, y = regression_data
    reg = NASRegressor(families=families, n_trials=3, max_epochs=10, random_state=0).fit(X, y)
    assert set(reg.leaderboard_["family"]) <= set(families)
    assert reg.score(X, y) > 0.5


def test_unknown_family_is_a_clear_error(iris):
    with pytest.raises(ValueError, match="families must be"):
        NASClassifier(families=["xgboost"], n_trials=1).fit(*iris)
