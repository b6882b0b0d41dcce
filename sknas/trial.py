"""The vocabulary every part of the search shares: candidates and trial results.

Torch-free on purpose: strategies create :class:`Candidate` s, evaluators turn them
into :class:`TrialResult` s, the search loop and the history read both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from .space.genome import Genome

__all__ = [
    "SKIPPED",
    "Candidate",
    "Configuration",
    "Fidelity",
    "TrialResult",
    "TrialState",
    "candidate_key",
]


#: How the ``error`` of a FAIL record begins when the trial never started: the cost
#: model predicted it could not finish, in the time left, enough to be of use.
SKIPPED = "skipped: "


class TrialState(str, Enum):
    """How a trial ended."""

    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    PRUNED = "PRUNED"


@dataclass(frozen=True)
class Fidelity:
    """The successive-halving rule one trial trains under.

    Parameters
    ----------
    rungs : tuple of int
        Increasing epoch counts at which the trial is judged; the last is its budget.
    competitors : tuple of tuple of float
        For each rung but the last, the scores other trials reached there.
    reduction_factor : int
        Keep the top ``1 / reduction_factor`` at each rung.
    """

    rungs: tuple[int, ...]
    competitors: tuple[tuple[float, ...], ...]
    reduction_factor: int

    def should_continue(self, rung: int, score: float) -> bool:
        """Whether a trial scoring ``score`` at rung index ``rung`` trains on.

        It continues when it ranks in the top ``ceil(n / reduction_factor)`` of the
        ``n`` scores at that rung (its own included); the first ``reduction_factor``
        trials to reach a rung always continue, so early decisions rest on more
        than one comparison.

        Examples
        --------
        >>> rule = Fidelity((2, 6, 18), ((0.5, 0.6, 0.7, 0.8, 0.9), (0.1,)), 3)
        >>> rule.should_continue(0, 0.85), rule.should_continue(0, 0.75)
        (True, False)
        >>> rule.should_continue(1, 0.0)  # only two trials reached rung 1
        True
        """
        if rung >= len(self.rungs) - 1:
            return False
        scores = sorted((*self.competitors[rung], score), reverse=True)
        if len(scores) <= self.reduction_factor:
            return True
        n_promoted = math.ceil(len(scores) / self.reduction_factor)
        return score >= scores[n_promoted - 1]


def candidate_key(family: str, params: Mapping[str, Any], genome: Genome | None) -> str:
    """Identity of a configuration, for deduplication (floats to 4 significant digits).

    Examples
    --------
    >>> candidate_key("mlp", {"lr": 0.0012345, "batch_size": 64}, None)
    'mlp|None|batch_size=64|lr=0.001234'
    """
    values = "|".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in sorted(params.items())
    )
    return f"{family}|{genome.key() if genome else None}|{values}"


@dataclass(frozen=True)
class Configuration:
    """A configuration to try: a family, its training parameters and its genome.

    What the study queues (an earlier search, the baselines, the portfolio; see
    :meth:`Study.enqueue <sknas.study.Study.enqueue>`)."""

    family: str
    params: dict[str, Any] = field(hash=False)
    genome: Genome | None = None

    def key(self) -> str:
        """Identity for deduplication (:func:`candidate_key`)."""
        return candidate_key(self.family, self.params, self.genome)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        genome = None if self.genome is None else self.genome.to_dict()
        return {"family": self.family, "params": dict(self.params), "genome": genome}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Configuration:
        """Inverse of :meth:`to_dict`."""
        genome = data.get("genome")
        return cls(
            data["family"],
            dict(data["params"]),
            None if genome is None else Genome.from_dict(genome),
        )


@dataclass(frozen=True)
class Candidate:
    """One configuration to train and score, as one trial of a search: a
    :class:`Configuration` (``family``, ``params``, ``genome``) with its trial id, seed,
    epoch budget, proposer, parent and fidelity.

    Parameters
    ----------
    trial_id : int
        Unique, increasing id within a search.
    family : str
        Model family name.
    params : dict
        Training parameters as skorch ``set_params`` paths.
    genome : Genome or None
        Architecture of neural families.
    seed : int
        Seed for weight initialisation and batch order.
    budget_epochs : int
        Epochs this trial may train for.
    proposer : str
        Which strategy proposed it (``"tpe"``, ``"random"``, ``"default"``, ...).
    parent_id : int or None
        Trial this candidate was derived from, if any.
    fidelity : Fidelity or None
        Successive-halving rule the trial trains under (set by the study).
    parent_model : object or None
        The parent's trained network (``genome`` and ``weights``), whose weights the
        child inherits (set by the search loop under weight inheritance).
    predicted_time : float
        Seconds the study's cost model expected the trial to take (NaN: no prediction;
        :mod:`sknas.cost_model`).
    time_limit : float or None
        Seconds the trial may train (set by the cost model; None: up to the deadline).
    """

    trial_id: int
    family: str
    params: dict[str, Any] = field(hash=False)
    genome: Genome | None
    seed: int
    budget_epochs: int
    proposer: str
    parent_id: int | None = None
    fidelity: Fidelity | None = None
    parent_model: Any = field(default=None, repr=False, compare=False)
    predicted_time: float = field(default=float("nan"), compare=False)
    time_limit: float | None = field(default=None, compare=False)

    @property
    def configuration(self) -> Configuration:
        """What this trial trains: its family, parameters and genome."""
        return Configuration(self.family, self.params, self.genome)


@dataclass(frozen=True)
class TrialResult:
    """What one trial produced. Failures are data: ``state`` FAIL and ``error``.

    Parameters
    ----------
    candidate : Candidate
    state : TrialState
    score : float
        Validation score, higher is better; NaN unless COMPLETE.
    fit_time, predict_time : float
        Seconds spent training and predicting the validation data.
    n_epochs : int
        Epochs actually trained.
    valid_pred : ndarray or None
        Validation predictions (probabilities or values in the target's scale).
    member : object or None
        The trained model, trimmed for prediction. These two are what an evaluator
        hands over; the history files them in its artifact store
        (:mod:`sknas.artifacts`) and records the trial without them.
    error : str or None
        Why the trial failed.
    rung_scores : tuple of float
        Validation scores at the successive-halving rungs the trial reached.
    best_epoch : int
        Epoch whose weights were kept (early stopping restores the best one).
    n_parameters : int or None
        Trainable parameters of a network (None for the classical families).
    finished_at : float
        Seconds from the start of the search to the end of this trial (set by the
        search loop; NaN until then).
    inherited : float
        Share of the network's parameters that started from its parent's trained
        weights (NaN when it did not inherit).
    work_done : float
        Share of its planned stages a boosted or bagged ensemble grew before a deadline
        cut it or early stopping ended it (the mean over folds); 1.0 otherwise. The cost
        model learns from it.
    predicted_done_time : float
        Seconds the cost model gave the work the trial did (its epochs, the stages it
        grew), just before it learnt from this trial; NaN without a cost model or for
        a failed trial (:meth:`sknas.cost_model.CostModel.predict_done`).
    improving : bool
        Whether a gradient boosting grew all its iterations with its validation score
        still improving (early stopping on the validation rows did not end it; under
        k-fold cross-validation, in every fold): the study tries one with more
        (:data:`sknas.study.LONGER_BOOSTING`).
    """

    candidate: Candidate
    state: TrialState
    score: float = float("nan")
    fit_time: float = 0.0
    predict_time: float = 0.0
    n_epochs: int = 0
    valid_pred: np.ndarray | None = field(default=None, repr=False, compare=False)
    member: Any = field(default=None, repr=False, compare=False)
    error: str | None = None
    rung_scores: tuple[float, ...] = ()
    best_epoch: int = 0
    n_parameters: int | None = None
    finished_at: float = float("nan")
    inherited: float = float("nan")
    work_done: float = 1.0
    predicted_done_time: float = float("nan")
    improving: bool = False

    @property
    def ok(self) -> bool:
        """Whether the trial completed with a finite score."""
        return self.state is TrialState.COMPLETE and bool(np.isfinite(self.score))

    @property
    def scored(self) -> bool:
        """Whether the trial has a finite validation score (completed or pruned)."""
        return self.state is not TrialState.FAIL and bool(np.isfinite(self.score))
