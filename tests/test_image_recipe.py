"""The CNN recipe of image searches (issue 17): the hand-written CNN is the default point,
trials on images start from known-good designs and evolve from them, train in bfloat16
where the CPU computes it natively while keeping float32 weights, and are not judged
before they have warmed up."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from sknas import NASClassifier
from sknas.engine import IMAGE_TPE_TRIALS, _make_strategy
from sknas.evaluation.callbacks import LearningRateSchedule, TrainingDeadline
from sknas.evaluation.members import NeuralMember
from sknas.evaluation.nets import cpu_bf16_is_fast, make_net, training_precision
from sknas.fidelity import SuccessiveHalving
from sknas.history import SearchHistory
from sknas.space import Genome, default_search_space
from sknas.space.families import CNN_EPOCHS, CNN_EPOCHS_BUDGET
from sknas.strategies import FusedStrategy
from sknas.transfer import load_portfolio
from sknas.trial import Candidate


#: The hand CNN of benchmarks/images.py as a genome: two 3x3 convolutions with batch norm
#: per stage, 32, 64 and 128 channels, a 2x2 max-pool closing each stage.
def _hand_cnn(widths=(32, 64, 128)):
    return "cnn:" + "|".join(
        f"conv{width}k3{pool}-relu-d0-batch" for width in widths for pool in ("", "p")
    )


HAND_CNN = _hand_cnn()


def _cnn(image_shape, task="classification", **point):
    family = default_search_space(task, max_epochs=50, image_shape=image_shape)["cnn"]
    params, genome = family.decode(family.default_point() | point)
    return family, params, genome


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_the_default_cnn_is_the_hand_written_one(image_shape):
    family, params, genome = _cnn(image_shape)
    assert genome.key() == HAND_CNN
    assert params["lr"] == 3e-3 and params["optimizer"] == "adamw"
    assert params["optimizer__weight_decay"] == 5e-2 and params["batch_size"] == 128
    assert params["lr_schedule"] == "cosine" and params["criterion__label_smoothing"] == 0.1
    assert params["aug__shift"] == (1 if image_shape[1] < 16 else 2)
    assert params["max_epochs"] == 12
    assert family.encode(params, genome) == family.default_point()  # TPE learns from it


def test_longer_budgets_train_the_default_cnn_longer():
    def default_epochs(family, shape, time_budget, max_epochs=50):
        space = default_search_space(
            "classification", max_epochs=max_epochs, image_shape=shape, time_budget=time_budget
        )
        return space[family].default_point()["max_epochs"]

    for time_budget in (None, 60, CNN_EPOCHS_BUDGET):
        assert default_epochs("cnn", (1, 28, 28), time_budget) == CNN_EPOCHS
    assert default_epochs("cnn", (1, 28, 28), 2 * CNN_EPOCHS_BUDGET) == 2 * CNN_EPOCHS
    assert default_epochs("cnn", (1, 28, 28), 10 * CNN_EPOCHS_BUDGET, max_epochs=30) == 30
    # sequences and tables keep theirs
    assert default_epochs("cnn1d", (1, 64), 600) == default_epochs("cnn1d", (1, 64), None)
    assert default_epochs("mlp", None, 600) == 50


def test_cnn_points_round_trip_and_fit_small_images():
    rng = np.random.default_rng(0)
    for image_shape in [(1, 28, 28), (1, 8, 8), (1, 5, 9)]:
        family = default_search_space("regression", max_epochs=20, image_shape=image_shape)
        family = family["cnn"]
        assert "criterion__label_smoothing" not in family.dimensions  # classification only
        for _ in range(50):
            params, genome = family.decode(family.sample_point(rng))
            assert genome.fits(image_shape)
            point = family.encode(params, genome)
            assert point is not None and family.decode(point) == (params, genome)


def test_tabular_spaces_are_unchanged():
    space = default_search_space("classification", max_epochs=50)
    assert space.family_names == ("mlp", "hist_gbdt", "resnet_mlp", "linear", "random_forest")
    point = space["mlp"].default_point()
    assert point["lr"] == 2e-3 and point["batch_size"] == 64 and point["max_epochs"] == 50
    assert point["aug__noise"] == point["aug__mixup"] == 0.0
    assert "criterion__label_smoothing" not in point


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_image_searches_start_from_known_good_cnns(image_shape, task):
    portfolio = load_portfolio(task, image_shape=image_shape)
    assert 2 <= len(portfolio) <= 5 and {c.family for c in portfolio} == {"cnn"}
    family = default_search_space(task, max_epochs=50, image_shape=image_shape)["cnn"]
    hand = [c for c in portfolio if c.genome.key() == HAND_CNN]
    assert portfolio[1] == hand[0]  # after a quick smaller one
    assert family.adapt(hand[0].params, hand[0].genome) == family.decode(family.default_point())
    assert portfolio[0].genome.key() == _hand_cnn((16, 32, 64))
    for configuration in portfolio:
        params, genome = family.adapt(configuration.params, configuration.genome)
        assert genome == configuration.genome
        assert family.encode(params, genome) is not None
    assert {c.family for c in load_portfolio(task)} != {"cnn"}  # tables keep theirs


def test_image_searches_evolve_from_the_portfolios_cnns():
    strategy = _make_strategy("auto", (1, 28, 28))
    assert isinstance(strategy, FusedStrategy) and strategy.n_tpe_trials == IMAGE_TPE_TRIALS
    assert IMAGE_TPE_TRIALS == len(load_portfolio("classification", image_shape=(1, 28, 28)))
    for name, shape in [("auto", None), ("auto", (3, 100)), ("fused", (1, 28, 28))]:
        assert _make_strategy(name, shape).n_tpe_trials == FusedStrategy().n_tpe_trials
    mine = FusedStrategy(n_tpe_trials=1)
    assert _make_strategy(mine, (1, 28, 28)) is not mine  # a copy, never the user's


def test_cnn_trials_are_first_judged_at_a_third_of_their_epochs():
    halving = SuccessiveHalving(3, 3)
    _, params, genome = _cnn((1, 28, 28))
    cnn = Candidate(0, "cnn", params, genome, 0, 12, "test")
    assert halving.fidelity_for(cnn).rungs == (4, 12)
    assert halving.fidelity_for(Candidate(0, "cnn", params, genome, 0, 50, "t")).rungs == (17, 50)
    mlp = Candidate(0, "mlp", {}, Genome.from_key("mlp:dense8-relu-d0-none"), 0, 12, "test")
    assert halving.fidelity_for(mlp).rungs == (2, 4, 12)  # tables as before


def test_cnns_train_in_bfloat16_with_float32_weights_where_the_cpu_is_fast():
    _, params, genome = _cnn((1, 8, 8), max_epochs=1)
    precision = training_precision("cpu", convolutional=True)
    assert training_precision("cpu", convolutional=False) == {
        "autocast_dtype": None,
        "channels_last": False,
    }
    bf16 = torch.bfloat16 if cpu_bf16_is_fast() else None
    assert precision == {"autocast_dtype": bf16, "channels_last": True}  # on every CPU
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(64, 64)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 3, 64))
    candidate = Candidate(0, "cnn", params, genome, 0, 1, "test")
    net = make_net(
        candidate,
        task="classification",
        n_features=64,
        n_outputs=3,
        valid_dataset=None,
        callbacks=[],
        image_shape=(1, 8, 8),
    )
    assert net.autocast_dtype == precision["autocast_dtype"]
    net.fit(TensorDataset(X, y), None)
    assert np.isfinite(net.history[-1]["train_loss"])
    assert all(p.dtype == torch.float32 for p in net.module_.parameters())
    assert net.optimizer_.state and all(
        s["exp_avg"].dtype == torch.float32 for s in net.optimizer_.state.values()
    )
    member = NeuralMember.from_module(
        net.module_, genome=genome, n_features=64, n_outputs=3, task="classification",
        image_shape=(1, 8, 8),
    )  # fmt: skip
    floats = [w for w in member.weights.values() if w.dtype.kind == "f"]
    assert all(w.dtype == np.float32 and w.flags.c_contiguous for w in floats)
    expected = net.module_.eval()(X).softmax(dim=1).detach().numpy()
    np.testing.assert_allclose(member.predict(X.numpy()), expected, atol=1e-5)


def test_the_first_image_trial_learns_digits_in_a_few_epochs():
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X.reshape(-1, 1, 8, 8) / 16, y, train_size=800, stratify=y, random_state=0
    )
    clf = NASClassifier(n_trials=1, max_epochs=8, cv=None, refit=False, random_state=0)
    board = clf.fit(X_train, y_train).leaderboard_
    first = board.sort_values("trial_id").iloc[0]
    quick = load_portfolio("classification", (1, 8, 8))[0]  # the portfolio's first CNN
    assert first["proposer"] == "portfolio" and first["genome"] == quick.genome.key()
    assert first["n_epochs"] == 8 and first["score"] >= 0.9  # measured: 0.9625, 1.5 s


class _Net:
    """What LearningRateSchedule reads of a skorch net: 10 steps an epoch, a deadline."""

    lr = 1.0

    def __init__(self, seconds_left):
        self.callbacks_ = [("deadline", TrainingDeadline(time.monotonic() + seconds_left))]
        self.optimizer_ = SimpleNamespace(param_groups=[{}])

    def get_iterator(self, X, training):
        return range(10)


@pytest.mark.parametrize("follow_deadline", [True, False])
def test_a_cnn_schedule_shrinks_to_the_epochs_that_fit_before_its_deadline(follow_deadline):
    schedule = LearningRateSchedule(20, "cosine", follow_deadline=follow_deadline)
    net = _Net(seconds_left=10.0)
    schedule.on_train_begin(net)
    schedule.on_epoch_begin(net)
    for _ in range(10):
        schedule.on_batch_begin(net, training=True)
    schedule.epoch_started_ -= 4.0  # the epoch took 4 s: 2 more fit in the 10 s left
    schedule.on_epoch_end(net)
    assert schedule.span_ == (3 if follow_deadline else 20)
    for _ in range(20):
        schedule.on_batch_begin(net, training=True)
    last = net.optimizer_.param_groups[0]["lr"]  # the last step before the deadline
    assert last < 0.01 if follow_deadline else last > 0.5
    if follow_deadline:  # the shortened schedule has ended: so does the training
        with pytest.raises(KeyboardInterrupt):
            schedule.on_epoch_begin(net)
    else:
        schedule.on_epoch_begin(net)


def test_a_refit_keeps_its_trials_schedule_while_the_epochs_it_trains_fit():
    schedule = LearningRateSchedule(20, "cosine", follow_deadline=True)
    net = _Net(seconds_left=10.0)
    net.max_epochs = 3  # the trial's best epoch: the refit trains 3 epochs of its 20
    schedule.on_train_begin(net)
    schedule.on_epoch_begin(net)
    for _ in range(10):
        schedule.on_batch_begin(net, training=True)
    schedule.epoch_started_ -= 4.0  # 2 more epochs of 4 s fit in the 10 s left: enough
    schedule.on_epoch_end(net)
    assert schedule.span_ == 20 and not schedule.shortened_
    net.max_epochs = 4  # 3 more would not fit: the schedule ends with the training
    schedule.on_train_begin(net)
    schedule.on_epoch_begin(net)
    for _ in range(10):
        schedule.on_batch_begin(net, training=True)
    schedule.epoch_started_ -= 4.0
    schedule.on_epoch_end(net)
    assert schedule.span_ == 3 and schedule.shortened_


def test_a_schedule_shortened_by_a_slow_first_epoch_lengthens_again():
    schedule = LearningRateSchedule(20, "cosine", follow_deadline=True)
    net = _Net(seconds_left=10.0)
    schedule.on_train_begin(net)
    for seconds, span in ((4.0, 3), (0.1, 20)):  # 20 epochs of 0.1 s fit in the ~10 s left
        schedule.on_epoch_begin(net)
        for _ in range(10):
            schedule.on_batch_begin(net, training=True)
        schedule.epoch_started_ -= seconds
        schedule.on_epoch_end(net)
        assert schedule.span_ == span and schedule.shortened_ == (span < 20)


def test_the_search_sizes_cnn_epochs_by_its_time_budget(monkeypatch):
    import sknas.engine

    seen = []

    def recording(*args, **kwargs):
        seen.append(kwargs["time_budget"])
        return default_search_space(*args, **kwargs)

    monkeypatch.setattr(sknas.engine, "default_search_space", recording)
    X, y = load_digits(return_X_y=True)
    for time_budget in (None, 300):
        NASClassifier(
            n_trials=1, time_budget=time_budget, families=["linear"], cv=None, random_state=0
        ).fit(X[:200], y[:200])
    assert seen == [None, 300]


def test_a_timed_image_search_keeps_time_back_to_continue_its_networks(monkeypatch):
    """On a holdout, a third of the budget goes to continuing the chosen CNNs on every
    row (tables keep their 10 % refit reserve: tests/test_cv.py)."""
    import sknas.engine

    searched, refits = [], []
    run_search, refit_members = sknas.engine.run_search, sknas.engine.refit_members

    def spy_search(*args, reserve, **kwargs):
        searched.append(reserve)
        return run_search(*args, reserve=reserve, **kwargs)

    def spy_refit(*args, **kwargs):
        refits.append(kwargs["continue_networks"])
        return refit_members(*args, **kwargs)

    monkeypatch.setattr(sknas.engine, "run_search", spy_search)
    monkeypatch.setattr(sknas.engine, "refit_members", spy_refit)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.reshape(-1, 1, 8, 8) / 16, y, train_size=800, stratify=y, random_state=0
    )
    clf = NASClassifier(time_budget=8, cv=None, random_state=0).fit(X_train, y_train)
    assert searched[0](SearchHistory()) == pytest.approx(sknas.engine.CONTINUE_RESERVE * 8)
    assert refits == [True]
    notes = clf.leaderboard_.dropna(subset=["refit"])["refit"]
    assert len(notes) == len(clf.ensemble_.members_)
    assert all(n.startswith(("continued ", "kept: ")) for n in notes), list(notes)
    assert clf.score(X_test, y_test) > 0.9
