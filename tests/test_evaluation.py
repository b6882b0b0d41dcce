"""Training one candidate: batches, callbacks, failures, members."""

from __future__ import annotations

import pickle
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from torch.utils.data import TensorDataset

from sknas.evaluation import Evaluator, TensorBatchIterator, make_split
from sknas.evaluation.data import concat_rows
from sknas.evaluation.members import CHUNKING_TOLERANCE, predict_module
from sknas.evaluation.nets import batch_size_for, make_net
from sknas.scoring import get_prediction_scorer
from sknas.space import default_search_space
from sknas.trial import Candidate, TrialState


def _candidate(task="classification", family="mlp", seed=0, **overrides):
    space = default_search_space(task, max_epochs=15)
    params, genome = space[family].decode(space[family].default_point() | overrides)
    return Candidate(0, family, params, genome, seed, params["max_epochs"], "test")


@pytest.fixture(scope="module")
def classification_split():
    X, y = make_classification(
        n_samples=400, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return make_split(X, y, task="classification", validation_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def evaluator(classification_split):
    return Evaluator(classification_split, get_prediction_scorer(None, "classification"))


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (9, 4), (1, 4), (8, 8), (5, 64)])
def test_batches_cover_every_row_once_and_never_hold_a_single_row(n, batch_size):
    dataset = TensorDataset(torch.arange(n).float().reshape(-1, 1), torch.arange(n))
    for shuffle in (False, True):
        batches = list(TensorBatchIterator(dataset, batch_size, shuffle=shuffle))
        rows = torch.cat([y for _, y in batches]).sort().values
        assert torch.equal(rows, torch.arange(n))
        assert n == 1 or min(len(y) for _, y in batches) >= 2
        assert len(batches) == len(TensorBatchIterator(dataset, batch_size))


@pytest.mark.parametrize(
    ("n_rows", "n_valid"), [(1_000, 200), (125_000, 25_000), (400_000, 25_000)]
)
def test_auto_holdout_is_a_fifth_of_the_rows_at_most_25000(n_rows, n_valid):
    X = np.zeros((n_rows, 1), dtype=np.float32)
    y = np.arange(n_rows) % 3
    split = make_split(X, y, task="classification", validation_fraction="auto", seed=0)
    assert len(split.y_valid) == n_valid and len(split.y_train) == n_rows - n_valid
    assert np.bincount(split.y_valid).min() >= n_valid // 3  # still stratified


def test_training_and_validation_rows_join_without_a_copy():
    """The refit on every row reads the split's one float32 buffer: no second copy."""
    X, y = make_classification(n_samples=300, random_state=0)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=0)
    joined = concat_rows(split.X_train, split.X_valid)
    assert joined.dtype == np.float32 and np.shares_memory(joined, split.X_train)
    assert np.array_equal(joined, np.concatenate([split.X_train, split.X_valid]))
    rows = {tuple(row) for row in X.astype(np.float32)}
    assert len(joined) == len(X) and {tuple(row) for row in joined} == rows
    swapped = concat_rows(split.X_valid, split.X_train)  # not in the buffer's order: a copy
    assert not np.shares_memory(swapped, split.X_train)
    assert np.array_equal(swapped, np.concatenate([split.X_valid, split.X_train]))


def test_a_split_in_place_holds_the_rows_of_a_copied_split_in_the_matrix_itself():
    X, y = make_classification(n_samples=500, n_classes=3, n_informative=4, random_state=0)
    X = X.astype(np.float32)
    copied = make_split(X, y, task="classification", validation_fraction=0.2, seed=1)
    matrix = X.copy()
    moved = make_split(
        matrix, y, task="classification", validation_fraction=0.2, seed=1, in_place=True
    )
    assert np.shares_memory(moved.X_train, matrix) and np.shares_memory(moved.X_valid, matrix)
    assert np.array_equal(moved.X_valid, copied.X_valid)  # the same rows, in the same order
    assert np.array_equal(moved.y_valid, copied.y_valid)
    pairs = sorted(zip(map(tuple, moved.X_train), moved.y_train, strict=True))
    assert pairs == sorted(zip(map(tuple, copied.X_train), copied.y_train, strict=True))
    assert np.shares_memory(concat_rows(moved.X_train, moved.X_valid), matrix)


