"""The vocabulary every part of the search shares: candidates and trial results.

Torch-free on purpose: strategies create :class:`Candidate` s, evaluators turn them
into :class:`TrialResult` s, the search loop and the history read both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from .space.genome import Genome

if TYPE_CHECKING:  # fidelity.py imports this module
    from .fidelity import Fidelity

__all__ = ["Candidate", "TrialResult", "TrialState"]


class TrialState(str, Enum):
    """How a trial ended."""

    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    PRUNED = "PRUNED"


@dataclass(frozen=True)
class Candidate:
    """One configuration to train and score.

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
        Successive-halving rule the trial trains under (set by the search loop).
    parent_model : object or None
        The parent's trained network (``genome`` and ``weights``), whose weights the
        child inherits (set by the search loop under weight inheritance).
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
        The trained model, trimmed for prediction.
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

    @property
    def ok(self) -> bool:
        """Whether the trial completed with a finite score."""
        return self.state is TrialState.COMPLETE and bool(np.isfinite(self.score))

    @property
    def scored(self) -> bool:
        """Whether the trial has a finite validation score (completed or pruned)."""
        return self.state is not TrialState.FAIL and bool(np.isfinite(self.score))
