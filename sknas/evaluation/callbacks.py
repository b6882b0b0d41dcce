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

__all__ = ["FiniteLossGuard", "NonFiniteLossError", "RungPruner", "TrainingDeadline"]


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
