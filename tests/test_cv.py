"""k-fold trials (``cv=``): folds, out-of-fold scores, bagged members, and bad input."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    ShuffleSplit,
    TimeSeriesSplit,
    cross_val_score,
)

from sknas import NASClassifier, NASRegressor
from sknas.evaluation import Evaluator
from sknas.evaluation.crossval import (
    AUTO_CV_FOLDS,
    STACK_MAX_ROWS,
    BaggedMember,
    CrossValEvaluator,
    make_folds,
)
from sknas.evaluation.data import make_split, split_at
from sknas.evaluation.stacked import STACKING_TOLERANCE
from sknas.history import SearchHistory
from sknas.scoring import get_prediction_scorer
from sknas.space import default_search_space
from sknas.trial import Candidate, TrialState

FAST = dict(max_epochs=8, portfolio=False, random_state=0)


def _folds(cv, y, task="classification", **kw):
    settings = dict(task=task, n_features=4, time_budget=60, seed=0) | kw
    return make_folds(cv, y, **settings)


def test_auto_folds_on_small_data_and_a_holdout_on_large():
    y = np.repeat([0, 1, 2], 50)
    folds = _folds("auto", y)
    assert len(folds) == AUTO_CV_FOLDS
    valid = np.sort(np.concatenate([v for _, v in folds]))
    np.testing.assert_array_equal(valid, np.arange(150))  # every row validated once
    assert _folds("auto", np.repeat([0, 1], 6000), n_features=50) is None
    assert _folds("auto", y, time_budget=0.1) is None  # too little time for k folds
    assert len(_folds("auto", np.array([0] * 40 + [1] * 3))) == 3  # as many as a class allows
    assert _folds(None, y) is None
    assert _folds("auto", np.array([0.5, 1.5, 2.5]), task="regression") is None  # 3 rows
    assert len(_folds("auto", np.arange(6.0), task="regression")) == 3


def _straddling(groups, train, valid):
    """Groups with rows on both sides of a split."""
    return set(groups[train]) & set(groups[valid])


@pytest.mark.parametrize("cv", [3, "auto"])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_folds_and_holdouts_keep_each_group_to_one_side(cv, task):
    """Rows of one group (a patient, a shop) validated by a model trained on the others
    of its group would score it too well: with ``groups`` the default splits keep every
    group on one side, k-fold (stratified by class where possible) and holdout alike."""
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 12, 150)
    y = np.arange(150) % 3 if task == "classification" else rng.normal(size=150)
    folds = _folds(cv, y, task=task, groups=groups)
    assert len(folds) == (3 if cv == 3 else AUTO_CV_FOLDS)
    assert all(not _straddling(groups, train, valid) for train, valid in folds)
    valid = np.sort(np.concatenate([v for _, v in folds]))
    np.testing.assert_array_equal(valid, np.arange(150))
    # "auto" never asks for more folds than there are groups
    assert len(_folds("auto", y, task=task, groups=np.arange(150) % 3)) == 3
    X = rng.normal(size=(150, 2)).astype(np.float32)
    split = make_split(X, y, task=task, validation_fraction=0.25, seed=0, groups=groups)
    train_rows = [np.flatnonzero((X == row).all(1))[0] for row in split.X_train]
    valid_rows = [np.flatnonzero((X == row).all(1))[0] for row in split.X_valid]
    assert not _straddling(groups, train_rows, valid_rows) and len(valid_rows) > 0
    with pytest.raises(ValueError, match="groups holds a single group"):
        make_split(X, y, task=task, validation_fraction=0.25, seed=0, groups=np.zeros(150))


def test_a_holdout_search_takes_groups():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    reg = NASRegressor(n_trials=2, cv=None, families=["linear"], **FAST)
    assert reg.fit(X, y, groups=np.arange(len(y)) % 6).score(X, y) > 0.9


def test_bad_cv_is_refused_before_any_trial_with_what_to_do():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"'cv' parameter .* range \[2, inf\)"):
        NASClassifier(cv=1, n_trials=1).fit(X, y)
    with pytest.raises(ValueError, match="at least 60 rows of every class.*smaller cv"):
        NASClassifier(cv=60, n_trials=1).fit(X, y)
    with pytest.raises(ValueError, match="groups=.*fit"):
        NASClassifier(cv=GroupKFold(3), n_trials=1).fit(X, y)
    with pytest.raises(ValueError, match="made 1 fold.*cv=None and validation_fraction"):
        NASClassifier(cv=ShuffleSplit(1, test_size=0.2), n_trials=1).fit(X, y)

    class EmptyFold(KFold):
        def _iter_test_indices(self, X, y=None, groups=None):
            yield np.arange(0)
            yield np.arange(len(X))

    with pytest.raises(ValueError, match="Fold 0 .* empty validation part"):
        NASClassifier(cv=EmptyFold(2), n_trials=1).fit(X, y)

    class AllValidated(KFold):
        def _iter_test_indices(self, X, y=None, groups=None):
            yield np.arange(len(X))
            yield np.arange(len(X))

    with pytest.raises(ValueError, match="Fold 0 .* empty training part"):
        NASClassifier(cv=AllValidated(2), n_trials=1).fit(X, y)


def test_a_trial_is_scored_out_of_fold_and_its_member_is_the_bag():
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    folds = _folds(3, y)
    scorer = get_prediction_scorer(None, "classification")
    evaluator = CrossValEvaluator(X, y, folds, task="classification", scorer=scorer)
    space = default_search_space("classification", max_epochs=10)
    for family in ("mlp", "linear"):
        params, genome = space[family].decode(space[family].default_point())
        epochs = 10 if genome else 1
        result = evaluator(Candidate(0, family, params, genome, 0, epochs, "test"))
        assert result.state is TrialState.COMPLETE
        assert isinstance(result.member, BaggedMember) and len(result.member.members) == 3
        assert result.valid_pred.shape == (150, 3)
        # Each row is predicted by the one fold model that did not train on it.
        for (_, valid), model in zip(folds, result.member.members, strict=True):
            np.testing.assert_allclose(result.valid_pred[valid], model.predict(X[valid]))
        assert result.score == pytest.approx(np.mean(result.valid_pred.argmax(1) == y))
        assert result.score > 0.85


class _Spy:
    """An evaluator that records the epochs it was asked for and what it trained."""

    def __init__(self, inner):
        self.inner, self.calls, self.seeds, self.results = inner, [], [], []

    def __call__(self, candidate, deadline=None, epochs=None):
        result = self.inner(candidate, deadline, epochs)
        self.calls.append((epochs, result.best_epoch, result.n_epochs))
        self.seeds.append(candidate.seed)
        self.results.append(result)
        return result


def test_every_fold_trains_the_first_folds_best_epochs_without_early_stopping():
    """The first fold early-stops on its validation rows; then the other folds, and the
    first again from another seed, train its best epoch count, so no out-of-fold
    prediction comes from a model its own rows chose."""
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    scorer = get_prediction_scorer(None, "classification")
    folds = _folds(3, y)
    evaluator = CrossValEvaluator(X, y, folds, task="classification", scorer=scorer)
    evaluator.evaluators = spies = [_Spy(fold) for fold in evaluator.evaluators]
    space = default_search_space("classification", max_epochs=30)
    params, genome = space["mlp"].decode(space["mlp"].default_point())
    result = evaluator(Candidate(0, "mlp", params, genome, 7, 30, "test"))
    assert result.state is TrialState.COMPLETE and result.score > 0.85 and result.error is None
    [(first_epochs, best, trained), retrained] = spies[0].calls
    assert first_epochs is None and 1 <= best <= trained
    assert retrained == (best, best, best) and spies[0].seeds == [7, 8]
    assert [spy.calls for spy in spies[1:]] == [[(best, best, best)]] * 2
    assert result.best_epoch == best and result.rung_scores == spies[0].results[0].rung_scores
    assert result.member.members[0] is spies[0].results[1].member
    valid = folds[0][1]
    np.testing.assert_allclose(result.valid_pred[valid], spies[0].results[1].valid_pred)
    # Every fit counts in the trial's time and epochs (what the cost model learns from).
    assert result.fit_time == pytest.approx(sum(r.fit_time for spy in spies for r in spy.results))
    assert result.n_epochs == round(np.mean([trained, best, best, best]))


def test_a_boosting_is_still_improving_when_it_is_in_every_fold():
    """Folds of more than 10,000 training rows stop boosting early on their validation
    rows; a boosting none of them stopped is still improving (the study tries it longer)."""
    X, y = make_classification(n_samples=16_000, n_features=8, n_informative=3, random_state=0)
    scorer = get_prediction_scorer(None, "classification")
    evaluator = CrossValEvaluator(
        X.astype(np.float32), y, _folds(3, y), task="classification", scorer=scorer
    )
    family = default_search_space("classification", max_epochs=5)["hist_gbdt"]
    for max_iter, improving in ((5, True), (500, False)):
        params, _ = family.decode(family.default_point() | {"max_iter": max_iter})
        result = evaluator(Candidate(0, "hist_gbdt", params, None, 0, 1, "test"))
        assert result.state is TrialState.COMPLETE and result.improving is improving


def test_the_first_fold_stays_early_stopped_when_no_time_is_left_to_retrain_it(monkeypatch):
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    scorer = get_prediction_scorer(None, "classification")
    evaluator = CrossValEvaluator(X, y, _folds(3, y), task="classification", scorer=scorer)
    evaluator.evaluators = spies = [_Spy(fold) for fold in evaluator.evaluators]
    space = default_search_space("classification", max_epochs=6)
    params, genome = space["mlp"].decode(space["mlp"].default_point())
    deadline = time.monotonic() + 600.0
    last_fold = spies[2].__call__

    def ends_at_the_deadline(candidate, deadline=None, epochs=None):
        result = last_fold(candidate, deadline, epochs)
        monkeypatch.setattr(time, "monotonic", lambda: deadline + 1.0)
        return result

    evaluator.evaluators[2] = ends_at_the_deadline
    result = evaluator(Candidate(0, "mlp", params, genome, 0, 6, "test"), deadline)
    assert result.state is TrialState.COMPLETE
    assert result.error == "first fold kept early-stopped: no time to retrain it"
    assert len(spies[0].calls) == 1 and result.member.members[0] is spies[0].results[0].member


def test_a_trials_time_limit_and_trial_timeout_are_shared_by_all_its_fits(monkeypatch):
    """Under k folds a network trains k + 1 times (its first fold twice), a classical
    model k times: each fit gets its share, so that together they keep to the limit."""
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    scorer = get_prediction_scorer(None, "classification")
    evaluator = CrossValEvaluator(
        X, y, _folds(3, y), task="classification", scorer=scorer, trial_timeout=60.0
    )
    evaluator.evaluators = spies = [_Spy(fold) for fold in evaluator.evaluators]
    space = default_search_space("classification", max_epochs=6)
    for family, fits in [("mlp", 4), ("linear", 3)]:
        params, genome = space[family].decode(space[family].default_point())
        candidate = Candidate(0, family, params, genome, 0, 6, "test", time_limit=240.0)
        assert evaluator.n_fits(candidate) == fits
        for spy in spies:
            spy.results.clear()
        assert evaluator(candidate).state is TrialState.COMPLETE
        limits = [r.candidate.time_limit for spy in spies for r in spy.results]
        assert limits == [240.0 / fits] * fits
    monkeypatch.setattr(time, "monotonic", lambda: 100.0)
    assert spies[0].inner._time_limit(replace(candidate, time_limit=None)) == (
        115.0,
        "trial_timeout=60s shared by 4 fits",
    )


class _Slow(_Spy):
    """An evaluator whose folds report taking ``seconds`` each."""

    def __init__(self, inner, seconds):
        super().__init__(inner)
        self.seconds = seconds

    def __call__(self, candidate, deadline=None, epochs=None):
        result = super().__call__(candidate, deadline, epochs)
        return replace(result, fit_time=self.seconds)


def test_a_fold_that_nothing_stops_starts_only_if_it_can_end_before_the_deadline():
    """Folds of 30 s with a minute left: a linear model stops after its first fold; a
    network, which its deadline stops within a fold, goes on."""
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    scorer = get_prediction_scorer(None, "classification")
    space = default_search_space("classification", max_epochs=5)
    for family, slow_state in (("linear", TrialState.FAIL), ("mlp", TrialState.COMPLETE)):
        evaluator = CrossValEvaluator(X, y, _folds(3, y), task="classification", scorer=scorer)
        evaluator.evaluators = spies = [_Slow(fold, 30.0) for fold in evaluator.evaluators]
        params, genome = space[family].decode(space[family].default_point())
        candidate = Candidate(0, family, params, genome, 0, 5 if genome else 1, "test")
        result = evaluator(candidate, deadline=time.monotonic() + 20.0)
        assert result.state is slow_state
        if slow_state is TrialState.FAIL:
            assert [len(spy.calls) for spy in spies] == [1, 0, 0]
            assert re.fullmatch(
                r"stopped by the time budget after 1 of 3 folds "
                r"\(30\.0 s a fold, (1\d|20)\.\d s left\)",
                result.error,
            )
        fast = evaluator(candidate, deadline=time.monotonic() + 40.0)
        assert fast.state is TrialState.COMPLETE  # 30 s a fold fits in 40 s


def test_a_network_trained_for_fixed_epochs_predicts_without_its_validation_labels():
    """What makes the later folds' out-of-fold predictions honest: with ``epochs`` the
    validation labels choose nothing (with early stopping they choose the epoch)."""
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    train, valid = _folds(3, y)[1]
    shuffled = y.copy()
    shuffled[valid] = np.random.default_rng(0).permutation(y[valid])
    space = default_search_space("classification", max_epochs=12)
    params, genome = space["mlp"].decode(space["mlp"].default_point())
    candidate = Candidate(0, "mlp", params, genome, 0, 12, "test")
    scorer = get_prediction_scorer(None, "classification")
    predictions = [
        Evaluator(split_at(X, labels, train, valid, task="classification"), scorer)(
            candidate, epochs=7
        ).valid_pred
        for labels in (y, shuffled)
    ]
    np.testing.assert_array_equal(predictions[0], predictions[1])


def test_classifier_with_folds_predicts_with_bags_and_nests_in_cross_val_score():
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=3, cv=3, **FAST).fit(X, y)
    assert all(isinstance(m, BaggedMember) for m in clf.ensemble_.members_)
    notes = clf.leaderboard_.dropna(subset=["refit"])["refit"]
    assert (notes == "kept: a bag of 3 fold models, no refit needed").all()
    assert clf.score(X, y) > 0.9
    scores = cross_val_score(NASClassifier(n_trials=2, cv=3, **FAST), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85


def test_regressor_with_group_and_time_series_splitters():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    groups = np.arange(len(y)) % 6
    reg = NASRegressor(n_trials=2, cv=GroupKFold(3), families=["linear"], **FAST)
    assert reg.fit(X, y, groups=groups).score(X, y) > 0.9
    # The first quarter of the rows only ever trains: trials are scored on the rest.
    reg = NASRegressor(n_trials=2, cv=TimeSeriesSplit(3), families=["linear"], **FAST)
    assert reg.fit(X, y).score(X, y) > 0.9
    assert reg.leaderboard_["score"].iloc[0] > 0.9


def test_a_k_fold_search_keeps_no_budget_back_for_refitting(monkeypatch):
    from sknas import engine

    given, searched = [], []
    run_study, run_search = engine._run_study, engine.run_search

    def spy_study(est, evaluator, space, seed, deadline, *args):
        given.append(deadline)
        return run_study(est, evaluator, space, seed, deadline, *args)

    def spy_search(*args, deadline, reserve, **kwargs):
        searched.append((deadline, reserve))
        return run_search(*args, deadline=deadline, reserve=reserve, **kwargs)

    monkeypatch.setattr(engine, "_run_study", spy_study)
    monkeypatch.setattr(engine, "run_search", spy_search)
    X, y = load_iris(return_X_y=True)
    started = time.monotonic()
    NASClassifier(time_budget=4, cv=3, max_epochs=8, random_state=0).fit(X, y)
    elapsed = time.monotonic() - started
    # Bags are not refit: trials may run up to the deadline itself ...
    assert searched == [(given[0], None)]
    assert elapsed < 1.5 * 4 + 4
    # ... while a holdout search keeps 10 % of the budget back to refit its members.
    NASClassifier(time_budget=4, cv=None, max_epochs=8, random_state=0).fit(X, y)
    deadline, reserve = searched[1]
    assert deadline == given[1] and reserve(SearchHistory()) == engine.REFIT_RESERVE * 4


def test_fitted_network_bags_predict_few_rows_stacked_within_the_bound():
    X, y = load_iris(return_X_y=True)
    clf = NASClassifier(n_trials=2, cv=3, families=["mlp"], **FAST).fit(X, y)
    X_model = clf.preprocessor_.transform(X)
    for bag in clf.ensemble_.members_:
        assert bag._stacked() is not None
        folds = [member.predict(X_model) for member in bag.members]
        by_fold = (folds[0] + folds[1] + folds[2]) / 3
        np.testing.assert_allclose(
            bag.predict(X_model[:STACK_MAX_ROWS]),
            by_fold[:STACK_MAX_ROWS],
            rtol=0,
            atol=STACKING_TOLERANCE,
        )
        np.testing.assert_array_equal(bag.predict(X_model), by_fold)  # 150 rows: per fold
