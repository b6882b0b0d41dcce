"""Trials in parallel: joblib workers (loky, threading, Dask), threads, faults, determinism."""

from __future__ import annotations

import logging
import os
import signal
import time

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

from sknas import NASClassifier
from sknas._search import run_search
from sknas.parallel import WORKER_DIED, caller_thread_settings_kept
from sknas.space import default_search_space
from sknas.strategies import RandomStrategy
from sknas.study import Study
from sknas.trial import Candidate, TrialResult, TrialState


def _study():
    return Study(RandomStrategy(), default_search_space("classification", max_epochs=5), 0)


def _where_am_i(candidate: Candidate, deadline: float | None) -> TrialResult:
    """A trial that reports its process and thread limits instead of training."""
    time.sleep(0.3)
    openmp = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]
    return TrialResult(
        candidate,
        TrialState.COMPLETE,
        score=float(candidate.trial_id),
        error=f"{os.getpid()} {openmp[0] if openmp else None} {deadline is not None}",
    )


class _WhereAmIOnceBothWorkersRun:
    """``_where_am_i`` after waiting (up to a minute) until two processes have run a trial.

    On a busy machine one worker may finish every trial before the other has started;
    waiting for the second makes "both workers ran trials" a fact, not a race.
    """

    def __init__(self, directory):
        self.directory = directory

    def __call__(self, candidate: Candidate, deadline: float | None) -> TrialResult:
        (self.directory / str(os.getpid())).touch()
        give_up = time.monotonic() + 60
        while len(list(self.directory.iterdir())) < 2 and time.monotonic() < give_up:
            time.sleep(0.05)
        return _where_am_i(candidate, deadline)


def _kills_its_worker_on_trial_2(candidate: Candidate, deadline: float | None) -> TrialResult:
    if candidate.trial_id == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return TrialResult(candidate, TrialState.COMPLETE, score=float(candidate.trial_id))


def _kills_every_worker_on_trial_2(candidate: Candidate, deadline: float | None) -> TrialResult:
    """Kills both workers, and with them every copy of the scattered evaluator."""
    if candidate.trial_id == 2:
        import distributed

        pids = distributed.get_client().run(os.getpid).values()
        for pid in sorted(pids, key=lambda pid: pid == os.getpid()):  # this process last
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    return TrialResult(candidate, TrialState.COMPLETE, score=float(candidate.trial_id))


class _Counted:
    """A callable with 2 MB of data that counts how often it is pickled (here)."""

    pickled = 0

    def __init__(self) -> None:
        self.data = np.zeros(2**18)

    def __reduce__(self):
        type(self).pickled += 1
        return (_rebuild_counted, (self.data,))

    def __call__(self, candidate: Candidate, deadline: float | None) -> TrialResult:
        kind = type(self.data).__name__
        return TrialResult(candidate, TrialState.COMPLETE, score=1.0, error=kind)


def _rebuild_counted(data: np.ndarray) -> _Counted:
    counted = _Counted.__new__(_Counted)
    counted.data = data
    return counted


def _ids(history):
    return sorted(r.candidate.trial_id for r in history.results)


