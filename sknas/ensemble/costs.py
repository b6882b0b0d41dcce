"""What each ensemble member costs to serve: its size and its prediction time."""

from __future__ import annotations

import pickle
import time
from typing import Any

import numpy as np
import pandas as pd

from ..history import COST_COLUMNS
from .fitted import FittedEnsemble

__all__ = ["PROBE_ROWS", "member_costs"]

#: Most rows one member predicts to measure its time per row (a few, so that fit stays fast).
PROBE_ROWS = 64
_REPEATS = 3


def _median_ms(predict: Any, X: np.ndarray) -> float:
    times = []
    for _ in range(_REPEATS):
        started = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def member_costs(ensemble: FittedEnsemble, X: np.ndarray) -> pd.DataFrame:
    """Size and prediction time of each member of ``ensemble``, measured on rows of ``X``.

    Each member first predicts one row (building what it caches, as a served model does
    on its first request), then predicts one row and :data:`PROBE_ROWS` rows three times
    each; the medians are kept. Times are those of this machine at fit time.

    Parameters
    ----------
    ensemble : FittedEnsemble
    X : ndarray of shape (n_samples, n_features)
        Preprocessed rows, as the members receive them.

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
        member.predict(probe[:1])
        rows[trial_id] = {
            "member_bytes": len(pickle.dumps(member, protocol=pickle.HIGHEST_PROTOCOL)),
            "predict_ms_1row": _median_ms(member.predict, probe[:1]),
            "predict_ms_per_1000": _median_ms(member.predict, probe) * 1000.0 / len(probe),
        }
    costs = pd.DataFrame.from_dict(rows, orient="index", columns=list(COST_COLUMNS))
    return costs.astype({"member_bytes": "Int64"}).rename_axis("trial_id")
