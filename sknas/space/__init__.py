"""What can be searched: dimensions, genomes, families and default spaces.

Only :mod:`sknas.space.modules` imports torch; everything else here is plain data.
"""

from .families import (
    ARCH_PREFIX,
    CLASSICAL_FAMILIES,
    IMAGE_FAMILIES,
    SEQUENCE_FAMILIES,
    TABULAR_FAMILIES,
    TABULAR_NEURAL_FAMILIES,
    FamilySpace,
    SearchSpace,
    default_search_space,
)
from .genome import Genome, LayerGene
from .params import Categorical, Dimension, Float, Int

__all__ = [
    "ARCH_PREFIX",
    "CLASSICAL_FAMILIES",
    "IMAGE_FAMILIES",
    "SEQUENCE_FAMILIES",
    "TABULAR_FAMILIES",
    "TABULAR_NEURAL_FAMILIES",
    "Categorical",
    "Dimension",
    "FamilySpace",
    "Float",
    "Genome",
    "Int",
    "LayerGene",
    "SearchSpace",
    "default_search_space",
]
