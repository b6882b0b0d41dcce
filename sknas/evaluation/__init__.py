"""How one candidate is trained and scored: skorch nets, batch iterator, callbacks, members."""

from .data import DataSplit, TensorBatchIterator, make_split
from .evaluator import Evaluator
from .members import NeuralMember

__all__ = ["DataSplit", "Evaluator", "NeuralMember", "TensorBatchIterator", "make_split"]
