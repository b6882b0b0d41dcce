"""Sequence inputs (time series): shapes, errors, the cnn1d and minirocket families,
augmentation, and fitted models that predict, pickle, save and export."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from helpers import ScriptedStrategy, threads_of
from torch.utils.data import TensorDataset

from sknas import NASClassifier, NASRegressor
from sknas.cost_model import network_macs
from sknas.engine import starting_configurations
from sknas.evaluation import TensorBatchIterator
from sknas.evaluation.augmentation import Augmentation
from sknas.evaluation.inheritance import inherit_weights
from sknas.exceptions import ModelFileError, SearchFailedError
from sknas.preprocessing import input_rows
from sknas.space import Genome, LayerGene, default_search_space
from sknas.space import families as families_module
from sknas.space.families import LONG_SEQUENCE
from sknas.space.genome import max_pools
from sknas.space.modules import GenomeNet
from sknas.space.mutations import mutate
from sknas.strategies import RandomStrategy
from sknas.study import Study

aeon_datasets = pytest.importorskip("aeon.datasets")

#: Small networks keep the fits fast (16 channels: 4 per inception branch).
SMALL = {"arch__channels": 16, "arch__n_blocks": 2}


@pytest.fixture(scope="module")
def gunpoint():
    X_train, y_train = aeon_datasets.load_gunpoint(split="train")
    X_test, y_test = aeon_datasets.load_gunpoint(split="test")
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="module")
def searched(gunpoint):
    """The default families (minirocket, then cnn1d) on GunPoint, one default trial each."""
    X_train, y_train, _, _ = gunpoint
    clf = NASClassifier(n_trials=2, random_state=0)
    return clf.fit(X_train, y_train)


@pytest.fixture(scope="module")
def rocket_only(gunpoint):
    X_train, y_train, _, _ = gunpoint
    clf = NASClassifier(families=["minirocket"], n_trials=1, cv=None, random_state=0)
    return clf.fit(X_train, y_train)


@pytest.fixture(scope="module")
def cnn1d_only(gunpoint):
    X_train, y_train, _, _ = gunpoint
    clf = NASClassifier(
        families=["cnn1d"],
        strategy=ScriptedStrategy([("cnn1d", SMALL)]),
        n_trials=1,
        cv=None,
        portfolio=False,
        random_state=0,
    )
    return clf.fit(X_train, y_train)


def test_sequence_arrays_and_lists_become_rows_with_their_shape():
    rows, shape = input_rows(np.zeros((4, 3, 20)))
    assert rows.shape == (4, 60) and shape == (3, 20)
    rows, shape = input_rows([np.zeros((2, 10)), np.ones((2, 10))])
    assert rows.shape == (2, 20) and shape == (2, 10)
    rows, shape = input_rows(np.zeros((4, 60)), sequence_shape=[3, 20])
    assert rows.shape == (4, 60) and shape == (3, 20)


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        ([np.zeros((1, 10)), np.zeros((1, 12))], {}, r"different .* Pad every series"),
        (np.zeros((4, 2, 10)), {"sequence_shape": (2, 11)}, r"sequences of shape \(2, 10\)"),
        (np.zeros((4, 20)), {"sequence_shape": (3, 7)}, "holds 21 values per row, but X has 20"),
        (np.zeros((4, 20)), {"sequence_shape": (20,)}, "sequence_shape must be"),
        (np.zeros((4, 1, 2, 10)), {"sequence_shape": (2, 10)}, "holds images"),
        (np.zeros((4, 20)), {"sequence_shape": (2, 10), "image_shape": (1, 4, 5)}, "not both"),
    ],
)
def test_sequence_shape_errors_say_what_to_fix(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        input_rows(X, **kwargs)


@pytest.mark.parametrize(
    ("params", "X", "match"),
    [
        ({"sequence_shape": (2, 7)}, np.zeros((10, 30)), "holds 14 values per row"),
        ({"families": ["mlp", "hist_gbdt"]}, np.zeros((10, 2, 15)), "no sequence family"),
        ({"families": ["cnn"]}, np.zeros((10, 8, 8)), r"X\[:, None\]"),
        ({"families": ["cnn1d"]}, np.zeros((10, 6)), "'cnn1d' family needs sequences"),
    ],
)
def test_bad_sequence_searches_fail_before_any_trial(params, X, match, monkeypatch):
    def no_trial(*args, **kwargs):  # pragma: no cover - reached only by a bug
        raise AssertionError("a trial ran")

    monkeypatch.setattr("sknas.engine.run_search", no_trial)
    y = np.arange(len(X)) % 2
    with pytest.raises(ValueError, match=match):
        NASClassifier(n_trials=1, **params).fit(X, y)


def test_sequences_with_nan_are_refused_with_what_to_do(gunpoint):
    X_train, y_train, X_test, _ = gunpoint
    X = X_train.copy()
    X[3, 0, 100:] = np.nan  # a shorter series padded with NaN
    with pytest.raises(ValueError, match=r"NaN .* \(in 1 of 50 series\).* pad series"):
        NASClassifier(n_trials=1).fit(X, y_train)


def test_series_of_different_lengths_are_refused_with_what_to_do():
    X, y = aeon_datasets.load_classification("JapaneseVowels", split="train")
    assert isinstance(X, list) and len({series.shape[1] for series in X}) > 1
    with pytest.raises(ValueError, match="needs equal lengths. Pad every series"):
        NASClassifier(n_trials=1).fit(X, y)


def test_sparse_rows_cannot_hold_sequences():
    X = sp.random(10, 20, density=0.3, format="csr", random_state=0)
    with pytest.raises(TypeError, match=r"Sparse X cannot hold sequences \(sequence_shape"):
        NASClassifier(sequence_shape=(2, 10), n_trials=1).fit(X, np.arange(10) % 2)


def test_sequence_searches_default_to_minirocket_then_cnn1d():
    space = default_search_space("classification", max_epochs=20, image_shape=(2, 50))
    assert space.family_names == ("minirocket", "cnn1d")
    assert space["minirocket"].default_point() == {
        "n_channels": 2,
        "n_kernels": 10_000,
        "head": "ridge",
        "class_weight": None,
    }
    params, genome = space["cnn1d"].decode(space["cnn1d"].default_point())
    assert [layer.kind for layer in genome.layers] == ["inception"] * 3
    assert {"aug__jitter", "aug__scale", "aug__shift", "aug__crop"} <= set(params)
    regression = default_search_space("regression", max_epochs=20, image_shape=(1, 50))
    assert set(regression["minirocket"].dimensions) == {"n_channels", "n_kernels"}


@pytest.mark.parametrize("length", [LONG_SEQUENCE, LONG_SEQUENCE + 1])
def test_the_default_cnn1d_pools_only_long_series(length):
    space = default_search_space("classification", max_epochs=20, image_shape=(1, length))
    point = space["cnn1d"].default_point()
    _, genome = space["cnn1d"].decode(point)
    _, unpooled = space["cnn1d"].decode(point | {"arch__pool": False})
    long = length > LONG_SEQUENCE
    assert [layer.pool for layer in genome.layers] == [long] * 3
    macs, unpooled_macs = (network_macs(g, length, 2, (1, length)) for g in (genome, unpooled))
    if long:  # pooled blocks: under half the work
        assert macs < unpooled_macs / 2
    else:
        assert macs == unpooled_macs


def test_timed_sequence_searches_start_with_minirocket_as_their_baseline():
    """The default MiniRocket is the sequences' baseline (what ensemble selection is checked
    against); the tables' baselines are not in a sequence space and stay out."""
    space = default_search_space("classification", max_epochs=20, image_shape=(2, 50))
    est = NASClassifier(time_budget=30)
    est.image_shape_ = (2, 50)  # as fit's validation sets it for (n, 2, 50) sequences
    starts = starting_configurations(est)
    study = Study(RandomStrategy(), space, 0, starts=starts)
    first, second = study.ask(), study.ask()
    assert (first.family, first.proposer) == ("minirocket", "baseline")
    assert first.params == space["minirocket"].decode(space["minirocket"].default_point())[0]
    assert second.proposer != "baseline"  # linear and hist_gbdt are not sequence families


