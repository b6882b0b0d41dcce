"""Trained models trimmed for serving: architecture plus numpy weights, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..space.genome import Genome
from ..space.modules import GenomeNet

__all__ = ["NeuralMember", "predict_module"]

_CHUNK_ROWS = 4096


def predict_module(
    module: nn.Module, X: np.ndarray, *, task: str, dtype: torch.dtype, device: str = "cpu"
) -> np.ndarray:
    """Run ``module`` in eval mode on ``X`` in chunks; probabilities or raw values, float64.

    Parameters
    ----------
    module : torch.nn.Module
    X : ndarray of shape (n_samples, n_features)
    task : {"classification", "regression"}
    dtype : torch.dtype
        Dtype of the computation (float64 makes results independent of the chunking).
    device : str
    """
    was_training = module.training
    module.eval()
    outputs = []
    try:
        with torch.inference_mode():
            for start in range(0, len(X), _CHUNK_ROWS):
                chunk = torch.as_tensor(X[start : start + _CHUNK_ROWS], dtype=dtype, device=device)
                out = module(chunk)
                if task == "classification":
                    out = torch.softmax(out.double(), dim=1)
                outputs.append(out.double().cpu().numpy())
    finally:
        module.train(was_training)
    result = np.concatenate(outputs) if outputs else np.empty((0, 1))
    return result if task == "classification" else result[:, 0]


@dataclass(frozen=True, eq=False)
class NeuralMember:
    """A trained :class:`GenomeNet`, stored as its genome and CPU numpy weights.

    It pickles without torch objects, so a model trained on a GPU predicts on a
    CPU-only machine. Predictions are computed in float64, so they do not depend on
    how many rows are predicted at once.

    Parameters
    ----------
    genome : Genome
    n_features, n_outputs : int
    task : {"classification", "regression"}
    weights : dict of str to ndarray
        The module's ``state_dict`` as numpy arrays.
    target_mean, target_scale : float
        Maps standardised regression outputs back to the target's scale.
    image_shape : tuple of int or None
        ``(C, H, W)`` when the input rows are flattened images.
    """

    genome: Genome
    n_features: int
    n_outputs: int
    task: str
    weights: dict[str, np.ndarray] = field(repr=False)
    target_mean: float = 0.0
    target_scale: float = 1.0
    image_shape: tuple[int, int, int] | None = None

    @classmethod
    def from_module(cls, module: nn.Module, **kwargs) -> NeuralMember:
        """Copy a trained module's weights to CPU numpy arrays."""
        weights = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
        return cls(weights=weights, **kwargs)

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters (buffers excluded)."""
        buffers = ("running_mean", "running_var", "num_batches_tracked")
        return sum(v.size for k, v in self.weights.items() if not k.endswith(buffers))

    def to_module(self, dtype: torch.dtype = torch.float64) -> GenomeNet:
        """Rebuild the module on CPU (without consuming any random numbers)."""
        with torch.device("meta"):
            module = GenomeNet(self.genome, self.n_features, self.n_outputs, self.image_shape)
        state = {
            k: torch.from_numpy(v).to(dtype) if v.dtype.kind == "f" else torch.from_numpy(v)
            for k, v in self.weights.items()
        }
        module.load_state_dict(state, assign=True)
        return module

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` or target values ``(n,)``, float64."""
        out = predict_module(self.to_module(), X, task=self.task, dtype=torch.float64)
        if self.task == "regression":
            out = out * self.target_scale + self.target_mean
        return out
