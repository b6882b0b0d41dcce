"""Plots of a fitted search: they render, and draw what the fitted estimator holds."""

from __future__ import annotations

import copy
import io
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from sknas import NASClassifier, NASRegressor
from sknas.ensemble import FittedEnsemble
from sknas.plotting import (
    plot_architecture,
    plot_drift,
    plot_ensemble_weights,
    plot_family_scores,
    plot_search_progress,
)
from sknas.space import Genome
from sknas.trial import Fidelity

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

PLOTS = [plot_search_progress, plot_family_scores, plot_ensemble_weights, plot_architecture]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class _PruneTrialOne:
    """A pruner (the protocol of sknas.fidelity) that stops trial 1, a network, at its
    first rung: competitors no score reaches, whatever the search drew."""

    def fidelity_for(self, candidate):
        if candidate.trial_id != 1:
            return None
        return Fidelity((1, candidate.budget_epochs), ((2.0, 2.0, 2.0),), 3)

    def record(self, result):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.fixture(scope="module")
def clf(iris):
    """Networks and a classical family on iris; trial 1 is pruned."""
    X, y = iris
    model = NASClassifier(
        n_trials=6,
        time_budget=None,
        max_epochs=4,
        families=["mlp", "resnet_mlp", "linear"],  # hist_gbdt's OpenMP threads crawl on busy CPUs
        pruner=_PruneTrialOne(),
        portfolio=False,
        refit=False,
        random_state=0,
    )
    return model.fit(X, y)


@pytest.fixture(scope="module")
def cnn():
    """CNNs on 8x8 digits: the ensemble holds networks; trial 2 has residual convolutions."""
    X, y = load_digits(return_X_y=True)
    model = NASClassifier(
        n_trials=3, time_budget=None, max_epochs=2, families=["cnn"], refit=False, random_state=1
    )
    return model.fit(X[:150].reshape(-1, 1, 8, 8), y[:150])


@pytest.fixture(scope="module")
def reg(regression_data):
    X, y = regression_data
    model = NASRegressor(
        n_trials=4,
        time_budget=None,
        max_epochs=2,
        families=["mlp", "linear"],
        refit=False,
        random_state=0,
    )
    return model.fit(X, y)


def assert_not_blank(ax):
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=50)
    buffer.seek(0)
    pixels = imread(buffer)[..., :3]
    background = pixels[0, 0]
    assert np.mean(np.any(pixels != background, axis=-1)) > 0.02
    assert pixels.std() > 0.05


def n_points(ax):
    return sum(len(collection.get_offsets()) for collection in ax.collections)


def boxes_and_arrows(ax):
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    return len(boxes), len(arrows)


@pytest.mark.parametrize("plot", PLOTS)
def test_plots_render_and_return_axes(plot, clf):
    assert_not_blank(plot(clf))
    _, ax = plt.subplots()
    assert plot(clf, ax=ax) is ax


@pytest.mark.parametrize("plot", PLOTS)
def test_unfitted_estimator_raises(plot):
    with pytest.raises(NotFittedError):
        plot(NASClassifier())


@pytest.mark.parametrize("plot", PLOTS)
def test_regressor(plot, reg):
    assert_not_blank(plot(reg))


def test_regressor_architecture_has_one_output(reg):
    assert plot_architecture(reg).texts[-1].get_text() == "output\n1 value"


def test_missing_matplotlib_says_how_to_install(clf, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "sknas\[plot\]"'):
        plot_search_progress(clf)


def hollow_points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections if not c.get_facecolor().size)


def test_search_progress_draws_every_scored_trial(clf):
    ax = plot_search_progress(clf)
    board = clf.leaderboard_
    assert n_points(ax) == len(board)  # none failed
    assert hollow_points(ax) == (board["state"] == "PRUNED").sum() > 0
    labels = ax.get_legend_handles_labels()[1]
    proposers = set(board["proposer"].str.split(":").str[0])
    assert proposers | {"pruned", "best so far"} == set(labels)
    [best] = ax.get_lines()
    assert best.get_ydata()[-1] == pytest.approx(clf.best_score_)
    assert best.get_xdata()[-1] == pytest.approx(board["finished_at"].max())


def test_search_progress_skips_failed_trials(clf):
    model = copy.copy(clf)
    board = clf.leaderboard_.copy()
    board.loc[0, ["state", "score"]] = ["FAIL", np.nan]
    board.loc[board["state"] == "PRUNED", "state"] = "COMPLETE"
    model.leaderboard_ = board
    ax = plot_search_progress(model)
    assert n_points(ax) == len(board) - 1
    assert hollow_points(ax) == 0
    assert "pruned" not in ax.get_legend_handles_labels()[1]


def test_family_scores_one_box_per_family(clf):
    ax = plot_family_scores(clf)
    board = clf.leaderboard_
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert sorted(labels) == sorted(board["family"].unique())
    best_of = board.groupby("family")["score"].max()
    assert best_of[labels[0]] == board["score"].max()  # the best family first (ties: any)
    assert n_points(ax) == len(board)
    assert hollow_points(ax) == (board["state"] == "PRUNED").sum()