def test_without_aeon_minirocket_is_left_out_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(families_module, "aeon_available", lambda: False)
    shape = (1, 50)
    with caplog.at_level("INFO", logger="sknas"):
        space = default_search_space("classification", max_epochs=5, image_shape=shape)
    assert space.family_names == ("cnn1d",) and "needs aeon" in caplog.text
    with pytest.warns(UserWarning, match=r"pip install 'sknas\[sequences\]'"):
        default_search_space(
            "classification", max_epochs=5, image_shape=shape, families=["minirocket", "cnn1d"]
        )
    with pytest.raises(ValueError, match=r"needs aeon.*families=\['cnn1d'\]"):
        default_search_space(
            "classification", max_epochs=5, image_shape=shape, families=["minirocket"]
        )


def test_sequence_genes_round_trip_and_images_refuse_them():
    genome = Genome(
        "cnn1d",
        (
            LayerGene("inception", 32, norm="batch", kernel=9, dilation=2, pool=True),
            LayerGene("residual_conv", 16, kernel=7, dilation=4),
            LayerGene("dense", 8),
        ),
    )
    assert Genome.from_key(genome.key()) == genome
    assert Genome.from_dict(genome.to_dict()) == genome
    assert "inception32k9x2p" in genome.key()
    assert genome.fits((1, 40)) and not genome.fits((1, 40, 40)) and not genome.fits(None)
    legacy = Genome.from_key("cnn:conv8k5p-relu-d0-batch")  # keys without a dilation
    assert legacy.layers[0].dilation == 1 and legacy.key() == "cnn:conv8k5p-relu-d0-batch"
    with pytest.raises(ValueError, match="dilation must be one of"):
        LayerGene("conv", 8, dilation=3)
    with pytest.raises(ValueError, match="only convolutions pool or dilate"):
        LayerGene("dense", 8, dilation=2)


