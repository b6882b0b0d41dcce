"""How candidates are proposed (torch-free): one ask/tell interface, several strategies."""

from .base import Strategy
from .evolution import RegularizedEvolutionStrategy
from .fused import FusedStrategy
from .hyperopt import HyperoptStrategy
from .random import RandomStrategy

__all__ = [
    "FusedStrategy",
    "HyperoptStrategy",
    "RandomStrategy",
    "RegularizedEvolutionStrategy",
    "Strategy",
]
