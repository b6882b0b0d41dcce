"""The classical families: trained, scored, refit and ensembled like the networks."""

from __future__ import annotations

import pickle
import re
import time
import warnings

import numpy as np
import pytest
from helpers import ScriptedStrategy, threads_of
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from sknas import NASClassifier, NASRegressor
from sknas.evaluation import Evaluator, classical, make_split
from sknas.evaluation.classical import (
    _fit_costs,
    _n_stages,
    cap_forest_size,
    early_stopping_rows,
    fit_before,
    make_classical_estimator,
)
from sknas.scoring import get_prediction_scorer
from sknas.space import CLASSICAL_FAMILIES, TABULAR_FAMILIES, default_search_space
from sknas.trial import Candidate, TrialState
from sknas.utils._bytes import pickled_bytes
from sknas.utils._native_threads import SERIAL_CELLS


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


GROWN = [
    ("hist_gbdt", {"max_iter": 200, "max_features": 0.5}, "max_iter"),
    ("random_forest", {"n_estimators": 60}, "n_estimators"),
    ("random_forest", {"estimator": "extra_trees", "n_estimators": 60}, "n_estimators"),
]


BALANCED_FOREST = ("random_forest", {"n_estimators": 60, "class_weight": "balanced"}, "")


@pytest.mark.parametrize(("family", "params", "stages"), [*GROWN, BALANCED_FOREST])
def test_fitting_in_two_steps_before_a_far_deadline_gives_the_one_go_model(family, params, stages):
    X, y = make_classification(
        n_samples=400, n_features=8, n_classes=3, n_informative=5, random_state=0
    )
    one_go = make_classical_estimator(family, params, task="classification", seed=0).fit(X, y)
    estimator = make_classical_estimator(family, params, task="classification", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warm-start warning reaches the user
        assert fit_before(estimator, X, y, None, deadline=time.monotonic() + 600) is None
    np.testing.assert_array_equal(estimator.predict_proba(X), one_go.predict_proba(X))
    assert estimator.get_params() == one_go.get_params()


def test_large_holdout_searches_stop_boosting_on_their_validation_rows():
    """Past scikit-learn's 10,000 training rows the boosting keeps all of them and stops
    early on the search's validation rows, as the networks do; on fewer rows, and for
    other families, nothing changes."""
    split = make_split(*_many_rows(15_000), task="classification", validation_fraction=0.2, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer(None, "classification"))
    result = evaluator(_classical_candidate("classification", "hist_gbdt"))
    model = result.member.estimator
    assert model.n_iter_ < 100 and not result.improving  # it stopped early ...
    assert hasattr(model, "validation_score_")  # ... on the validation rows it was given:
    proba = model.predict_proba(split.X_valid)
    loss = -np.mean(np.log(proba[np.arange(len(proba)), split.y_valid]))
    assert model.validation_score_[-1] == pytest.approx(-loss, rel=1e-6)
    boosting = make_classical_estimator("hist_gbdt", {}, task="classification", seed=0)
    forest = make_classical_estimator("random_forest", {}, task="classification", seed=0)
    X_valid, y_valid = split.X_valid, split.y_valid
    assert early_stopping_rows(boosting, 10_000, X_valid, y_valid, None) == {}
    assert early_stopping_rows(forest, 12_000, X_valid, y_valid, None) == {}
    assert set(early_stopping_rows(boosting, 12_000, X_valid, y_valid, None)) == {
        "X_val",
        "y_val",
        "sample_weight_val",
    }


def test_a_boosting_still_improving_at_its_last_iteration_says_so():
    """Ended by its ``max_iter`` with early stopping on the validation rows (past
    10,000 training rows): improving; on fewer rows nothing tells, so never."""
    for rows, improving in ((15_000, True), (5_000, False)):
        split = make_split(
            *_many_rows(rows), task="classification", validation_fraction=0.2, seed=0
        )
        evaluator = Evaluator(split, get_prediction_scorer(None, "classification"))
        result = evaluator(_classical_candidate("classification", "hist_gbdt", max_iter=5))
        assert result.member.estimator.n_iter_ == 5
        assert result.improving is improving
    forest = evaluator(_classical_candidate("classification", "random_forest"))
    assert not forest.improving


def test_an_early_stopped_boosting_did_the_share_of_the_work_it_grew():
    """The cost model learns a stage's time from ``work_done``: a boosting that early
    stopping ended after a fraction of its ``max_iter`` did that fraction of the work."""
    split = make_split(*_many_rows(15_000), task="classification", validation_fraction=0.2, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer(None, "classification"))
    result = evaluator(_classical_candidate("classification", "hist_gbdt", max_iter=500))
    grown = result.member.estimator.n_iter_
    assert grown < 250
    assert result.work_done == pytest.approx(grown / 500)
    assert not result.improving


def _many_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An easy problem on ``n`` rows: boosting stops early well before 100 iterations."""
    X, y = make_classification(n_samples=n, n_features=8, n_informative=3, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize(("family", "params", "stages"), GROWN)
def test_a_passed_deadline_leaves_the_first_step_of_the_probe(family, params, stages):
    # A fifth of the tenth of the stages that time the rest: the second step of the
    # probe would end past the deadline, so it is not taken.
    X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    estimator = make_classical_estimator(family, params, task="regression", seed=0)
    planned = params[stages]
    first = max(1, planned // 10 // 5)
    cut = fit_before(estimator, X, y, None, deadline=time.monotonic() - 1)
    assert (cut.grown, cut.planned) == (first, planned)
    assert str(cut) == f"{stages}={first} of {planned}"
    assert estimator.get_params()[stages] == first and not estimator.warm_start
    assert np.isfinite(estimator.predict(X)).all()


class _StageClock:
    """A fake ``time`` for :func:`fit_before`: each stage an ensemble grows takes one
    second, and each ``fit`` ``fixed`` seconds more."""

    def __init__(self, ensemble, fixed: float = 0.0) -> None:
        self.now = 0.0
        fit = ensemble.fit

        def timed_fit(*args, **kwargs):
            before = _n_stages(ensemble) if hasattr(ensemble, "n_features_in_") else 0
            fitted = fit(*args, **kwargs)
            self.now += fixed + _n_stages(ensemble) - before
            return fitted

        ensemble.fit = timed_fit

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize(("deadline", "grown"), [(9.0, 9), (50.0, 50)])
def test_the_probe_takes_its_second_step_only_when_it_ends_before_the_deadline(
    monkeypatch, deadline, grown
):
    # 100 trees, 1 s each: the probe grows 2, then 8 more if they end by the deadline
    # (at 10 s: not by 9 s), then as many more as fit (before, the probe's 10 trees
    # ended 1 s past a 9 s deadline).
    import sknas.evaluation.classical as classical

    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    forest = make_classical_estimator(
        "random_forest", {"n_estimators": 100}, task="classification", seed=0
    )
    clock = _StageClock(forest)
    monkeypatch.setattr(classical, "time", clock)
    cut = fit_before(forest, X, y, None, deadline=deadline)
    assert (cut.grown, cut.planned) == (grown, 100)
    assert len(forest.estimators_) == grown and clock.now <= deadline


def test_a_boosting_takes_the_second_step_its_binning_allows(monkeypatch):
    # Each fit bins the rows again (5 s), each iteration 1 s: 2 iterations take 7 s, the
    # next 8 take 13 s, then 5 more fit in a 30 s limit. At the first step's pace
    # (3.5 s an iteration) the second step would have looked 28 s long, and been skipped.
    import sknas.evaluation.classical as classical

    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    boosting = make_classical_estimator(
        "hist_gbdt", {"max_iter": 100, "early_stopping": False}, task="classification", seed=0
    )
    clock = _StageClock(boosting, fixed=5.0)
    monkeypatch.setattr(classical, "time", clock)
    cut = fit_before(boosting, X, y, None, deadline=30.0)
    assert (cut.grown, cut.planned) == (15, 100)
    assert boosting.n_iter_ == 15 and clock.now == 30.0


def test_a_classical_trial_at_its_deadline_stops_growing_and_says_so(task_evaluator):
    task, evaluator = task_evaluator
    candidate = _classical_candidate(task, "random_forest", n_estimators=300)
    result = evaluator(candidate, deadline=time.monotonic())
    assert result.state is TrialState.COMPLETE
    # The first step of the probe (a fifth of a tenth), the second would pass the deadline
    assert result.error == "stopped by the time budget at n_estimators=6 of 300"
    assert result.work_done == 0.02  # what the cost model learns from
    assert len(result.member.estimator.estimators_) == 6
    assert evaluator.refit(candidate, n_epochs=1, deadline=time.monotonic()) is None
    timed = Evaluator(evaluator.split, evaluator.scorer, trial_timeout=1e-6)
    result = timed(candidate, deadline=time.monotonic() + 600)
    assert result.error == "stopped by trial_timeout=1e-06s at n_estimators=6 of 300"


def _node_bytes(member) -> int:
    """What a fitted forest member's trees hold: their nodes and the nodes' values."""
    return sum(t.tree_.node_count * (64 + t.tree_.value[0].size * 8) for t in member.estimator)


@pytest.mark.parametrize("estimator", ["random_forest", "extra_trees"])
def test_a_forest_is_capped_to_its_memory_bound(task_evaluator, estimator, monkeypatch):
    """A forest's trees stay within FOREST_MAX_BYTES, in the trial and in its refit, and
    the trial says it capped them."""
    task, evaluator = task_evaluator
    candidate = _classical_candidate(task, "random_forest", estimator=estimator, n_estimators=50)
    grown = evaluator(candidate)
    assert grown.error is None and _node_bytes(grown.member) > 150_000
    monkeypatch.setattr(classical, "FOREST_MAX_BYTES", 50_000)
    capped = evaluator(candidate)
    assert capped.state is TrialState.COMPLETE
    assert re.fullmatch(
        r"trees capped at max_leaf_nodes=\d+ to bound the forest's memory", capped.error
    )
    assert _node_bytes(capped.member) <= 50_000
    assert pickled_bytes(capped.member) < pickled_bytes(grown.member) / 2
    assert capped.score > (0.6 if task == "classification" else 0.5)
    assert _node_bytes(evaluator.refit(candidate, n_epochs=1)) <= 50_000


def test_cap_forest_size_bounds_only_forests_that_could_outgrow_it():
    forest = RandomForestClassifier(n_estimators=100, min_samples_leaf=4)
    assert cap_forest_size(forest, 10_000, n_classes=3) is None  # 2,500 leaves fit
    assert forest.max_leaf_nodes is None
    most = cap_forest_size(forest, 1_000_000, n_classes=3)
    assert forest.max_leaf_nodes == most
    assert 100 * (2 * most) * (64 + 8 * 3) <= classical.FOREST_MAX_BYTES
    assert cap_forest_size(forest, 1_000_000, n_classes=3) is None  # already within
    shares = RandomForestClassifier(n_estimators=100, min_samples_leaf=0.01)
    assert cap_forest_size(shares, 1_000_000) is None  # at most 100 leaves a tree
    sampled = RandomForestClassifier(n_estimators=100, min_samples_leaf=np.int64(2))
    assert cap_forest_size(sampled, 1_000_000) is not None  # a count, however typed
    boosting = make_classical_estimator("hist_gbdt", {}, task="regression", seed=0)
    assert cap_forest_size(boosting, 10**7) is None


def test_a_slow_forest_keeps_fit_within_its_time_budget():
    # 300 trees take about 4.5 s here on 2 cores; before, fit ran to the end of them.
    X, y = make_classification(n_samples=6000, n_features=30, n_informative=10, random_state=0)
    slow_forest = ScriptedStrategy([("random_forest", {"n_estimators": 300})])
    clf = NASClassifier(
        time_budget=2.0, families=["random_forest"], strategy=slow_forest, portfolio=False
    )
    started = time.monotonic()
    clf.fit(X, y)
    assert time.monotonic() - started < 2 * 2.0 + 3  # generous: a busy machine is slower
    note = clf.leaderboard_.loc[0, "error"]
    # The time budget, or the quarter of it that one trial may take, stopped it (300
    # trees on 4,800 rows are capped in size too: FOREST_MAX_BYTES).
    stopped = r"stopped by (the time budget|its time limit \(0\.5s\)) at n_estimators=(\d+) of 300"
    assert re.search(stopped, note), note
    assert int(re.search(stopped, note).group(2)) < 300
    assert clf.score(X, y) > 0.9


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
    reg = NASRegressor(families=families, n_trials=3, max_epochs=10, cv=None, random_state=0)
    reg.fit(X, y)
    assert set(reg.leaderboard_["family"]) <= set(families)
    assert reg.score(X, y) > 0.5


def test_unknown_family_is_a_clear_error(iris):
    with pytest.raises(ValueError, match="families must be"):
        NASClassifier(families=["xgboost"], n_trials=1).fit(*iris)


def test_the_probe_tells_a_fits_fixed_cost_from_its_stages():
    """2 stages in 2.5 s, 8 more in 4.0 s: binning (2.0 s) repeats, a stage takes 0.25 s;
    counting it all as stages (0.65 s each) would grow 2.6 times too few."""
    fixed, per_stage = _fit_costs([2.5, 4.0], first=2, probe=10)
    assert fixed == pytest.approx(2.0) and per_stage == pytest.approx(0.25)
    # a first step slowed once (7 s instead of 2.5): a stage costs at least half of what
    # the second step's stages took on average, the fixed cost what is left of it
    fixed, per_stage = _fit_costs([7.0, 4.0], first=2, probe=10)
    assert per_stage == pytest.approx(0.25) and fixed == pytest.approx(2.0)
    # one step: all of it counts as stages
    assert _fit_costs([0.4], first=1, probe=1) == (0.0, pytest.approx(0.4))


class _ThreadsSeen(RandomForestClassifier):
    """A forest that notes the OpenMP thread counts its ``fit`` ran with."""

    def fit(self, X, y, sample_weight=None):
        self.openmp_threads_ = threads_of("openmp")
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("deadline", [None, "far"])
def test_small_fits_run_on_one_openmp_thread_and_large_ones_keep_the_callers(deadline):
    """Starting a team costs more than a small fit shares out (sknas.utils._native_threads)."""
    stop = None if deadline is None else time.monotonic() + 600
    small = make_classification(n_samples=200, n_features=10, random_state=0)
    wide = (np.zeros((SERIAL_CELLS // 10, 10)), np.arange(SERIAL_CELLS // 10) % 2)
    with threadpool_limits(limits=2, user_api="openmp"):
        seen = {}
        for name, (X, y) in {"small": small, "large": wide}.items():
            estimator = _ThreadsSeen(n_estimators=2, max_depth=1)
            fit_before(estimator, X, y, None, stop)
            seen[name] = estimator.openmp_threads_
        assert seen == {"small": {1}, "large": {2}}
        assert threads_of("openmp") == {2}  # the caller's count is back


class _BlasSeen(LogisticRegression):
    """A logistic regression that notes the BLAS thread counts its ``fit`` ran with."""

    def fit(self, X, y, sample_weight=None):
        self.blas_threads_ = threads_of("blas")
        return super().fit(X, y, sample_weight=sample_weight)


def test_a_logistic_regression_fits_on_one_blas_thread():
    """Its L-BFGS alternates between numpy's and scipy's OpenBLAS, whose pools then wait
    on each other (sknas.utils._native_threads); the caller's count is back after."""
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    with threadpool_limits(limits=2, user_api="blas"):
        logistic = _BlasSeen()
        fit_before(logistic, X, y, None, None)
        assert logistic.blas_threads_ == {1}
        assert threads_of("blas") == {2}
