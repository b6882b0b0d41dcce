"""The cost model: predictions, calibration, planning; the search skips what cannot finish."""

from __future__ import annotations

import math
import re
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from torch.utils.data import TensorDataset

from sknas import NASClassifier
from sknas._search import MAX_SKIPPED_IN_A_ROW, run_search
from sknas.cost_model import (
    MAX_TRIAL_SHARE,
    SECONDS_PER_TREE,
    SECONDS_PER_UNIT,
    SPEED_PROBE_MAX_FEATURES,
    UNCALIBRATED_MARGIN,
    CostModel,
    DataSize,
)
from sknas.evaluation import Evaluator, make_split
from sknas.evaluation.data import TensorBatchIterator
from sknas.evaluation.evaluator import LINEAR_MAX_ROWS
from sknas.scoring import get_prediction_scorer
from sknas.space import Genome, LayerGene, default_search_space
from sknas.strategies import RandomStrategy
from sknas.strategies.base import Configuration
from sknas.study import LONGER_BOOSTING, Study
from sknas.trial import Candidate, TrialResult, TrialState

SIZE = DataSize(n_train=80_000, n_valid=20_000, n_features=20, n_outputs=3)
MLP = Genome("mlp", (LayerGene("dense", 256), LayerGene("dense", 256)))
CNN = Genome("cnn", (LayerGene("conv", 16, pool=True), LayerGene("dense", 32)))


def _network(epochs=30, genome=MLP):
    return Candidate(0, genome.family, {"batch_size": 128}, genome, 0, epochs, "test")


def _finished(candidate, seconds, epochs=None, state=TrialState.COMPLETE):
    epochs = candidate.budget_epochs if epochs is None else epochs
    return TrialResult(candidate, state, score=0.5, fit_time=seconds, n_epochs=epochs)


def test_predictions_grow_with_the_work():
    model = CostModel(SIZE)
    short, wide = _network(10), _network(10, Genome("mlp", (LayerGene("dense", 1024),) * 2))
    assert model.predict(_network(30)) == pytest.approx(3 * model.predict(short))
    assert model.predict(wide) > 4 * model.predict(short)
    bigger = CostModel(DataSize(n_train=160_000, n_valid=40_000, n_features=20, n_outputs=3))
    assert bigger.predict(short) == pytest.approx(2 * model.predict(short), rel=0.05)
    # An epoch of at most 20,000 rows costs the same on 80,000 and on 160,000 rows.
    capped = [
        CostModel(DataSize(n, 1000, 20, 3, rows_per_epoch=20_000)).predict(short)
        for n in (80_000, 160_000)
    ]
    assert capped[0] == pytest.approx(capped[1])
    forest = Candidate(0, "random_forest", {"n_estimators": 200}, None, 0, 1, "test")
    assert model.predict(forest) == pytest.approx(
        2 * model.predict(Candidate(0, "random_forest", {"n_estimators": 100}, None, 0, 1, "t"))
    )


def test_a_boosting_grows_one_tree_per_class_and_iteration_on_more_than_two_classes():
    boosting = Candidate(0, "hist_gbdt", {"max_iter": 100}, None, 0, 1, "test")
    binary, three, regression = (
        CostModel(replace(SIZE, n_outputs=k, regression=k == 1)).predict(boosting)
        for k in (2, 3, 1)
    )
    assert three == pytest.approx(3 * binary)
    assert regression == pytest.approx(binary)


def test_a_boosting_is_priced_by_its_leaves_and_a_fixed_cost_per_tree():
    """Measured: time grows with ``max_leaf_nodes`` (128 leaves about twice 31), not with
    ``max_features`` (every histogram is built), and a tree costs milliseconds even on
    few rows."""
    model = CostModel(replace(SIZE, n_outputs=2))

    def boosting(**params):
        return model.predict(
            Candidate(0, "hist_gbdt", {"max_iter": 100, **params}, None, 0, 1, "t")
        )

    default = boosting()
    assert boosting(max_leaf_nodes=128) == pytest.approx(2 * default, rel=0.1)
    assert boosting(max_leaf_nodes=8) == pytest.approx(0.64 * default, rel=0.1)
    assert boosting(max_features=0.3) == pytest.approx(default)
    tiny = CostModel(DataSize(n_train=2_000, n_valid=500, n_features=9, n_outputs=1))
    few_rows = tiny.predict(Candidate(0, "hist_gbdt", {"max_iter": 100}, None, 0, 1, "t"))
    assert 0.15 < few_rows < 0.6  # 0.32 s measured for 100 iterations on 2,000 x 9


