"""Native thread pools for scikit-learn's fits: one OpenMP runtime each, one thread where
more only wait on each other.

torch ships its own libgomp and loads it into the global symbol scope; scikit-learn ships
another. An extension module loaded *before* torch binds its OpenMP calls to
scikit-learn's runtime, one loaded *after* to torch's. ``sklearn.compose`` or
``sklearn.linear_model`` load the loss module (``sklearn._loss``) but not gradient
boosting's, so a process that imported one of them, then torch, then
``sklearn.ensemble`` ran each boosting fit on two runtimes at once: the loss on one, the
histograms on the other, each runtime's idle threads spinning on the cores the other
needs. Gradient boosting with default parameters took 0.93 s on 150 rows instead of
0.04 s, 0.97 s instead of 0.26 s on 20,000 rows (2 cores; scikit-learn issue #26752,
torch issue #98836). sknas's own imports made that order (its preprocessing imports
``sklearn.compose``), which cost a 5-fold trial on iris 4.6 s instead of 0.5 s.
Importing this module (every sknas module that imports torch does so first) loads
scikit-learn's OpenMP code of both kinds before torch, so both bind to one runtime.

Apart from that, a small fit is faster on one thread than on many: starting and joining
a team costs more than the work it shares (scikit-learn issue #30662; their draft
heuristic in #32955 also keeps 10,000 x 10 on one thread).
:func:`single_thread_when_small` keeps a fit of fewer than :data:`SERIAL_CELLS` cells on
one OpenMP thread.

BLAS has the same trap: numpy's and scipy's wheels each ship an OpenBLAS with its own
thread pool. ``LogisticRegression``'s L-BFGS alternates between them every iteration
(the gradient through numpy, the update through scipy), and each pool's idle threads
spin while the other works: MiniRocket's logistic head on ACSF1 (100 rows x 9,996
features, 10 classes) took 23-26 s with both at 2 threads, 5.3-5.7 s with both at 1,
4.5 s with scipy's alone at 1; a logistic regression on 200,000 x 50 (5 classes) 2.0 s
against 1.2 s (2 cores). :func:`one_blas_thread` is for such fits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sklearn.ensemble  # noqa: F401  (loads the loss and boosting modules: see above)
from threadpoolctl import threadpool_limits

__all__ = ["SERIAL_CELLS", "one_blas_thread", "single_thread_when_small"]

#: Rows x columns below which a scikit-learn fit runs on one OpenMP thread. On 2 cores a
#: default gradient boosting fit on 5,000 x 20 took 0.21 s on one thread and 0.20 s on
#: two; 0.31 s and 0.26 s on 20,000 x 20.
SERIAL_CELLS = 250_000


@contextmanager
def single_thread_when_small(n_rows: int, n_columns: int) -> Iterator[None]:
    """One OpenMP thread while fitting on ``n_rows`` x ``n_columns``, if that is small."""
    if n_rows * n_columns >= SERIAL_CELLS:
        yield
        return
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """One BLAS thread (in every BLAS library loaded) for a fit that alternates between
    numpy's and scipy's, such as ``LogisticRegression``'s L-BFGS."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
