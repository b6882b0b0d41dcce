"""Plots of a fitted search: progress over time, families, ensemble weights, architectures,
and the drift of a batch.

matplotlib is optional (``pip install "sknas[plot]"``); it is imported only when a
plot is drawn. Every function takes a fitted :class:`~sknas.NASClassifier` or
:class:`~sknas.NASRegressor` (``plot_drift`` also a monitoring report), draws on ``ax``
(a new figure when None) and returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .space.genome import CONV_KINDS, Genome, LayerGene

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_architecture",
    "plot_drift",
    "plot_ensemble_weights",
    "plot_family_scores",
    "plot_search_progress",
]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_BOX_COLORS = {
    "io": "#e0e0e0",
    "dense": "#c6dbef",
    "residual": "#c7e9c0",
    "conv": "#fdd0a2",
    "residual_conv": "#fdae6b",
    "pool": "#dadaeb",
}
# Diagram geometry, in data units: box centres are _STEP apart.
_STEP, _BOX_W, _BOX_H = 1.6, 1.35, 1.5


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new figure; raise a helpful ImportError without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('Plotting needs matplotlib: pip install "sknas[plot]".') from exc
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _scored(leaderboard: pd.DataFrame) -> pd.DataFrame:
    """Trials with a finite validation score (completed or pruned)."""
    return leaderboard[np.isfinite(leaderboard["score"].astype(float))]


def plot_search_progress(estimator: Any, ax: Axes | None = None) -> Axes:
    """Validation score of each trial against the time it finished, by proposer.

    Proposers are grouped by the part of their name before ``":"`` (``"tpe:startup"``
    is drawn as ``"tpe"``). Pruned trials are hollow; failed trials are left out.
    A step line follows the best score of the completed trials so far.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    matplotlib Axes
    """
    check_is_fitted(estimator)
    ax = _new_axes(ax, (7, 4))
    trials = _scored(estimator.leaderboard_)
    groups = trials["proposer"].str.split(":").str[0]
    pruned = trials["state"] == "PRUNED"
    for i, group in enumerate(sorted(groups.unique())):
        color, marker = f"C{i % 10}", _MARKERS[i % len(_MARKERS)]
        done = trials[(groups == group) & ~pruned]
        stopped = trials[(groups == group) & pruned]
        ax.scatter(done["finished_at"], done["score"], color=color, marker=marker, label=group)
        ax.scatter(
            stopped["finished_at"],
            stopped["score"],
            facecolors="none",
            edgecolors=color,
            marker=marker,
            label="_nolegend_" if len(done) else group,
        )
    if pruned.any():
        ax.scatter([], [], facecolors="none", edgecolors="grey", label="pruned")
    best_pool = trials[~pruned] if (~pruned).any() else trials
    best_pool = best_pool.sort_values("finished_at")
    x = np.append(best_pool["finished_at"], trials["finished_at"].max())
    y = np.maximum.accumulate(best_pool["score"].to_numpy(dtype=float))
    ax.step(x, np.append(y, y[-1]), where="post", color="black", lw=1, label="best so far")
    ax.set_xlabel("seconds since the search started")
    ax.set_ylabel("validation score")
    ax.set_title("Search progress")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_family_scores(estimator: Any, ax: Axes | None = None) -> Axes:
    """Box plot of the validation scores of each family, best family first.

    Every scored trial is also drawn as a point (pruned trials hollow), so that
    families with few trials show what they hold; failed trials are left out.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    matplotlib Axes
    """
    check_is_fitted(estimator)
    ax = _new_axes(ax, (7, 4))
    trials = _scored(estimator.leaderboard_)
    families = trials.groupby("family")["score"].max().sort_values(ascending=False).index
    positions = np.arange(1, len(families) + 1)
    scores = [trials.loc[trials["family"] == f, "score"].to_numpy(float) for f in families]
    ax.boxplot(scores, positions=positions, widths=0.5, showfliers=False)
    jitter = np.random.default_rng(0)
    for position, family in zip(positions, families, strict=True):
        rows = trials[trials["family"] == family]
        x = position + jitter.uniform(-0.12, 0.12, size=len(rows))
        y = rows["score"].to_numpy(float)
        hollow = (rows["state"] == "PRUNED").to_numpy()
        ax.scatter(x[~hollow], y[~hollow], color="C0", s=18, zorder=3)
        ax.scatter(x[hollow], y[hollow], facecolors="none", edgecolors="C0", s=18, zorder=3)
    ax.set_xticks(positions, list(families), rotation=20 if len(families) > 4 else 0)
    ax.set_xlabel("family")
    ax.set_ylabel("validation score")
    ax.set_title("Scores by family")
    return ax


def plot_ensemble_weights(estimator: Any, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the ensemble's weights, heaviest on top.

    Each bar is labelled with its trial id and family; members without weight are
    left out.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    matplotlib Axes
    """
    check_is_fitted(estimator)
    ensemble = estimator.ensemble_
    families = estimator.leaderboard_.set_index("trial_id")["family"]
    members = sorted(
        ((w, t) for w, t in zip(ensemble.weights_, ensemble.trial_ids_, strict=True) if w > 0),
        key=lambda member: -member[0],
    )
    ax = _new_axes(ax, (6, 0.5 + 0.4 * len(members)))
    weights = [w for w, _ in members]
    labels = [f"trial {t} ({families[t]})" for _, t in members]
    bars = ax.barh(np.arange(len(members)), weights, color="C0")
    ax.bar_label(bars, fmt="%.2f", padding=2)
    ax.set_yticks(np.arange(len(members)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(weights) * 1.15)
    ax.set_xlabel("ensemble weight")
    ax.set_title("Ensemble members")
    return ax


def plot_architecture(estimator: Any, trial_id: int | None = None, ax: Axes | None = None) -> Axes:
    """Diagram of one trial's network: input, hidden layers and output, left to right.

    Each box lists a layer's kind, width (channels), kernel and pooling for
    convolutions, activation, normalisation and dropout; curved arrows are the skip
    connections of residual blocks.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.
    trial_id : int or None, default=None
        The trial to draw; None draws the heaviest network of the ensemble, or the
        best-scored network trial when the ensemble holds none.
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        When the trial is unknown or not a network (a classical family), or when
        ``trial_id`` is None and the search trained no network.
    """
    check_is_fitted(estimator)
    trial_id, genome = _network_genome(estimator, trial_id)
    boxes = [("io", f"input\n{_input_text(estimator)}")]
    skips = []
    for gene in genome.layers:
        if not gene.is_conv and boxes[-1][0] in CONV_KINDS:
            boxes.append(("pool", "global\naverage\npooling"))
        if gene.kind.startswith("residual"):
            skips.append(len(boxes))
        boxes.append((gene.kind, _layer_text(gene)))
    if boxes[-1][0] in CONV_KINDS:
        boxes.append(("pool", "global\naverage\npooling"))
    classes = getattr(estimator, "classes_", None)
    boxes.append(
        ("io", "output\n" + (f"{len(classes)} classes" if classes is not None else "1 value"))
    )

    ax = _new_axes(ax, (0.75 * _STEP * len(boxes) + 0.5, 2.4))
    _draw_diagram(ax, boxes, skips)
    row = estimator.leaderboard_.set_index("trial_id").loc[trial_id]
    ax.set_title(f"Trial {trial_id}: {row['family']}, validation score {row['score']:.3g}")
    return ax


def plot_drift(
    report_or_estimator: Any, X: Any = None, y: Any = None, ax: Axes | None = None
) -> Axes:
    """Population stability index of each feature and prediction summary of a batch.

    Bars are the features (top) and then the prediction summaries (labelled
    ``"prediction: ..."``), flagged ones in red; the dashed line is
    :data:`sknas.monitoring.PSI_THRESHOLD`. Each bar is labelled with its
    Holm-adjusted p-value. The title says how many features are flagged and, when
    the report has a score, the batch score with its interval and the validation score.

    Parameters
    ----------
    report_or_estimator : MonitorReport, NASClassifier or NASRegressor
        A report from :func:`sknas.monitoring.monitor`, or a fitted estimator whose
        ``monitor(X, y)`` is drawn.
    X : array-like or DataFrame, default=None
        The batch; needed (and only used) with an estimator.
    y : array-like, default=None
        Its labels, with an estimator.
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a figure.

    Returns
    -------
    matplotlib Axes
    """
    from .monitoring import PSI_THRESHOLD, MonitorReport

    report = report_or_estimator
    if not isinstance(report, MonitorReport):
        check_is_fitted(report)
        if X is None:
            raise ValueError("plot_drift needs the batch X to monitor when given an estimator.")
        report = report.monitor(X, y)
    table = pd.concat(
        [report.features, report.predictions.rename(index=lambda name: f"prediction: {name}")]
    )
    ax = _new_axes(ax, (7, 0.8 + 0.35 * len(table)))
    positions = np.arange(len(table))
    colors = np.where(table["flagged"], "C3", "C0")
    bars = ax.barh(positions, table["psi"].to_numpy(dtype=float), color=colors)
    ax.bar_label(bars, labels=[f"p={p:.2g}" for p in table["p_adjusted"]], padding=2, fontsize=7)
    ax.axvline(PSI_THRESHOLD, color="grey", linestyle="--", lw=1)
    ax.set_yticks(positions, [str(name) for name in table.index])
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(table["psi"].max()), PSI_THRESHOLD) * 1.3)
    ax.set_xlabel("population stability index (batch against training)")
    title = f"Drift: {len(report.flagged)} of {len(report.features)} features flagged"
    if report.score is not None:
        score = report.score
        title += (
            f"\n{score['name']} {score['batch']:.3g} "
            f"[{score['ci_low']:.3g}, {score['ci_high']:.3g}]"
        )
        if score["validation"] is not None:
            title += f", validation {score['validation']:.3g}"
    ax.set_title(title)
    return ax