def test_calibration_follows_the_trials_of_the_same_kind():
    model = CostModel(SIZE)
    candidate = _network(20)
    prior = model.predict(candidate)
    assert not model.calibrated(candidate)
    # A trial pruned after 5 of its 20 epochs ran 3 times slower than predicted for 5.
    model.record(_finished(candidate, 3 * model.predict(candidate, epochs=5), epochs=5))
    assert model.calibrated(candidate)
    assert model.predict(candidate) == pytest.approx(3 * prior)
    # Other kinds keep their own scale; failed trials teach nothing.
    forest = Candidate(1, "random_forest", {"n_estimators": 100}, None, 0, 1, "test")
    assert not model.calibrated(forest) and not model.calibrated(_network(genome=CNN))
    model.record(TrialResult(forest, TrialState.FAIL, fit_time=100.0))
    assert not model.calibrated(forest)
    # An ensemble the deadline cut at 40 of its 100 stages took 2x its prediction for 40.
    prior = model.predict(forest)
    cut = TrialResult(forest, TrialState.COMPLETE, 0.5, fit_time=0.8 * prior, work_done=0.4)
    model.record(cut)
    assert model.calibrated(forest) and model.predict(forest) == pytest.approx(2 * prior)


def test_uncalibrated_linear_models_need_headroom_as_nothing_stops_them():
    model = CostModel(SIZE)
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    boosting = Candidate(1, "hist_gbdt", {"max_iter": 100}, None, 0, 1, "test")
    assert not model.calibrated(linear) and not model.calibrated(boosting)
    for candidate in (linear, boosting):  # predicted at twice the time left
        seconds = model.min_seconds(candidate) / 2
        assert model.refuses(candidate, seconds) is (candidate is linear)
    # ... and at half of it: the linear model's guess may be 3 times too low.
    assert model.refuses(linear, 2 * model.min_seconds(linear))
    assert not model.refuses(linear, 1.1 * UNCALIBRATED_MARGIN * model.min_seconds(linear))
    model.record(_finished(linear, model.predict(linear)))
    assert not model.refuses(linear, 1.1 * model.min_seconds(linear))


def test_fit_to_shrinks_network_epochs_to_the_time_left():
    model = CostModel(SIZE)
    candidate = _network(40)
    per_epoch = model.predict(candidate, epochs=1)
    # Uncalibrated: nothing shrinks, the prediction is recorded.
    planned = model.fit_to(candidate, 5 * per_epoch)
    assert planned.budget_epochs == 40
    assert planned.predicted_time == pytest.approx(40 * per_epoch)
    model.record(_finished(candidate, model.predict(candidate)))
    assert model.fit_to(candidate, 5.5 * per_epoch).budget_epochs == 5
    assert model.fit_to(candidate, 0.1 * per_epoch).budget_epochs == 1
    assert model.fit_to(candidate, None).budget_epochs == 40


def test_a_tabular_trial_plans_at_most_a_share_of_the_search():
    per_epoch = CostModel(SIZE).predict(_network(), epochs=1)
    search_seconds = 40 * per_epoch / MAX_TRIAL_SHARE  # a share holds 40 epochs
    model = CostModel(SIZE, search_seconds=search_seconds)
    planned = model.fit_to(_network(100), None)
    assert planned.budget_epochs == 40
    assert planned.time_limit == pytest.approx(MAX_TRIAL_SHARE * search_seconds)
    assert model.fit_to(_network(30), None).budget_epochs == 30
    forest = model.fit_to(Candidate(0, "random_forest", {}, None, 0, 1, "test"), None)
    assert forest.time_limit == pytest.approx(MAX_TRIAL_SHARE * search_seconds)
    baseline = Candidate(0, "hist_gbdt", {}, None, 0, 1, "baseline")
    assert model.fit_to(baseline, None).time_limit is None
    cnn_size = DataSize(4000, 1000, 784, 10, image_shape=(1, 28, 28))
    cnn = CostModel(cnn_size, search_seconds=1.0).fit_to(_network(100, CNN), None)
    assert cnn.budget_epochs == 100 and cnn.time_limit is None
    assert CostModel(SIZE).fit_to(_network(100), None).time_limit is None  # no budget


