"""A progress bar for ``verbose=1``: budget used, trials done, best score so far."""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

from ..history import SearchHistory
from ..trial import TrialResult

__all__ = ["ProgressBar"]


class ProgressBar:
    """A search callback drawing a tqdm bar on stderr.

    Parameters
    ----------
    n_trials : int or None
        The trial budget; the bar counts trials when there is no deadline.
    deadline : float or None
        ``time.monotonic()`` value; with one, the bar counts seconds.
    """

    def __init__(self, n_trials: int | None, deadline: float | None) -> None:
        self.started = time.monotonic()
        self.deadline = deadline
        by_time = deadline is not None
        self.bar = tqdm(
            total=round(deadline - self.started, 1) if by_time else n_trials,
            unit="s" if by_time else "trial",
            desc="sknas search",
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} {unit}{postfix}",
        )

    def __call__(self, result: TrialResult, history: SearchHistory) -> None:
        if self.deadline is None:
            self.bar.update(1)
        else:
            self.bar.n = min(self.bar.total, round(time.monotonic() - self.started, 1))
        best = history.best()
        self.bar.set_postfix_str(
            f"trials={len(history.results)} best={best.score:.4f}" if best else "no score yet"
        )

    def close(self) -> None:
        """Leave the bar at its final state."""
        self.bar.close()
