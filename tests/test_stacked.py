"""A bag's fold networks run stacked: same predictions as fold by fold, within a bound."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import network_member
from sklearn.ensemble import RandomForestClassifier
from torch import nn

from sknas.evaluation.classical import ClassicalMember
from sknas.evaluation.crossval import STACK_MAX_ROWS, BaggedMember
from sknas.evaluation.stacked import STACKING_TOLERANCE, stack_modules
from sknas.persistence import member_from_parts, member_to_parts

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KEYS = {
    "mlp": "mlp:dense32-relu-d0.3-batch|dense16-silu-d0.2-layer|dense8-gelu-d0-none",
    "resnet_mlp": "mlp:dense32-gelu-d0-none|residual16-gelu-d0.1-layer|residual8-tanh-d0-batch",
}
CNN_KEY = "cnn:conv16k3p-relu-d0-batch|residual_conv8k3-relu-d0-layer|dense12-relu-d0-none"


def _bag(key: str, task: str, n_folds: int = 5) -> BaggedMember:
    n_outputs = 3 if task == "classification" else 1
    return BaggedMember(
        tuple(
            network_member(key, 64, n_outputs, task, 10.0 + s, 1.0 + s, seed=s)
            for s in range(n_folds)
        )
    )


def _fold_by_fold(bag: BaggedMember, X: np.ndarray) -> np.ndarray:
    """Today's prediction: each fold on its own, then their running sum over k."""
    total = np.asarray(bag.members[0].predict(X), dtype=np.float64)
    for member in bag.members[1:]:
        total = total + member.predict(X)
    return total / len(bag.members)


@pytest.mark.parametrize("family", sorted(KEYS))
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_stacked_bag_matches_its_folds_within_the_bound(family, task):
    bag = _bag(KEYS[family], task)
    assert bag._stacked() is not None
    X = np.random.default_rng(0).normal(size=(STACK_MAX_ROWS + 1, 64))
    for n_rows in (1, 7, STACK_MAX_ROWS):
        got, want = bag.predict(X[:n_rows]), _fold_by_fold(bag, X[:n_rows])
        assert got.shape == want.shape and got.dtype == np.float64
        atol = STACKING_TOLERANCE
        if task == "regression":  # the bound is on standardised values, relative beyond 1
            standardised = max(
                np.abs((m.predict(X[:n_rows]) - m.target_mean) / m.target_scale).max()
                for m in bag.members
            )
            atol *= max(m.target_scale for m in bag.members) * max(1.0, standardised)
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
        if task == "classification":
            np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    # past STACK_MAX_ROWS the folds predict one by one: today's numbers exactly
    np.testing.assert_array_equal(bag.predict(X), _fold_by_fold(bag, X))


def test_stacked_bag_takes_sparse_rows():
    bag = _bag(KEYS["mlp"], "classification")
    X = sp.random(3, 64, density=0.2, format="csr", random_state=0)
    np.testing.assert_allclose(
        bag.predict(X), _fold_by_fold(bag, X.toarray()), rtol=0, atol=STACKING_TOLERANCE
    )


def test_bags_that_cannot_stack_predict_fold_by_fold_exactly():
    X = np.random.default_rng(1).normal(size=(2, 64))
    cnn = _bag(CNN_KEY, "classification", n_folds=2)
    mixed = BaggedMember(
        (
            network_member(KEYS["mlp"], 64, 3, "classification"),
            network_member(KEYS["resnet_mlp"], 64, 3, "classification"),
        )
    )
    y = np.arange(40) % 3
    forests = BaggedMember(
        tuple(
            ClassicalMember(
                RandomForestClassifier(n_estimators=3, random_state=s).fit(
                    np.random.default_rng(s).normal(size=(40, 64)), y
                ),
                "classification",
                3,
            )
            for s in range(3)
        )
    )
    for bag in (cnn, mixed, forests):
        assert bag._stacked() is None
        np.testing.assert_array_equal(bag.predict(X), _fold_by_fold(bag, X))


def test_stacked_cache_stays_out_of_pickles_and_saved_parts():
    bag = _bag(KEYS["resnet_mlp"], "classification")
    X = np.random.default_rng(2).normal(size=(1, 64))
    before = bag.predict(X)
    assert "_stacked_cache" in bag.__dict__
    copy = pickle.loads(pickle.dumps(bag))
    assert "_stacked_cache" not in copy.__dict__
    np.testing.assert_array_equal(copy.predict(X), before)  # rebuilt on first use
    entry, parts = member_to_parts(bag, "trial_0")
    assert len(parts) == len(bag.members)
    np.testing.assert_array_equal(member_from_parts(entry, parts).predict(X), before)


def test_stack_modules_refuses_layers_it_cannot_batch():
    convs = [nn.Sequential(nn.Conv2d(1, 2, 3)) for _ in range(2)]
    assert stack_modules(convs) is None
    unlike = [nn.Sequential(nn.Linear(3, 2)), nn.Sequential(nn.Linear(3, 2), nn.ReLU())]
    assert stack_modules(unlike) is None
