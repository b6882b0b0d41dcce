"""Train and score one candidate; every failure becomes a FAIL result, never a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import torch
from skorch.callbacks import EarlyStopping
from torch.utils.data import TensorDataset

from ..scoring import PredictionScorer
from ..trial import Candidate, TrialResult, TrialState
from .callbacks import FiniteLossGuard, NonFiniteLossError, RungPruner, TrainingDeadline
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
    patience : int, default=10
        Early-stopping patience in epochs (on validation loss; the best epoch's
        weights are kept).
    """

    def __init__(
        self, split: DataSplit, scorer: PredictionScorer, device: str = "cpu", patience: int = 10
    ) -> None:
        self.split = split
        self.scorer = scorer
        self.device = device
        self.patience = patience

    def __call__(self, candidate: Candidate, deadline: float | None = None) -> TrialResult:
        """Train, predict and score ``candidate``; ``deadline`` is a ``time.monotonic()`` value.

        Under a successive-halving ``candidate.fidelity`` the trial may stop at a rung:
        it is then PRUNED, with the score and weights it had there.
        """
        start = time.perf_counter()
        fit_time = 0.0
        try:
            train, valid = self._datasets()
            early_stopping = EarlyStopping(patience=self.patience, load_best=True)
            callbacks = [("finite_loss", FiniteLossGuard())]
            pruner = None
            if candidate.fidelity is not None:
                pruner = RungPruner(candidate.fidelity, self._score_module)
                callbacks.append(("pruner", pruner))
            callbacks += [
                ("early_stopping", early_stopping),
                ("deadline", TrainingDeadline(deadline)),
            ]
            with seeded_torch(candidate.seed, self.device):
                net = self._net(candidate, valid, callbacks)
                net.fit(train, None)
            fit_time = time.perf_counter() - start
            valid_pred = self._predict_valid(net.module_)
            pruned = pruner is not None and pruner.pruned_
            return TrialResult(
                candidate,
                TrialState.PRUNED if pruned else TrialState.COMPLETE,
                score=self.scorer(self.split.y_valid_true, valid_pred),
                fit_time=fit_time,
                predict_time=time.perf_counter() - start - fit_time,
                n_epochs=sum("valid_loss" in row for row in net.history),
                valid_pred=valid_pred,
                member=self._member(candidate, net.module_),
                rung_scores=tuple(pruner.rung_scores_) if pruner else (),
                best_epoch=int(early_stopping.best_epoch_),
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

    def refit(
        self, candidate: Candidate, n_epochs: int, deadline: float | None = None
    ) -> NeuralMember | None:
        """Retrain ``candidate`` on training plus validation data for ``n_epochs`` epochs.

        Returns None when the deadline cut the training short or it failed, so the
        caller keeps the member trained on the training part.
        """
        train, valid = self._datasets()
        everything = TensorDataset(
            *(torch.cat([a, b]) for a, b in zip(train.tensors, valid.tensors, strict=True))
        )
        deadline_callback = TrainingDeadline(deadline)
        refit_candidate = replace(candidate, budget_epochs=max(1, n_epochs), fidelity=None)
        callbacks = [("finite_loss", FiniteLossGuard()), ("deadline", deadline_callback)]
        try:
            with seeded_torch(candidate.seed, self.device):
                net = self._net(refit_candidate, None, callbacks)
                net.fit(everything, None)
        except Exception:  # keep the member trained on the training part
            return None
        if deadline_callback.reached_:
            return None
        return self._member(candidate, net.module_)

    def _net(self, candidate: Candidate, valid: TensorDataset | None, callbacks: list):
        return make_net(
            candidate,
            task=self.split.task,
            n_features=self.split.n_features,
            n_outputs=self.split.n_outputs,
            valid_dataset=valid,
            callbacks=callbacks,
            device=self.device,
        )

    def _member(self, candidate: Candidate, module: torch.nn.Module) -> NeuralMember:
        return NeuralMember.from_module(
            module,
            genome=candidate.genome,
            n_features=self.split.n_features,
            n_outputs=self.split.n_outputs,
            task=self.split.task,
            target_mean=self.split.target_mean,
            target_scale=self.split.target_scale,
        )

    def _score_module(self, module: torch.nn.Module) -> float:
        return self.scorer(self.split.y_valid_true, self._predict_valid(module))

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
