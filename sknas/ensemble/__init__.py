"""Combining trained candidates into the model a fitted estimator serves."""

from .build import build_ensemble
from .fitted import FittedEnsemble
from .greedy import GreedyEnsembler

__all__ = ["FittedEnsemble", "GreedyEnsembler", "build_ensemble"]
