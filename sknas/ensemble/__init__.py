"""Combining trained candidates into the model a fitted estimator serves."""

from .build import refit_members, select_members
from .fitted import FittedEnsemble
from .greedy import MAX_CANDIDATES, GreedyEnsembler

__all__ = ["MAX_CANDIDATES", "FittedEnsemble", "GreedyEnsembler", "refit_members", "select_members"]
