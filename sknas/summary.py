"""A plain-text account of a fitted search: what ran, what failed, what serves."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .ensemble import FittedEnsemble

__all__ = ["search_summary"]


def search_summary(
    name: str, leaderboard: pd.DataFrame, ensemble: FittedEnsemble, timings: Mapping[str, float]
) -> str:
    """Trials by family and proposer, failures and why, the ensemble, and the time split.

    Parameters
    ----------
    name : str
        The estimator's class name.
    leaderboard : DataFrame
        ``leaderboard_`` of a fitted estimator.
    ensemble : FittedEnsemble
    timings : mapping
        ``timings_`` of a fitted estimator.

    Returns
    -------
    str
    """
    other = timings["total"] - timings["trials"] - timings["ensemble_selection"] - timings["refit"]
    lines = [
        f"{name}: {len(leaderboard)} trials in {timings['total']:.1f} s (training and "
        f"validating {timings['trials']:.1f} s, ensemble selection "
        f"{timings['ensemble_selection']:.1f} s, refit {timings['refit']:.1f} s, "
        f"search overhead {other:.1f} s)",
        "",
        "Trials by family and proposer:",
        pd.crosstab(leaderboard["family"], leaderboard["proposer"], margins=True).to_string(),
        "",
        "States: " + ", ".join(f"{s} {n}" for s, n in leaderboard["state"].value_counts().items()),
    ]
    failed = leaderboard[leaderboard["state"] == "FAIL"]
    if len(failed):
        lines.append("Failures:")
        for error, count in failed["error"].fillna("unknown").value_counts().items():
            lines.append(f"  {count} x {error}")
    by_id = leaderboard.set_index("trial_id")
    lines += ["", f"Ensemble ({len(ensemble.members_)} members, validation score of each):"]
    for trial_id, weight in zip(ensemble.trial_ids_, ensemble.weights_, strict=True):
        trial = by_id.loc[trial_id]
        described = trial["genome"] if isinstance(trial["genome"], str) else trial["params"]
        lines.append(
            f"  weight {weight:.2f}  trial {trial_id}  {trial['family']}  "
            f"score {trial['score']:.4f}  {described}"
        )
    return "\n".join(lines)
