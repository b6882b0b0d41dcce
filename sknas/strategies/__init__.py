"""How candidates are proposed (torch-free): one ask/tell interface, several strategies."""

from .base import Strategy
from .hyperopt import HyperoptStrategy
from .random import RandomStrategy

__all__ = ["HyperoptStrategy", "RandomStrategy", "Strategy"]
