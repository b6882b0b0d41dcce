"""``GenomeNet``: the one ``torch.nn.Module`` that turns a :class:`Genome` into a network."""

from __future__ import annotations

import torch
from torch import nn

from .genome import Genome, LayerGene

__all__ = ["GenomeNet"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


def _norm(kind: str, width: int, images: bool = False) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(width) if images else nn.BatchNorm1d(width)
    if kind == "layer":  # on images: over channels and pixels
        return nn.GroupNorm(1, width) if images else nn.LayerNorm(width)
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


class _Conv(nn.Sequential):
    def __init__(self, n_in: int, gene: LayerGene) -> None:
        super().__init__(
            nn.Conv2d(n_in, gene.width, gene.kernel, padding=gene.kernel // 2),
            _norm(gene.norm, gene.width, images=True),
            _ACTIVATIONS[gene.activation](),
            nn.Dropout2d(gene.dropout),
        )


class _ResidualConv(nn.Module):
    """Pre-norm residual block on images: ``x + C2(dropout(act(C1(norm(x)))))``."""

    def __init__(self, n_in: int, gene: LayerGene) -> None:
        super().__init__()
        padding = gene.kernel // 2
        self.branch = nn.Sequential(
            _norm(gene.norm, n_in, images=True),
            nn.Conv2d(n_in, gene.width, gene.kernel, padding=padding),
            _ACTIVATIONS[gene.activation](),
            nn.Dropout2d(gene.dropout),
            nn.Conv2d(gene.width, n_in, gene.kernel, padding=padding),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


_LAYERS = {"dense": _Dense, "residual": _Residual, "conv": _Conv, "residual_conv": _ResidualConv}


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
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` of the images the flat input rows hold. Convolutions see
        the rows as images; global average pooling then feeds the dense layers.

    Examples
    --------
    >>> from sknas.space import Genome, LayerGene
    >>> net = GenomeNet(Genome("mlp", (LayerGene("dense", 8),)), n_features=4, n_outputs=3)
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    >>> cnn = Genome("cnn", (LayerGene("conv", 8, pool=True), LayerGene("dense", 16)))
    >>> GenomeNet(cnn, 64, 10, image_shape=(1, 8, 8))(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        genome: Genome,
        n_features: int,
        n_outputs: int,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__()
        if not genome.fits(image_shape):
            raise ValueError(f"Genome {genome.key()} does not fit inputs of shape {image_shape}.")
        has_conv = any(gene.is_conv for gene in genome.layers)
        self.image_shape = tuple(image_shape) if has_conv else None  # to unflatten rows
        convs: list[nn.Module] = []
        dense: list[nn.Module] = []
        width = image_shape[0] if has_conv else n_features
        for gene in genome.layers:
            if gene.is_conv:
                convs.append(_LAYERS[gene.kind](width, gene))
                if gene.pool:
                    convs.append(nn.MaxPool2d(2))
            else:
                if convs and not dense:  # images become channel vectors
                    convs += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
                dense.append(_LAYERS[gene.kind](width, gene))
            if gene.kind in ("dense", "conv"):
                width = gene.width
        if convs and not dense:
            convs += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*convs, *dense)
        self.head = nn.Linear(width, n_outputs)

    @staticmethod
    def layer_positions(layers: tuple[LayerGene, ...]) -> list[int]:
        """Index in ``body`` of each layer gene's module (pooling modules sit between).

        Examples
        --------
        >>> genes = (LayerGene("conv", 8, pool=True), LayerGene("dense", 16))
        >>> GenomeNet.layer_positions(genes)
        [0, 4]
        """
        positions: list[int] = []
        index, seen_conv, seen_dense = 0, False, False
        for gene in layers:
            if not gene.is_conv and seen_conv and not seen_dense:
                index += 2  # global average pooling and flatten
            positions.append(index)
            index += 1 + (gene.is_conv and gene.pool)
            seen_conv |= gene.is_conv
            seen_dense |= not gene.is_conv
        return positions

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.image_shape is not None:
            X = X.view(-1, *self.image_shape)
        return self.head(self.body(X))
