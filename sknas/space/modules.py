"""``GenomeNet``: the one ``torch.nn.Module`` that turns a :class:`Genome` into a network."""

from __future__ import annotations

import torch
from torch import nn

from .genome import Genome, LayerGene

__all__ = ["GenomeNet"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


def _norm(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class _Dense(nn.Sequential):
    def __init__(self, n_in: int, gene: LayerGene) -> None:
        super().__init__(
            nn.Linear(n_in, gene.width),
            _norm(gene.norm, gene.width),
            _ACTIVATIONS[gene.activation](),
            nn.Dropout(gene.dropout),
        )


class _Residual(nn.Module):
    """Pre-norm residual block: ``x + W2(dropout(act(W1(norm(x)))))``."""

    def __init__(self, n_in: int, gene: LayerGene) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            _norm(gene.norm, n_in),
            nn.Linear(n_in, gene.width),
            _ACTIVATIONS[gene.activation](),
            nn.Dropout(gene.dropout),
            nn.Linear(gene.width, n_in),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class GenomeNet(nn.Module):
    """A feed-forward network built from a genome.

    Parameters
    ----------
    genome : Genome
        Hidden layers; the genome's input and output sizes come from the data.
    n_features : int
        Input size.
    n_outputs : int
        Output size (number of classes, or 1 for regression); outputs are logits
        or standardised regression values.

    Examples
    --------
    >>> from sknas.space import Genome, LayerGene
    >>> net = GenomeNet(Genome("mlp", (LayerGene("dense", 8),)), n_features=4, n_outputs=3)
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, genome: Genome, n_features: int, n_outputs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for gene in genome.layers:
            if gene.kind == "dense":
                layers.append(_Dense(width, gene))
                width = gene.width
            else:
                layers.append(_Residual(width, gene))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(X))