@pytest.mark.parametrize("name", ["clf", "cnn"])
def test_ensemble_weights_one_bar_per_member(name, request):
    model = request.getfixturevalue(name)
    ax = plot_ensemble_weights(model)
    weights = model.ensemble_.weights_
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == pytest.approx(sorted(weights[weights > 0], reverse=True))
    families = model.leaderboard_.set_index("trial_id")["family"]
    labels = {label.get_text() for label in ax.get_yticklabels()}
    assert labels == {f"trial {t} ({families[t]})" for t in model.ensemble_.trial_ids_}


def test_architecture_defaults_to_heaviest_network_member(cnn):
    ensemble = cnn.ensemble_
    heaviest = ensemble.trial_ids_[int(np.argmax(ensemble.weights_))]
    ax = plot_architecture(cnn)
    assert ax.get_title().startswith(f"Trial {heaviest}:")
    assert_not_blank(ax)


def test_architecture_without_network_member_draws_best_network(clf):
    classical_only = copy.copy(clf)  # members without a genome, as classical ones are
    ensemble = clf.ensemble_
    classical_only.ensemble_ = FittedEnsemble(
        [object() for _ in ensemble.members_], ensemble.weights_, ensemble.trial_ids_
    )
    board = clf.leaderboard_
    best_network = board.loc[board["genome"].notna(), "trial_id"].iloc[0]
    assert plot_architecture(classical_only).get_title().startswith(f"Trial {best_network}:")


def test_architecture_of_residual_mlp_read_from_leaderboard(clf):
    board = clf.leaderboard_.set_index("trial_id")
    trial = board.index[board["family"] == "resnet_mlp"][0]
    n_layers = board.loc[trial, "genome"].count("|") + 1
    n_residual = board.loc[trial, "genome"].count("residual")
    ax = plot_architecture(clf, trial_id=trial)
    assert boxes_and_arrows(ax) == (n_layers + 2, n_layers + 1 + n_residual)
    assert ax.texts[0].get_text() == "input\n4\nfeatures"
    assert ax.texts[-1].get_text() == "output\n3 classes"


def test_architecture_boxes_and_skip_connections(cnn):
    board = cnn.leaderboard_.set_index("trial_id")
    residual = [t for t, g in board["genome"].dropna().items() if "residual_conv" in g]
    assert residual, "the fixture's search should hold a residual CNN"
    trial = residual[0]
    layers = board.loc[trial, "genome"].split(":", 1)[1].split("|")
    n_conv = sum(layer.startswith(("conv", "residual_conv")) for layer in layers)
    n_skips = sum(layer.startswith("residual_conv") for layer in layers)
    ax = plot_architecture(cnn, trial_id=trial)
    # input, the convolutions, global pooling, the dense layers, output; skips as arrows
    n_boxes = len(layers) + 3
    assert boxes_and_arrows(ax) == (n_boxes, n_boxes - 1 + n_skips)
    texts = [text.get_text() for text in ax.texts]
    assert texts[0] == "input\n1x8x8\nimages" and texts[-1] == "output\n10 classes"
    assert texts[n_conv + 1] == "global\naverage\npooling"
    assert "kernel" in texts[1]


def test_architecture_of_classical_or_unknown_trial_raises(clf):
    linear = clf.leaderboard_.query("family == 'linear'")["trial_id"].iloc[0]
    with pytest.raises(ValueError, match="not a network"):
        plot_architecture(clf, trial_id=linear)
    with pytest.raises(ValueError, match="No trial 999"):
        plot_architecture(clf, trial_id=999)


def test_genome_keys_read_back(clf, cnn):
    keys = [*clf.leaderboard_["genome"].dropna(), *cnn.leaderboard_["genome"].dropna()]
    assert keys and all(Genome.from_key(key).key() == key for key in keys)


def test_drift_one_bar_per_feature_and_prediction_flagged_in_red(clf, iris):
    X, y = iris
    X_new = X.copy()
    X_new[:, 2] += 2 * X[:, 2].std()
    report = clf.monitor(X_new, y)
    ax = plot_drift(report)
    assert_not_blank(ax)
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels == [
        "x0",
        "x1",
        "x2",
        "x3",
        "prediction: predicted class",
        "prediction: confidence",
    ]
    widths = [bar.get_width() for bar in ax.patches]
    expected = [*report.features["psi"], *report.predictions["psi"]]
    assert widths == pytest.approx(expected)
    red = matplotlib.colors.to_rgba("C3")
    flagged = [bar.get_facecolor() == red for bar in ax.patches]
    assert flagged == [*report.features["flagged"], *report.predictions["flagged"]]
    assert flagged[2] and not flagged[0]
    assert ax.get_title().startswith("Drift: 1 of 4 features flagged\naccuracy ")


def test_drift_from_estimator_and_batch(clf, iris):
    X, _ = iris
    _, ax = plt.subplots()
    assert plot_drift(clf, X, ax=ax) is ax
    assert ax.get_title() == "Drift: 0 of 4 features flagged"
    with pytest.raises(ValueError, match="needs the batch X"):
        plot_drift(clf)
    with pytest.raises(NotFittedError):
        plot_drift(NASClassifier(), X)