def test_split_is_stratified_and_regression_targets_standardised():
    X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=0)
    assert split.y_valid.sum() == round(0.2 * y.sum())  # stratified minority count
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    split = make_split(X, y * 50 + 7, task="regression", validation_fraction=0.2, seed=0)
    assert abs(split.y_train.mean()) < 1e-5 and abs(split.y_train.std() - 1) < 1e-4
    np.testing.assert_allclose(
        split.y_valid[:, 0] * split.target_scale + split.target_mean, split.y_valid_true, rtol=1e-5
    )


def test_complete_trial_scores_its_validation_predictions(evaluator, classification_split):
    result = evaluator(_candidate())
    assert result.state is TrialState.COMPLETE and result.error is None
    assert result.score > 0.6 and 1 <= result.n_epochs <= 15
    assert result.valid_pred.shape == (len(classification_split.y_valid), 3)
    member_pred = result.member.predict(classification_split.X_valid)
    np.testing.assert_allclose(member_pred, result.valid_pred, atol=1e-5)


def test_same_seed_same_result_different_seed_different_result(evaluator):
    a, b, c = (
        evaluator(_candidate(seed=1)),
        evaluator(_candidate(seed=1)),
        evaluator(_candidate(seed=2)),
    )
    np.testing.assert_array_equal(a.valid_pred, b.valid_pred)
    assert not np.array_equal(a.valid_pred, c.valid_pred)


def test_exceptions_and_divergence_become_fail_results(evaluator):
    crashed = evaluator(_candidate(optimizer__betas="not a tuple"))
    assert crashed.state is TrialState.FAIL and crashed.member is None
    assert np.isnan(crashed.score)
    # the exception's type and message, as raised inside torch's Adam (betas compared to 0.0)
    assert crashed.error.startswith("TypeError: '<=' not supported"), crashed.error
    diverged = evaluator(_candidate(lr=1e6, optimizer="sgd"))
    assert diverged.state is TrialState.FAIL and "NonFiniteLossError" in diverged.error


def test_deadline_stops_training_inside_an_epoch():
    X, y = make_classification(n_samples=20000, n_features=40, random_state=0)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=0)
    evaluator = Evaluator(split, get_prediction_scorer(None, "classification"), patience=1000)
    candidate = _candidate(batch_size=32, max_epochs=15)
    start = time.monotonic()
    result = evaluator(candidate, deadline=start + 0.5)
    # 15 epochs take far longer; the bound leaves room for a busy machine
    assert time.monotonic() - start < 5.0
    assert result.n_epochs < 15


def test_a_network_cut_before_its_first_epoch_fails(evaluator):
    """Its weights are the initial ones: no member for the ensemble to pick."""
    result = evaluator(_candidate(), deadline=time.monotonic())
    assert result.state is TrialState.FAIL and result.member is None
    assert result.error == "stopped by the deadline before its first epoch ended"


def test_regression_member_predicts_in_the_target_scale():
    X, y = make_regression(n_samples=300, n_features=5, noise=1, random_state=0)
    split = make_split(X, 1000 + 30 * y, task="regression", validation_fraction=0.2, seed=0)
    result = Evaluator(split, get_prediction_scorer(None, "regression"))(
        _candidate("regression", "resnet_mlp")
    )
    assert result.state is TrialState.COMPLETE and result.score > 0.8
    pred = result.member.predict(split.X_valid)
    assert abs(pred.mean() - split.y_valid_true.mean()) < 0.05 * split.y_valid_true.std()


