"""``GenomeNet``: the one ``torch.nn.Module`` that turns a :class:`Genome` into a network."""

from __future__ import annotations

# scikit-learn's OpenMP code loads before torch (see sknas.utils._native_threads).
from ..utils import _native_threads  # noqa: F401

# isort: split
import torch
from torch import nn

from .genome import Genome, LayerGene, inception_kernels

__all__ = ["GenomeNet"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
#: Per spatial dimensions (1: sequences, 2: images): convolution, spatial dropout,
#: max-pooling and global average pooling.
_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_DROPOUT = {1: nn.Dropout1d, 2: nn.Dropout2d}
_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
_GLOBAL_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


def _norm(kind: str, width: int, dims: int = 0) -> nn.Module:
    """A normalisation of ``width`` features (``dims=0``) or channels (1 or 2 spatial dims)."""
    if kind == "batch":
        return nn.BatchNorm2d(width) if dims == 2 else nn.BatchNorm1d(width)
    if kind == "layer":  # on images and sequences: over channels and positions
        return nn.GroupNorm(1, width) if dims else nn.LayerNorm(width)
    return nn.Identity()


def _conv(
    dims: int, n_in: int, n_out: int, gene: LayerGene, kernel: int | None = None
) -> nn.Module:
    """A convolution that keeps the input's size (odd kernels, padding for the dilation)."""
    kernel = gene.kernel if kernel is None else kernel
    padding = gene.dilation * (kernel // 2)
    return _CONV[dims](n_in, n_out, kernel, padding=padding, dilation=gene.dilation)


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
    def __init__(self, n_in: int, gene: LayerGene, dims: int) -> None:
        super().__init__(
            _conv(dims, n_in, gene.width, gene),
            _norm(gene.norm, gene.width, dims),
            _ACTIVATIONS[gene.activation](),
            _DROPOUT[dims](gene.dropout),
        )


class _ResidualConv(nn.Module):
    """Pre-norm residual block on images or sequences: ``x + C2(dropout(act(C1(norm(x)))))``."""

    def __init__(self, n_in: int, gene: LayerGene, dims: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            _norm(gene.norm, n_in, dims),
            _conv(dims, n_in, gene.width, gene),
            _ACTIVATIONS[gene.activation](),
            _DROPOUT[dims](gene.dropout),
            _conv(dims, gene.width, n_in, gene),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class _Inception(nn.Module):
    """InceptionTime's module on sequences: a 1x1 bottleneck (for several input channels)
    feeds three convolutions of :func:`~sknas.space.genome.inception_kernels`; a 3-step
    max-pool feeds a 1x1 convolution; the four are concatenated to ``width`` channels,
    then normalised, activated and dropped out."""

    def __init__(self, n_in: int, gene: LayerGene, dims: int) -> None:
        super().__init__()
        branch = gene.width // 4
        self.bottleneck = nn.Conv1d(n_in, branch, 1, bias=False) if n_in > 1 else nn.Identity()
        inner = branch if n_in > 1 else n_in
        self.convs = nn.ModuleList(
            _conv(1, inner, branch, gene, kernel) for kernel in inception_kernels(gene.kernel)
        )
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = nn.Conv1d(n_in, gene.width - 3 * branch, 1, bias=False)
        self.post = nn.Sequential(
            _norm(gene.norm, gene.width, dims),
            _ACTIVATIONS[gene.activation](),
            _DROPOUT[dims](gene.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = self.bottleneck(x)
        branches = [conv(inner) for conv in self.convs] + [self.pool_conv(self.pool(x))]
        return self.post(torch.cat(branches, dim=1))


_LAYERS = {
    "dense": _Dense,
    "residual": _Residual,
    "conv": _Conv,
    "residual_conv": _ResidualConv,
    "inception": _Inception,
}
#: Layer kinds whose output has ``width`` features or channels (the others keep their input's).
_RESHAPING = ("dense", "conv", "inception")


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
        ``(C, H, W)`` of the images, or ``(C, L)`` of the sequences, the flat input
        rows hold. Convolutions (2-d on images, 1-d on sequences) see the rows as
        such; global average pooling then feeds the dense layers.

    Examples
    --------
    >>> from sknas.space import Genome, LayerGene
    >>> net = GenomeNet(Genome("mlp", (LayerGene("dense", 8),)), n_features=4, n_outputs=3)
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    >>> cnn = Genome("cnn", (LayerGene("conv", 8, pool=True), LayerGene("dense", 16)))
    >>> GenomeNet(cnn, 64, 10, image_shape=(1, 8, 8))(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    >>> cnn1d = Genome("cnn1d", (LayerGene("inception", 16, kernel=3, dilation=2),))
    >>> GenomeNet(cnn1d, 60, 2, image_shape=(2, 30))(torch.zeros(2, 60)).shape
    torch.Size([2, 2])
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
        dims = len(image_shape) - 1 if has_conv else 0  # 1: sequences, 2: images
        convs: list[nn.Module] = []
        dense: list[nn.Module] = []
        width = image_shape[0] if has_conv else n_features
        for gene in genome.layers:
            if gene.is_conv:
                convs.append(_LAYERS[gene.kind](width, gene, dims))
                if gene.pool:
                    convs.append(_POOL[dims](2))
            else:
                if convs and not dense:  # images and sequences become channel vectors
                    convs += [_GLOBAL_POOL[dims](1), nn.Flatten()]
                dense.append(_LAYERS[gene.kind](width, gene))
            if gene.kind in _RESHAPING:
                width = gene.width
        if convs and not dense:
            convs += [_GLOBAL_POOL[dims](1), nn.Flatten()]
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
