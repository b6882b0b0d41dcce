"""Where pruning is decided: the pruner protocol and asynchronous successive halving.

A pruner is any object with four methods: ``fidelity_for(candidate)`` returns the
:class:`~sknas.trial.Fidelity` a trial trains under (its rungs and the scores it
competes with; None: no pruning), ``record(result)`` takes note of a finished
trial, and ``state_dict()`` / ``load_state_dict(state)`` save and restore it. The
trial itself asks ``Fidelity.should_continue`` when it reaches a rung, so the
decision is made on the scores recorded when the trial started: under ``n_jobs > 1``
trials running at the same time do not see each other's rung scores (a slightly
stale table, as in ASHA).

Successive halving over training epochs (ASHA):

Li et al., "A System for Massively Parallel Hyperparameter Tuning" (MLSys 2020).
Each trial is judged at rungs of growing epoch counts (for a budget of 50 epochs and
reduction factor 3: after 6, 17 and 50 epochs). At a rung it continues only if its
validation score is in the top ``1 / reduction_factor`` of the scores that trials
reached at that rung so far; otherwise it stops there and is recorded as PRUNED.
The decision is made when the trial reaches the rung (as Optuna's successive-halving
pruner does), so no trial waits for others and none is checkpointed.
A trial that continues keeps training the same network, from where it stopped.

Convolution networks are first judged at a third of their epochs (their lowest rung is
dropped): early in a warm-up-and-cosine schedule a CNN's score says how far its warm-up
has gone, not how good it will be (measured: see :data:`CNN_FIRST_RUNG`).
"""

from __future__ import annotations

import copy
import math

from .trial import Candidate, Fidelity, TrialResult

__all__ = ["CNN_FIRST_RUNG", "PRUNER_METHODS", "Fidelity", "SuccessiveHalving", "make_pruner"]

#: What a pruner object must have.
PRUNER_METHODS = ("fidelity_for", "record", "state_dict", "load_state_dict")

#: The earliest rung of a convolution network, as a share of its epoch budget. The
#: default CNN on digits28 (12 epochs) scored 0.90 validation accuracy at epoch 2, still
#: warming up, and 0.99 at epoch 4 (1.0 at the end); the issue's CNN that had only two
#: convolutions was pruned at epoch 6 of 50 at 0.73.
CNN_FIRST_RUNG = 1 / 3


class SuccessiveHalving:
    """The rung table of a search: hands each trial its :class:`Fidelity`, records results.

    Parameters
    ----------
    reduction_factor : int, default=3
    n_rungs : int, default=3
        Rungs per trial: budget / factor**(n_rungs - 1), ..., budget / factor, budget.
    """

    def __init__(self, reduction_factor: int = 3, n_rungs: int = 3) -> None:
        if reduction_factor < 2 or n_rungs < 1:
            raise ValueError("SuccessiveHalving needs reduction_factor >= 2 and n_rungs >= 1.")
        self.reduction_factor = reduction_factor
        self.n_rungs = n_rungs
        self.rung_scores: list[list[float]] = [[] for _ in range(n_rungs - 1)]

    def state_dict(self) -> dict[str, list[list[float]]]:
        """The rung table (plain data), to continue the schedule elsewhere."""
        return {"rung_scores": [list(scores) for scores in self.rung_scores]}

    def load_state_dict(self, state: dict[str, list[list[float]]]) -> None:
        """Restore :meth:`state_dict` output."""
        self.rung_scores = [list(scores) for scores in state["rung_scores"]]

    def rungs_for(self, budget_epochs: int) -> tuple[int, ...]:
        """Epoch counts of the rungs for a trial with ``budget_epochs``.

        Examples
        --------
        >>> SuccessiveHalving(3, 3).rungs_for(50)
        (6, 17, 50)
        >>> SuccessiveHalving(3, 3).rungs_for(2)
        (1, 2)
        """
        rungs = [
            max(1, math.ceil(budget_epochs / self.reduction_factor ** (self.n_rungs - 1 - k)))
            for k in range(self.n_rungs)
        ]
        return tuple(sorted(set(rungs)))

    def fidelity_for(self, candidate: Candidate) -> Fidelity:
        """The rule ``candidate`` trains under, given the results recorded so far.

        A convolution network's rungs start at :data:`CNN_FIRST_RUNG` of its epochs.

        Examples
        --------
        >>> from sknas.space import Genome, LayerGene
        >>> from sknas.trial import Candidate
        >>> cnn = Genome("cnn", (LayerGene("conv", 8, pool=True),))
        >>> SuccessiveHalving(3, 3).fidelity_for(Candidate(0, "cnn", {}, cnn, 0, 12, "")).rungs
        (4, 12)
        """
        rungs = self.rungs_for(candidate.budget_epochs)
        genome = candidate.genome
        if genome is not None and any(layer.is_conv for layer in genome.layers):
            first = CNN_FIRST_RUNG * candidate.budget_epochs
            rungs = tuple(rung for rung in rungs if rung >= first) or rungs[-1:]
        offset = self.n_rungs - len(rungs)  # short budgets skip the lowest rungs
        competitors = tuple(tuple(self.rung_scores[offset + k]) for k in range(len(rungs) - 1))
        return Fidelity(rungs, competitors, self.reduction_factor)

    def record(self, result: TrialResult) -> None:
        """Add the scores ``result`` reached at its rungs to the table."""
        fidelity = result.candidate.fidelity
        if fidelity is None:
            return
        offset = self.n_rungs - len(fidelity.rungs)
        for k, score in enumerate(result.rung_scores[: len(fidelity.rungs) - 1]):
            if math.isfinite(score):
                self.rung_scores[offset + k].append(float(score))


def make_pruner(pruner: str | object) -> object | None:
    """A fresh pruner for one search.

    Parameters
    ----------
    pruner : {"successive_halving", "none"} or object
        An object with :data:`PRUNER_METHODS` is deep-copied (never mutated).

    Examples
    --------
    >>> make_pruner("successive_halving").rungs_for(50)
    (6, 17, 50)
    >>> make_pruner("none") is None
    True
    """
    if pruner == "successive_halving":
        return SuccessiveHalving()
    if pruner == "none":
        return None
    return copy.deepcopy(pruner)