def _network_genome(estimator: Any, trial_id: int | None) -> tuple[int, Genome]:
    """The trial to draw and its genome (the ensemble member's, else read from its key)."""
    board = estimator.leaderboard_
    ensemble = estimator.ensemble_
    networks = {
        t: (w, member.genome)
        for member, w, t in zip(
            ensemble.members_, ensemble.weights_, ensemble.trial_ids_, strict=True
        )
        if getattr(member, "genome", None) is not None
    }
    if trial_id is None:
        if networks:
            trial_id = max(networks, key=lambda t: networks[t][0])
        else:
            scored = _scored(board)
            trained = scored[scored["genome"].notna()]
            if trained.empty:
                raise ValueError("The search trained no network; there is no architecture to draw.")
            trial_id = int(trained["trial_id"].iloc[0])  # the leaderboard is best first
    rows = board[board["trial_id"] == trial_id]
    if rows.empty:
        raise ValueError(f"No trial {trial_id} in the leaderboard.")
    key = rows["genome"].iloc[0]
    if pd.isna(key):
        raise ValueError(
            f"Trial {trial_id} ({rows['family'].iloc[0]}) is not a network; "
            "it has no architecture to draw."
        )
    genome = networks[trial_id][1] if trial_id in networks else Genome.from_key(key)
    return int(trial_id), genome


