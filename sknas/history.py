"""The record of a search: every trial, and the leaderboard built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from .trial import TrialResult

__all__ = ["COST_COLUMNS", "LEADERBOARD_COLUMNS", "SearchHistory"]

#: What an ensemble member costs to serve (:func:`sknas.ensemble.member_costs`).
COST_COLUMNS = ("member_bytes", "predict_ms_1row", "predict_ms_per_1000")

LEADERBOARD_COLUMNS = (
    "trial_id",
    "family",
    "proposer",
    "parent_id",
    "state",
    "score",
    "fit_time",
    "predict_time",
    "finished_at",
    "predicted_time",
    "n_epochs",
    "budget_epochs",
    "n_parameters",
    "inherited",
    "seed",
    "genome",
    "params",
    "error",
    "refit",
    *COST_COLUMNS,
)


@dataclass
class SearchHistory:
    """Trial results in the order they finished.

    Attributes
    ----------
    results : list of TrialResult
    interrupted : bool
        Whether the user interrupted the search (Ctrl-C).
    max_models : int or None
        Most trained models kept (the best-scored ones), so memory stays flat over
        long searches; None keeps all.
    """

    results: list[TrialResult] = field(default_factory=list)
    interrupted: bool = False
    max_models: int | None = None

    def add(self, result: TrialResult) -> None:
        """Record one finished trial; beyond ``max_models`` trained models, release the
        model (and validation predictions) of the lowest-scored trial holding one."""
        self.results.append(result)
        holding = [i for i, r in enumerate(self.results) if r.member is not None]
        if self.max_models is not None and len(holding) > self.max_models:
            worst = min(holding, key=lambda i: (self.results[i].score, -i))
            self.results[worst] = replace(self.results[worst], member=None, valid_pred=None)

    def completed(self) -> list[TrialResult]:
        """Trials that completed with a finite score."""
        return [result for result in self.results if result.ok]

    def scored(self) -> list[TrialResult]:
        """Trials with a finite validation score: completed or pruned."""
        return [result for result in self.results if result.scored]

    def best(self) -> TrialResult | None:
        """The completed trial with the highest score (the earliest among ties)."""
        completed = self.completed()
        return max(completed, key=lambda r: r.score) if completed else None

    def to_frame(
        self, refit_notes: Mapping[int, str] | None = None, costs: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """One row per trial, sorted by score (best first, failures last).

        ``refit_notes`` says, by trial id, what became of each ensemble member's refit
        (column ``refit``; empty for trials outside the ensemble); ``costs``, indexed by
        trial id, what each member costs to serve (:func:`sknas.ensemble.member_costs`;
        the same columns, empty for other trials).
        """
        refit_notes = refit_notes or {}
        costs = costs if costs is not None else pd.DataFrame(columns=list(COST_COLUMNS))
        rows = []
        for result in self.results:
            candidate = result.candidate
            rows.append(
                {
                    "trial_id": candidate.trial_id,
                    "family": candidate.family,
                    "proposer": candidate.proposer,
                    "parent_id": candidate.parent_id,
                    "state": result.state.value,
                    "score": result.score,
                    "fit_time": result.fit_time,
                    "predict_time": result.predict_time,
                    "finished_at": result.finished_at,
                    "predicted_time": candidate.predicted_time,
                    "n_epochs": result.n_epochs,
                    "budget_epochs": candidate.budget_epochs,
                    "n_parameters": result.n_parameters,
                    "inherited": result.inherited,
                    "seed": candidate.seed,
                    "genome": candidate.genome.key() if candidate.genome else None,
                    "params": dict(candidate.params),
                    "error": result.error,
                    "refit": refit_notes.get(candidate.trial_id),
                    **(
                        costs.loc[candidate.trial_id].to_dict()
                        if candidate.trial_id in costs.index
                        else {}
                    ),
                }
            )
        frame = pd.DataFrame(rows, columns=list(LEADERBOARD_COLUMNS))
        frame = frame.astype(
            {
                "parent_id": "Int64",
                "n_parameters": "Int64",
                "member_bytes": "Int64",
                "predict_ms_1row": "float64",
                "predict_ms_per_1000": "float64",
            }
        )
        frame = frame.sort_values(
            ["score", "trial_id"], ascending=[False, True], na_position="last"
        )
        return frame.reset_index(drop=True)
