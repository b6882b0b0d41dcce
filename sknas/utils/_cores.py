"""How many cores a search in this process may use: those other processes leave free.

torch and scikit-learn's gradient boosting start one OpenMP thread per core, and an
OpenMP thread that shares its core with another process makes its team wait for it.
On this project's 2-core machine, with the other core busy, two threads trained a small
MLP 3-4 times slower than one (22,777 rows a second against 74,242) and fit a default
gradient boosting 2-3 times slower (0.64 s against 0.21 s on 1,000 rows); a 30 s search
on 989 rows (AER's CreditCard, balanced accuracy) ran 68 s and its one trial failed.
Idle, two threads were up to 1.6 times faster. So a search on the clock runs each trial
with the cores other processes left free since the last trial (:class:`FreeCores`).
"""

from __future__ import annotations

import os
import time

__all__ = ["MIN_READING_SECONDS", "FreeCores"]

#: Shortest interval other processes' CPU use is read over: ``/proc/stat`` counts ticks
#: of 10 ms per core.
MIN_READING_SECONDS = 0.1
#: Fields of a ``/proc/stat`` CPU line that count as busy: user, nice, system, irq,
#: softirq and steal (time a hypervisor gave to other machines).
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


class FreeCores:
    """The cores of this process's CPU affinity, less those other processes kept busy.

    Linux's ``/proc/stat`` says how busy this process's CPUs were between two readings;
    this process's own CPU time (all its threads) is taken out of it, and what is left
    is the other processes' load, in cores. Where ``/proc/stat`` cannot be read, every
    core counts as free.

    Examples
    --------
    >>> cores = FreeCores()
    >>> 1 <= cores.threads() <= cores.n_cores
    True
    """

    def __init__(self) -> None:
        if hasattr(os, "sched_getaffinity"):
            self.cpus = sorted(os.sched_getaffinity(0))
        else:
            self.cpus = list(range(os.cpu_count() or 1))
        self.n_cores = len(self.cpus)
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._read()
        self._free: int | None = None

    def threads(self) -> int:
        """Threads for the next trial: the cores other processes left free since the
        last reading, at least one. The first call waits for
        :data:`MIN_READING_SECONDS` to have passed since the object was made; later
        calls after a shorter interval repeat the last answer."""
        now = self._read()
        if now is None or self._last is None:
            return self.n_cores
        if now[0] - self._last[0] < MIN_READING_SECONDS:
            if self._free is not None:
                return self._free
            time.sleep(MIN_READING_SECONDS - (now[0] - self._last[0]))
            now = self._read() or now
        wall = now[0] - self._last[0]
        others = ((now[1] - self._last[1]) - (now[2] - self._last[2])) / wall
        self._last = now
        self._free = int(min(self.n_cores, max(1, round(self.n_cores - others))))
        return self._free

    def _read(self) -> tuple[float, float, float] | None:
        """``time.monotonic()``, the busy seconds of this process's CPUs and this
        process's own CPU seconds; None without a readable ``/proc/stat``."""
        try:
            with open("/proc/stat") as stat:
                lines = stat.read().splitlines()
        except OSError:
            return None
        names = {f"cpu{cpu}" for cpu in self.cpus}
        busy = 0
        for line in lines:
            name, *fields = line.split()
            if name in names:
                busy += sum(int(fields[i]) for i in _BUSY_FIELDS if i < len(fields))
        own = os.times()
        return time.monotonic(), busy / self._ticks, own.user + own.system