def test_member_pickles_without_torch_objects_and_is_batch_independent(
    evaluator, classification_split
):
    member = evaluator(_candidate(family="resnet_mlp", arch__norm="batch")).member
    payload = pickle.dumps(member)
    assert b"torch" not in payload
    restored = pickle.loads(payload)
    X = classification_split.X_valid
    full = restored.predict(X)
    np.testing.assert_array_equal(full, member.predict(X))
    np.testing.assert_allclose(
        np.concatenate([restored.predict(X[:7]), restored.predict(X[7:])]),
        full,
        rtol=0,
        atol=CHUNKING_TOLERANCE,
    )


def test_predict_module_restores_training_mode():
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)).train()
    predict_module(module, np.ones((4, 3)), task="classification", dtype=torch.float32)
    assert module.training


@pytest.mark.gpu
def test_training_on_cuda_gives_a_cpu_member(classification_split):
    evaluator = Evaluator(
        classification_split, get_prediction_scorer(None, "classification"), device="cuda"
    )
    result = evaluator(_candidate())
    assert result.state is TrialState.COMPLETE, result.error
    assert all(isinstance(w, np.ndarray) for w in result.member.weights.values())
    np.testing.assert_allclose(
        result.member.predict(classification_split.X_valid), result.valid_pred, atol=1e-4
    )


class TestCudaPathsOnCpu:
    """What the CUDA code does, checked on any machine (the GPU itself: test_gpu.py)."""

    def test_out_of_memory_frees_and_retries_at_half_the_batch_size(self, evaluator, monkeypatch):
        train = Evaluator._evaluate_neural
        tried = []

        limit = [64]

        def runs_out_of_memory_at_the_limit(self, candidate, *args):
            tried.append(candidate.params["batch_size"])
            if candidate.params["batch_size"] >= limit[0]:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
            return train(self, candidate, *args)

        monkeypatch.setattr(Evaluator, "_evaluate_neural", runs_out_of_memory_at_the_limit)
        # The retry halves the batch size the trial trained at (capped by the rows).
        half = batch_size_for(64, evaluator.split.n_rows) // 2
        result = evaluator(_candidate(batch_size=64))
        assert tried == [64, half]
        assert result.state is TrialState.COMPLETE and result.score > 0.6
        assert result.candidate.params["batch_size"] == half
        assert result.error == f"CUDA out of memory; retried at batch_size={half}"
        limit[0] = 1  # the half runs out too: a failed trial
        result = evaluator(_candidate(batch_size=64))
        assert result.state is TrialState.FAIL and "OutOfMemoryError" in result.error

    def test_several_gpus_take_trials_in_turn(self, classification_split, monkeypatch):
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
        scorer = get_prediction_scorer(None, "classification")
        on_gpus = Evaluator(classification_split, scorer, device="cuda")
        devices = [on_gpus.device_for(replace(_candidate(), trial_id=i)) for i in range(4)]
        assert devices == ["cuda:0", "cuda:1", "cuda:2", "cuda:0"]
        pinned = Evaluator(classification_split, scorer, device="cuda:1")
        assert pinned.device_for(_candidate()) == "cuda:1"

    def test_mixed_precision_training_keeps_float32_weights(self, classification_split):
        split = classification_split
        net = make_net(
            _candidate(),
            task="classification",
            n_features=split.n_features,
            n_outputs=split.n_outputs,
            valid_dataset=None,
            callbacks=[],
        )
        assert net.autocast_dtype is None  # CPU: float32
        net.set_params(autocast_dtype=torch.bfloat16)  # what CUDA with bfloat16 gets
        net.fit(TensorDataset(torch.from_numpy(split.X_train), torch.from_numpy(split.y_train)))
        assert all(p.dtype == torch.float32 for p in net.module_.parameters())
        pred = predict_module(
            net.module_, split.X_valid, task="classification", dtype=torch.float32
        )
        assert (pred.argmax(1) == split.y_valid).mean() > 0.6
