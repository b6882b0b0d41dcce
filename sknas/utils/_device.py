"""Resolve the ``device`` parameter."""

from __future__ import annotations

# scikit-learn's OpenMP code loads before torch (see sknas.utils._native_threads).
from . import _native_threads  # noqa: F401

# isort: split
import torch

__all__ = ["resolve_device"]


def resolve_device(device: str) -> str:
    """Map ``"auto"`` to ``"cuda"`` when a GPU is present, else ``"cpu"``; check the others.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "use device='auto' or 'cpu'."
        )
    return device
