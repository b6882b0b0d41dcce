"""What each ensemble member costs to serve: its size and its prediction time."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ..history import COST_COLUMNS
from ..utils._bytes import pickled_bytes
from .fitted import FittedEnsemble

__all__ = ["PROBE_ROWS", "SELECTION_REPEATS", "member_costs", "one_row_ms"]

#: Most rows one member predicts to measure its time per row (a few, so that fit stays fast).
PROBE_ROWS = 64


def _ms(predict: Any, X: np.ndarray) -> float:
    started = time.perf_counter()
    predict(X)
    return 1000.0 * (time.perf_counter() - started)


#: Timed one-row predictions whose fastest is a member's time in cost-aware selection.
SELECTION_REPEATS = 3


def one_row_ms(member: Any, row: np.ndarray) -> float:
    """Milliseconds ``member`` takes to predict the one preprocessed ``row``.

    One untimed call first builds what the member caches (as a served model's first
    request does); the time is the fastest of :data:`SELECTION_REPEATS` calls after it,
    which other processes loading the machine disturb least.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sknas.evaluation.classical import ClassicalMember
    >>> X = np.zeros((10, 2))
    >>> member = ClassicalMember(DummyClassifier().fit(X, [0, 1] * 5), "classification", 2)
    >>> 0.0 < one_row_ms(member, X[:1]) < 1000.0
    True
    """
    member.predict(row)
    return min(_ms(member.predict, row) for _ in range(SELECTION_REPEATS))


def member_costs(
    ensemble: FittedEnsemble, X: np.ndarray, deadline: float | None = None
) -> pd.DataFrame:
    """Size and prediction time of each member of ``ensemble``, measured on rows of ``X``.

    Each member first predicts one row (building what it caches, as a served model does
    on its first request), then one row and :data:`PROBE_ROWS` rows, timed once each.
    Times are those of this machine at fit time (slower when it is busy).

    Parameters
    ----------
    ensemble : FittedEnsemble
    X : ndarray of shape (n_samples, n_features)
        Preprocessed rows, as the members receive them.
    deadline : float, optional
        A ``time.monotonic()`` value: members not measured by then get no times (the
        fit's time budget comes first); their sizes are still given.

    Returns
    -------
    costs : DataFrame indexed by trial id, with columns :data:`COST_COLUMNS`
        ``member_bytes``: the member pickled (its module cache excluded);
        ``predict_ms_1row``: milliseconds to predict one row;
        ``predict_ms_per_1000``: milliseconds per 1,000 rows, from the probe's rows.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sknas.evaluation.classical import ClassicalMember
    >>> X = np.zeros((10, 2))
    >>> member = ClassicalMember(DummyClassifier().fit(X, [0, 1] * 5), "classification", 2)
    >>> costs = member_costs(FittedEnsemble([member], [1.0], [7]), X)
    >>> list(costs.index), list(costs.columns)
    ([7], ['member_bytes', 'predict_ms_1row', 'predict_ms_per_1000'])
    """
    probe = X[:PROBE_ROWS]
    rows = {}
    for trial_id, member in zip(ensemble.trial_ids_, ensemble.members_, strict=True):
        row = {"member_bytes": pickled_bytes(member)}
        if deadline is None or time.monotonic() < deadline:
            member.predict(probe[:1])
            row["predict_ms_1row"] = _ms(member.predict, probe[:1])
            row["predict_ms_per_1000"] = _ms(member.predict, probe) * 1000.0 / probe.shape[0]
        rows[trial_id] = row
    costs = pd.DataFrame.from_dict(rows, orient="index", columns=list(COST_COLUMNS))
    return costs.astype({"member_bytes": "Int64"}).rename_axis("trial_id")