def test_an_ensemble_is_predicted_to_take_at_most_the_time_it_may_grow_in():
    # A forest's stages are cut at its time limit or at the deadline (fit_before).
    forest = Candidate(0, "random_forest", {}, None, 0, 1, "test")
    whole = CostModel(SIZE).predict(forest)
    model = CostModel(SIZE, search_seconds=whole)  # the time limit: a quarter of it
    assert model.fit_to(forest, None).predicted_time == pytest.approx(MAX_TRIAL_SHARE * whole)
    assert model.fit_to(forest, 0.1 * whole).predicted_time == pytest.approx(0.1 * whole)
    assert CostModel(SIZE).fit_to(forest, None).predicted_time == pytest.approx(whole)
    # A linear model is not cut: its prediction stands whatever the time.
    linear = Candidate(1, "linear", {}, None, 0, 1, "test")
    assert model.fit_to(linear, 1e-9).predicted_time == CostModel(SIZE).predict(linear)


def test_queued_ensembles_that_would_be_cut_short_wait_for_what_fits():
    forest = Candidate(0, "random_forest", {"n_estimators": 100}, None, 0, 1, "test")
    whole = CostModel(SIZE).predict(forest)
    # The forest's time limit, a quarter of the search, holds 40 % of its trees.
    model = CostModel(SIZE, search_seconds=0.4 * whole / MAX_TRIAL_SHARE)
    assert model.cut_short(model.fit_to(forest, None))
    roomy = CostModel(SIZE, search_seconds=whole / MAX_TRIAL_SHARE)
    assert not roomy.cut_short(roomy.fit_to(forest, None))
    assert roomy.cut_short(roomy.fit_to(forest, 0.3 * whole))  # by the deadline
    assert not model.cut_short(model.fit_to(_network(), None))  # networks shorten instead
    space = default_search_space(
        "classification", max_epochs=5, families=["mlp", "random_forest", "hist_gbdt"]
    )
    queue = [
        Configuration("random_forest", {"n_estimators": 100}),
        Configuration("mlp", {"max_epochs": 5}, MLP),
        Configuration("random_forest", {"n_estimators": 50}),
    ]
    study = Study(RandomStrategy(), space, 0, cost_model=model, starts=[(queue, "portfolio")])
    asked = [study.ask(None) for _ in range(3)]
    # The big forest goes after the network and the small forest, which fit.
    assert [(c.family, c.params.get("n_estimators")) for c in asked] == [
        ("mlp", None),
        ("random_forest", 50),
        ("random_forest", 100),
    ]
    assert [c.trial_id for c in asked] == [0, 1, 2]
    # A baseline is never held back, even when cut short by the deadline.
    study = Study(RandomStrategy(), space, 0, cost_model=model, starts=[(queue[:2], "baseline")])
    assert study.ask(0.3 * whole).family == "random_forest"


def test_a_boosting_still_improving_is_tried_next_with_more_iterations():
    space = default_search_space("regression", max_epochs=5, families=["hist_gbdt", "linear"])
    starts = [([Configuration("hist_gbdt", {}), Configuration("linear", {})], "baseline")]
    size = replace(SIZE, n_outputs=1, regression=True)
    boosting = Candidate(0, "hist_gbdt", {"max_iter": 500}, None, 0, 1, "test")
    whole = CostModel(size).predict(boosting)
    for search_seconds, tried in ((whole / MAX_TRIAL_SHARE, True), (0.4 * whole, False)):
        model = CostModel(size, search_seconds=search_seconds)
        study = Study(RandomStrategy(), space, 0, starts=starts, cost_model=model)
        default = study.ask()
        assert default.params["max_iter"] == 100
        study.tell(replace(_finished(default, 1.0), improving=True), finished_at=1.0)
        asked = study.ask()
        if not tried:  # its time limit would hold under half its iterations
            assert asked.family == "linear"
            continue
        assert (asked.proposer, asked.params["max_iter"]) == (
            "longer",
            min(LONGER_BOOSTING * 100, 500),
        )
        assert {k: v for k, v in asked.params.items() if k != "max_iter"} == {
            k: v for k, v in default.params.items() if k != "max_iter"
        }
        # At the space's bound already: nothing longer.
        study.tell(replace(_finished(asked, 5.0), improving=True), finished_at=6.0)
        assert study.ask().family == "linear"


