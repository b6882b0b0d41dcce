"""Caruana ensemble selection: greedy forward selection with replacement.

Caruana, Niculescu-Mizil, Crew and Ksikes, "Ensemble Selection from Libraries of
Models" (ICML 2004): start from nothing, repeatedly add (with replacement) the model
whose addition maximises the validation score of the averaged predictions, and keep
the best ensemble seen along the way. Weights are how often each model was picked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..scoring import PredictionScorer

__all__ = ["MAX_CANDIDATES", "GreedyEnsembler"]

#: Models ensemble selection considers: the best this many by their own score.
MAX_CANDIDATES = 50


class GreedyEnsembler:
    """Select ensemble weights on held-out predictions.

    Parameters
    ----------
    ensemble_size : int, default=25
        Selection rounds; weights are multiples of ``1 / rounds``.
    max_candidates : int, default=50
        Only the best this many models (by their own score) are considered.
    tie_breaker : PredictionScorer or None, default=None
        A smooth second metric (e.g. log loss) that decides between additions with
        the same score, which is common for accuracy on small validation sets.
    max_cost : float or None, default=None
        A budget for the chosen models' summed costs (``cost`` of :meth:`select`, such
        as milliseconds to predict one row): a round only considers the models already
        chosen (adding weight to them costs nothing more) and those whose cost still
        fits. When no model fits alone, the cheapest one is the ensemble. None: no
        budget.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.scoring import get_prediction_scorer
    >>> y = np.array([0, 1, 1, 0])
    >>> right = np.array([[.9, .1], [.2, .8], [.3, .7], [.8, .2]])   # 4 of 4 right
    >>> wrong = np.array([[.6, .4], [.6, .4], [.1, .9], [.3, .7]])   # 2 of 4 right
    >>> scorer = get_prediction_scorer(None, "classification")
    >>> GreedyEnsembler(5).select([wrong, right], y, scorer).tolist()
    [0.0, 1.0]

    With a budget of 2 and the better model costing 5, the other one is chosen:

    >>> costs = [1.0, 5.0]
    >>> GreedyEnsembler(5, max_cost=2.0).select([wrong, right], y, scorer, costs.__getitem__)
    array([1., 0.])
    """

    def __init__(
        self,
        ensemble_size: int = 25,
        max_candidates: int = MAX_CANDIDATES,
        tie_breaker: PredictionScorer | None = None,
        max_cost: float | None = None,
    ) -> None:
        self.ensemble_size = ensemble_size
        self.max_candidates = max_candidates
        self.tie_breaker = tie_breaker
        self.max_cost = max_cost

    def select(
        self,
        predictions: Sequence[np.ndarray],
        y_true: np.ndarray,
        scorer: PredictionScorer,
        cost: Callable[[int], float] | None = None,
    ) -> np.ndarray:
        """Weights (summing to one) for ``predictions``, chosen to maximise ``scorer``.

        Parameters
        ----------
        predictions : sequence of ndarray
            Each model's validation predictions (probabilities or values).
        y_true : ndarray
            Validation targets.
        scorer : PredictionScorer
        cost : callable or None, default=None
            ``cost(i)``: what model ``i`` costs, against ``max_cost``; called once for
            each of the ``max_candidates`` models considered. Needed with ``max_cost``.

        Returns
        -------
        ndarray of shape (len(predictions),)
        """
        if len(predictions) == 0:
            raise ValueError("Ensemble selection needs at least one model.")
        if self.max_cost is not None and cost is None:
            raise ValueError("Ensemble selection with max_cost needs each model's cost.")

        def score(pred: np.ndarray) -> tuple[float, float]:
            second = self.tie_breaker(y_true, pred) if self.tie_breaker is not None else 0.0
            return scorer(y_true, pred), second

        own = [score(p) for p in predictions]
        library = sorted(range(len(predictions)), key=lambda i: own[i], reverse=True)
        library = library[: self.max_candidates]
        counts = np.zeros(len(predictions))
        costs = {i: float(cost(i)) for i in library} if self.max_cost is not None else {}
        if costs and min(costs.values()) > self.max_cost:
            counts[min(library, key=costs.__getitem__)] = 1.0  # nothing fits: the cheapest
            return counts
        spent = 0.0
        total = np.zeros_like(predictions[library[0]], dtype=np.float64)
        best_counts, best_score = None, (-np.inf, -np.inf)
        for size in range(1, self.ensemble_size + 1):
            allowed = [
                i for i in library if not costs or counts[i] or spent + costs[i] <= self.max_cost
            ]
            scores = [score((total + predictions[i]) / size) for i in allowed]
            position = max(range(len(allowed)), key=lambda k: scores[k])  # first of equals
            pick = allowed[position]
            spent += costs.get(pick, 0.0) if not counts[pick] else 0.0
            counts[pick] += 1
            total += predictions[pick]
            if scores[position] > best_score:
                best_counts, best_score = counts.copy(), scores[position]
        return best_counts / best_counts.sum()
