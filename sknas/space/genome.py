"""Genomes: frozen, hashable descriptions of a network's architecture.

A :class:`Genome` lists its hidden layers as :class:`LayerGene` s; the input and
output sizes come from the data, so one genome fits every problem. Genomes are
plain data (no torch): they cross process boundaries, are stored in the
leaderboard, and are what evolution mutates.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ACTIVATIONS",
    "CONV_KINDS",
    "DILATIONS",
    "KERNELS",
    "LAYER_KINDS",
    "NORMS",
    "SEQUENCE_KERNELS",
    "Genome",
    "LayerGene",
    "inception_kernels",
    "max_pools",
]

#: One layer of :meth:`Genome.key`, e.g. ``conv32k3p-relu-d0-batch`` or, dilated,
#: ``conv64k7x4-relu-d0-batch``.
_LAYER_KEY = re.compile(
    r"(?P<kind>residual_conv|residual|conv|dense|inception)(?P<width>\d+)"
    r"(?:k(?P<kernel>\d+)(?:x(?P<dilation>\d+))?(?P<pool>p?))?"
    r"-(?P<activation>\w+)-d(?P<dropout>[0-9.e+-]+?)-(?P<norm>\w+)"
)

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
NORMS = ("none", "batch", "layer")
#: Convolutions: on images 2-d, on sequences 1-d (the input's shape decides). An
#: ``"inception"`` block (sequences only) runs several kernel sizes side by side.
CONV_KINDS = ("conv", "residual_conv", "inception")
LAYER_KINDS = ("dense", "residual") + CONV_KINDS
#: Kernel sizes of image convolutions ...
KERNELS = (3, 5)
#: ... and of sequence convolutions (an inception block's smallest branch).
SEQUENCE_KERNELS = (3, 5, 7, 9, 11)
#: Dilations of sequence convolutions (images: 1).
DILATIONS = (1, 2, 4, 8)


def inception_kernels(kernel: int) -> tuple[int, int, int]:
    """Kernel sizes of an inception block's three convolution branches: ``kernel``,
    ``2 kernel + 1`` and ``4 kernel + 3`` (InceptionTime's 10, 20 and 40, made odd, for 9).

    Examples
    --------
    >>> inception_kernels(9), inception_kernels(3)
    ((9, 19, 39), (3, 7, 15))
    """
    return kernel, 2 * kernel + 1, 4 * kernel + 3


def max_pools(image_shape: tuple[int, ...]) -> int:
    """How many 2x2 poolings an image of ``(C, H, W)`` (or 2-step poolings a sequence of
    ``(C, L)``) allows before it is 1 pixel (step) wide.

    Examples
    --------
    >>> max_pools((1, 8, 8)), max_pools((3, 32, 32)), max_pools((1, 5, 9)), max_pools((2, 150))
    (3, 5, 2, 7)
    """
    return max(0, int(min(image_shape[1:])).bit_length() - 1)


@dataclass(frozen=True)
class LayerGene:
    """One hidden layer.

    Parameters
    ----------
    kind : {"dense", "residual", "conv", "residual_conv", "inception"}
        ``"dense"``: linear -> norm -> activation -> dropout, output size ``width``.
        ``"residual"``: a pre-norm block ``x + W2(dropout(act(W1(norm(x)))))`` whose
        hidden size is ``width``; its output size equals its input size.
        ``"conv"`` and ``"residual_conv"``: the same on images, with ``kernel`` x
        ``kernel`` convolutions and ``width`` channels (spatial dropout), and on
        sequences with 1-d convolutions of ``kernel`` steps. ``"inception"``
        (sequences only): InceptionTime's module, a 1x1 bottleneck feeding three
        convolutions of :func:`inception_kernels` side by side, next to a max-pooled
        1x1 convolution, concatenated to ``width`` channels (at least 4), then norm,
        activation and dropout.
    width : int
        Output size (channels) of a dense (conv) layer, hidden size of a residual block.
    activation : str
        One of :data:`ACTIVATIONS`.
    dropout : float
        Dropout probability in ``[0, 1)``.
    norm : str
        One of :data:`NORMS` (``"layer"`` on images normalises over channels and pixels).
    kernel : int
        Convolution kernel size, one of :data:`KERNELS` on images or
        :data:`SEQUENCE_KERNELS` on sequences (convolutions only).
    pool : bool
        A 2x2 max-pooling after the layer, halving height and width (a 2-step one on
        sequences, halving the length; convolutions only).
    dilation : int
        Dilation of a sequence convolution, one of :data:`DILATIONS` (images: 1).
    """

    kind: str
    width: int
    activation: str = "relu"
    dropout: float = 0.0
    norm: str = "none"
    kernel: int = 3
    pool: bool = False
    dilation: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"kind must be one of {LAYER_KINDS}, got {self.kind!r}.")
        if int(self.width) != self.width or self.width < 1:
            raise ValueError(f"width must be a positive integer, got {self.width!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}.")
        if self.kernel not in KERNELS + SEQUENCE_KERNELS:
            raise ValueError(
                f"kernel must be one of {KERNELS} (images) or {SEQUENCE_KERNELS} "
                f"(sequences), got {self.kernel!r}."
            )
        if self.dilation not in DILATIONS:
            raise ValueError(f"dilation must be one of {DILATIONS}, got {self.dilation!r}.")
        if (self.pool or self.dilation != 1) and self.kind not in CONV_KINDS:
            raise ValueError(f"only convolutions pool or dilate, not a {self.kind!r} layer.")
        if self.kind == "inception" and self.width < 4:
            raise ValueError(f"an inception block needs width >= 4, got {self.width!r}.")
        # Canonical field types, so that equal genes have equal keys and hashes.
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "dropout", round(float(self.dropout), 3))
        object.__setattr__(self, "kernel", int(self.kernel))
        object.__setattr__(self, "pool", bool(self.pool))
        object.__setattr__(self, "dilation", int(self.dilation))

    @property
    def is_conv(self) -> bool:
        """Whether the layer works on images or sequences."""
        return self.kind in CONV_KINDS

    @property
    def sequence_only(self) -> bool:
        """Whether the layer only works on sequences (an inception block, a dilation, or a
        kernel size images do not use)."""
        return self.kind == "inception" or self.dilation != 1 or self.kernel not in KERNELS

    def key(self) -> str:
        """A short canonical string, e.g. ``'dense256-relu-d0.1-batch'``.

        Convolutions add their kernel, ``x`` and their dilation when it is not 1, and a
        ``p`` when they pool: ``'conv32k3p-relu-d0-batch'``, ``'conv64k7x4-relu-d0-batch'``.
        """
        shape = ""
        if self.is_conv:
            dilation = f"x{self.dilation}" if self.dilation != 1 else ""
            shape = f"k{self.kernel}{dilation}{'p' if self.pool else ''}"
        return f"{self.kind}{self.width}{shape}-{self.activation}-d{self.dropout:g}-{self.norm}"


@dataclass(frozen=True)
class Genome:
    """An architecture: a family name and a tuple of hidden layers.

    Examples
    --------
    >>> g = Genome("mlp", (LayerGene("dense", 64), LayerGene("dense", 32)))
    >>> g.key()
    'mlp:dense64-relu-d0-none|dense32-relu-d0-none'
    >>> Genome.from_dict(g.to_dict()) == g
    True
    """

    family: str
    layers: tuple[LayerGene, ...]

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not all(isinstance(layer, LayerGene) for layer in layers):
            raise TypeError("Genome.layers must hold LayerGene instances.")
        object.__setattr__(self, "layers", layers)

    def key(self) -> str:
        """Canonical string identity, stable across processes (for deduplication)."""
        return f"{self.family}:" + "|".join(layer.key() for layer in self.layers)

    @classmethod
    def from_key(cls, key: str) -> Genome:
        """Inverse of :meth:`key` (the leaderboard stores genomes as keys).

        Examples
        --------
        >>> Genome.from_key("cnn:conv8k5p-relu-d0-batch|dense16-gelu-d0.1-none").layers[0]
        LayerGene(kind='conv', width=8, activation='relu', dropout=0.0, norm='batch', \
kernel=5, pool=True, dilation=1)
        """
        family, _, layers = key.partition(":")
        genes = []
        for part in layers.split("|") if layers else ():
            match = _LAYER_KEY.fullmatch(part)
            if match is None:
                raise ValueError(f"Cannot read layer {part!r} of genome {key!r}.")
            genes.append(
                LayerGene(
                    match["kind"],
                    int(match["width"]),
                    activation=match["activation"],
                    dropout=float(match["dropout"]),
                    norm=match["norm"],
                    kernel=int(match["kernel"] or 3),
                    pool=match["pool"] == "p",
                    dilation=int(match["dilation"] or 1),
                )
            )
        return cls(family, tuple(genes))

    @property
    def n_pools(self) -> int:
        """Number of poolings (each halves the image's height and width, or the length)."""
        return sum(layer.pool for layer in self.layers)

    def fits(self, image_shape: tuple[int, ...] | None) -> bool:
        """Whether the genome can run on inputs of ``image_shape``: ``(C, H, W)`` images,
        ``(C, L)`` sequences, or None (flat rows).

        Convolutions come first and need images or sequences (inception blocks,
        dilations and the longer kernels only sequences); they may pool at most
        :func:`max_pools` times, so that the input never shrinks below one pixel or step.
        """
        kinds = [layer.is_conv for layer in self.layers]
        if not any(kinds):
            return True
        if image_shape is None or kinds != sorted(kinds, reverse=True):
            return False
        if len(image_shape) == 3 and any(layer.sequence_only for layer in self.layers):
            return False
        return self.n_pools <= max_pools(image_shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {"family": self.family, "layers": [asdict(layer) for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genome:
        """Inverse of :meth:`to_dict`."""
        return cls(data["family"], tuple(LayerGene(**layer) for layer in data["layers"]))