def test_gradient_boosting_costs_by_its_coded_columns():
    """One code per one-hot block: 20 numbers and 5 blocks of 24 cost as 25 columns."""
    one_hot = DataSize(80_000, 20_000, 140, 3)
    coded = DataSize(80_000, 20_000, 140, 3, boosting_features=25)
    boosting = Candidate(0, "hist_gbdt", {}, None, 0, 1, "test")
    ratio = CostModel(coded).predict(boosting) / CostModel(one_hot).predict(boosting)
    per_cell = 80_000 * SECONDS_PER_UNIT["hist_gbdt"]  # a tree's fixed cost is the same
    assert ratio == pytest.approx(
        (SECONDS_PER_TREE + 25 * per_cell) / (SECONDS_PER_TREE + 140 * per_cell)
    )
    forest = Candidate(0, "random_forest", {}, None, 0, 1, "test")
    assert CostModel(coded).predict(forest) == CostModel(one_hot).predict(forest)


def test_gradient_boosting_on_weighted_rows_pays_for_binning_them_in_every_fit():
    # Measured with scikit-learn 1.9: one iteration on 180,000 rows x 30 columns took
    # 13-14 s with class_weight="balanced", 0.6 s without (see SECONDS_PER_WEIGHTED_BIN_UNIT).
    size = DataSize(n_train=180_000, n_valid=45_000, n_features=30, n_outputs=3)
    model = CostModel(size)
    plain = Candidate(0, "hist_gbdt", {"max_iter": 1}, None, 0, 1, "tpe")
    balanced = replace(plain, params={"max_iter": 1, "class_weight": "balanced"})
    assert model.predict(plain) < 0.5
    assert 7 < model.min_seconds(balanced) < 28  # the probe's first step bins the rows
    assert model.predict(balanced) == pytest.approx(3 * model.min_seconds(balanced), rel=0.01)
    assert model.refuses(balanced, seconds=3.0) and not model.refuses(plain, seconds=3.0)
    weighted = CostModel(replace(size, weighted=True))  # sample_weight given to fit
    assert weighted.min_seconds(plain) == pytest.approx(model.min_seconds(balanced))
    many_rows = CostModel(replace(size, n_train=250_000))  # binned on a weighted sample
    assert many_rows.predict(balanced) < 1.0
    forest = Candidate(0, "random_forest", {"class_weight": "balanced"}, None, 0, 1, "tpe")
    assert weighted.predict(forest) == pytest.approx(CostModel(size).predict(forest))


def test_ridge_on_dense_rows_costs_a_pass_over_them_not_logistic_iterations():
    # Measured: ridge on 180,000 x 80 dense rows fits in 0.10 s; the logistic
    # regression's constant predicted 1.35 s for it.
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    ridge = CostModel(DataSize(180_000, 45_000, 80, 1, regression=True)).predict(linear)
    assert ridge == pytest.approx(0.1, rel=0.1)
    logistic = CostModel(DataSize(180_000, 45_000, 80, 1)).predict(linear)
    assert logistic > 10 * ridge
    # A sparse matrix goes to an iterative solver: it keeps the iterative constant.
    sparse = DataSize(180_000, 45_000, 80, 1, regression=True, density=0.01)
    assert CostModel(sparse).predict(linear) == pytest.approx(0.01 * logistic)


def test_a_kind_without_trials_borrows_its_groups_speed():
    """A machine 2.5 times slower than the constants: one boosting trial tells the linear
    model (both classical), not the networks; their own trials then take over."""
    model = CostModel(SIZE)
    boosting = Candidate(0, "hist_gbdt", {}, None, 0, 1, "test")
    linear = Candidate(1, "linear", {}, None, 0, 1, "test")
    network = _network(10)
    before = {c.family: model.predict(c) for c in (boosting, linear, network)}
    model.record(_finished(boosting, 2.5 * before["hist_gbdt"]))
    assert model.predict(linear) == pytest.approx(2.5 * before["linear"])
    assert not model.calibrated(linear)  # its own margin for refusals stays
    assert model.predict(network) == pytest.approx(before[network.family])
    model.record(_finished(linear, 1.5 * before["linear"]))
    assert model.predict(linear) == pytest.approx(1.5 * before["linear"])