class TestTrialPool:
    @pytest.mark.slow  # starts worker processes
    def test_every_trial_runs_once_in_worker_processes_with_the_cores_divided(self, tmp_path):
        history = run_search(
            _study(),
            _WhereAmIOnceBothWorkersRun(tmp_path),
            n_trials=8,
            deadline=time.monotonic() + 600,
            n_jobs=2,
        )
        assert _ids(history) == list(range(8))
        pids, threads, has_deadline = zip(*(r.error.split() for r in history.results), strict=True)
        assert len(set(pids)) == 2 and str(os.getpid()) not in pids
        assert set(threads) == {str(max(1, joblib.cpu_count() // 2))}
        assert set(has_deadline) == {"True"}
        finished = [r.finished_at for r in history.results]
        assert finished == sorted(finished)

    @pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
    def test_a_trial_that_kills_its_worker_fails_alone(self):
        history = run_search(_study(), _kills_its_worker_on_trial_2, n_trials=8, n_jobs=2)
        assert _ids(history) == list(range(8))
        failed = [r for r in history.results if r.state is TrialState.FAIL]
        assert [r.candidate.trial_id for r in failed] == [2]
        assert failed[0].error.startswith(WORKER_DIED)

    @pytest.mark.slow  # starts a loky pool of its own: ~10 s with the other core busy
    def test_large_data_reaches_loky_workers_memory_mapped(self):
        history = run_search(_study(), _Counted(), n_trials=4, n_jobs=2)
        assert {r.error for r in history.results} == {"memmap"}

    def test_the_threading_backend_leaves_the_callers_thread_settings(self):
        before = torch.get_num_threads()
        with joblib.parallel_config(backend="threading"):
            history = run_search(_study(), _where_am_i, n_trials=4, n_jobs=2)
        assert _ids(history) == [0, 1, 2, 3]
        assert {r.error.split()[0] for r in history.results} == {str(os.getpid())}
        assert torch.get_num_threads() == before


class TestEstimator:
    @pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
    def test_n_jobs_2_fits_and_scores(self, iris):
        X, y = iris
        clf = NASClassifier(n_trials=6, max_epochs=20, random_state=0, n_jobs=2).fit(X, y)
        assert clf.n_trials_ == 6
        assert sorted(clf.leaderboard_["trial_id"]) == list(range(6))
        assert clf.score(X, y) > 0.9

    @pytest.mark.slow  # starts worker processes
    def test_networks_train_on_memory_mapped_rows_without_a_warning(self, capfd):
        # 6,400 x 50 float32 training rows (1.3 MB) reach the workers memory-mapped (read-only);
        # torch warned about them on every worker's stderr.
        X, y = make_classification(n_samples=8000, n_features=50, random_state=0)
        X = X.astype(np.float32)
        clf = NASClassifier(
            families=["mlp"], n_trials=2, max_epochs=2, n_jobs=2, portfolio=False, random_state=0
        ).fit(X, y)
        assert (clf.leaderboard_["state"] == "COMPLETE").all()
        assert "not writable" not in capfd.readouterr().err

    @pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
    def test_synchronous_batches_give_the_same_leaderboard_for_any_n_jobs(self, iris):
        X, y = iris
        columns = ["trial_id", "family", "state", "score", "genome", "n_epochs"]
        boards = []
        for n_jobs in (1, 2):
            clf = NASClassifier(
                n_trials=8, max_epochs=12, random_state=0, n_jobs=n_jobs, synchronous_batch=2
            ).fit(X, y)
            board = clf.leaderboard_.sort_values("trial_id").reset_index(drop=True)
            boards.append((board[columns], board["params"].map(repr)))
        pd.testing.assert_frame_equal(boards[0][0], boards[1][0])
        pd.testing.assert_series_equal(boards[0][1], boards[1][1])

    def test_n_jobs_0_is_refused(self, iris):
        with pytest.raises(ValueError, match="n_jobs=0"):
            NASClassifier(**TINY, n_jobs=0).fit(*iris)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        # A killed worker's task fails at once (by default Dask tries 3 more workers).
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.slow  # a local Dask cluster of two worker processes
class TestDask:
    def test_a_search_runs_on_a_local_cluster(self, dask_client, iris):
        X, y = iris
        workers = set(dask_client.run(os.getpid).values())
        with joblib.parallel_config(backend="dask"):
            history = run_search(_study(), _where_am_i, n_trials=6, n_jobs=-1)
            clf = NASClassifier(n_trials=4, max_epochs=20, random_state=0, n_jobs=-1).fit(X, y)
        assert {int(r.error.split()[0]) for r in history.results} <= workers
        assert clf.n_trials_ == 4 and clf.score(X, y) > 0.9

    def test_the_evaluator_is_scattered_once(self, dask_client):
        _Counted.pickled = 0
        with joblib.parallel_config(backend="dask"):
            history = run_search(_study(), _Counted(), n_trials=6, n_jobs=-1)
        assert len(history.results) == 6
        assert _Counted.pickled == 1

    def test_a_killed_worker_fails_only_its_trial(self, dask_client):
        with joblib.parallel_config(backend="dask"):
            history = run_search(_study(), _kills_its_worker_on_trial_2, n_trials=6, n_jobs=-1)
        assert _ids(history) == list(range(6))
        failed = [r.candidate.trial_id for r in history.results if r.state is TrialState.FAIL]
        assert failed == [2]

    def test_trials_go_on_after_every_copy_of_the_evaluator_is_lost(self, dask_client):
        # Trials cancelled for the lost evaluator never started: it is scattered again
        # and they run; only the trials on (or queued to) the killed workers fail. The
        # two kills are not atomic: a trial submitted between them may land on the
        # second worker and die with it, so up to three fail, none after the 4th
        # (without the new scatter every later trial would be cancelled).
        with joblib.parallel_config(backend="dask"):
            history = run_search(_study(), _kills_every_worker_on_trial_2, n_trials=8, n_jobs=-1)
        assert _ids(history) == list(range(8))
        failed = {r.candidate.trial_id for r in history.results if r.state is TrialState.FAIL}
        assert 2 in failed and len(failed) <= 3 and failed <= {1, 2, 3, 4}
        assert all(
            r.error.startswith(WORKER_DIED)
            for r in history.results
            if r.candidate.trial_id in failed
        )

    def test_fit_succeeds_when_a_busy_worker_is_killed_mid_search(self, dask_client, iris):
        X, y = iris
        # The test before kills a worker; with its replacement not yet joined, one worker
        # runs every trial and is never busy when a trial is logged.
        dask_client.wait_for_workers(2, timeout=120)

        class KillABusyWorkerOnce(logging.Handler):
            """After a trial is logged, kill a worker that is running another one (waiting
            up to 5 s for the scheduler to report one: on a loaded machine the next trial
            may not have started when the last one is logged)."""

            killed = False

            def emit(self, record):
                if self.killed:
                    return
                waited_until = time.monotonic() + 5.0
                busy = []
                while not busy and time.monotonic() < waited_until:
                    busy = [addr for addr, keys in dask_client.processing().items() if keys]
                    if not busy:
                        time.sleep(0.05)
                if busy:
                    os.kill(dask_client.run(os.getpid, workers=busy[:1])[busy[0]], signal.SIGKILL)
                    self.killed = True

        handler = KillABusyWorkerOnce()
        logger = logging.getLogger("sknas")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            with joblib.parallel_config(backend="dask"):
                clf = NASClassifier(
                    n_trials=8,
                    max_epochs=40,
                    families=["mlp", "resnet_mlp"],
                    n_jobs=-1,
                    random_state=0,
                )
                clf.fit(X, y)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        assert handler.killed
        board = clf.leaderboard_
        failed = board[board["state"] == "FAIL"]
        # The trial it ran fails, and one queued behind it there may too (the scheduler
        # may place a second task on a one-thread worker); no other trial does.
        assert 1 <= len(failed) <= 2 and failed["error"].str.startswith(WORKER_DIED).all()
        assert clf.n_trials_ == 8 and clf.score(X, y) > 0.9


def test_the_callers_thread_settings_keep_each_librarys_own_count():
    """Two copies of one OpenMP runtime (torch's and scikit-learn's libgomp; numba's
    joins them once MiniRocket ran) with different counts keep them: keyed by prefix,
    both were set to one count, and a later search's trials ran on one thread."""
    HistGradientBoostingClassifier().fit(np.zeros((4, 1)), [0, 1, 0, 1])  # scikit-learn's

    def counts():
        return [(lib.filepath, lib.num_threads) for lib in ThreadpoolController().lib_controllers]

    openmp = [lib for lib in ThreadpoolController().lib_controllers if lib.prefix == "libgomp"]
    if len(openmp) < 2:
        pytest.skip("needs two libgomp copies loaded (torch's, scikit-learn's)")
    with threadpool_limits(limits={openmp[0].filepath: 1, openmp[1].filepath: 2}):
        before = counts()
        with caller_thread_settings_kept():
            assert counts() == before
        assert counts() == before
