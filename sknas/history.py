"""The record of a search: every trial, and the leaderboard built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from .artifacts import ArtifactStore, TrialArtifacts
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
    "predicted_done_time",
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
    """Trial records in the order they finished, and the artifacts of the best trials.

    Attributes
    ----------
    results : list of TrialResult
        Light records: configuration, state, scores, times (``member`` and
        ``valid_pred`` None).
    artifacts : ArtifactStore
        Trained members and validation predictions by trial id, of the best trials
        only (its ``max_models`` and ``max_bytes``) and the default baselines, so memory
        stays flat over long searches.
    interrupted : bool
        Whether the user interrupted the search (Ctrl-C).
    """

    results: list[TrialResult] = field(default_factory=list)
    artifacts: ArtifactStore = field(default_factory=ArtifactStore)
    interrupted: bool = False

    def add(self, result: TrialResult) -> TrialResult:
        """Record one finished trial: its artifacts (when it has a member and a score)
        go to :attr:`artifacts`, pinned there for a default baseline (proposer
        ``"baseline"``); the record kept, and returned, has none."""
        if result.member is not None and result.scored:
            self.artifacts.put(
                result.candidate.trial_id,
                result.score,
                TrialArtifacts(result.member, result.valid_pred),
                pinned=result.candidate.proposer == "baseline",
            )
        record = replace(result, member=None, valid_pred=None)
        self.results.append(record)
        return record

    def with_artifacts(self, result: TrialResult) -> TrialResult:
        """``result`` with the member and predictions the store still holds for it."""
        kept = self.artifacts.get(result.candidate.trial_id)
        if kept is None:
            return result
        return replace(result, member=kept.member, valid_pred=kept.valid_pred)

    def kept(self) -> list[TrialResult]:
        """Scored trials whose artifacts the store holds, each with them, in the order
        they finished: what ensemble selection chooses from."""
        return [
            self.with_artifacts(r) for r in self.scored() if r.candidate.trial_id in self.artifacts
        ]

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
                    "predicted_done_time": result.predicted_done_time,
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