@pytest.mark.parametrize("shape", [(1, 24), (6, 100), (3, 9)])
def test_cnn1d_genomes_evolve_run_and_never_pool_below_one_step(shape):
    family = default_search_space("classification", max_epochs=5, image_shape=shape)["cnn1d"]
    rng = np.random.default_rng(0)
    n_features = int(np.prod(shape))
    for _ in range(40):
        params, genome = family.decode(family.sample_point(rng))
        for _ in range(4):
            genome, params, _ = mutate(genome, params, family, rng)
        assert genome.fits(shape) and genome.n_pools <= max_pools(shape), genome.key()
        net = GenomeNet(genome, n_features, 3, shape)
        assert net(torch.zeros(2, n_features)).shape == (2, 3)


def test_cnn1d_mutations_touch_the_sequence_genes():
    family = default_search_space("classification", max_epochs=5, image_shape=(1, 64))["cnn1d"]
    params, genome = family.decode(family.default_point())
    names = {mutate(genome, params, family, np.random.default_rng(s))[2] for s in range(300)}
    assert {"change_kernel", "change_dilation", "change_block", "toggle_pool"} <= names
    assert {"toggle_skip", "resize_layer", "add_layer", "remove_layer"} <= names


def test_weight_inheritance_on_cnn1d_children():
    shape, n_features = (2, 32), 64
    family = default_search_space("classification", max_epochs=5, image_shape=shape)["cnn1d"]
    params, parent_genome = family.decode(family.default_point() | SMALL)
    torch.manual_seed(0)
    parent = GenomeNet(parent_genome, n_features, 3, shape)
    weights = {k: v.numpy().copy() for k, v in parent.state_dict().items()}
    same = GenomeNet(parent_genome, n_features, 3, shape)
    assert inherit_weights(same, parent_genome, parent_genome, weights) == 1.0
    X = torch.randn(4, n_features)
    torch.testing.assert_close(same.eval()(X), parent.eval()(X))
    rng = np.random.default_rng(1)
    for _ in range(30):
        child_genome, _, _ = mutate(parent_genome, params, family, rng)
        child = GenomeNet(child_genome, n_features, 3, shape)
        share = inherit_weights(child, child_genome, parent_genome, weights)
        assert 0.0 <= share <= 1.0 and torch.isfinite(child(X)).all()


def _series_batch(augmentation, n=64, shape=(2, 20)):
    X = torch.arange(1, n * 40 + 1, dtype=torch.float32).reshape(n, -1)
    y = torch.arange(n) % 2
    iterator = TensorBatchIterator(TensorDataset(X, y), n, augmentation=augmentation)
    out, y_out = next(iter(iterator))
    return X.view(n, *shape), out.view(n, *shape), y, y_out


