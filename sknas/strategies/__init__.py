"""How configurations are proposed (torch-free): one protocol, several strategies."""

from .base import Configuration, Proposal, Strategy
from .evolution import RegularizedEvolutionStrategy
from .fused import FusedStrategy
from .hyperopt import HyperoptStrategy
from .random import RandomStrategy

__all__ = [
    "Configuration",
    "FusedStrategy",
    "HyperoptStrategy",
    "Proposal",
    "RandomStrategy",
    "RegularizedEvolutionStrategy",
    "Strategy",
]
