"""Trials on joblib workers: loky processes locally, a Dask cluster through the same code.

:class:`TrialPool` runs trials under whatever backend ``joblib.parallel_config``
selects. Candidates are pulled one at a time as workers free up, so a strategy
proposes with the latest results it has (and with other trials still in flight).
The training data travels once per search, not once per trial: loky memory-maps
the evaluator's arrays, and on Dask the evaluator is scattered to the workers.

Under joblib's Dask backend the pool submits one Dask future per trial to the
backend's client (joblib would abort every trial, and here even hang, when one
worker dies): a dead worker fails only its trial, as a ``KilledWorker`` once Dask
has given up retrying it. Under the other backends a dead worker makes joblib abort
every trial in flight; the pool runs those trials again, each alone, and the one
that dies again is recorded as FAIL. Either way the search goes on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from joblib.parallel import get_active_backend
from threadpoolctl import ThreadpoolController, threadpool_limits

from .trial import Candidate, TrialResult, TrialState

__all__ = ["TrialPool", "caller_thread_settings_kept", "threads_per_trial"]

Evaluate = Callable[[Candidate, "float | None"], TrialResult]

#: Error recorded for a trial whose worker died twice while it ran.
WORKER_DIED = "the worker running this trial died"


def _evaluate_on_worker(
    evaluate: Evaluate, candidate: Candidate, wall_deadline: float | None, n_threads: int
) -> TrialResult:
    """Run one trial on a worker, with ``n_threads`` torch/BLAS threads.

    The deadline travels as wall-clock time (``time.monotonic`` values mean nothing
    on another machine) and becomes a local monotonic deadline here.
    """
    deadline = None
    if wall_deadline is not None:
        deadline = time.monotonic() + (wall_deadline - time.time())
    with threadpool_limits(limits=n_threads):
        return evaluate(candidate, deadline)


def threads_per_trial(n_at_once: int) -> int:
    """Torch and BLAS threads for each of ``n_at_once`` trials running together."""
    return max(1, cpu_count() // n_at_once)


@contextmanager
def caller_thread_settings_kept() -> Iterator[None]:
    """Restore the caller's torch/BLAS/OpenMP thread counts on exit.

    Trials on joblib's threading backend set thread limits in this very process. Each
    library keeps its own count: keyed by prefix, two copies of one runtime (torch's
    libgomp and scikit-learn's, or the one numba's threading layer loads once aeon's
    MiniRocket has run) would all be set to the count of whichever was listed last, and a
    later search's trials ran on one thread where the caller had two.
    """
    with threadpool_limits(limits=ThreadpoolController()):
        yield


class TrialPool:
    """Evaluates candidates on ``n_jobs`` workers of the active joblib backend.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(candidate, deadline) -> TrialResult``, picklable; it must return
        a FAIL result for a failed candidate rather than raise.
    n_jobs : int
        Workers, as joblib counts them (-1: one per core of the backend).
    n_threads : int or None, default=None
        Torch and BLAS threads per trial; None divides the cores among the workers.

    Attributes
    ----------
    n_workers : int
        Workers the backend provides.
    n_threads : int
        Threads per trial.
    """

    def __init__(self, evaluate: Evaluate, n_jobs: int, n_threads: int | None = None) -> None:
        self.evaluate = evaluate
        self.n_workers = effective_n_jobs(n_jobs)
        self.n_threads = n_threads or threads_per_trial(self.n_workers)
        self._lock = threading.Lock()
        backend, _ = get_active_backend()
        self._dask_client = getattr(backend, "client", None)

    def run(
        self,
        next_candidate: Callable[[], Candidate | None],
        on_result: Callable[[TrialResult], None],
        wall_deadline: Callable[[], float | None] | None = None,
    ) -> None:
        """Evaluate candidates until ``next_candidate`` returns None and all have finished.

        ``next_candidate`` is called whenever a worker is free (from joblib's
        dispatching thread) and ``on_result`` as each trial finishes (in this
        thread); the pool never runs both at once. ``wall_deadline()`` gives, as each
        trial is handed out, the ``time.time()`` value after which it stops. Exceptions from either
        callable propagate; on ``KeyboardInterrupt`` the trials in flight are
        reported as FAIL before it propagates.
        """
        if self._dask_client is not None:
            self._run_on_dask(next_candidate, on_result, wall_deadline)
            return
        suspects: deque[Candidate] = deque()
        while True:
            if suspects:  # alone, so that a second death names its trial
                lone = [suspects.popleft()]
                self._round(lambda x=lone: x.pop() if x else None, on_result, wall_deadline)
            elif self._round(next_candidate, on_result, wall_deadline, suspects):
                return

    def _round(
        self,
        next_candidate: Callable[[], Candidate | None],
        on_result: Callable[[TrialResult], None],
        wall_deadline: Callable[[], float | None] | None,
        suspects: deque[Candidate] | None = None,
    ) -> bool:
        """One joblib call; False when a worker died. The trials it took down become
        ``suspects`` (to run again, each alone), or FAIL when there is no doubt: it
        was the only trial in flight (or ``suspects`` is None)."""
        in_flight: dict[int, Candidate] = {}
        proposal_error: list[BaseException] = []
        tasks = self._tasks(next_candidate, in_flight, proposal_error, wall_deadline)
        outputs = Parallel(
            n_jobs=self.n_workers,
            return_as="generator_unordered",
            pre_dispatch="n_jobs",
            batch_size=1,
        )(tasks)
        try:
            for result in self._results(outputs):
                with self._lock:
                    del in_flight[result.candidate.trial_id]
                    on_result(result)
        except _WorkerDied as died:
            with self._lock:
                lost = [in_flight[trial_id] for trial_id in sorted(in_flight)]
                if suspects is not None and len(lost) > 1:
                    suspects.extend(lost)
                else:
                    error = f"{WORKER_DIED} ({str(died).splitlines()[0][:200]})"
                    for candidate in lost:
                        on_result(TrialResult(candidate, TrialState.FAIL, error=error))
            return False
        except KeyboardInterrupt:
            with self._lock:
                for candidate in in_flight.values():
                    on_result(TrialResult(candidate, TrialState.FAIL, error="interrupted by user"))
            raise
        if proposal_error:
            raise proposal_error[0]
        return True

    def _tasks(
        self,
        next_candidate: Callable[[], Candidate | None],
        in_flight: dict[int, Candidate],
        proposal_error: list[BaseException],
        wall_deadline: Callable[[], float | None] | None,
    ) -> Iterator:
        """joblib tasks, made as joblib asks for them."""
        while True:
            with self._lock:
                try:
                    candidate = next_candidate()
                except BaseException as exc:  # re-raised by _round, not in joblib's thread
                    proposal_error.append(exc)
                    return
                if candidate is None:
                    return
                in_flight[candidate.trial_id] = candidate
                stop = None if wall_deadline is None else wall_deadline()
            yield delayed(_evaluate_on_worker)(self.evaluate, candidate, stop, self.n_threads)

    @staticmethod
    def _results(outputs: Iterator[TrialResult]) -> Iterator[TrialResult]:
        """joblib's results; an exception from it can only mean a lost worker, since
        trials never raise."""
        while True:
            try:
                result = next(outputs)
            except StopIteration:
                return
            except Exception as exc:
                raise _WorkerDied(f"{type(exc).__name__}: {exc}") from exc
            yield result

    def _run_on_dask(
        self,
        next_candidate: Callable[[], Candidate | None],
        on_result: Callable[[TrialResult], None],
        wall_deadline: Callable[[], float | None] | None,
    ) -> None:
        """One Dask future per trial, the evaluator scattered to the workers once.

        When the only workers holding the evaluator die, Dask cancels the trials
        waiting on it ("lost dependencies"): those never started, so the evaluator is
        scattered again and they are submitted again (once each) instead of failing.
        """
        from distributed import as_completed
        from distributed.client import FutureCancelledError

        client = self._dask_client
        evaluate = client.scatter(self.evaluate, broadcast=True, hash=False)
        in_flight: dict[str, Candidate] = {}
        resubmitted: set[int] = set()
        finished = as_completed()

        def submit(candidate: Candidate) -> None:
            future = client.submit(
                _evaluate_on_worker,
                evaluate,
                candidate,
                None if wall_deadline is None else wall_deadline(),
                self.n_threads,
                pure=False,
            )
            in_flight[future.key] = candidate
            finished.add(future)

        def submit_while_workers_are_free() -> None:
            while len(in_flight) < self.n_workers and (candidate := next_candidate()):
                submit(candidate)

        try:
            submit_while_workers_are_free()
            for future in finished:
                candidate = in_flight.pop(future.key)
                try:
                    result = future.result()
                except FutureCancelledError as exc:
                    if candidate.trial_id in resubmitted:
                        result = TrialResult(candidate, TrialState.FAIL, error=_died(exc))
                    else:
                        if _lost(client, evaluate):
                            client.cancel(evaluate)
                            evaluate = client.scatter(self.evaluate, broadcast=True, hash=False)
                        resubmitted.add(candidate.trial_id)
                        submit(candidate)
                        continue
                except Exception as exc:  # KilledWorker: trials themselves never raise
                    result = TrialResult(candidate, TrialState.FAIL, error=_died(exc))
                on_result(result)
                submit_while_workers_are_free()
        except KeyboardInterrupt:
            client.cancel(list(finished.futures))
            for candidate in in_flight.values():
                on_result(TrialResult(candidate, TrialState.FAIL, error="interrupted by user"))
            raise
        finally:
            client.cancel(evaluate)


def _lost(client, future) -> bool:
    """Whether no Dask worker holds the data of ``future`` any more."""
    from distributed.client import FuturesCancelledError

    if future.status != "finished":
        return True
    try:
        return not any(client.who_has(future).values())
    except FuturesCancelledError:  # already forgotten by the scheduler
        return True


def _died(exc: BaseException) -> str:
    """The error recorded for a trial that Dask gave up on."""
    return f"{WORKER_DIED} ({type(exc).__name__}: {str(exc)[:200]})"


class _WorkerDied(Exception):
    """joblib aborted the trials in flight because a worker died."""
