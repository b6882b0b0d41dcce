"""``run_search``: the one loop that owns the clock, the budget, interrupts and callbacks."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from threadpoolctl import threadpool_limits

from .checkpoint import MemoryJournal, SearchJournal
from .fidelity import SuccessiveHalving
from .history import SearchHistory
from .parallel import TrialPool, caller_thread_settings_kept, threads_per_trial
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
    n_jobs: int = 1,
    synchronous_batch: int | None = None,
    weight_inheritance: bool = False,
) -> SearchHistory:
    """Ask, evaluate and tell until the trial budget or the deadline is spent.

    Parameters
    ----------
    strategy : Strategy
        Already :meth:`~Strategy.reset`.
    evaluate : callable
        ``evaluate(candidate, deadline) -> TrialResult``; must not raise for a
        failed candidate (it returns a FAIL result). Picklable when ``n_jobs > 1``.
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
    n_jobs : int, default=1
        Trials run at once, on the workers of the active joblib backend
        (:class:`~sknas.parallel.TrialPool`); 1 runs them here, one after another.
    synchronous_batch : int or None, default=None
        None: a new trial is proposed whenever a worker is free, from the results
        so far. An int ``k``: trials are proposed ``k`` at a time and all of a batch
        are told, in trial-id order, before the next is proposed. Each trial then
        runs with the cores divided by ``k`` as threads, so that the search depends
        only on the seed and ``n_trials``, not on ``n_jobs`` or timing.
    weight_inheritance : bool, default=False
        A candidate derived from a parent trial whose trained network the history
        still holds carries it (``parent_model``), to start from its weights.

    Returns
    -------
    SearchHistory
        ``interrupted`` is set when Ctrl-C ended the search; trials running at
        that moment are recorded as FAIL.
    """
    if n_trials is None and deadline is None:
        raise ValueError("run_search needs a budget: n_trials, deadline or both.")
    loop = _SearchLoop(
        strategy, n_trials, deadline, halving, callbacks, history, journal, weight_inheritance
    )
    n_threads = None if synchronous_batch is None else threads_per_trial(synchronous_batch)
    pool = TrialPool(evaluate, n_jobs, n_threads) if n_jobs != 1 else None
    with _interrupt_flag() as loop.interrupted, caller_thread_settings_kept():
        try:
            if synchronous_batch is not None:
                loop.run_batches(evaluate, pool, synchronous_batch, n_threads)
            elif pool is not None:
                pool.run(loop.propose, loop.record, loop.wall_deadline())
            else:
                loop.run_sequential(evaluate)
        except KeyboardInterrupt:  # outside a trial: while asking, telling or in a callback
            loop.interrupted.set()
        except SearchAborted:
            raise KeyboardInterrupt from None
    loop.history.interrupted = loop.interrupted.is_set()
    return loop.history


class _SearchLoop:
    """The bookkeeping of one search: budget, proposals with their fidelity, and
    recording each result in the halving table, history, strategy, journal and
    callbacks. :func:`run_search` decides who evaluates."""

    def __init__(
        self,
        strategy: Strategy,
        n_trials: int | None,
        deadline: float | None,
        halving: SuccessiveHalving | None,
        callbacks: Sequence[SearchCallback],
        history: SearchHistory | None,
        journal: SearchJournal | MemoryJournal | None,
        weight_inheritance: bool = False,
    ) -> None:
        self.strategy = strategy
        self.n_trials = n_trials
        self.deadline = deadline
        self.halving = halving
        self.callbacks = callbacks
        self.history = history if history is not None else SearchHistory()
        self.journal = journal
        self.interrupted = threading.Event()
        self.weight_inheritance = weight_inheritance
        self.n_proposed = len(self.history.results)
        # A resumed search's clock goes on from its last recorded trial.
        elapsed = [r.finished_at for r in self.history.results if math.isfinite(r.finished_at)]
        self.started = time.monotonic() - max(elapsed, default=0.0)

    def wall_deadline(self) -> float | None:
        """The deadline as a ``time.time()`` value, for workers on other machines."""
        return None if self.deadline is None else time.time() + self.deadline - time.monotonic()

    def trials_left(self) -> int | None:
        """Trials that may still be proposed (None: no trial budget); 0 once the
        deadline passed or the user pressed Ctrl-C."""
        if self.interrupted.is_set():
            return 0
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 0
        return None if self.n_trials is None else max(0, self.n_trials - self.n_proposed)

    def propose(self) -> Candidate | None:
        """The next candidate with its fidelity, or None when the budget is spent."""
        if self.trials_left() == 0:
            return None
        [candidate] = self.strategy.ask(1)
        if self.weight_inheritance and candidate.parent_id is not None:
            candidate = replace(candidate, parent_model=self._trained_network(candidate.parent_id))
        if self.halving is not None:
            candidate = replace(candidate, fidelity=self.halving.fidelity_for(candidate))
        self.n_proposed += 1
        return candidate

    def _trained_network(self, trial_id: int) -> object | None:
        """The trained network of trial ``trial_id``, if the history still holds one."""
        for result in reversed(self.history.results):
            if result.candidate.trial_id == trial_id:
                return result.member if result.candidate.genome is not None else None
        return None

    def record(self, result: TrialResult, journal_state: bool = True) -> None:
        """Add a finished trial everywhere it counts, then run the callbacks."""
        result = replace(
            result,
            candidate=replace(result.candidate, parent_model=None),  # kept once, by the parent
            finished_at=time.monotonic() - self.started,
        )
        if self.halving is not None:
            self.halving.record(result)
        self.history.add(result)
        self.strategy.tell([result])
        if self.journal is not None and journal_state and not self.interrupted.is_set():
            state = {
                "strategy": self.strategy.state_dict(),
                "halving": None if self.halving is None else self.halving.state_dict(),
            }
            self.journal.record(len(self.history.results) - 1, result, state)
        for callback in self.callbacks:
            callback(result, self.history)

    def run_sequential(self, evaluate: Evaluate) -> None:
        """One trial at a time, in this process."""
        while (candidate := self.propose()) is not None:
            self.record(_evaluate_one(evaluate, candidate, self.deadline, self.interrupted))

    def run_batches(
        self, evaluate: Evaluate, pool: TrialPool | None, size: int, n_threads: int
    ) -> None:
        """Propose ``size`` trials, evaluate them (on ``pool`` when given, else here
        with ``n_threads`` threads), tell them in trial-id order; repeat."""
        while True:
            batch: deque[Candidate] = deque()
            while len(batch) < size and (candidate := self.propose()) is not None:
                batch.append(candidate)
            if not batch:
                return
            results: list[TrialResult] = []
            try:
                if pool is None:
                    with threadpool_limits(limits=n_threads):
                        for candidate in batch:
                            results.append(
                                _evaluate_one(evaluate, candidate, self.deadline, self.interrupted)
                            )
                else:
                    pool.run(
                        lambda waiting=batch: waiting.popleft() if waiting else None,
                        results.append,
                        self.wall_deadline(),
                    )
            finally:
                for result in sorted(results, key=lambda r: r.candidate.trial_id):
                    self.record(result)
