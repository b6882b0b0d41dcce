"""sknas: scikit-learn compatible AutoML and neural architecture search."""

from ._estimators import NASClassifier, NASRegressor
from .exceptions import CheckpointError, SearchFailedError

__version__ = "0.1.0.dev0"

__all__ = ["CheckpointError", "NASClassifier", "NASRegressor", "SearchFailedError", "__version__"]
