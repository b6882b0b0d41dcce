"""``run_search``: the one loop that owns the clock, the budget, interrupts and callbacks."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from .checkpoint import MemoryJournal, SearchJournal
from .fidelity import SuccessiveHalving
from .history import SearchHistory
from .strategies import Strategy
from .trial import Candidate, TrialResult, TrialState

__all__ = ["SearchAborted", "run_search"]

Evaluate = Callable[[Candidate, "float | None"], TrialResult]
SearchCallback = Callable[[TrialResult, SearchHistory], None]


class SearchAborted(BaseException):
    """A second Ctrl-C: abort at once (a ``BaseException``, so skorch cannot swallow it)."""


@contextmanager
def _interrupt_flag() -> Iterator[threading.Event]:
    """Record Ctrl-C in a flag while still raising ``KeyboardInterrupt``.

    skorch catches ``KeyboardInterrupt`` inside training (its own early-stopping
    signal), so the loop checks the flag after every trial. A second Ctrl-C raises
    :class:`SearchAborted`, which nothing on the way swallows.
    """
    flag = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield flag  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: object) -> None:
        if flag.is_set():
            raise SearchAborted
        flag.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _evaluate_one(
    evaluate: Evaluate, candidate: Candidate, deadline: float | None, interrupted: threading.Event
) -> TrialResult:
    """Evaluate; a trial during which Ctrl-C was pressed is FAIL, even if skorch swallowed it."""
    try:
        result = evaluate(candidate, deadline)
    except KeyboardInterrupt:
        interrupted.set()
        result = TrialResult(candidate, TrialState.FAIL)
    if interrupted.is_set():
        result = replace(result, state=TrialState.FAIL, error="interrupted by user", member=None)
    return result


def run_search(
    strategy: Strategy,
    evaluate: Evaluate,
    *,
    n_trials: int | None = None,
    deadline: float | None = None,
    halving: SuccessiveHalving | None = None,
    callbacks: Sequence[SearchCallback] = (),
    history: SearchHistory | None = None,
    journal: SearchJournal | MemoryJournal | None = None,
) -> SearchHistory:
    """Ask, evaluate and tell until the trial budget or the deadline is spent.

    Parameters
    ----------
    strategy : Strategy
        Already :meth:`~Strategy.reset`.
    evaluate : callable
        ``evaluate(candidate, deadline) -> TrialResult``; must not raise for a
        failed candidate (it returns a FAIL result).
    n_trials : int or None
        Maximum number of trials.
    deadline : float or None
        ``time.monotonic()`` value after which no trial starts and running ones stop.
    halving : SuccessiveHalving or None
        Multi-fidelity schedule: each trial gets its rungs and may be PRUNED at one.
    callbacks : sequence of callable
        Called as ``callback(result, history)`` after every trial.
    history : SearchHistory or None
        Trials already run (a resumed search: ``strategy`` and ``halving`` hold the
        state that followed them); ``n_trials`` counts them.
    journal : SearchJournal, MemoryJournal or None
        Records every finished trial and the state after it (not a trial that
        Ctrl-C cut short), so that a killed search resumes (or a warm start goes on).

    Returns
    -------
    SearchHistory
        ``interrupted`` is set when Ctrl-C ended the search; the trial running at
        that moment is recorded as FAIL.
    """
    if n_trials is None and deadline is None:
        raise ValueError("run_search needs a budget: n_trials, deadline or both.")
    history = history if history is not None else SearchHistory()
    # A resumed search's clock goes on from its last recorded trial.
    elapsed = [r.finished_at for r in history.results if math.isfinite(r.finished_at)]
    started = time.monotonic() - max(elapsed, default=0.0)

    def budget_left() -> bool:
        if n_trials is not None and len(history.results) >= n_trials:
            return False
        return deadline is None or time.monotonic() < deadline

    with _interrupt_flag() as interrupted:
        try:
            while budget_left() and not interrupted.is_set():
                for candidate in strategy.ask(1):
                    if halving is not None:
                        candidate = replace(candidate, fidelity=halving.fidelity_for(candidate))
                    result = _evaluate_one(evaluate, candidate, deadline, interrupted)
                    result = replace(result, finished_at=time.monotonic() - started)
                    if halving is not None:
                        halving.record(result)
                    history.add(result)
                    strategy.tell([result])
                    if journal is not None and not interrupted.is_set():
                        state = {
                            "strategy": strategy.state_dict(),
                            "halving": None if halving is None else halving.state_dict(),
                        }
                        journal.record(len(history.results) - 1, result, state)
                    for callback in callbacks:
                        callback(result, history)
        except KeyboardInterrupt:  # outside a trial: while asking, telling or in a callback
            interrupted.set()
        except SearchAborted:
            raise KeyboardInterrupt from None
    history.interrupted = interrupted.is_set()
    return history
