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

__all__ = ["FiniteLossGuard", "NonFiniteLossError", "TrainingDeadline"]


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