def _input_text(estimator: Any) -> str:
    """What the network takes: the image shape, or the number of columns."""
    shape = getattr(estimator, "image_shape_", None)
    if shape is not None:
        return "x".join(map(str, shape)) + "\nimages"
    return f"{estimator.n_features_in_}\nfeatures"


def _layer_text(gene: LayerGene) -> str:
    """Kind, size, (kernel, pooling), activation, normalisation and dropout, one per line."""
    lines = [gene.kind.replace("_", " ")]
    if gene.is_conv:
        size = "hidden ch." if gene.kind == "residual_conv" else "channels"
        lines += [f"{gene.width} {size}", f"{gene.kernel}x{gene.kernel} kernel"]
    else:
        lines.append(f"{gene.width} {'hidden' if gene.kind == 'residual' else 'units'}")
    lines.append(gene.activation)
    lines.append("no norm" if gene.norm == "none" else f"{gene.norm} norm")
    lines.append(f"dropout {gene.dropout:g}" if gene.dropout else "no dropout")
    if gene.pool:
        lines.append("2x2 max-pool")
    return "\n".join(lines)


def _draw_diagram(ax: Axes, boxes: list[tuple[str, str]], skips: list[int]) -> None:
    """Boxes left to right joined by arrows; a curved arrow over each box in ``skips``."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    half_w, half_h = _BOX_W / 2, _BOX_H / 2
    for i, (kind, text) in enumerate(boxes):
        x = i * _STEP
        ax.add_patch(
            FancyBboxPatch(
                (x - half_w, -half_h),
                _BOX_W,
                _BOX_H,
                boxstyle="round,pad=0,rounding_size=0.1",
                facecolor=_BOX_COLORS[kind],
                edgecolor="black",
                lw=0.8,
            )
        )
        ax.text(x, 0, text, ha="center", va="center", fontsize=7)
        if i:
            ax.add_patch(
                FancyArrowPatch(
                    (x - _STEP + half_w, 0), (x - half_w, 0), arrowstyle="-|>", mutation_scale=10
                )
            )
    for i in skips:  # from the block's input to the box after its sum
        ax.add_patch(
            FancyArrowPatch(
                ((i - 1) * _STEP + 0.3, half_h),
                ((i + 1) * _STEP - 0.3, half_h),
                connectionstyle="arc3,rad=-0.3",
                arrowstyle="-|>",
                mutation_scale=10,
                color="#31a354",
            )
        )
    ax.set_xlim(-half_w - 0.1, (len(boxes) - 1) * _STEP + half_w + 0.1)
    ax.set_ylim(-half_h - 0.1, half_h + (0.5 if skips else 0.1))
    ax.set_aspect("equal")
    ax.set_axis_off()