def test_sequence_augmentations_shift_scale_crop_and_jitter():
    X, shifted, y, y_out = _series_batch(Augmentation((2, 20), shift=3))
    torch.testing.assert_close(y_out, y)
    for a, b in zip(shifted, X, strict=True):  # values move along time, zeros come in
        assert set(a.flatten().tolist()) - {0.0} <= set(b.flatten().tolist())
    assert not torch.equal(shifted, X)
    X, scaled, _, _ = _series_batch(Augmentation((2, 20), scale=0.2))
    ratios = scaled / X
    assert torch.allclose(ratios, ratios[:, :1, :1].expand_as(ratios))  # one factor a series
    assert 0.05 < float(ratios[:, 0, 0].log().std()) < 0.4
    X, cropped, _, _ = _series_batch(Augmentation((2, 20), crop=0.25))
    assert cropped.shape == X.shape and not torch.equal(cropped, X)
    assert (cropped[:, :, 1:] >= cropped[:, :, :-1]).all()  # a stretched window of a ramp
    X, jittered, _, _ = _series_batch(Augmentation((2, 20), jitter=0.5))
    assert float((jittered - X).std()) == pytest.approx(0.5, rel=0.2)


@pytest.mark.slow  # a default search with MiniRocket: numba compiles it (~30 s) on a fresh process
def test_a_default_sequence_search_beats_the_floor_and_serves(gunpoint, searched):
    X_train, _, X_test, y_test = gunpoint
    assert list(searched.leaderboard_.sort_values("trial_id")["family"]) == ["minirocket", "cnn1d"]
    assert searched.sequence_shape_ == (1, 150) and searched.n_features_in_ == 150
    assert searched.score(X_test, y_test) > 0.9
    proba = searched.predict_proba(X_test)
    np.testing.assert_array_equal(searched.predict_proba(X_test.reshape(len(X_test), -1)), proba)
    served = pickle.loads(pickle.dumps(searched))
    np.testing.assert_array_equal(served.predict_proba(X_test), proba)
    with pytest.raises(ValueError, match=r"sequences of shape \(1, 140\)"):
        searched.predict(X_test[:, :, :140])
    names = [feature["name"] for feature in searched.reference_["features"]]
    assert names == ["channel 0 mean", "channel 0 std"]  # monitored per channel
    assert "channel 0 mean" in searched.monitor(X_test + 3.0).flagged


def test_fitting_sequences_leaves_the_inputs_and_numpy_rng_alone(gunpoint):
    X_train, y_train, _, _ = gunpoint
    X, y = X_train.copy(), y_train.copy()
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    NASClassifier(families=["minirocket"], n_trials=1, cv=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    np.testing.assert_array_equal(X, X_train)
    np.testing.assert_array_equal(y, y_train)


def test_a_cnn1d_search_learns_on_its_own(gunpoint, cnn1d_only):
    _, _, X_test, y_test = gunpoint
    assert set(cnn1d_only.leaderboard_["family"]) == {"cnn1d"}
    assert cnn1d_only.score(X_test, y_test) > 0.8


@pytest.mark.slow  # two searches
def test_sequence_regression_with_both_families():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 60)
    amplitude = rng.uniform(0.5, 2.0, 120)
    X = (amplitude[:, None] * np.sin(t + rng.uniform(0, 2 * np.pi, (120, 1))))[:, None, :]
    X += rng.normal(0, 0.05, X.shape)
    reg = NASRegressor(n_trials=2, cv=None, random_state=0).fit(X[:90], amplitude[:90])
    assert set(reg.leaderboard_["family"]) == {"minirocket", "cnn1d"}
    assert reg.score(X[90:], amplitude[90:]) > 0.8


def test_save_refuses_minirocket_members_and_keeps_cnn1d_ones(
    gunpoint, rocket_only, cnn1d_only, tmp_path
):
    import sknas

    _, _, X_test, _ = gunpoint
    path = tmp_path / "model.skn"
    cnn1d_only.save(path)
    loaded = sknas.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), cnn1d_only.predict_proba(X_test))
    assert loaded.sequence_shape_ == (1, 150)
    with pytest.raises(ModelFileError, match="'minirocket' family's members .* Pickle"):
        rocket_only.save(tmp_path / "rocket.skn")
    served = pickle.loads(pickle.dumps(rocket_only))
    np.testing.assert_array_equal(served.predict_proba(X_test), rocket_only.predict_proba(X_test))


