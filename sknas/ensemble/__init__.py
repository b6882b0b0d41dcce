"""Combining trained candidates into the model a fitted estimator serves."""

from .fitted import FittedEnsemble

__all__ = ["FittedEnsemble"]
