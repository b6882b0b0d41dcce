"""sknas: scikit-learn compatible AutoML and neural architecture search."""

from ._estimators import NASClassifier, NASRegressor
from .exceptions import CheckpointError, ModelFileError, SearchFailedError
from .persistence import load

__version__ = "0.1.0.dev0"

__all__ = [
    "CheckpointError",
    "ModelFileError",
    "NASClassifier",
    "NASRegressor",
    "SearchFailedError",
    "__version__",
    "load",
]