def _device(mac_scale, step_scale, asked=None):
    """``time_steps`` of a device whose multiply-adds and steps take ``mac_scale`` and
    ``step_scale`` times the constants; what it was asked to time goes to ``asked``."""

    def time_steps(genome, n_features, batch_size, steps):
        if asked is not None:
            asked.append((genome, n_features, batch_size, steps))
        probe = CostModel(DataSize(batch_size * steps, 0, n_features, SIZE.n_outputs))
        macs, per_steps = probe._network_terms(genome, batch_size * steps, 0, batch_size)
        return mac_scale * macs + step_scale * per_steps

    return time_steps


def test_a_timed_device_prices_dense_networks_and_leaves_convolutions_alone():
    """A device whose multiply-adds take 5 times the constants and whose steps take 2
    times (the 2-core AMD machine measured 5.4 and 1.8): a network priced by its
    multiply-adds takes about 5 times its old price, one priced by its steps about 2."""
    model, before = CostModel(SIZE), CostModel(SIZE)
    asked = []
    model.measure_networks(_device(5.0, 2.0, asked))
    assert len(asked) == 2 and all(n_features == SIZE.n_features for _, n_features, _, _ in asked)
    wide = _network(10, Genome("mlp", (LayerGene("dense", 2048),) * 2))
    tiny = replace(_network(10, Genome("mlp", (LayerGene("dense", 8),))), params={"batch_size": 16})
    assert 4.5 < model.predict(wide) / before.predict(wide) <= 5.0
    assert 2.0 <= model.predict(tiny) / before.predict(tiny) < 2.5
    cnn = replace(_network(10, CNN))
    images = DataSize(10_000, 1_000, 64, 10, image_shape=(1, 8, 8))
    timed = CostModel(images)
    timed.measure_networks(_device(5.0, 2.0))
    assert timed.predict(cnn) == pytest.approx(CostModel(images).predict(cnn))


def test_timings_that_do_not_give_two_scales_give_one():
    """The wide probe faster than the narrow one (a noisy machine) cannot be two positive
    scales; both become the ratio of the total time to the constants'."""
    model, before = CostModel(SIZE), CostModel(SIZE)
    model.measure_networks(
        lambda genome, n_features, batch_size, steps: 0.5 if genome.layers[0].width < 100 else 0.05
    )
    ratio = model.predict(_network(10)) / before.predict(_network(10))
    assert model._mac_scale == model._step_scale
    assert ratio == pytest.approx(model._mac_scale) and ratio > 0


def test_the_speed_probes_see_at_most_a_thousand_inputs():
    """On a 50,000-column sparse input a probe's first layer would take seconds a step."""
    asked = []
    CostModel(replace(SIZE, n_features=50_000)).measure_networks(_device(1.0, 1.0, asked))
    assert {n_features for _, n_features, _, _ in asked} == {SPEED_PROBE_MAX_FEATURES}


def test_min_seconds_is_a_first_rung_or_a_probe():
    model = CostModel(DataSize(80_000, 20_000, 20, 3, n_fits=5))
    network = _network(27)
    assert model.min_seconds(network) == pytest.approx(model.predict(network, epochs=3, fits=1))
    forest = Candidate(0, "random_forest", {}, None, 0, 1, "test")
    assert model.min_seconds(forest) == pytest.approx(0.1 * model.predict(forest) / 5)
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    assert model.min_seconds(linear) == pytest.approx(model.predict(linear) / 5)


def test_a_network_pays_for_its_first_fold_twice_under_cross_validation():
    network, linear = _network(10), Candidate(0, "linear", {}, None, 0, 1, "test")
    folds, holdout = CostModel(DataSize(800, 200, 20, 3, n_fits=5)), CostModel(SIZE)
    assert (folds.fits(network), folds.fits(linear), holdout.fits(network)) == (6, 5, 1)
    one = folds.predict(network, fits=1)
    assert folds.predict(network) == pytest.approx(6 * one)
    folds.record(_finished(network, 12 * one))  # twice as slow as predicted
    assert folds.predict(network) == pytest.approx(12 * one)


