"""``run_search``: the loop that keeps the clock, the trial budget, Ctrl-C and callbacks
(the trials themselves belong to :class:`sknas.study.Study`)."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace

from threadpoolctl import threadpool_limits

from .history import SearchHistory
from .parallel import TrialPool, caller_thread_settings_kept, threads_per_trial
from .study import Study
from .trial import Candidate, TrialResult, TrialState
from .utils._cores import FreeCores

__all__ = ["INTERRUPTED", "MAX_SKIPPED_IN_A_ROW", "SearchAborted", "run_search"]

#: The error of a trial during which the user pressed Ctrl-C.
INTERRUPTED = "interrupted by user"
#: Candidates in a row the study may skip as too slow for the time left
#: (:meth:`Study.too_slow <sknas.study.Study.too_slow>`) before the search ends: then
#: what the strategy proposes no longer fits in what is left.
MAX_SKIPPED_IN_A_ROW = 10

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
    """Evaluate; a trial during which Ctrl-C was pressed is recorded as interrupted.

    skorch stops training at Ctrl-C and the evaluator still scores what was trained,
    so a trial that has a score keeps it (PRUNED, with the error "interrupted by
    user": usable by the ensemble, never resumed from); one without is FAIL.
    """
    try:
        result = evaluate(candidate, deadline)
    except KeyboardInterrupt:
        interrupted.set()
        result = TrialResult(candidate, TrialState.FAIL)
    if interrupted.is_set():
        if result.scored:
            result = replace(result, state=TrialState.PRUNED, error=INTERRUPTED)
        else:
            result = replace(result, state=TrialState.FAIL, error=INTERRUPTED, member=None)
    return result


def run_search(
    study: Study,
    evaluate: Evaluate,
    *,
    n_trials: int | None = None,
    deadline: float | None = None,
    reserve: Callable[[SearchHistory], float] | None = None,
    callbacks: Sequence[SearchCallback] = (),
    n_jobs: int = 1,
    synchronous_batch: int | None = None,
) -> SearchHistory:
    """Ask the study, evaluate and tell it, until the trial budget or the deadline is spent.

    Parameters
    ----------
    study : Study
        Owns the trials (ids, queue, records, journal); a resumed study's trials
        count towards ``n_trials`` and its clock goes on from its last trial.
    evaluate : callable
        ``evaluate(candidate, deadline) -> TrialResult``; must not raise for a
        failed candidate (it returns a FAIL result). Picklable when ``n_jobs > 1``.
    n_trials : int or None
        Maximum number of trials.
    deadline : float or None
        ``time.monotonic()`` value after which no trial starts and running ones stop.
    reserve : callable or None, default=None
        ``reserve(history) -> seconds``: how long before ``deadline`` trials stop
        instead, asked again before every trial (the estimator keeps time back for
        refitting while the best trial could be refit in it:
        :func:`~sknas.ensemble.refit_reserve`). None: trials run up to ``deadline``.
    callbacks : sequence of callable
        Called as ``callback(result, history)`` after every trial.
    n_jobs : int, default=1
        Trials run at once, on the workers of the active joblib backend
        (:class:`~sknas.parallel.TrialPool`); 1 runs them here, one after another,
        each (with a ``deadline``) on the cores other processes left free since the
        one before (:class:`~sknas.utils._cores.FreeCores`).
    synchronous_batch : int or None, default=None
        None: a new trial is proposed whenever a worker is free, from the results
        so far. An int ``k``: trials are proposed ``k`` at a time and all of a batch
        are told, in trial-id order, before the next is proposed. Each trial then
        runs with the cores divided by ``k`` as threads, so that the search depends
        only on the seed and ``n_trials``, not on ``n_jobs`` or timing.

    Returns
    -------
    SearchHistory
        The study's; ``interrupted`` is set when Ctrl-C ended the search.
    """
    if n_trials is None and deadline is None:
        raise ValueError("run_search needs a budget: n_trials, deadline or both.")
    loop = _SearchLoop(study, n_trials, deadline, reserve, callbacks)
    n_threads = None if synchronous_batch is None else threads_per_trial(synchronous_batch)
    pool = TrialPool(evaluate, n_jobs, n_threads) if n_jobs != 1 else None
    with _interrupt_flag() as loop.interrupted, caller_thread_settings_kept():
        try:
            if synchronous_batch is not None:
                loop.run_batches(evaluate, pool, synchronous_batch, n_threads)
            elif pool is not None:
                pool.run(loop.propose, loop.record, loop.wall_deadline)
            else:  # on the clock, where the trial count depends on timing anyway
                loop.run_sequential(evaluate, None if deadline is None else FreeCores())
        except KeyboardInterrupt:  # outside a trial: while asking, telling or in a callback
            loop.interrupted.set()
        except SearchAborted:
            raise KeyboardInterrupt from None
    study.history.interrupted = loop.interrupted.is_set()
    return study.history


class _SearchLoop:
    """The clock and the trial budget of one search, between the study and whoever
    evaluates (:func:`run_search` decides who)."""

    def __init__(
        self,
        study: Study,
        n_trials: int | None,
        deadline: float | None,
        reserve: Callable[[SearchHistory], float] | None,
        callbacks: Sequence[SearchCallback],
    ) -> None:
        self.study = study
        self.n_trials = n_trials
        self.deadline = deadline
        self.reserve = reserve
        self.callbacks = callbacks
        self.interrupted = threading.Event()
        self.n_proposed = len(study.history.results)
        self.n_skipped_in_a_row = 0
        # A resumed search's clock goes on from its last recorded trial.
        elapsed = [r.finished_at for r in study.history.results if math.isfinite(r.finished_at)]
        self.started = time.monotonic() - max(elapsed, default=0.0)

    def stop_at(self) -> float | None:
        """When trials stop (a ``time.monotonic()`` value): the deadline less what
        ``reserve`` keeps back now."""
        if self.deadline is None or self.reserve is None:
            return self.deadline
        return self.deadline - self.reserve(self.study.history)

    def wall_deadline(self) -> float | None:
        """:meth:`stop_at` as a ``time.time()`` value, for workers on other machines."""
        stop = self.stop_at()
        return None if stop is None else time.time() + stop - time.monotonic()

    def trials_left(self) -> int | None:
        """Trials that may still be proposed (None: no trial budget); 0 once the
        deadline passed or the user pressed Ctrl-C."""
        if self.interrupted.is_set() or self.n_skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
            return 0
        stop = self.stop_at()
        if stop is not None and time.monotonic() >= stop:
            return 0
        return None if self.n_trials is None else max(0, self.n_trials - self.n_proposed)

    def time_left(self) -> float | None:
        """Seconds until trials stop (None: no deadline)."""
        stop = self.stop_at()
        return None if stop is None else stop - time.monotonic()

    def propose(self) -> Candidate | None:
        """The study's next candidate, or None when the budget is spent. Candidates
        that cannot finish in the time left are recorded as skipped (FAIL) instead."""
        while self.trials_left() != 0:
            self.n_proposed += 1
            time_left = self.time_left()
            candidate = self.study.ask(time_left)
            reason = self.study.too_slow(candidate, time_left)
            if reason is None:
                self.n_skipped_in_a_row = 0
                return candidate
            self.n_skipped_in_a_row += 1
            self.record(TrialResult(candidate, TrialState.FAIL, error=reason))
        return None

    def record(self, result: TrialResult) -> None:
        """Tell the study (its journal only while the user has not interrupted), then
        run the callbacks."""
        result = self.study.tell(
            result,
            finished_at=time.monotonic() - self.started,
            journal=not self.interrupted.is_set(),
        )
        for callback in self.callbacks:
            callback(result, self.study.history)

    def run_sequential(self, evaluate: Evaluate, cores: FreeCores | None) -> None:
        """One trial at a time, in this process (on the ``cores`` other processes leave
        free, when given)."""
        while (candidate := self.propose()) is not None:
            threads = nullcontext() if cores is None else threadpool_limits(cores.threads())
            with threads:
                result = _evaluate_one(evaluate, candidate, self.stop_at(), self.interrupted)
            self.record(result)

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
                                _evaluate_one(evaluate, candidate, self.stop_at(), self.interrupted)
                            )
                else:
                    pool.run(
                        lambda waiting=batch: waiting.popleft() if waiting else None,
                        results.append,
                        self.wall_deadline,
                    )
            finally:
                for result in sorted(results, key=lambda r: r.candidate.trial_id):
                    self.record(result)
