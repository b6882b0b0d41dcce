"""Trained models trimmed for serving: architecture plus numpy weights, nothing else.

Networks predict in float32, the dtype they were trained in, on chunks of rows sized so
that their activations stay within :data:`PREDICT_MEMORY_BYTES` whatever the number of
rows and the architecture; the softmax is taken in float64. Sparse rows (a CSR matrix)
are densified one chunk at a time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ..space.genome import Genome
from ..space.modules import GenomeNet
from .data import dense_rows

__all__ = [
    "CHUNKING_TOLERANCE",
    "PREDICT_MEMORY_BYTES",
    "SINGLE_THREAD_BYTES",
    "NeuralMember",
    "activation_bytes_per_row",
    "predict_module",
]

#: Working memory, in bytes, that the activations of one network's prediction may use:
#: rows are predicted in chunks of ``PREDICT_MEMORY_BYTES // activation_bytes_per_row``.
#: 64 MiB, not 256: predicting the 225,000 training rows of a 300,000-row table (the refit
#: check) raised a 120 s search's peak memory by 0.31 GiB, and smaller chunks are faster
#: too (2 cores, best of 3: an MLP of 256-256 on 225,000 x 156 in 0.24 s against 0.33 s, a
#: 5-conv CNN on 2,000 28x28 images in 0.43 s against 0.52 s).
PREDICT_MEMORY_BYTES = 64 * 2**20
#: Largest change to a predicted probability (or standardised regression value) that
#: predicting rows in other chunks may make: float32 kernels choose their algorithm,
#: and with it the rounding, by the number of rows.
CHUNKING_TOLERANCE = 1e-5


def activation_bytes_per_row(module: nn.Module, probe: torch.Tensor) -> int:
    """Peak bytes of working memory per row when ``module`` runs, from a dry run on ``probe``.

    Forward hooks record every layer's input and output. The peak is bounded by the
    largest step (a leaf layer's input, output and, for a convolution, the unfolded
    input some kernels build) plus the largest tensor a containing block may hold
    meanwhile (the chunk itself, or the input a residual block adds back).

    Parameters
    ----------
    module : torch.nn.Module
        In eval mode.
    probe : torch.Tensor of shape (n_rows, n_features)
        A few rows in the dtype and on the device of the computation.

    Returns
    -------
    n_bytes : int

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 100), nn.ReLU(), nn.Linear(100, 2))
    >>> activation_bytes_per_row(net, torch.zeros(2, 4))  # 2 x 400 (ReLU) + 16 (input)
    816
    """
    largest_step = largest_held = 0

    def record(layer: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        nonlocal largest_step, largest_held
        in_bytes = sum(x.nbytes for x in inputs if isinstance(x, torch.Tensor))
        if next(layer.children(), None) is not None:  # a block: its input stays alive
            largest_held = max(largest_held, in_bytes)
        else:
            step = in_bytes + output.nbytes
            if isinstance(layer, nn.Conv1d | nn.Conv2d):  # im2col: a column per channel x tap
                taps = math.prod(layer.kernel_size) * layer.in_channels // layer.groups
                step += output.nbytes // layer.out_channels * taps
            largest_step = max(largest_step, step)

    handles = [layer.register_forward_hook(record) for layer in module.modules()]
    try:
        with torch.inference_mode():
            module(probe)
    finally:
        for handle in handles:
            handle.remove()
    return -(-(largest_step + largest_held) // len(probe))


#: Batches whose activations take at most this many bytes are predicted on one torch
#: thread: for little work the threads' hand-over costs more than it saves, and with
#: another process on a core the wait for the descheduled thread made one row of an MLP
#: take 30 ms instead of 1 ms (2 cores). Larger work (a wide CNN's row) keeps every thread.
SINGLE_THREAD_BYTES = 2**20
_THREADS = threading.Lock()


@contextmanager
def _threads_for(n_bytes: int) -> Iterator[None]:
    """One torch thread while predicting a batch whose activations take ``n_bytes``, if
    that is little (restored after; concurrent callers take turns, so none restores
    another's setting)."""
    if n_bytes > SINGLE_THREAD_BYTES or torch.get_num_threads() == 1:
        yield
        return
    with _THREADS:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def _chunk_rows(bytes_per_row: int) -> int:
    return max(1, PREDICT_MEMORY_BYTES // max(bytes_per_row, 1))


def _predict_chunks(
    module: nn.Module,
    X: np.ndarray,
    *,
    task: str,
    dtype: torch.dtype,
    device: str,
    bytes_per_row: int,
) -> np.ndarray:
    """Outputs of the eval-mode ``module`` on ``X``, float64, in chunks whose activations
    (``bytes_per_row`` each row) fit in :data:`PREDICT_MEMORY_BYTES`."""
    result = np.empty((0, 1))
    n_rows = X.shape[0]
    chunk_rows = _chunk_rows(bytes_per_row)
    with torch.inference_mode(), _threads_for(bytes_per_row * min(n_rows, chunk_rows)):
        for start in range(0, n_rows, chunk_rows):
            rows = dense_rows(X[start : start + chunk_rows])
            chunk = torch.tensor(rows, dtype=dtype, device=device)
            out = module(chunk).double()
            if task == "classification":
                out = torch.softmax(out, dim=1)
            if start == 0:
                result = np.empty((n_rows, out.shape[1]))
            result[start : start + len(chunk)] = out.cpu().numpy()
    return result if task == "classification" else result[:, 0]


def predict_module(
    module: nn.Module, X: np.ndarray, *, task: str, dtype: torch.dtype, device: str = "cpu"
) -> np.ndarray:
    """Run ``module`` in eval mode on ``X``; probabilities or raw values, float64.

    Rows go through in chunks whose activations fit in :data:`PREDICT_MEMORY_BYTES`,
    measured by :func:`activation_bytes_per_row` on the first row. The softmax is taken
    in float64; in float32, chunking changes outputs by at most
    :data:`CHUNKING_TOLERANCE`.

    Parameters
    ----------
    module : torch.nn.Module
        Put in eval mode for the call, then back in its former mode.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        A sparse matrix is densified one chunk at a time.
    task : {"classification", "regression"}
        Class probabilities ``(n_samples, n_classes)`` or values ``(n_samples,)``.
    dtype : torch.dtype
        Dtype of the computation.
    device : str, default="cpu"

    Returns
    -------
    pred : ndarray of float64

    Examples
    --------
    >>> net = nn.Linear(3, 2)
    >>> predict_module(net, np.zeros((5, 3)), task="classification", dtype=torch.float32).shape
    (5, 2)
    """
    was_training = module.training
    module.eval()
    try:
        bytes_per_row = 0
        if X.shape[0] > 1:
            probe = torch.tensor(dense_rows(X[:1]), dtype=dtype, device=device)
            bytes_per_row = activation_bytes_per_row(module, probe)
        return _predict_chunks(
            module, X, task=task, dtype=dtype, device=device, bytes_per_row=bytes_per_row
        )
    finally:
        module.train(was_training)


class _Serving(NamedTuple):
    """A member's module, built once, and its activations' bytes per row."""

    module: GenomeNet
    bytes_per_row: int


@dataclass(frozen=True, eq=False)
class NeuralMember:
    """A trained :class:`GenomeNet`, stored as its genome and CPU numpy weights.

    It pickles without torch objects, so a model trained on a GPU predicts on a
    CPU-only machine. The module is built on the first ``predict`` (after unpickling
    too) and kept for the next ones, outside the pickled state. Predictions are
    computed in float32 on chunks of rows whose activations fit in
    :data:`PREDICT_MEMORY_BYTES`; the softmax in float64. Predicting the rows in other
    chunks (one by one, say) changes outputs by at most :data:`CHUNKING_TOLERANCE`.

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
        ``(C, H, W)`` when the input rows are flattened images, ``(C, L)`` when they are
        flattened sequences.
    """

    genome: Genome
    n_features: int
    n_outputs: int
    task: str
    weights: dict[str, np.ndarray] = field(repr=False)
    target_mean: float = 0.0
    target_scale: float = 1.0
    image_shape: tuple[int, ...] | None = None

    @classmethod
    def from_module(cls, module: nn.Module, **kwargs: Any) -> NeuralMember:
        """Copy a trained module's weights to CPU numpy arrays."""
        weights = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
        return cls(weights=weights, **kwargs)

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters (buffers excluded)."""
        buffers = ("running_mean", "running_var", "num_batches_tracked")
        return sum(v.size for k, v in self.weights.items() if not k.endswith(buffers))

    def to_module(self, dtype: torch.dtype = torch.float32) -> GenomeNet:
        """Build the module on CPU, with copies of the weights (no random numbers drawn)."""
        with torch.device("meta"):
            module = GenomeNet(self.genome, self.n_features, self.n_outputs, self.image_shape)
        state = {
            k: torch.tensor(v, dtype=dtype if v.dtype.kind == "f" else None)
            for k, v in self.weights.items()
        }
        module.load_state_dict(state, assign=True)
        return module

    def _serving(self) -> _Serving:
        """The module in eval mode and its chunk size, built on first use."""
        serving = self.__dict__.get("_serving_cache")
        if serving is None:
            module = self.to_module().eval()
            if self.image_shape is not None:  # oneDNN's convolutions run faster on NHWC
                module = module.to(memory_format=torch.channels_last)
            bytes_per_row = activation_bytes_per_row(module, torch.zeros(1, self.n_features))
            serving = _Serving(module, bytes_per_row)
            # Assigned whole once built: threads predicting at once see none or all of it.
            object.__setattr__(self, "_serving_cache", serving)
        return serving

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_serving_cache", None)
        return state

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` or target values ``(n,)``, float64."""
        module, bytes_per_row = self._serving()
        out = _predict_chunks(
            module,
            X,
            task=self.task,
            dtype=torch.float32,
            device="cpu",
            bytes_per_row=bytes_per_row,
        )
        if self.task == "regression":
            out = out * self.target_scale + self.target_mean
        return out
