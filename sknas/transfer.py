"""Where a search starts from: an earlier search's best configurations (``init_from``)
and the built-in portfolio.

Both are lists of :class:`~sknas.strategies.Configuration` that the estimator queues
in its strategy (:meth:`~sknas.strategies.Strategy.enqueue`), which adapts them to
the new search space; this module only reads them. Torch-free.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from .space import Genome
from .strategies import Configuration
from .strategies.base import candidate_key

__all__ = [
    "IMAGE_PORTFOLIO_PATH",
    "N_TRANSFERRED",
    "PORTFOLIO_PATH",
    "configurations_from_search",
    "load_portfolio",
]

#: The portfolio that ships with sknas (built by ``benchmarks/build_portfolio.py``).
PORTFOLIO_PATH = Path(__file__).resolve().parent / "data" / "portfolio.json"
#: Known-good convolution networks, the first trials of a search on images.
IMAGE_PORTFOLIO_PATH = Path(__file__).resolve().parent / "data" / "portfolio_images.json"
#: Best configurations of an earlier search that a new search starts with.
N_TRANSFERRED = 8
_RECORD_COLUMNS = {"family", "params", "genome", "state", "score"}


def configurations_from_search(source: Any, n_best: int = N_TRANSFERRED) -> list[Configuration]:
    """The best distinct completed configurations of an earlier search, cheapest first.

    All of them are tried before anything else, so their order only decides how soon a
    good one is found: they come in the order of their training time in the earlier
    search (when the record has ``fit_time``), so that a slow configuration that
    scored a hair better there does not hold the others back.

    Parameters
    ----------
    source : fitted NASClassifier or NASRegressor, or DataFrame
        The estimator, or its ``leaderboard_`` (which survives :func:`sklearn.clone`
        and pickles without the models).
    n_best : int, default=N_TRANSFERRED
        Most configurations returned.

    Returns
    -------
    list of Configuration
    """
    board = _search_record(source)
    completed = board[board["state"] == "COMPLETE"]
    completed = completed.sort_values("score", ascending=False, kind="stable")  # ties: as given
    best, keys = [], set()
    for row in completed.itertuples():
        genome = Genome.from_key(row.genome) if isinstance(row.genome, str) else None
        key = candidate_key(row.family, row.params, genome)
        if key not in keys:
            keys.add(key)
            cost = getattr(row, "fit_time", 0.0)
            best.append((cost, len(best), Configuration(row.family, dict(row.params), genome)))
        if len(best) == n_best:
            break
    return [configuration for _, _, configuration in sorted(best, key=lambda b: b[:2])]


def _search_record(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        missing = _RECORD_COLUMNS - set(source.columns)
        if missing:
            raise ValueError(
                f"init_from must be a fitted sknas estimator or its leaderboard_; this "
                f"DataFrame lacks the columns {sorted(missing)}."
            )
        return source
    board = getattr(source, "leaderboard_", None)
    if not isinstance(board, pd.DataFrame):
        raise ValueError(
            f"init_from must be a fitted sknas estimator or its leaderboard_, got an "
            f"unfitted {type(source).__name__}. Fit it first; to keep the record through "
            f"sklearn.clone (cross-validation, grid search), pass its leaderboard_."
        )
    return _search_record(board)


@cache
def _portfolio_file(path: Path = PORTFOLIO_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def load_portfolio(
    task: str, image_shape: tuple[int, int, int] | None = None
) -> list[Configuration]:
    """The built-in portfolio of ``task``, in the order it was chosen.

    For tables, configurations of every tabular family chosen on generated tables
    (``benchmarks/build_portfolio.py``). For images (``image_shape`` given), a few
    known-good convolution networks (``sknas/data/portfolio_images.json``), the same for
    both tasks: a search adapts them to its space (the classification-only label
    smoothing is dropped in a regression) and leaves out those that pool more often than
    the images allow.

    Parameters
    ----------
    task : {"classification", "regression"}
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when the search is on images; ``(C, L)`` on sequences, which
        have no portfolio yet (an empty list).

    Returns
    -------
    list of Configuration

    Examples
    --------
    >>> portfolio = load_portfolio("classification")
    >>> len(portfolio) > 0, portfolio[0].family in ("mlp", "resnet_mlp", "hist_gbdt",
    ...     "linear", "random_forest")
    (True, True)
    >>> {c.family for c in load_portfolio("classification", image_shape=(1, 28, 28))}
    {'cnn'}
    """
    if image_shape is not None and len(image_shape) == 2:
        return []  # sequences: each family's default (MiniRocket, an FCN) comes first
    if image_shape is not None:
        entries = _portfolio_file(IMAGE_PORTFOLIO_PATH)["configurations"]
    else:
        entries = _portfolio_file()[task]
    return [Configuration.from_dict(entry) for entry in entries]
