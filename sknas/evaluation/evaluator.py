"""Train and score one candidate; every failure becomes a FAIL result, never a crash.

Neural candidates (with a genome) train through skorch; classical ones (without)
are scikit-learn estimators fitted on the same split. Both are scored on the same
validation rows and trimmed to members the ensemble can serve.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from skorch.callbacks import EarlyStopping
from torch.utils.data import TensorDataset

from ..scoring import PredictionScorer
from ..trial import Candidate, TrialResult, TrialState
from .callbacks import FiniteLossGuard, NonFiniteLossError, RungPruner, TrainingDeadline
from .classical import (
    CategoryCodes,
    ClassicalMember,
    cap_forest_size,
    early_stopping_rows,
    fit_before,
    make_classical_estimator,
    share_grown,
    still_improving,
)
from .data import DataSplit, balanced_weights, concat_rows, rows_tensor
from .inheritance import inherit_weights
from .members import NeuralMember, predict_module
from .nets import SearchNet, batch_size_for, make_net

__all__ = [
    "CONTINUE_LR_SCALE",
    "LINEAR_MAX_ROWS",
    "MIN_RETRY_BATCH_SIZE",
    "Evaluator",
    "linear_rows",
    "seeded_torch",
]

#: A network that runs out of CUDA memory is tried again at half its batch size
#: when that half is at least this.
MIN_RETRY_BATCH_SIZE = 8


#: Peak learning rate of a network that continues from its trial's weights on every row
#: (:meth:`Evaluator.refit` with ``start_from``), as a share of the trial's: a warm
#: restart that keeps what the trial learnt.
CONTINUE_LR_SCALE = 0.3
#: Most training rows a linear model fits on: a random sample of them on larger data.
#: Logistic regression took 25.6 s on 800,000 rows x 148 columns (3 classes), the first
#: of the "cheap" baselines eating 43 % of a 60 s search; a linear model's few
#: coefficients are estimated as well from 100,000 rows.
LINEAR_MAX_ROWS = 100_000


def linear_rows(candidate: Candidate, n_rows: int) -> np.ndarray | None:
    """The rows (sorted, drawn with the trial's seed) a ``linear`` candidate fits on
    when there are more than :data:`LINEAR_MAX_ROWS`; None: all of them.

    Examples
    --------
    >>> linear = Candidate(0, "linear", {}, None, 7, 1, "baseline")
    >>> len(linear_rows(linear, 250_000)), linear_rows(linear, 5_000)
    (100000, None)
    """
    if candidate.family != "linear" or n_rows <= LINEAR_MAX_ROWS:
        return None
    rng = np.random.default_rng(candidate.seed)
    return np.sort(rng.choice(n_rows, LINEAR_MAX_ROWS, replace=False))


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
        Torch device trials train on; ``"cuda"`` with several GPUs spreads them
        (:meth:`device_for`). A network that runs out of CUDA memory frees it and
        is tried once more at half its batch size (noted in the result's ``error``).
    patience : int, default=10
        Early-stopping patience in epochs (on validation loss; the best epoch's
        weights are kept).
    trial_timeout : float or None, default=None
        Seconds one trial may train; a network then stops after the running batch
        and keeps its best weights so far, a boosted or bagged ensemble keeps fewer
        stages (:func:`fit_before`), and the result's ``error`` says so. A candidate's
        own ``time_limit`` (from the study's cost model) works the same way.
    timeout_shares : int, default=1
        Fits that share ``trial_timeout`` equally, each stopped at its share: a
        trial's folds under cross-validation (:class:`~sknas.evaluation.crossval.
        CrossValEvaluator`).
    """

    def __init__(
        self,
        split: DataSplit,
        scorer: PredictionScorer,
        device: str = "cpu",
        patience: int = 10,
        trial_timeout: float | None = None,
        timeout_shares: int = 1,
    ) -> None:
        self.split = split
        self.scorer = scorer
        self.device = device
        self.patience = patience
        self.trial_timeout = trial_timeout
        self.timeout_shares = timeout_shares

    @property
    def y_valid_true(self) -> np.ndarray:
        """What validation predictions are scored against."""
        return self.split.y_valid_true

    @property
    def w_valid(self) -> np.ndarray | None:
        """Weights of the validation rows (None when ``fit`` got none)."""
        return self.split.w_valid

    def probe_rows(self, n: int) -> Any:
        """A copy of the first ``n`` training rows, to time predictions on."""
        return self.split.X_train[:n].copy()

    def __getstate__(self) -> dict[str, Any]:
        """Without the tensors made on the device (workers make their own)."""
        return {k: v for k, v in vars(self).items() if k not in ("_cached", "_cached_device")}

    def __call__(
        self, candidate: Candidate, deadline: float | None = None, epochs: int | None = None
    ) -> TrialResult:
        """Train, predict and score ``candidate``; ``deadline`` is a ``time.monotonic()`` value.

        A network early-stops on the validation rows and keeps its best epoch's weights;
        with ``epochs`` it trains exactly that many (the deadline and time limits
        still apply) and keeps the last, so that its validation predictions are not
        chosen on the rows they predict. Under a successive-halving
        ``candidate.fidelity`` a network may stop at a rung: it is then PRUNED, with
        the score and weights it had there. The deadline and ``trial_timeout`` stop a
        network after the running batch, and a boosted or bagged classical ensemble
        with fewer stages (:func:`fit_before`); logistic regression and ridge fit in
        one go.
        """
        start = time.perf_counter()
        try:
            if candidate.genome is None:
                return self._evaluate_classical(candidate, deadline, start)
            return self._evaluate_neural_on_gpu_memory(candidate, deadline, start, epochs)
        except Exception as exc:  # a failed candidate never kills the search
            return TrialResult(
                candidate,
                TrialState.FAIL,
                fit_time=time.perf_counter() - start,
                error=f"{type(exc).__name__}: {exc}",
            )
        finally:
            if self.device.startswith("cuda"):
                torch.cuda.empty_cache()

    def device_for(self, candidate: Candidate) -> str:
        """The device a trial trains on: with ``device="cuda"`` and several GPUs, trials
        go to them in turn (by trial id)."""
        if self.device != "cuda" or torch.cuda.device_count() < 2:
            return self.device
        return f"cuda:{candidate.trial_id % torch.cuda.device_count()}"

    def _evaluate_neural_on_gpu_memory(
        self, candidate: Candidate, deadline: float | None, start: float, epochs: int | None
    ) -> TrialResult:
        """Train; when CUDA runs out of memory, free it and try once at half the batch."""
        device = self.device_for(candidate)
        try:
            return self._evaluate_neural(candidate, deadline, start, device, epochs)
        except torch.cuda.OutOfMemoryError:
            trained_at = batch_size_for(candidate.params.get("batch_size", 0), self.split.n_rows)
            batch_size = trained_at // 2
            if batch_size < MIN_RETRY_BATCH_SIZE:
                raise
        gc.collect()
        torch.cuda.empty_cache()
        smaller = replace(candidate, params={**candidate.params, "batch_size": batch_size})
        result = self._evaluate_neural(smaller, deadline, start, device, epochs)
        note = f"CUDA out of memory; retried at batch_size={batch_size}"
        return replace(result, error=f"{note}; {result.error}" if result.error else note)

    def _evaluate_classical(
        self, candidate: Candidate, deadline: float | None, start: float
    ) -> TrialResult:
        split = self.split
        codes = self._category_codes(candidate)
        estimator = make_classical_estimator(
            candidate.family, candidate.params, task=split.task, seed=candidate.seed, codes=codes
        )
        stop, reason = deadline, "the time budget"
        limit, limit_reason = self._time_limit(candidate)
        if limit is not None and (stop is None or limit < stop):
            stop, reason = limit, limit_reason
        X, y, w = split.X_train, self._classical_targets(split.y_train), split.w_train
        rows = linear_rows(candidate, len(y))
        if rows is not None:
            X, y, w = X[rows], y[rows], None if w is None else w[rows]
        X_valid = split.X_valid if codes is None else codes(split.X_valid)
        y_valid = self._classical_targets(split.y_valid)
        stop_on = early_stopping_rows(estimator, len(y), X_valid, y_valid, split.w_valid)
        capped = cap_forest_size(estimator, len(y), split.n_outputs)
        cut = fit_before(estimator, X if codes is None else codes(X), y, w, stop, **stop_on)
        member = self._classical_member(estimator, codes)
        fit_time = time.perf_counter() - start
        notes = []
        if capped is not None:
            notes.append(f"trees capped at max_leaf_nodes={capped} to bound the forest's memory")
        if cut is not None:
            notes.append(f"stopped by {reason} at {cut}")
        valid_pred = member.predict(split.X_valid)
        self._check_finite(valid_pred)
        return TrialResult(
            candidate,
            TrialState.COMPLETE,
            score=self.scorer(split.y_valid_true, valid_pred),
            fit_time=fit_time,
            predict_time=time.perf_counter() - start - fit_time,
            n_epochs=1,
            valid_pred=valid_pred,
            member=member,
            error="; ".join(notes) or None,
            best_epoch=1,
            work_done=share_grown(estimator, cut),
            improving=cut is None and still_improving(estimator),
        )

    def _evaluate_neural(
        self,
        candidate: Candidate,
        deadline: float | None,
        start: float,
        device: str,
        epochs: int | None = None,
    ) -> TrialResult:
        train, valid = self._datasets(candidate, device)
        early_stopping = None
        if epochs is None:
            early_stopping = EarlyStopping(patience=self.patience, load_best=True)
        callbacks = [("finite_loss", FiniteLossGuard())]
        pruner = None
        if candidate.fidelity is not None:
            pruner = RungPruner(
                candidate.fidelity, lambda module: self._score_module(module, device)
            )
            callbacks.append(("pruner", pruner))
        limit, limit_reason = self._time_limit(candidate)
        timeout = None
        if limit is not None:
            timeout = TrainingDeadline(limit)
            callbacks.append(("trial_timeout", timeout))
        if early_stopping is not None:
            callbacks.append(("early_stopping", early_stopping))
        callbacks.append(("deadline", TrainingDeadline(deadline)))
        inherited = float("nan")
        with seeded_torch(candidate.seed, device):
            net = self._net(
                candidate, valid, callbacks, len(train.tensors) > 2, device, train_epochs=epochs
            )
            net.initialize()
            parent = candidate.parent_model
            if parent is not None:
                inherited = inherit_weights(
                    net.module_, candidate.genome, parent.genome, parent.weights
                )
            net.partial_fit(train, None)
        fit_time = time.perf_counter() - start
        n_epochs = sum("valid_loss" in row for row in net.history)
        if n_epochs == 0:  # its weights are the initial ones: no model to score or keep
            cut_by = limit_reason if timeout is not None and timeout.reached_ else "the deadline"
            return TrialResult(
                candidate,
                TrialState.FAIL,
                fit_time=fit_time,
                error=f"stopped by {cut_by} before its first epoch ended",
            )
        valid_pred = self._predict_valid(net.module_, device)
        pruned = pruner is not None and pruner.pruned_
        member = self._member(candidate, net.module_)
        note = None
        if timeout is not None and timeout.reached_:
            note = f"stopped by {limit_reason} after {n_epochs} epochs"
        schedule = dict(net.callbacks_)["lr_schedule"]
        if schedule.shortened_:  # what it trained under, and a refit follows
            note = f"its schedule shortened to {int(schedule.span_)} epochs to end in time"
            candidate = replace(candidate, budget_epochs=max(1, int(schedule.span_)))
        return TrialResult(
            candidate,
            TrialState.PRUNED if pruned else TrialState.COMPLETE,
            score=self.scorer(self.split.y_valid_true, valid_pred),
            fit_time=fit_time,
            predict_time=time.perf_counter() - start - fit_time,
            n_epochs=n_epochs,
            valid_pred=valid_pred,
            member=member,
            error=note,
            rung_scores=tuple(pruner.rung_scores_) if pruner else (),
            best_epoch=n_epochs if early_stopping is None else int(early_stopping.best_epoch_),
            n_parameters=member.n_parameters,
            inherited=inherited,
        )

    def _time_limit(self, candidate: Candidate) -> tuple[float | None, str]:
        """When the trial must stop (a ``time.monotonic()`` value, or None) and why:
        ``trial_timeout`` or the candidate's own ``time_limit``, whichever comes first."""
        limits = []
        if self.trial_timeout is not None:
            reason = f"trial_timeout={self.trial_timeout:g}s"
            if self.timeout_shares > 1:
                reason += f" shared by {self.timeout_shares} fits"
            limits.append((self.trial_timeout / self.timeout_shares, reason))
        if candidate.time_limit is not None:
            limits.append((candidate.time_limit, f"its time limit ({candidate.time_limit:.3g}s)"))
        if not limits:
            return None, ""
        seconds, reason = min(limits)
        return time.monotonic() + seconds, reason

    def refit(
        self,
        candidate: Candidate,
        n_epochs: int,
        deadline: float | None = None,
        start_from: NeuralMember | None = None,
    ) -> NeuralMember | ClassicalMember | None:
        """Retrain ``candidate`` on training plus validation data (networks: ``n_epochs``).

        With ``start_from`` (the network the trial trained), the network continues from
        its weights instead of starting afresh: ``n_epochs`` more epochs on every row, on
        a schedule of their own whose peak learning rate is :data:`CONTINUE_LR_SCALE`
        times the trial's (a warm restart); a schedule shortened to end before the
        deadline still counts.

        Returns None when the deadline cut the training short or it failed, so the
        caller keeps the member trained on the training part.
        """
        split = self.split
        y_all = np.concatenate([split.y_train, split.y_valid])
        w_all = None
        if split.w_train is not None:
            w_all = np.concatenate([split.w_train, split.w_valid])
        try:
            if candidate.genome is None:
                codes = self._category_codes(candidate)
                estimator = make_classical_estimator(
                    candidate.family,
                    candidate.params,
                    task=split.task,
                    seed=candidate.seed,
                    codes=codes,
                )
                X_all = concat_rows(split.X_train, split.X_valid)
                y_all = self._classical_targets(y_all)
                rows = linear_rows(candidate, len(y_all))
                if rows is not None:
                    X_all, y_all = X_all[rows], y_all[rows]
                    w_all = None if w_all is None else w_all[rows]
                if codes is not None:
                    X_all = codes(X_all)
                cap_forest_size(estimator, len(y_all), split.n_outputs)
                if fit_before(estimator, X_all, y_all, w_all, deadline) is not None:
                    return None
                return self._classical_member(estimator, codes)
            tensors = [  # on CPU sharing the rows' memory: no copy of the training data
                rows_tensor(concat_rows(split.X_train, split.X_valid), self.device),
                torch.from_numpy(y_all).to(self.device),
            ]
            weights = self._training_weights(candidate, y_all, w_all)
            if weights is not None:
                tensors.append(torch.from_numpy(weights).to(self.device))
            deadline_callback = TrainingDeadline(deadline)
            callbacks = [("finite_loss", FiniteLossGuard()), ("deadline", deadline_callback)]
            planned = replace(candidate, fidelity=None)
            if start_from is not None:  # a schedule of its own
                planned = replace(planned, budget_epochs=max(1, n_epochs))
            with seeded_torch(candidate.seed, self.device):
                net = self._net(
                    planned,
                    None,
                    callbacks,
                    weights is not None,
                    self.device,
                    train_epochs=max(1, n_epochs),
                )
                if start_from is not None:
                    net.set_params(lr=net.lr * CONTINUE_LR_SCALE)
                net.initialize()
                if start_from is not None:
                    genome = start_from.genome
                    inherit_weights(net.module_, candidate.genome, genome, start_from.weights)
                net.partial_fit(TensorDataset(*tensors), None)
        except Exception:  # keep the member trained on the training part
            return None
        shortened = dict(net.callbacks_)["lr_schedule"].shortened_ and start_from is None
        if deadline_callback.reached_ or shortened:
            return None  # cut by the deadline, or would have been
        return self._member(candidate, net.module_)

    def score_on_all_rows(self, member: Any) -> float:
        """The search's metric for ``member`` on every row it searched on (the training
        and validation parts together): how a refit is checked against the member it
        would replace."""
        split = self.split
        X_all = concat_rows(split.X_train, split.X_valid)
        y_train = split.y_train
        if split.task == "regression":
            y_train = y_train[:, 0].astype(np.float64) * split.target_scale + split.target_mean
        y_all = np.concatenate([y_train, split.y_valid_true])
        w_all = None
        if split.w_train is not None:
            w_all = np.concatenate([split.w_train, split.w_valid])
        return self.scorer.weighted(w_all)(y_all, member.predict(X_all))

    def _net(
        self,
        candidate: Candidate,
        valid: TensorDataset | None,
        callbacks: list,
        weighted: bool,
        device: str,
        train_epochs: int | None = None,
    ) -> SearchNet:
        return make_net(
            candidate,
            task=self.split.task,
            n_features=self.split.n_features,
            n_outputs=self.split.n_outputs,
            valid_dataset=valid,
            callbacks=callbacks,
            device=device,
            weighted=weighted,
            image_shape=self.split.image_shape,
            n_rows=self.split.n_rows,
            train_epochs=train_epochs,
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
            image_shape=self.split.image_shape,
        )

    def _classical_member(
        self, estimator: Any, codes: CategoryCodes | None = None
    ) -> ClassicalMember:
        split = self.split
        return ClassicalMember(
            estimator, split.task, split.n_outputs, split.target_mean, split.target_scale, codes
        )

    def _category_codes(self, candidate: Candidate) -> CategoryCodes | None:
        """The category codes a ``hist_gbdt`` trial splits on natively, or None (other
        families, or no one-hot encoded columns)."""
        if candidate.family != "hist_gbdt":
            return None
        return self.split.category_codes

    @staticmethod
    def _classical_targets(y: np.ndarray) -> np.ndarray:
        """Class codes, or the standardised regression targets as a 1-d array."""
        return y if y.ndim == 1 else y[:, 0]

    @staticmethod
    def _training_weights(
        candidate: Candidate, y: np.ndarray, weights: np.ndarray | None
    ) -> np.ndarray | None:
        """Row weights of a network's loss: the user's, balanced by class if searched so."""
        if candidate.params.get("class_weight") == "balanced":
            return balanced_weights(y, weights)
        return weights

    def _score_module(self, module: torch.nn.Module, device: str) -> float:
        return self.scorer(self.split.y_valid_true, self._predict_valid(module, device))

    def _tensors(self, device: str) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """``(X, y)`` tensors of the training and validation rows, on the device, made once."""
        if getattr(self, "_cached_device", None) != device:
            split = self.split
            self._cached = tuple(
                (rows_tensor(X, device), torch.from_numpy(y).to(device))
                for X, y in ((split.X_train, split.y_train), (split.X_valid, split.y_valid))
            )
            self._cached_device = device
        return self._cached

    def _datasets(self, candidate: Candidate, device: str) -> tuple[TensorDataset, TensorDataset]:
        """Training and validation datasets, with a weight tensor when rows are weighted."""
        split = self.split
        (X_train, y_train), (X_valid, y_valid) = self._tensors(device)
        w_train = self._training_weights(candidate, split.y_train, split.w_train)
        if w_train is None and split.w_valid is None:
            return TensorDataset(X_train, y_train), TensorDataset(X_valid, y_valid)
        w_valid = split.w_valid if split.w_valid is not None else np.ones(len(y_valid), np.float32)
        return (
            TensorDataset(X_train, y_train, torch.from_numpy(w_train).to(device)),
            TensorDataset(X_valid, y_valid, torch.from_numpy(w_valid).to(device)),
        )

    def _predict_valid(self, module: torch.nn.Module, device: str) -> np.ndarray:
        split = self.split
        pred = predict_module(
            module, split.X_valid, task=split.task, dtype=torch.float32, device=device
        )
        self._check_finite(pred)
        if split.task == "regression":
            pred = pred * split.target_scale + split.target_mean
        return pred

    @staticmethod
    def _check_finite(pred: np.ndarray) -> None:
        if not np.all(np.isfinite(pred)):
            raise NonFiniteLossError("the trained model predicts NaN or infinite values.")
