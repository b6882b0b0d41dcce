"""Shared fixtures: tiny data sets and settings that keep searches fast."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_regression
from threadpoolctl import threadpool_limits

# One torch thread in the test process: with the other core busy, two threads trained
# 23-30x slower than one (PITFALLS.md), which made the suite's duration depend on its
# neighbours. The tests check behaviour, not throughput; loky workers set their own.
torch.set_num_threads(1)
# The same for OpenMP and BLAS pools: HistGradientBoosting's OpenMP threads spin against a
# busy neighbour (a 3-trial hist_gbdt search took 35 s with the other core busy, 1.5 s alone).
threadpool_limits(limits=1)

#: Estimator settings for fast but meaningful searches in tests: holdout trials (one fit
#: each; ``cv="auto"`` would make them five-fold on these small tables). The k-fold path
#: has its own tests (``test_cv.py``) and the doctests and the demo run the defaults.
TINY = {"n_trials": 2, "max_epochs": 20, "random_state": 0, "cv": None}


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test, restored after it (for tests of code that sets its
    own thread counts: two threads make small batches crawl on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def regression_data():
    X, y = make_regression(n_samples=200, n_features=6, noise=5.0, random_state=0)
    return X, y + 100.0


@pytest.fixture
def rng():
    return np.random.default_rng(0)
