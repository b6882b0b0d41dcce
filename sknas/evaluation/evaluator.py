"""Train and score one candidate; every failure becomes a FAIL result, never a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from skorch.callbacks import EarlyStopping
from torch.utils.data import TensorDataset

from ..scoring import PredictionScorer
from ..trial import Candidate, TrialResult, TrialState
from .callbacks import FiniteLossGuard, NonFiniteLossError, TrainingDeadline
from .data import DataSplit
from .members import NeuralMember, predict_module
from .nets import make_net

__all__ = ["Evaluator", "seeded_torch"]


@contextmanager
def seeded_torch(seed: int, device: str) -> Iterator[None]:
    """Seed torch for one trial without touching the caller's global RNG states."""
    cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


class Evaluator:
    """Trains a candidate with skorch on ``split`` and scores its validation predictions.

    Parameters
    ----------
    split : DataSplit
    scorer : PredictionScorer
    device : str, default="cpu"
        Torch device the trial trains on.
    patience : int, default=5
        Early-stopping patience in epochs (on validation loss; the best epoch's
        weights are kept).
    """

    def __init__(
        self, split: DataSplit, scorer: PredictionScorer, device: str = "cpu", patience: int = 5
    ) -> None:
        self.split = split
        self.scorer = scorer
        self.device = device
        self.patience = patience

    def __call__(self, candidate: Candidate, deadline: float | None = None) -> TrialResult:
        """Train, predict and score ``candidate``; ``deadline`` is a ``time.monotonic()`` value."""
        start = time.perf_counter()
        fit_time = 0.0
        try:
            train, valid = self._datasets()
            with seeded_torch(candidate.seed, self.device):
                net = make_net(
                    candidate,
                    task=self.split.task,
                    n_features=self.split.n_features,
                    n_outputs=self.split.n_outputs,
                    valid_dataset=valid,
                    callbacks=[
                        ("finite_loss", FiniteLossGuard()),
                        ("early_stopping", EarlyStopping(patience=self.patience, load_best=True)),
                        ("deadline", TrainingDeadline(deadline)),
                    ],
                    device=self.device,
                )
                net.fit(train, None)
            fit_time = time.perf_counter() - start
            valid_pred = self._predict_valid(net.module_)
            score = self.scorer(self.split.y_valid_true, valid_pred)
            member = NeuralMember.from_module(
                net.module_,
                genome=candidate.genome,
                n_features=self.split.n_features,
                n_outputs=self.split.n_outputs,
                task=self.split.task,
                target_mean=self.split.target_mean,
                target_scale=self.split.target_scale,
            )
            return TrialResult(
                candidate,
                TrialState.COMPLETE,
                score=score,
                fit_time=fit_time,
                predict_time=time.perf_counter() - start - fit_time,
                n_epochs=sum("valid_loss" in row for row in net.history),
                valid_pred=valid_pred,
                member=member,
            )
        except Exception as exc:  # a failed candidate never kills the search
            return TrialResult(
                candidate,
                TrialState.FAIL,
                fit_time=fit_time or time.perf_counter() - start,
                error=f"{type(exc).__name__}: {exc}",
            )
        finally:
            if self.device.startswith("cuda"):
                torch.cuda.empty_cache()

    def _datasets(self) -> tuple[TensorDataset, TensorDataset]:
        """Training and validation tensors on the device, made once per evaluator."""
        if getattr(self, "_cached_device", None) != self.device:
            split, device = self.split, self.device
            self._cached = tuple(
                TensorDataset(torch.from_numpy(X).to(device), torch.from_numpy(y).to(device))
                for X, y in ((split.X_train, split.y_train), (split.X_valid, split.y_valid))
            )
            self._cached_device = device
        return self._cached

    def _predict_valid(self, module: torch.nn.Module) -> np.ndarray:
        split = self.split
        pred = predict_module(
            module, split.X_valid, task=split.task, dtype=torch.float32, device=self.device
        )
        if not np.all(np.isfinite(pred)):
            raise NonFiniteLossError("the trained network predicts NaN or infinite values.")
        if split.task == "regression":
            pred = pred * split.target_scale + split.target_mean
        return pred
