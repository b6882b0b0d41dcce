"""Combining trained candidates into the model a fitted estimator serves."""

from .build import refit_members, select_members
from .fitted import FittedEnsemble
from .greedy import GreedyEnsembler

__all__ = ["FittedEnsemble", "GreedyEnsembler", "refit_members", "select_members"]
