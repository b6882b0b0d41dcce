"""Dimensions, genomes, families and the module built from a genome."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas.space import (
    CLASSICAL_FAMILIES,
    TABULAR_FAMILIES,
    TABULAR_NEURAL_FAMILIES,
    Categorical,
    Float,
    Genome,
    Int,
    LayerGene,
    default_search_space,
)
from sknas.space.families import FIRST_LAYER_WEIGHTS, widest_layer
from sknas.space.modules import GenomeNet
from sknas.space.mutations import mutate


@pytest.mark.parametrize(
    "dim",
    [
        Float(1e-4, 1e-1, log=True),
        Float(0.0, 0.5),
        Int(1, 4),
        Int(16, 1024, log=True),
        Categorical(("a", "b", "c")),
    ],
)
def test_dimensions_sample_inside_their_range(dim, rng):
    values = [dim.sample(rng) for _ in range(500)]
    assert all(dim.contains(v) for v in values)
    assert dim.contains(dim.default_value)
    assert len(set(values)) > 2


def test_log_int_reaches_both_ends(rng):
    values = {Int(1, 4, log=True).sample(rng) for _ in range(2000)}
    assert values == {1, 2, 3, 4}


@pytest.mark.parametrize(
    "make",
    [
        lambda: Float(1.0, 1.0),
        lambda: Float(0.0, 1.0, log=True),
        lambda: Int(3, 2),
        lambda: Categorical(()),
        lambda: Categorical(("a",), default="b"),
    ],
)
def test_invalid_dimensions_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_genome_is_frozen_hashable_and_keyed():
    a = Genome("mlp", [LayerGene("dense", 64, dropout=0.1), LayerGene("residual", 32)])
    b = Genome("mlp", (LayerGene("dense", 64.0, dropout=0.1000001), LayerGene("residual", 32)))
    assert a == b and hash(a) == hash(b) and a.key() == b.key()
    assert Genome.from_dict(a.to_dict()) == a
    with pytest.raises(AttributeError):
        a.family = "other"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "lstm", "width": 8},
        {"kind": "dense", "width": 8, "pool": True},
        {"kind": "conv", "width": 8, "kernel": 4},
        {"kind": "dense", "width": 0},
        {"kind": "dense", "width": 8, "activation": "swish"},
        {"kind": "dense", "width": 8, "dropout": 1.0},
        {"kind": "dense", "width": 8, "norm": "group"},
    ],
)
def test_invalid_layer_genes_are_refused(kwargs):
    with pytest.raises(ValueError):
        LayerGene(**kwargs)


@pytest.mark.parametrize("family", ["mlp", "resnet_mlp"])
def test_every_sampled_genome_builds_a_working_network(family, rng):
    space = default_search_space("classification", max_epochs=10)
    for _ in range(20):
        params, genome = space[family].decode(space[family].sample_point(rng))
        assert genome.family == family and 1 <= params["max_epochs"] <= 10
        net = GenomeNet(genome, n_features=7, n_outputs=3).train()
        out = net(torch.randn(4, 7))
        assert out.shape == (4, 3) and torch.isfinite(out).all()


def test_residual_block_adds_its_branch_to_the_input():
    genome = Genome("resnet_mlp", (LayerGene("dense", 8), LayerGene("residual", 16)))
    net = GenomeNet(genome, n_features=3, n_outputs=2).eval()
    block = net.body[1]
    torch.nn.init.zeros_(block.branch[-1].weight)
    torch.nn.init.zeros_(block.branch[-1].bias)
    x = torch.randn(5, 8)
    torch.testing.assert_close(block(x), x)


def test_default_space_families_and_errors():
    assert default_search_space("regression", max_epochs=5).family_names == TABULAR_FAMILIES
    assert set(TABULAR_FAMILIES) == set(TABULAR_NEURAL_FAMILIES) | set(CLASSICAL_FAMILIES)
    assert default_search_space("regression", max_epochs=5, families="mlp").family_names == ("mlp",)
    with pytest.raises(ValueError, match="families must be"):
        default_search_space("regression", max_epochs=5, families=["transformer"])
    with pytest.raises(KeyError, match="No family"):
        default_search_space("regression", max_epochs=5)["transformer"]


def test_default_point_is_the_documented_default():
    family = default_search_space("classification", max_epochs=30)["mlp"]
    params, genome = family.decode(family.default_point())
    assert params == {
        "lr": 2e-3,
        "batch_size": 64,
        "optimizer": "adamw",
        "optimizer__weight_decay": 1e-4,
        "lr_schedule": "cosine",
        "max_epochs": 30,
        "class_weight": None,
        "aug__noise": 0.0,
        "aug__mixup": 0.0,
    }
    assert genome.key() == "mlp:dense256-relu-d0.1-none|dense256-relu-d0.1-none"
    assert np.isclose(family.dimensions["lr"].default_value, 2e-3)


def test_tabular_network_widths_are_bounded_by_the_rows():
    space = default_search_space("classification", max_epochs=10, n_rows=106)
    rng = np.random.default_rng(0)
    for name in ("mlp", "resnet_mlp"):
        family = space[name]
        assert family.dimensions["arch__width"].high == widest_layer(106) == 128
        for _ in range(50):
            params, genome = family.decode(family.sample_point(rng))
            hidden = max(layer.width for layer in genome.layers)
            assert hidden <= 128 * (4 if name == "resnet_mlp" else 1)
            for _ in range(5):  # evolution never grows past the residual bound either
                genome, params, _ = mutate(genome, params, family, rng)
                assert max(layer.width for layer in genome.layers) <= 4 * 128
    unbounded = default_search_space("classification", max_epochs=10)
    assert unbounded["mlp"].dimensions["arch__width"].high == 1024
    assert default_search_space("classification", max_epochs=10, n_rows=10**6) == unbounded


def test_tabular_network_widths_are_bounded_on_wide_inputs():
    wide = default_search_space("classification", max_epochs=10, n_rows=80_000, n_features=50_000)
    assert widest_layer(80_000, 50_000) == 64
    for name in ("mlp", "resnet_mlp"):
        assert wide[name].dimensions["arch__width"].high == 64
        assert 64 * 50_000 <= FIRST_LAYER_WEIGHTS
    narrow = default_search_space("classification", max_epochs=10, n_rows=80_000, n_features=64)
    assert narrow["mlp"].dimensions["arch__width"].high == widest_layer(80_000) == 1024
    assert widest_layer(100, n_features=10**9) == 32  # never below 32