def test_onnx_exports_cnn1d_and_refuses_minirocket(gunpoint, rocket_only, cnn1d_only):
    ort = pytest.importorskip("onnxruntime")
    from sknas.export import onnx_inputs, to_onnx

    _, _, X_test, _ = gunpoint
    session = ort.InferenceSession(to_onnx(cnn1d_only).SerializeToString())
    flat = X_test[:20].reshape(20, -1)
    _, proba = session.run(None, onnx_inputs(cnn1d_only, flat))
    np.testing.assert_allclose(proba, cnn1d_only.predict_proba(X_test[:20]), atol=1e-5)
    with pytest.raises(NotImplementedError, match="MiniRocketClassifier"):
        to_onnx(rocket_only)


def test_compiling_minirocket_ahead_keeps_numpy_rng_alone():
    from sknas.evaluation.rocket import compile_minirocket

    np.random.seed(3)
    expected = np.random.random()
    np.random.seed(3)
    compile_minirocket()
    assert np.random.random() == expected


def test_a_search_compiles_minirocket_before_its_first_trial(gunpoint, monkeypatch):
    """A cold numba cache (about 20 s, stood in for by 1 s) is the search's time, not the
    MiniRocket trial's, whose time prices the family; searches without it skip it."""
    from sknas import engine

    compiled_at = []

    def cold_compile(n_channels):
        compiled_at.append(time.monotonic())
        assert n_channels == 1  # GunPoint's series: the univariate code only
        time.sleep(1.0)

    monkeypatch.setattr(engine, "compile_minirocket", cold_compile)
    X_train, y_train, _, _ = gunpoint
    started = time.monotonic()
    clf = NASClassifier(families=["minirocket"], n_trials=1, cv=3, random_state=0)
    clf.fit(X_train, y_train)
    assert len(compiled_at) == 1 and compiled_at[0] - started < 1.0
    assert clf.timings_["compile"] >= 1.0
    assert clf.leaderboard_["fit_time"].iloc[0] < 1.0
    assert "compiling MiniRocket 1.0 s" in clf.summary()
    tables = NASClassifier(families=["linear"], n_trials=1, random_state=0)
    tables.fit(X_train.reshape(len(X_train), -1), y_train)  # a table: no minirocket
    assert len(compiled_at) == 1 and tables.timings_["compile"] == 0.0
    assert "compiling" not in tables.summary()
    with pytest.raises(SearchFailedError, match=r"compiling MiniRocket.*raise time_budget"):
        NASClassifier(time_budget=0.5, random_state=0).fit(X_train, y_train)


def test_minirocket_probabilities_are_calibrated_and_combine(gunpoint, rocket_only):
    _, _, X_test, y_test = gunpoint
    proba = rocket_only.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert rocket_only.score(X_test, y_test) > 0.9
    confident = proba.max(axis=1)
    assert 0.6 < confident.mean() < 1.0  # neither a flat softmax of ridge values nor one-hot


def test_minirocket_fits_its_logistic_head_on_one_blas_thread(gunpoint, monkeypatch):
    """Its L-BFGS alternates between numpy's and scipy's OpenBLAS (4-5 times slower on two
    threads each: sknas.utils._native_threads); the caller's count is restored."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from sknas.evaluation import rocket

    class Seen(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            self.blas_threads_ = threads_of("blas")
            return super().fit(X, y, sample_weight=sample_weight)

    monkeypatch.setattr(rocket, "LogisticRegression", Seen)
    X_train, y_train, _, _ = gunpoint
    rows = X_train.reshape(len(X_train), -1)
    with threadpool_limits(limits=2, user_api="blas"):
        clf = rocket.MiniRocketClassifier(n_kernels=84, head="logistic", random_state=0)
        clf.fit(rows, y_train)
        assert clf.head_.blas_threads_ == {1}
        assert threads_of("blas") == {2}
