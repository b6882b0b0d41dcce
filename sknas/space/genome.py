"""Genomes: frozen, hashable descriptions of a network's architecture.

A :class:`Genome` lists its hidden layers as :class:`LayerGene` s; the input and
output sizes come from the data, so one genome fits every problem. Genomes are
plain data (no torch): they cross process boundaries, are stored in the
leaderboard, and are what evolution mutates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ACTIVATIONS", "LAYER_KINDS", "NORMS", "Genome", "LayerGene"]

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
NORMS = ("none", "batch", "layer")
LAYER_KINDS = ("dense", "residual")


@dataclass(frozen=True)
class LayerGene:
    """One hidden layer.

    Parameters
    ----------
    kind : {"dense", "residual"}
        ``"dense"``: linear -> norm -> activation -> dropout, output size ``width``.
        ``"residual"``: a pre-norm block ``x + W2(dropout(act(W1(norm(x)))))`` whose
        hidden size is ``width``; its output size equals its input size.
    width : int
        Output size of a dense layer, hidden size of a residual block.
    activation : str
        One of :data:`ACTIVATIONS`.
    dropout : float
        Dropout probability in ``[0, 1)``.
    norm : str
        One of :data:`NORMS`.
    """

    kind: str
    width: int
    activation: str = "relu"
    dropout: float = 0.0
    norm: str = "none"

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
        # Canonical field types, so that equal genes have equal keys and hashes.
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "dropout", round(float(self.dropout), 3))

    def key(self) -> str:
        """A short canonical string, e.g. ``'dense256-relu-d0.1-batch'``."""
        return f"{self.kind}{self.width}-{self.activation}-d{self.dropout:g}-{self.norm}"


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {"family": self.family, "layers": [asdict(layer) for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genome:
        """Inverse of :meth:`to_dict`."""
        return cls(data["family"], tuple(LayerGene(**layer) for layer in data["layers"]))
