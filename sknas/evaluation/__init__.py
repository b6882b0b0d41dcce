"""How one candidate is trained and scored: skorch nets, batch iterator, callbacks, members."""

# scikit-learn's OpenMP code loads before torch (see sknas.utils._native_threads).
from ..utils import _native_threads  # noqa: F401

# isort: split
from .data import DataSplit, TensorBatchIterator, make_split
from .evaluator import Evaluator
from .members import NeuralMember

__all__ = ["DataSplit", "Evaluator", "NeuralMember", "TensorBatchIterator", "make_split"]
