"""An account of a fitted search, as text or notebook HTML: what ran, failed and serves."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

import pandas as pd

from .ensemble import FittedEnsemble
from .history import COST_COLUMNS
from .trial import SKIPPED

__all__ = ["search_summary", "search_summary_html"]

#: Leaderboard columns the HTML summary shows.
HTML_COLUMNS = ["trial_id", "family", "proposer", "state", "score", "n_epochs", "fit_time"]


def search_summary(
    name: str,
    leaderboard: pd.DataFrame,
    ensemble: FittedEnsemble,
    timings: Mapping[str, float],
    decision: str | None = None,
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
    decision : str or None, default=None
        How a classifier decides its class, when not by the most probable one.

    Returns
    -------
    str
    """
    lines = [
        _headline(name, leaderboard, timings),
        "",
        "Trials by family and proposer:",
        pd.crosstab(leaderboard["family"], leaderboard["proposer"], margins=True).to_string(),
        "",
        "States: " + ", ".join(f"{s} {n}" for s, n in leaderboard["state"].value_counts().items()),
    ]
    errors = leaderboard.loc[leaderboard["state"] == "FAIL", "error"].fillna("unknown")
    skipped = errors.str.startswith(SKIPPED)
    if skipped.any():  # one line: each says its own seconds
        lines.append(
            f"Skipped: {skipped.sum()} candidates the cost model predicted could not finish "
            "in the time left (state FAIL, error 'skipped: ...')"
        )
    if not skipped.all():
        lines.append("Failures:")
        for error, count in errors[~skipped].value_counts().items():
            lines.append(f"  {count} x {error}")
    by_id = leaderboard.set_index("trial_id")
    n_members = len(ensemble.members_)
    noun = "member" if n_members == 1 else "members"
    lines += ["", f"Ensemble ({n_members} {noun}, validation score of each):"]
    for trial_id, weight in zip(ensemble.trial_ids_, ensemble.weights_, strict=True):
        trial = by_id.loc[trial_id]
        described = trial["genome"] if isinstance(trial["genome"], str) else trial["params"]
        refit = trial.get("refit")
        lines.append(
            f"  weight {weight:.2f}  trial {trial_id}  {trial['family']}  "
            f"score {trial['score']:.4f}  {described}"
            + (f"\n      {refit}" if isinstance(refit, str) and refit != "refit" else "")
            + _serving_cost(trial)
        )
    if decision is not None:
        lines.append(decision)
    return "\n".join(lines)


def _serving_cost(trial: pd.Series) -> str:
    """A member's size and predict times, when they were measured."""
    if pd.isna(trial.get("member_bytes")):
        return ""
    size = f"\n      serving: {trial['member_bytes'] / 1e6:.2f} MB, "
    if pd.isna(trial["predict_ms_1row"]):
        return size + "predict time not measured (the time budget had run out)"
    return (
        size + f"{trial['predict_ms_1row']:.2f} ms for one row, "
        f"{trial['predict_ms_per_1000']:.0f} ms per 1,000 rows"
    )


def search_summary_html(
    name: str,
    leaderboard: pd.DataFrame,
    ensemble: FittedEnsemble,
    timings: Mapping[str, float],
    top: int = 10,
) -> str:
    """The summary for notebooks: the headline, the ``top`` best trials and the ensemble.

    Parameters are as for :func:`search_summary`; ``top`` trials are shown.

    Returns
    -------
    str
        An HTML fragment.
    """
    trials = leaderboard.head(top)[HTML_COLUMNS].to_html(
        index=False, float_format="{:.4f}".format, na_rep=""
    )
    by_id = leaderboard.set_index("trial_id")
    members = pd.DataFrame(
        {
            "trial_id": ensemble.trial_ids_,
            "family": [by_id.loc[i, "family"] for i in ensemble.trial_ids_],
            "weight": ensemble.weights_,
            "score": [by_id.loc[i, "score"] for i in ensemble.trial_ids_],
            **{c: by_id.loc[ensemble.trial_ids_, c].to_numpy() for c in COST_COLUMNS},
        }
    ).to_html(index=False, float_format="{:.4f}".format, na_rep="")
    return (
        '<div class="sknas-summary">'
        f"<p>{escape(_headline(name, leaderboard, timings))}</p>"
        f"<details open><summary>Best {min(top, len(leaderboard))} trials</summary>{trials}"
        f"</details><details><summary>Ensemble ({len(ensemble.members_)} members)</summary>"
        f"{members}</details></div>"
    )


def _headline(name: str, leaderboard: pd.DataFrame, timings: Mapping[str, float]) -> str:
    compiled = timings.get("compile", 0.0)  # absent from models fitted before it was timed
    parts = ("trials", "ensemble_selection", "refit", "member_costs")
    other = timings["total"] - compiled - sum(timings[part] for part in parts)
    spent = [f"compiling MiniRocket {compiled:.1f} s"] if compiled >= 0.05 else []
    spent += [
        f"training and validating {timings['trials']:.1f} s",
        f"ensemble selection {timings['ensemble_selection']:.1f} s",
        f"refit {timings['refit']:.1f} s",
        f"measuring the members' serving costs {timings['member_costs']:.1f} s",
        f"search overhead {other:.1f} s",
    ]
    return f"{name}: {len(leaderboard)} trials in {timings['total']:.1f} s ({', '.join(spent)})"