def test_the_work_done_is_priced_before_the_model_learns_from_it():
    model = CostModel(SIZE)
    network = _network(44)
    pruned = _finished(network, 10.0, epochs=6, state=TrialState.PRUNED)
    six_epochs = model.predict(network, epochs=6, fits=1)
    assert model.predict_done(pruned) == pytest.approx(six_epochs)  # not the 44 planned
    boosting = Candidate(0, "hist_gbdt", {"max_iter": 500}, None, 0, 1, "test")
    stopped = replace(_finished(boosting, 1.0), work_done=0.3)  # 150 of 500 iterations
    assert model.predict_done(stopped) == pytest.approx(0.3 * model.predict(boosting))
    assert math.isnan(model.predict_done(_finished(boosting, 0.0, state=TrialState.FAIL)))
    # Through the study: the price before the trial taught the model (here twice as slow).
    study = _study_with(model, "hist_gbdt")
    slow = replace(_finished(boosting, 2 * model.predict(boosting)), work_done=1.0)
    recorded = study.tell(slow, finished_at=1.0)
    assert recorded.predicted_done_time == pytest.approx(slow.fit_time / 2)
    assert model.predict(boosting) == pytest.approx(slow.fit_time)  # and then it learnt
    assert study.history.to_frame()["predicted_done_time"].iloc[0] == pytest.approx(
        slow.fit_time / 2
    )


def _study_with(model, family="linear"):
    space = default_search_space("classification", max_epochs=5, families=[family])
    return Study(RandomStrategy(), space, 0, cost_model=model)


def test_the_search_skips_candidates_that_cannot_finish():
    model = CostModel(DataSize(1_000_000, 100_000, 50, 2))
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    model.record(_finished(linear, model.predict(linear)))  # calibrated: 9 s a trial
    evaluated = []

    def evaluate(candidate, deadline):
        evaluated.append(candidate)
        return _finished(candidate, 0.0)

    started = time.monotonic()
    history = run_search(_study_with(model), evaluate, deadline=time.monotonic() + 2.0)
    assert time.monotonic() - started < 1.5  # ended when the skips ran out, not at 2 s
    assert not evaluated and len(history.results) == MAX_SKIPPED_IN_A_ROW
    result = history.results[0]
    assert result.state is TrialState.FAIL
    assert re.fullmatch(
        r"skipped: predicted to need 9\.0 s to be of use, [12]\.\d s left", result.error
    )
    assert math.isfinite(result.candidate.predicted_time)


def test_uncalibrated_predictions_refuse_only_what_is_far_too_slow():
    model = CostModel(DataSize(1_000_000, 100_000, 50, 2))
    study = _study_with(model, "hist_gbdt")  # a linear model gets no margin: see above
    candidate = study.ask(None)
    needed = model.min_seconds(candidate)
    assert study.too_slow(candidate, needed / 2) is None  # no boosting finished yet
    assert study.too_slow(candidate, needed / UNCALIBRATED_MARGIN / 2) is not None
    model.record(_finished(candidate, model.predict(candidate)))
    assert study.too_slow(candidate, needed / 2) is not None
    assert study.too_slow(candidate, None) is None


