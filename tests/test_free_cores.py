"""A search on the clock runs its trials on the cores other processes leave free."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from sknas._search import run_search
from sknas.space import default_search_space
from sknas.strategies import RandomStrategy
from sknas.study import Study
from sknas.trial import TrialResult, TrialState
from sknas.utils import _cores
from sknas.utils._cores import MIN_READING_SECONDS, FreeCores


def _readings(cores, monkeypatch, *readings):
    """Make ``cores`` read ``readings`` (monotonic, busy CPU seconds, own CPU seconds)."""
    queue = list(readings)
    monkeypatch.setattr(cores, "_read", lambda: queue.pop(0))


def test_other_processes_load_is_taken_off_the_cores(monkeypatch):
    cores = FreeCores()
    cores.n_cores, cores._last = 4, (0.0, 0.0, 0.0)
    # 4 s of 4 cores: 11 busy core-seconds, 3 of them this process's own: 2 cores in use
    # by others, 2 free; then others use 0.4 cores (rounded away), then more than all.
    _readings(cores, monkeypatch, (4.0, 11.0, 3.0), (8.0, 14.0, 5.6), (9.0, 19.0, 6.0))
    assert [cores.threads(), cores.threads(), cores.threads()] == [2, 4, 1]


def test_a_short_interval_repeats_the_last_answer_and_the_first_waits(monkeypatch):
    cores = FreeCores()
    cores.n_cores, cores._last = 2, (0.0, 0.0, 0.0)
    _readings(cores, monkeypatch, (1.0, 1.0, 0.0), (1.01, 1.02, 0.0))
    assert cores.threads() == 1 and cores.threads() == 1  # the second: 10 ms, not read
    started = time.monotonic()
    fresh = FreeCores()
    fresh.threads()
    assert time.monotonic() - started >= MIN_READING_SECONDS * 0.9


def test_every_core_counts_as_free_without_proc_stat(monkeypatch):
    def unreadable(*args, **kwargs):
        raise OSError("no /proc/stat here")

    monkeypatch.setattr(_cores, "open", unreadable, raising=False)
    cores = FreeCores()
    assert cores.threads() == cores.n_cores


@pytest.mark.skipif(
    not (os.path.exists("/proc/stat") and hasattr(os, "sched_getaffinity"))
    or len(os.sched_getaffinity(0)) < 2,
    reason="reads Linux's /proc/stat on at least 2 cores",
)
def test_a_busy_process_on_one_of_our_cores_takes_it():
    cpu = sorted(os.sched_getaffinity(0))[-1]
    spin = (
        f"import os, time; os.sched_setaffinity(0, {{{cpu}}}); end = time.time() + 5\n"
        "while time.time() < end: pass"
    )
    busy = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.5)  # started and spinning
        cores = FreeCores()
        time.sleep(0.5)
        assert cores.threads() <= cores.n_cores - 1
    finally:
        busy.kill()
        busy.wait()


def test_trials_on_the_clock_run_with_the_free_cores_only(monkeypatch):
    monkeypatch.setattr(FreeCores, "threads", lambda self: 1)
    seen = []

    def trial(candidate, deadline):
        seen.append((torch.get_num_threads(), _openmp_effective_n_threads()))
        return TrialResult(candidate, TrialState.COMPLETE, score=0.0)

    study = Study(RandomStrategy(), default_search_space("classification", max_epochs=5), 0)
    outside = (torch.get_num_threads(), _openmp_effective_n_threads())
    run_search(study, trial, n_trials=2, deadline=time.monotonic() + 60)
    assert seen == [(1, 1), (1, 1)]
    seen.clear()  # a trial budget alone: reproducible, so the threads are left alone
    run_search(study, trial, n_trials=4)
    assert seen == [outside, outside]
    assert (torch.get_num_threads(), _openmp_effective_n_threads()) == outside
