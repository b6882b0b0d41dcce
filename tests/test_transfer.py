"""Starting a search from elsewhere: adapting configurations, ``init_from``, the portfolio."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sknas import NASClassifier, NASRegressor
from sknas.space import Genome, LayerGene, default_search_space
from sknas.space.mutations import mutate
from sknas.strategies import Configuration
from sknas.transfer import PORTFOLIO_PATH, configurations_from_search, load_portfolio

IMAGES = (1, 8, 8)


@pytest.mark.parametrize("image_shape", [None, IMAGES])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_point_is_encoded_back_from_what_it_decodes_to(task, image_shape, rng):
    families = ["mlp", "resnet_mlp", "hist_gbdt", "linear", "random_forest"]
    space = default_search_space(
        task,
        max_epochs=20,
        image_shape=image_shape,
        families=families + ["cnn"] * bool(image_shape),
    )
    for family in space.families:
        for _ in range(50):
            params, genome = family.decode(family.sample_point(rng))
            point = family.encode(params, genome)
            assert point is not None and family.decode(point) == (params, genome)


def test_an_evolved_genome_that_no_point_builds_has_no_encoding(rng):
    family = default_search_space("classification", max_epochs=20)["mlp"]
    params, genome = family.decode(family.default_point())
    while True:  # mutate until the layers differ (a point builds only uniform ones)
        genome, params, _ = mutate(genome, params, family, rng)
        widths = [layer.width for layer in genome.layers]
        if len(set(widths)) > 1 and widths != sorted(widths, reverse=True):
            break
    assert family.encode(params, genome) is None
    assert family.adapt(params, genome) == (params, genome)  # still a valid candidate


def test_adapt_clips_numbers_of_any_type_and_defaults_what_is_not_a_choice():
    family = default_search_space("classification", max_epochs=20)["mlp"]
    params, genome = family.decode(family.default_point())
    earlier = params | {"max_epochs": np.int64(80), "lr": np.float64(1.0), "batch_size": 48}
    adapted, _ = family.adapt(earlier | {"optimizer": "lion"}, genome)
    assert adapted["max_epochs"] == 20 and type(adapted["max_epochs"]) is int
    assert adapted["lr"] == family.dimensions["lr"].high
    assert adapted["batch_size"] == 64 and adapted["optimizer"] == "adamw"  # the defaults


def test_adapt_refuses_genomes_that_cannot_run_here():
    families = ["cnn", "mlp"]  # images search CNNs only by default
    space = default_search_space(
        "classification", max_epochs=20, families=families, image_shape=IMAGES
    )
    deep_cnn = Genome("cnn", (LayerGene("conv", 8, pool=True),) * 4 + (LayerGene("dense", 8),))
    assert space["cnn"].adapt({}, deep_cnn) is None  # four poolings do not fit 8 x 8
    assert space["mlp"].adapt({}, deep_cnn) is None  # another family's genome
    assert space["mlp"].adapt({}, None) is None  # a network needs a genome


def _record(rows):
    columns = ["family", "params", "genome", "state", "score"]
    return pd.DataFrame(rows, columns=columns)


def test_configurations_from_a_record_are_the_best_distinct_completed_ones():
    mlp = "mlp:dense32-relu-d0-none"
    board = _record(
        [
            ["linear", {"C": 1.0}, None, "PRUNED", 0.99],
            ["mlp", {"lr": 0.01}, mlp, "COMPLETE", 0.9],
            ["linear", {"C": 2.0}, np.nan, "COMPLETE", 0.95],
            ["mlp", {"lr": 0.01}, mlp, "COMPLETE", 0.9],
            ["hist_gbdt", {}, None, "FAIL", np.nan],
            ["mlp", {"lr": 0.02}, mlp, "COMPLETE", 0.5],
        ]
    )
    configurations = configurations_from_search(board, n_best=2)
    assert configurations == [
        Configuration("linear", {"C": 2.0}, None),
        Configuration("mlp", {"lr": 0.01}, Genome.from_key(mlp)),
    ]
    # with training times, the best come cheapest first
    board["fit_time"] = [0.1, 3.0, 9.0, 3.0, 0.0, 0.1]
    assert configurations_from_search(board, n_best=2) == configurations[::-1]


def test_init_from_rejects_what_is_not_a_search_record(iris):
    X, y = iris
    unfitted = NASClassifier(n_trials=1, portfolio=False, init_from=NASClassifier())
    with pytest.raises(ValueError, match="unfitted NASClassifier.*leaderboard_"):
        unfitted.fit(X, y)
    no_columns = NASClassifier(n_trials=1, portfolio=False, init_from=pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match=r"lacks the columns \['family', 'genome'"):
        no_columns.fit(X, y)
    with pytest.raises(TypeError, match="init_from"):
        NASClassifier(n_trials=1, init_from=[1, 2]).fit(X, y)


@pytest.fixture(scope="module")
def half_digits_search():
    """A search on digits 0-4 (whose best configurations the tests transfer)."""
    X, y = load_digits(return_X_y=True)
    keep = y < 5
    return NASClassifier(
        n_trials=6, max_epochs=10, portfolio=False, ensemble_size=1, refit=False, random_state=0
    ).fit(X[keep], y[keep])


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_init_from_starts_with_the_earlier_best_on_other_data(half_digits_search, iris):
    X, y = iris  # 4 features and 3 classes instead of 64 and 5
    earlier = configurations_from_search(half_digits_search)
    record = half_digits_search.leaderboard_.copy()
    model = NASClassifier(
        n_trials=len(earlier) + 1,
        max_epochs=8,
        portfolio=False,
        init_from=half_digits_search,
        random_state=0,
    ).fit(X, y)
    pd.testing.assert_frame_equal(half_digits_search.leaderboard_, record)  # not mutated
    board = model.leaderboard_.sort_values("trial_id")
    transferred = board.iloc[: len(earlier)]
    assert list(transferred["proposer"]) == ["init_from"] * len(earlier)
    assert list(transferred["family"]) == [c.family for c in earlier]
    assert board.iloc[-1]["proposer"] != "init_from"
    networks = transferred[transferred["genome"].notna()]
    assert len(networks) and all(p["max_epochs"] <= 8 for p in networks["params"])  # adapted
    assert model.score(X, y) > 0.9


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_init_from_as_a_leaderboard_survives_cloning_and_grid_search(half_digits_search, iris):
    X, y = iris
    model = NASClassifier(
        n_trials=2, max_epochs=5, portfolio=False, init_from=half_digits_search.leaderboard_
    )
    assert clone(model).init_from.equals(half_digits_search.leaderboard_)
    search = GridSearchCV(model, {"ensemble_size": [1]}, cv=2).fit(X, y)
    proposers = search.best_estimator_.leaderboard_["proposer"]
    assert set(proposers) == {"init_from"}
    # the same record, transferred whole into a regression search (families' parameters
    # that differ, such as the linear family's C and alpha, take the defaults there)
    Xr, yr = X[:, :3], X[:, 3]
    regressor = NASRegressor(
        n_trials=3, max_epochs=5, portfolio=False, init_from=half_digits_search
    ).fit(Xr, yr)
    assert set(regressor.leaderboard_["proposer"]) == {"init_from"}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_portfolio_file_is_valid_for_the_default_space(task):
    data = json.loads(PORTFOLIO_PATH.read_text())
    assert data["format"] == 1 and data["version"] and data["built_by"]
    portfolio = load_portfolio(task)
    assert 5 <= len(portfolio) <= 10
    space = default_search_space(task, max_epochs=data["max_epochs"])
    for configuration in portfolio:
        adapted = space[configuration.family].adapt(configuration.params, configuration.genome)
        assert adapted == (configuration.params, configuration.genome)  # nothing to adapt


def test_a_search_starts_with_the_portfolio_unless_switched_off(regression_data):
    X, y = regression_data
    portfolio = load_portfolio("regression")
    on = NASRegressor(n_trials=3, max_epochs=5, cv=None, random_state=0).fit(X, y)
    board = on.leaderboard_.sort_values("trial_id")
    assert list(board["proposer"]) == ["portfolio"] * 3
    assert list(board["family"]) == [c.family for c in portfolio[:3]]
    off = NASRegressor(n_trials=3, max_epochs=5, portfolio=False, cv=None, random_state=0)
    off.fit(X, y)
    assert "portfolio" not in set(off.leaderboard_["proposer"])