def test_a_trial_stops_at_its_time_limit(rng):
    X = rng.normal(size=(3000, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer("accuracy", "classification"))
    forest = Candidate(0, "random_forest", {"n_estimators": 300}, None, 0, 1, "t", time_limit=0.3)
    result = evaluator(forest)
    assert result.ok and result.error.startswith(
        "stopped by its time limit (0.3s) at n_estimators="
    )
    assert result.fit_time < 3.0


def test_a_network_shortens_its_schedule_to_end_within_its_time_limit(rng):
    X = rng.normal(size=(3000, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=0)
    scorer = get_prediction_scorer("accuracy", "classification")
    evaluator = Evaluator(split, scorer, patience=10**4)
    # 10,000 epochs: the prediction of a first network can be this far off (57 s for 20 s)
    slow = replace(_network(10_000), params={"batch_size": 32}, time_limit=3.0)
    result = evaluator(slow)
    assert result.ok and result.score > 0.9
    epochs = result.candidate.budget_epochs  # what it trained under: the shortened schedule
    assert 1 <= result.n_epochs <= epochs < 10_000
    assert result.error == f"its schedule shortened to {epochs} epochs to end in time"
    # A refit follows the shortened schedule to the same end, and is not itself cut.
    assert evaluator.refit(result.candidate, result.best_epoch, deadline=None) is not None
    assert evaluator.refit(slow, result.best_epoch, time.monotonic()) is None  # cut


def test_an_epoch_is_a_fresh_sample_of_rows_per_epoch():
    X = torch.arange(100, dtype=torch.float32).reshape(-1, 1)
    iterator = TensorBatchIterator(
        TensorDataset(X, X[:, 0].long()), batch_size=8, shuffle=True, rows_per_epoch=30
    )
    epochs = []
    for _ in range(10):
        rows = torch.cat([batch[1] for batch in iterator]).tolist()
        assert len(rows) == len(set(rows)) == 30 and len(iterator) == 4
        epochs.append(set(rows))
    assert epochs[0] != epochs[1]
    assert len(set().union(*epochs)) > 90  # every epoch draws afresh from all rows
    full = TensorBatchIterator(TensorDataset(X, X), batch_size=8, shuffle=True)
    assert sum(len(batch[0]) for batch in full) == 100
    unshuffled = TensorBatchIterator(TensorDataset(X, X), batch_size=8, rows_per_epoch=30)
    assert sum(len(batch[0]) for batch in unshuffled) == 100  # validation sees every row


def test_the_leaderboard_shows_predicted_times():
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    model = NASClassifier(n_trials=4, max_epochs=3, cv=None, random_state=0).fit(X, y)
    board = model.leaderboard_
    assert np.isfinite(board["predicted_time"]).all()
    assert (board["predicted_time"] > 0).all()
    done = board.loc[board["state"] != "FAIL", "predicted_done_time"]
    assert np.isfinite(done).all() and (done > 0).all()


def test_a_linear_model_fits_on_a_sample_of_many_rows(rng):
    X = rng.normal(size=(LINEAR_MAX_ROWS + 5000, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    split = make_split(X, y, task="classification", validation_fraction=0.01, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer("accuracy", "classification"))
    result = evaluator(Candidate(0, "linear", {}, None, 0, 1, "baseline"))
    assert result.ok and result.score > 0.98
    assert result.member.estimator.n_features_in_ == 3
    model = CostModel(DataSize(10 * LINEAR_MAX_ROWS, 1000, 3, 2, linear_rows=LINEAR_MAX_ROWS))
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    assert model.predict(linear) == pytest.approx(
        CostModel(DataSize(LINEAR_MAX_ROWS, 1000, 3, 2)).predict(linear)
    )


def test_sparse_input_costs_linear_models_and_trees_by_stored_values():
    """On a sparse matrix a linear model reads the stored values only (networks densify
    their batches, trees split as slowly as on dense rows); a 100,000 x 50,000 matrix
    at 0.1 % must not look like 5e9 values to the linear model (it was refused)."""
    dense = CostModel(DataSize(80_000, 20_000, 50_000, 2))
    sparse = CostModel(DataSize(80_000, 20_000, 50_000, 2, density=0.001))
    linear = Candidate(0, "linear", {}, None, 0, 1, "test")
    forest = Candidate(0, "random_forest", {"estimator": "random_forest"}, None, 0, 1, "test")
    mlp = Candidate(
        0, "mlp", {"batch_size": 256}, Genome("mlp", (LayerGene("dense", 64),)), 0, 5, "t"
    )
    assert sparse.predict(linear) == pytest.approx(dense.predict(linear) * 0.001)
    assert sparse.predict(forest) == dense.predict(forest)
    assert sparse.predict(mlp) == dense.predict(mlp)
    assert not sparse.refuses(linear, 45.0)


def _minirocket(head="ridge", kernels=10_000):
    return Candidate(0, "minirocket", {"head": head, "n_kernels": kernels}, None, 0, 1, "test")


# OSULeaf under 5-fold cross-validation: 160 training and 40 validation series of 427
# steps, 6 classes.
OSULEAF = DataSize(160, 40, 427, 6, n_fits=5, image_shape=(1, 427))


def test_minirocket_costs_its_transform_and_head_each_calibrating_alone():
    """Measured on OSULeaf (2-core Xeon): the baseline MiniRocket (ridge head) took 2.0 s
    for its 5 folds; one fit with a logistic head 12 s. Calibrating the ridge from its
    trial leaves the logistic head its own kind, still far slower."""
    model = CostModel(OSULEAF)
    ridge, logistic = _minirocket(), _minirocket("logistic")
    assert 1.0 < model.predict(ridge) < 4.0
    assert 6.0 < model.predict(logistic, fits=1) < 24.0
    model.record(_finished(ridge, 2.0))
    assert model.calibrated(ridge) and not model.calibrated(logistic)
    assert model.predict(logistic) > 10 * model.predict(ridge)
    fewer = model.predict(_minirocket(kernels=2_500))
    assert fewer < model.predict(ridge)


def test_minirocket_needs_a_fold_of_time_left_as_nothing_stops_one():
    model = CostModel(OSULEAF)
    logistic = _minirocket("logistic")
    one_fold = model.min_seconds(logistic)
    assert one_fold == pytest.approx(model.predict(logistic) / 5)
    # The first of its kind: three times its guess (ACSF1: guessed at 8 s, took 23.8 s).
    assert model.required_seconds(logistic) == pytest.approx(UNCALIBRATED_MARGIN * one_fold)
    assert model.refuses(logistic, 2 * one_fold)
    model.record(_finished(logistic, model.predict(logistic)))
    assert model.refuses(logistic, 0.9 * one_fold)
    assert not model.refuses(logistic, 1.1 * one_fold)


def test_a_sequence_cnn_costs_its_one_dimensional_convolutions():
    """The unpooled default ``cnn1d`` (three inception blocks) on OSULeaf: its first
    trial, 37 epochs on each of 5 folds, took 85 and 90 s on the 2-core Xeon (predicted
    14.5 s before 1-d convolutions had their own speed). Pooled (the default on series
    this long since), its steps took a third of the time."""
    space = default_search_space(
        "classification", max_epochs=50, families=["cnn1d"], image_shape=(1, 427)
    )
    point = space["cnn1d"].default_point()
    params, unpooled = space["cnn1d"].decode(point | {"arch__pool": False})
    model = CostModel(replace(OSULEAF, batch_size_for=lambda batch: 32))
    predicted = model.predict(Candidate(0, "cnn1d", params, unpooled, 0, 37, "default"))
    assert 45.0 < predicted < 180.0
    _, pooled = space["cnn1d"].decode(point)
    assert model.predict(Candidate(0, "cnn1d", params, pooled, 0, 37, "default")) < predicted / 2
    flat = CostModel(replace(OSULEAF, image_shape=None, batch_size_for=lambda batch: 32))
    mlp = _network(37, Genome("mlp", (LayerGene("dense", 64),)))
    assert model.predict(mlp) == pytest.approx(flat.predict(mlp))  # dense layers: as on tables


@pytest.mark.parametrize(
    "families, image_shape, time_budget, timed",
    [
        (["mlp", "linear"], None, 30, True),
        (["mlp", "linear"], None, None, False),
        (["linear", "hist_gbdt"], None, 30, False),
        (["mlp"], (1, 4, 4), 30, False),
    ],
)
def test_a_timed_tabular_search_with_networks_times_them_first(
    monkeypatch, families, image_shape, time_budget, timed
):
    """Dense networks on tables are priced from the device's own speed (the constants
    were 3.5-4.8 times off for the first network on another 2-core machine) where a time
    budget is planned; searches without one or without networks, and image searches
    (priced per convolution kind), time nothing."""
    asked = []

    def fake(genome, n_features, n_outputs, batch_size, steps, device):
        asked.append((n_features, n_outputs, device))
        return 0.01 * steps

    monkeypatch.setattr("sknas.engine.training_seconds", fake)
    X, y = make_classification(
        n_samples=200, n_features=16, n_classes=3, n_informative=6, random_state=0
    )
    NASClassifier(
        n_trials=2,
        time_budget=time_budget,
        max_epochs=2,
        families=families,
        image_shape=image_shape,
        portfolio=False,
    ).fit(X, y)
    assert asked == ([(16, 3, "cpu")] * 2 if timed else [])


def test_a_device_that_cannot_be_timed_leaves_the_constants(monkeypatch, caplog):
    """The probe only refines predictions: an error in it (a CUDA device out of memory)
    is logged and the search prices networks by the constants."""

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr("sknas.engine.training_seconds", broken)
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    with caplog.at_level("INFO", logger="sknas"):
        model = NASClassifier(
            n_trials=2, time_budget=30, max_epochs=2, families=["mlp"], portfolio=False
        ).fit(X, y)
    assert model.leaderboard_["state"].eq("COMPLETE").all()
    assert "Could not time networks on cpu: CUDA out of memory" in caplog.text
    assert "Timed dense networks" not in caplog.text  # not reported as timed


def test_timing_a_device_leaves_the_callers_random_state_alone():
    from sknas.evaluation.speed import training_seconds

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    training_seconds(Genome("mlp", (LayerGene("dense", 24),)), 7, 2, 16, 2, "cpu")
    assert torch.equal(torch.rand(3), expected)
