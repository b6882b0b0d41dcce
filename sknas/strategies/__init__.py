"""How candidates are proposed (torch-free): one ask/tell interface, several strategies."""

from .base import Configuration, Strategy
from .evolution import RegularizedEvolutionStrategy
from .fused import FusedStrategy
from .hyperopt import HyperoptStrategy
from .random import RandomStrategy

__all__ = [
    "Configuration",
    "FusedStrategy",
    "HyperoptStrategy",
    "RandomStrategy",
    "RegularizedEvolutionStrategy",
    "Strategy",
]
