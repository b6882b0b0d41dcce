"""sknas: scikit-learn compatible AutoML and neural architecture search.

The estimators and :func:`load` import torch; they load on first use, so the torch-free
parts (:mod:`sknas.study`, :mod:`sknas.strategies`, :mod:`sknas.trial`,
:mod:`sknas.space`, :mod:`sknas.fidelity`) import without it.
"""

from typing import Any

from .exceptions import CheckpointError, ModelFileError, SearchFailedError

_LAZY = {"NASClassifier": "._estimators", "NASRegressor": "._estimators", "load": ".persistence"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
