"""The CUDA path: skipped on machines without a GPU (see conftest)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY

from sknas import NASClassifier

pytestmark = pytest.mark.gpu

_LOAD_AND_PREDICT = """
import pickle, sys
import numpy as np
import torch
assert not torch.cuda.is_available(), "CUDA should be hidden in this process"
with open(sys.argv[1], "rb") as f:
    model = pickle.load(f)
X = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict_proba(X))
"""


def test_fit_on_cuda_then_predict_on_a_cpu_only_process(iris, tmp_path):
    X, y = iris
    clf = NASClassifier(**TINY, device="auto").fit(X, y)
    assert clf.device_ == "cuda"
    assert clf.score(X, y) > 0.9
    model, data, out = tmp_path / "model.pkl", tmp_path / "X.npy", tmp_path / "proba.npy"
    model.write_bytes(pickle.dumps(clf))
    np.save(data, X)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, str(model), str(data), str(out)],
        check=True,
        env=env,
        timeout=300,
    )
    np.testing.assert_allclose(np.load(out), clf.predict_proba(X), atol=1e-5)


def test_parallel_trials_on_cuda_fit_and_score(iris):
    X, y = iris
    clf = NASClassifier(n_trials=4, max_epochs=20, random_state=0, n_jobs=2).fit(X, y)
    assert clf.device_ == "cuda" and clf.score(X, y) > 0.9
    assert (clf.leaderboard_["state"] != "FAIL").all(), clf.leaderboard_["error"].tolist()


def training_dtypes(net, X, y):
    """The dtypes of every linear layer's output while ``net`` trains on ``(X, y)``."""
    import torch

    seen = set()

    def record(module, args, output):
        if isinstance(module, torch.nn.Linear) and module.training:
            seen.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        net.fit(torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)))
    finally:
        handle.remove()
    return seen


def test_training_on_cuda_runs_in_bfloat16_and_keeps_float32_weights(iris):
    import torch

    from sknas.evaluation.nets import make_net
    from sknas.space import default_search_space
    from sknas.trial import Candidate

    X, y = iris
    space = default_search_space("classification", max_epochs=2)["mlp"]
    params, genome = space.decode(space.default_point())
    candidate = Candidate(0, "mlp", params, genome, 0, 2, "test")
    net = make_net(
        candidate,
        task="classification",
        n_features=X.shape[1],
        n_outputs=3,
        valid_dataset=None,
        callbacks=[],
        device="cuda",
    )
    # bfloat16 arithmetic is native from compute capability 8.0 (Ampere); older GPUs
    # only emulate it, slower than float32, so they should train in float32.
    native = torch.cuda.get_device_capability() >= (8, 0)
    expected = torch.bfloat16 if native else torch.float32
    assert training_dtypes(net, X.astype(np.float32), y) == {expected}
    assert all(p.dtype == torch.float32 for p in net.module_.parameters())
    assert next(net.module_.parameters()).is_cuda


def test_a_cuda_device_is_timed_on_the_device():
    """The cost model's speed probe runs on CUDA, waiting for its queued kernels: a
    wide network's steps take longer than a narrow one's there too."""
    from sknas.evaluation.speed import training_seconds
    from sknas.space import Genome, LayerGene

    narrow = Genome("mlp", (LayerGene("dense", 64),) * 2)
    wide = Genome("mlp", (LayerGene("dense", 4096),) * 2)
    seconds = [training_seconds(g, 1000, 2, 1024, 20, "cuda") for g in (narrow, wide)]
    assert 0 < seconds[0] < seconds[1]
