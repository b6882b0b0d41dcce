"""Combining trained candidates into the model a fitted estimator serves."""

from .baselines import CHECK_MAX_ROWS, check_against_baselines
from .build import (
    CONTINUE_EPOCHS_FACTOR,
    CONTINUE_SHARE,
    MIN_CONTINUE_EPOCHS,
    REFIT_TOLERANCE,
    continue_epochs,
    continue_reserve,
    refit_members,
    refit_reserve,
    refit_seconds,
    select_members,
)
from .costs import PROBE_ROWS, member_costs
from .fitted import FittedEnsemble
from .greedy import MAX_CANDIDATES, GreedyEnsembler

__all__ = [
    "CHECK_MAX_ROWS",
    "CONTINUE_EPOCHS_FACTOR",
    "CONTINUE_SHARE",
    "MAX_CANDIDATES",
    "MIN_CONTINUE_EPOCHS",
    "PROBE_ROWS",
    "REFIT_TOLERANCE",
    "FittedEnsemble",
    "GreedyEnsembler",
    "check_against_baselines",
    "continue_epochs",
    "continue_reserve",
    "member_costs",
    "refit_members",
    "refit_reserve",
    "refit_seconds",
    "select_members",
]
