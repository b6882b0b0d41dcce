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
    "KERNELS",
    "LAYER_KINDS",
    "NORMS",
    "Genome",
    "LayerGene",
    "max_pools",
]

#: One layer of :meth:`Genome.key`, e.g. ``conv32k3p-relu-d0-batch``.
_LAYER_KEY = re.compile(
    r"(?P<kind>residual_conv|residual|conv|dense)(?P<width>\d+)"
    r"(?:k(?P<kernel>\d+)(?P<pool>p?))?-(?P<activation>\w+)-d(?P<dropout>[0-9.e+-]+?)-(?P<norm>\w+)"
)

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
NORMS = ("none", "batch", "layer")
CONV_KINDS = ("conv", "residual_conv")
LAYER_KINDS = ("dense", "residual") + CONV_KINDS
KERNELS = (3, 5)


def max_pools(image_shape: tuple[int, ...]) -> int:
    """How many 2x2 poolings an image of ``(C, H, W)`` allows before it is 1 pixel wide.

    Examples
    --------
    >>> max_pools((1, 8, 8)), max_pools((3, 32, 32)), max_pools((1, 5, 9))
    (3, 5, 2)
    """
    return max(0, int(min(image_shape[1:])).bit_length() - 1)


@dataclass(frozen=True)
class LayerGene:
    """One hidden layer.

    Parameters
    ----------
    kind : {"dense", "residual", "conv", "residual_conv"}
        ``"dense"``: linear -> norm -> activation -> dropout, output size ``width``.
        ``"residual"``: a pre-norm block ``x + W2(dropout(act(W1(norm(x)))))`` whose
        hidden size is ``width``; its output size equals its input size.
        ``"conv"`` and ``"residual_conv"``: the same on images, with ``kernel`` x
        ``kernel`` convolutions and ``width`` channels (spatial dropout).
    width : int
        Output size (channels) of a dense (conv) layer, hidden size of a residual block.
    activation : str
        One of :data:`ACTIVATIONS`.
    dropout : float
        Dropout probability in ``[0, 1)``.
    norm : str
        One of :data:`NORMS` (``"layer"`` on images normalises over channels and pixels).
    kernel : int
        Convolution kernel size, one of :data:`KERNELS` (convolutions only).
    pool : bool
        A 2x2 max-pooling after the layer, halving height and width (convolutions only).
    """

    kind: str
    width: int
    activation: str = "relu"
    dropout: float = 0.0
    norm: str = "none"
    kernel: int = 3
    pool: bool = False

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
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}.")
        if self.pool and self.kind not in CONV_KINDS:
            raise ValueError(f"only convolutions pool, not a {self.kind!r} layer.")
        # Canonical field types, so that equal genes have equal keys and hashes.
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "dropout", round(float(self.dropout), 3))
        object.__setattr__(self, "kernel", int(self.kernel))
        object.__setattr__(self, "pool", bool(self.pool))

    @property
    def is_conv(self) -> bool:
        """Whether the layer works on images."""
        return self.kind in CONV_KINDS

    def key(self) -> str:
        """A short canonical string, e.g. ``'dense256-relu-d0.1-batch'``.

        Convolutions add their kernel and a ``p`` when they pool: ``'conv32k3p-relu-d0-batch'``.
        """
        shape = f"k{self.kernel}{'p' if self.pool else ''}" if self.is_conv else ""
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
kernel=5, pool=True)
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
                )
            )
        return cls(family, tuple(genes))

    @property
    def n_pools(self) -> int:
        """Number of poolings (each halves the image's height and width)."""
        return sum(layer.pool for layer in self.layers)

    def fits(self, image_shape: tuple[int, ...] | None) -> bool:
        """Whether the genome can run on inputs of ``image_shape`` (None: flat rows).

        Convolutions come first and need images; they may pool at most
        :func:`max_pools` times, so that the image never shrinks below one pixel.
        """
        kinds = [layer.is_conv for layer in self.layers]
        if not any(kinds):
            return True
        if image_shape is None or kinds != sorted(kinds, reverse=True):
            return False
        return self.n_pools <= max_pools(image_shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {"family": self.family, "layers": [asdict(layer) for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genome:
        """Inverse of :meth:`to_dict`."""
        return cls(data["family"], tuple(LayerGene(**layer) for layer in data["layers"]))
