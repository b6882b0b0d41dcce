"""skorch callbacks that keep one trial inside its budget and honest.

skorch ends training early by raising ``KeyboardInterrupt`` inside its loop and
catching it in ``partial_fit``; :class:`TrainingDeadline` uses that mechanism.
A real Ctrl-C is told apart by the search loop (see :mod:`sknas._search`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from skorch.callbacks import Callback

__all__ = [
    "FiniteLossGuard",
    "LearningRateSchedule",
    "NonFiniteLossError",
    "RungPruner",
    "TrainingDeadline",
]


class NonFiniteLossError(ValueError):
    """Training diverged: a loss or a prediction is NaN or infinite."""


class TrainingDeadline(Callback):
    """Stop training (keeping what was learnt) once ``time.monotonic()`` passes ``deadline``.

    Parameters
    ----------
    deadline : float or None
        A ``time.monotonic()`` value; None never stops.
    """

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.reached_ = False

    def on_batch_end(self, net: Any, **kwargs: Any) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.reached_ = True
            raise KeyboardInterrupt  # skorch's own way to end fit_loop early


class FiniteLossGuard(Callback):
    """Fail the trial as soon as an epoch's training or validation loss is not finite."""

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        row = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            value = row.get(key)
            if value is not None and not math.isfinite(value):
                raise NonFiniteLossError(
                    f"{key} became {value} in epoch {row['epoch']}; the training diverged "
                    "(learning rate too high?)."
                )


class RungPruner(Callback):
    """Judge the trial at its successive-halving rungs; stop it when it falls behind.

    Parameters
    ----------
    fidelity : Fidelity
        Rungs and the scores other trials reached there.
    score_now : callable
        ``score_now(module) -> float``: the validation score of the current weights.
    """

    def __init__(self, fidelity: Any, score_now: Any) -> None:
        self.fidelity = fidelity
        self.score_now = score_now

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.rung_scores_: list[float] = []
        self.pruned_ = False

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        epoch = len(net.history)
        if epoch not in self.fidelity.rungs[:-1]:
            return
        rung = self.fidelity.rungs.index(epoch)
        score = self.score_now(net.module_)
        self.rung_scores_.append(score)
        if not self.fidelity.should_continue(rung, score):
            self.pruned_ = True
            raise KeyboardInterrupt  # skorch's own way to end fit_loop early


class LearningRateSchedule(Callback):
    """Warm the learning rate up linearly, then (``"cosine"``) decay it to zero.

    The schedule spans the trial's ``epochs`` whatever the training stops at, so a
    refit that trains a trial's best epochs on more rows follows the trial's
    learning rates: it is set per optimizer step from the fraction of epochs done.

    With ``follow_deadline=True`` the schedule is shortened, after every epoch, to the
    whole epochs that still fit before the net's :class:`TrainingDeadline` s (measured
    from the last epoch, with 5 % to spare), so that training the deadline cuts short
    still ends with the learning rate decayed instead of at its peak, as the hand CNN
    of ``benchmarks/images.py`` re-plans its one-cycle schedule. It is planned again
    after every epoch, never past ``epochs`` (a first epoch that warms the process up
    is slower than the rest), and the training stops where the shortened schedule ends
    (``shortened_`` is then True and ``span_`` its epochs) instead of going on at a
    learning rate of zero. A net that trains fewer epochs than the schedule spans (a
    refit to a trial's best epoch) keeps the whole schedule while those epochs fit.

    Parameters
    ----------
    epochs : int
        Epochs the schedule spans (the trial's budget).
    kind : {"cosine", "constant"}
        ``"constant"`` keeps the learning rate after the warm-up.
    warmup_epochs : float, default=1.0
        Length of the linear warm-up, at most a tenth of ``epochs``.
    follow_deadline : bool, default=False
        Shorten the schedule to what fits before the deadline.
    """

    def __init__(
        self, epochs: int, kind: str, warmup_epochs: float = 1.0, follow_deadline: bool = False
    ) -> None:
        if kind not in ("cosine", "constant"):
            raise ValueError(f"kind must be 'cosine' or 'constant', got {kind!r}.")
        self.epochs = epochs
        self.kind = kind
        self.warmup_epochs = warmup_epochs
        self.follow_deadline = follow_deadline

    def factor(self, progress: float, span: float | None = None) -> float:
        """The learning rate's multiplier after ``progress`` epochs of a schedule that
        ends after ``span`` epochs (default: ``epochs``).

        Examples
        --------
        >>> schedule = LearningRateSchedule(epochs=20, kind="cosine")
        >>> [round(schedule.factor(e), 3) for e in (0, 0.5, 1, 10.5, 20)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
        >>> [round(schedule.factor(e, span=11), 3) for e in (1, 6, 11)]
        [1.0, 0.5, 0.0]
        """
        span = self.epochs if span is None else span
        warmup = min(self.warmup_epochs, 0.1 * self.epochs)
        if progress < warmup:
            return progress / warmup
        if self.kind == "constant":
            return 1.0
        done = min(1.0, (progress - warmup) / max(span - warmup, 1e-12))
        return 0.5 * (1.0 + math.cos(math.pi * done))

    def on_train_begin(self, net: Any, X: Any = None, **kwargs: Any) -> None:
        self.steps_per_epoch_ = max(1, len(net.get_iterator(X, training=True)))
        self.step_ = 0
        self.base_lr_ = net.lr
        self.span_ = float(self.epochs)
        self.shortened_ = False
        self.train_epochs_ = min(self.epochs, getattr(net, "max_epochs", self.epochs))
        deadlines = [
            callback.deadline
            for _, callback in getattr(net, "callbacks_", [])
            if isinstance(callback, TrainingDeadline) and callback.deadline is not None
        ]
        self.deadline_ = min(deadlines) if self.follow_deadline and deadlines else None

    def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
        if self.shortened_ and self.step_ >= self.span_ * self.steps_per_epoch_:
            raise KeyboardInterrupt  # the shortened schedule has ended: skorch stops
        self.epoch_started_ = time.monotonic()

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        if self.deadline_ is None:
            return
        now = time.monotonic()
        seconds = max(now - self.epoch_started_, 1e-6)
        done = self.step_ / self.steps_per_epoch_
        end = done + max(0, math.floor(0.95 * (self.deadline_ - now) / seconds))
        # A refit trains fewer epochs than its schedule spans: only what it trains must fit.
        self.span_ = float(self.epochs) if end >= self.train_epochs_ else end
        self.shortened_ = self.span_ < self.epochs

    def on_batch_begin(self, net: Any, training: bool = False, **kwargs: Any) -> None:
        if not training:
            return
        # Never exactly zero: the first step and the last would otherwise be wasted.
        progress = (self.step_ + 0.5) / self.steps_per_epoch_
        for group in net.optimizer_.param_groups:
            group["lr"] = self.base_lr_ * self.factor(progress, self.span_)
        self.step_ += 1
