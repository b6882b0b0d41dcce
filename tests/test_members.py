"""Serving a trained network: built once, float32 in chunks bounded by memory, pickled light."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import network_member

from sknas.evaluation import members
from sknas.evaluation.classical import ClassicalMember, make_classical_estimator
from sknas.evaluation.members import (
    CHUNKING_TOLERANCE,
    NeuralMember,
    activation_bytes_per_row,
    predict_module,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CNN_KEY = "cnn:conv16k3p-relu-d0-batch|conv24k3-relu-d0-layer|dense12-relu-d0-none"
MLP_KEY = "mlp:dense32-relu-d0-batch|residual16-gelu-d0-layer"


def make_member(key: str, task: str = "classification", seed: int = 0) -> NeuralMember:
    """A member with the initialisation's weights and non-trivial batch-norm statistics."""
    n_outputs = 3 if task == "classification" else 1
    return network_member(key, 64, n_outputs, task, target_mean=3.0, target_scale=2.0, seed=seed)


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(120, 64)).astype(np.float32)


@pytest.mark.parametrize("key", [CNN_KEY, MLP_KEY])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_chunking_changes_predictions_within_tolerance(key, task, X, monkeypatch):
    whole = make_member(key, task).predict(X)
    one_by_one = np.concatenate([make_member(key, task).predict(X[i : i + 1]) for i in range(20)])
    monkeypatch.setattr(members, "PREDICT_MEMORY_BYTES", 1)  # one row per chunk
    small_chunks = make_member(key, task).predict(X)
    scale = 2.0 if task == "regression" else 1.0  # regression outputs are de-standardised
    assert np.abs(whole[:20] - one_by_one).max() <= CHUNKING_TOLERANCE * scale
    assert np.abs(whole - small_chunks).max() <= CHUNKING_TOLERANCE * scale
    if task == "classification":
        np.testing.assert_allclose(whole.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert whole.dtype == np.float64


def test_chunks_fit_in_the_memory_bound(X, monkeypatch):
    member = make_member(CNN_KEY)
    module = member.to_module().eval()
    per_row = activation_bytes_per_row(module, torch.zeros(1, 64))
    # conv16 on 8x8 is 4 KiB per row; its im2col column 2.3 KiB; the input row 256 B
    assert 8_000 <= per_row <= 40_000
    monkeypatch.setattr(members, "PREDICT_MEMORY_BYTES", 40 * per_row)
    sizes: list[int] = []
    module.register_forward_pre_hook(lambda _, inputs: sizes.append(len(inputs[0])))
    pred = predict_module(module, X, task="classification", dtype=torch.float32)
    assert pred.shape == (120, 3) and module.training is False
    # the first call is the one-row probe that measures the footprint
    assert sizes[0] == 1 and max(sizes[1:]) == 40 and sum(sizes[1:]) == 120
    np.testing.assert_allclose(pred, member.predict(X), rtol=0, atol=CHUNKING_TOLERANCE)


def test_module_is_built_once_and_not_pickled(X):
    member = make_member(CNN_KEY)
    empty = pickle.dumps(member)
    first = member.predict(X)
    module = member._serving().module
    member.predict(X[:3])
    assert member._serving().module is module
    data = pickle.dumps(member)
    assert data == empty and b"torch" not in data
    copy = pickle.loads(data)
    assert "_serving_cache" not in copy.__dict__
    np.testing.assert_array_equal(copy.predict(X), first)
    assert copy._serving().module is not module


def test_threads_predicting_at_once_agree(X):
    member = make_member(MLP_KEY)
    expected = make_member(MLP_KEY).predict(X)
    results: list[np.ndarray] = []
    start = threading.Barrier(4)

    def predict() -> None:
        start.wait()
        results.extend(member.predict(X) for _ in range(5))

    threads = [threading.Thread(target=predict) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    for result in results:
        np.testing.assert_array_equal(result, expected)


_MEMORY_CHILD = """
import re
from pathlib import Path

import numpy as np
import torch

from sknas.evaluation import members
from sknas.evaluation.classical import ClassicalMember, make_classical_estimator
from sknas.evaluation.members import NeuralMember
from sknas.space.genome import Genome
from sknas.space.modules import GenomeNet

torch.set_num_threads(1)
members.PREDICT_MEMORY_BYTES = 16 * 2**20
genome = Genome.from_key("cnn:conv256k3-relu-d0-batch|dense16-relu-d0-none")
module = GenomeNet(genome, 144, 10, (1, 12, 12))
member = NeuralMember.from_module(
    module, genome=genome, n_features=144, n_outputs=10, task="classification",
    image_shape=(1, 12, 12),
)
X = np.random.default_rng(0).normal(size=(2000, 144)).astype(np.float32)
member.predict(X[:1])


def rss(name):
    status = Path("/proc/self/status").read_text()
    return int(re.search(name + r":\\s+(\\d+)", status).group(1)) * 1024


loaded = rss("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
pred = member.predict(X)
assert pred.shape == (2000, 10)
print((rss("VmHWM") - loaded) / 2**20)
"""


@pytest.mark.slow  # predicts thousands of images
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_peak_memory_of_many_images_stays_bounded():
    # One batch of 2,000 12x12 images through 256 channels would hold activations of
    # 2000 x 256 x 144 x 4 B = 281 MiB per layer; the chunks keep to 16 MiB.
    child = [sys.executable, "-c", textwrap.dedent(_MEMORY_CHILD)]
    done = subprocess.run(child, capture_output=True, text=True, check=True, timeout=120)
    peak_mib = float(done.stdout.strip().splitlines()[-1])
    assert peak_mib < 48, f"predict used {peak_mib:.0f} MiB above the loaded model"


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_forest_members_predict_exactly_as_scikit_learn(task, name, X):
    y = (X[:, 0] > 0) * 1 + (X[:, 1] > 0) if task == "classification" else X[:, 0] - X[:, 1]
    params = {"estimator": name, "n_estimators": 7}
    estimator = make_classical_estimator("random_forest", params, task=task, seed=0).fit(X, y)
    member = ClassicalMember(estimator, task, 3 if task == "classification" else 1, 1.0, 2.0)
    X_new = X[::-1].astype(np.float64)
    if task == "classification":
        np.testing.assert_array_equal(member.predict(X_new), estimator.predict_proba(X_new))
    else:
        np.testing.assert_array_equal(member.predict(X_new), estimator.predict(X_new) * 2.0 + 1.0)


def test_little_work_predicts_on_one_torch_thread_and_the_setting_is_restored():
    member = make_member(MLP_KEY)
    seen = []
    module, bytes_per_row = member._serving()
    module.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    few = members.SINGLE_THREAD_BYTES // bytes_per_row  # rows whose activations fit
    X = np.zeros((few + 1, 64), dtype=np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        member.predict(X[:few])
        member.predict(X)
        assert seen == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
