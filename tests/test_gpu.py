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


def test_parallel_trials_on_cuda_train_in_mixed_precision(iris):
    import torch

    from sknas.evaluation.nets import _mixed_precision_dtype

    X, y = iris
    clf = NASClassifier(n_trials=4, max_epochs=20, random_state=0, n_jobs=2).fit(X, y)
    assert clf.device_ == "cuda" and clf.score(X, y) > 0.9
    assert (clf.leaderboard_["state"] != "FAIL").all(), clf.leaderboard_["error"].tolist()
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    assert _mixed_precision_dtype("cuda") is expected
