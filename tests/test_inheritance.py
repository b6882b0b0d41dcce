"""Weight inheritance: children start from their parent's trained weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sknas import NASClassifier
from sknas.evaluation.inheritance import inherit_weights
from sknas.space import Genome, LayerGene
from sknas.space.modules import _LAYERS, GenomeNet


def _trained_parent(genome, n_features=6, image_shape=None):
    """A parent network with non-trivial weights, and its state as numpy arrays."""
    torch.manual_seed(0)
    net = GenomeNet(genome, n_features, 3, image_shape=image_shape)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return net.eval(), {k: v.numpy().copy() for k, v in net.state_dict().items()}


def _child(genome, n_features=6, image_shape=None):
    torch.manual_seed(1)
    return GenomeNet(genome, n_features, 3, image_shape=image_shape).eval()


def _mlp(*layers):
    return Genome("mlp", tuple(layers))


def test_layer_positions_point_at_each_genes_module():
    genome = Genome(
        "cnn",
        (
            LayerGene("conv", 4, pool=True),
            LayerGene("residual_conv", 6),
            LayerGene("conv", 5, pool=True),
            LayerGene("dense", 7),
            LayerGene("residual", 8),
        ),
    )
    net = GenomeNet(genome, 64, 3, image_shape=(1, 8, 8))
    positions = GenomeNet.layer_positions(genome.layers)
    assert [type(net.body[i]) for i in positions] == [_LAYERS[g.kind] for g in genome.layers]


def test_the_same_genome_inherits_everything_and_computes_the_same():
    genome = _mlp(LayerGene("dense", 8), LayerGene("residual", 5))
    parent, weights = _trained_parent(genome)
    child = _child(genome)
    assert inherit_weights(child, genome, genome, weights) == pytest.approx(1.0)
    X = torch.randn(10, 6)
    torch.testing.assert_close(child(X), parent(X))


@pytest.mark.parametrize(
    ("parent_layers", "child_layers"),
    [
        ((LayerGene("dense", 8),), (LayerGene("dense", 12),)),  # widen
        (
            (LayerGene("dense", 8), LayerGene("dense", 4)),
            (LayerGene("dense", 8), LayerGene("residual", 5), LayerGene("dense", 4)),
        ),  # insert a residual block
        (
            (LayerGene("dense", 8), LayerGene("residual", 4)),
            (LayerGene("dense", 8), LayerGene("residual", 9)),
        ),  # widen a block's hidden layer
    ],
    ids=["widen", "add-residual-block", "widen-block"],
)
def test_function_preserving_mutations_compute_what_the_parent_did(parent_layers, child_layers):
    parent, weights = _trained_parent(_mlp(*parent_layers))
    child = _child(_mlp(*child_layers))
    share = inherit_weights(child, _mlp(*child_layers), _mlp(*parent_layers), weights)
    assert 0.3 < share < 1.0
    X = torch.randn(20, 6)
    torch.testing.assert_close(child(X), parent(X))


def test_a_new_kernel_size_is_initialised_afresh_and_the_rest_inherited():
    shape = (1, 8, 8)
    before = Genome("cnn", (LayerGene("conv", 4, kernel=3), LayerGene("dense", 6)))
    after = Genome("cnn", (LayerGene("conv", 4, kernel=5), LayerGene("dense", 6)))
    _, weights = _trained_parent(before, 64, shape)
    child = _child(after, 64, shape)
    fresh = child.body[0][0].weight.detach().clone()
    inherit_weights(child, after, before, weights)
    torch.testing.assert_close(child.body[0][0].weight, fresh)
    np.testing.assert_array_equal(child.head.weight.detach().numpy(), weights["head.weight"])


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_evolved_trials_record_what_they_inherited(iris):
    X, y = iris
    settings = {
        "n_trials": 10,
        "max_epochs": 8,
        "strategy": "evolution",
        "portfolio": False,  # evolution from the first trials
        "random_state": 0,
    }
    on = NASClassifier(**settings).fit(X, y).leaderboard_
    children = on[on["parent_id"].notna()]
    assert len(children) >= 3
    assert children["inherited"].between(0, 1).all() and children["inherited"].mean() > 0.3
    assert on.loc[on["parent_id"].isna(), "inherited"].isna().all()
    off = NASClassifier(**settings, weight_inheritance=False).fit(X, y).leaderboard_
    assert off["inherited"].isna().all()
