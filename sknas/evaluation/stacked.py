"""The fold networks of a bag, run together as one batched network.

A k-fold trial leaves k networks of one genome (:class:`~sknas.evaluation.crossval.BaggedMember`).
Predicting them one by one costs k times the fixed cost of a torch forward pass, which
dominates one-row predictions. :class:`StackedNet` stacks their weights along a leading
fold axis once and runs all k with one batched matrix product per layer
(``torch.baddbmm``), so a row crosses every fold network in one pass.

Only tabular networks (linear, batch/layer norm, activations, dropout, residual blocks)
are stacked; a network with convolutions keeps one call per fold. The batched kernels
round differently from one matrix product per fold: outputs differ from the folds'
own by at most :data:`STACKING_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..space.modules import GenomeNet, _Residual

__all__ = ["STACKING_TOLERANCE", "StackedNet", "stack_modules"]

#: Largest change to a predicted probability that running the fold networks stacked
#: instead of one by one may make (float32 kernels of another shape round differently:
#: about 1e-8 measured on one row, 1e-7 on a thousand). Standardised regression values
#: change by as much times their magnitude when it exceeds 1 (float32's relative rounding).
STACKING_TOLERANCE = 1e-6

_Op = Callable[[torch.Tensor], torch.Tensor]
_STATELESS = (nn.ReLU, nn.GELU, nn.SiLU, nn.Tanh)
_SKIPPED = (nn.Identity, nn.Dropout)  # dropout is off in eval mode


class StackedNet:
    """k eval-mode networks of one architecture, evaluated in one batched pass.

    Parameters
    ----------
    ops : list of callables
        Batched layers, each mapping ``(k, n, width_in)`` to ``(k, n, width_out)``.
    n_folds : int
        ``k``, the number of stacked networks.

    Examples
    --------
    >>> nets = [nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)) for _ in range(3)]
    >>> stacked = stack_modules(nets)
    >>> stacked(torch.zeros(5, 3)).shape
    torch.Size([3, 5, 2])
    """

    def __init__(self, ops: list[_Op], n_folds: int) -> None:
        self.ops = ops
        self.n_folds = n_folds

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Outputs ``(k, n, n_outputs)`` of the k networks on rows ``X`` ``(n, n_features)``."""
        out = X.expand(self.n_folds, *X.shape)
        for op in self.ops:
            out = op(out)
        return out


def stack_modules(modules: Sequence[nn.Module]) -> StackedNet | None:
    """The eval-mode ``modules`` (one architecture) as a :class:`StackedNet`, or None.

    None when a layer cannot be stacked (convolutions, pooling, group norm) or the
    networks differ in their layers: those keep one forward pass each.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        Networks with the same layers and shapes (a ``GenomeNet`` per fold of one trial,
        or any ``Sequential`` of the supported layers).

    Returns
    -------
    StackedNet or None
    """
    ops = _stack(list(modules))
    return None if ops is None else StackedNet(ops, len(modules))


def _stack(modules: list[nn.Module]) -> list[_Op] | None:
    """Batched ops doing what each of ``modules`` does, or None if one is unsupported."""
    first = modules[0]
    if any(type(module) is not type(first) for module in modules):
        return None
    if isinstance(first, nn.Sequential):
        if any(len(module) != len(first) for module in modules):
            return None
        ops: list[_Op] = []
        for children in zip(*(list(module) for module in modules), strict=True):
            child_ops = _stack(list(children))
            if child_ops is None:
                return None
            ops += child_ops
        return ops
    if isinstance(first, GenomeNet):
        if first.image_shape is not None:  # convolutions
            return None
        body = _stack([module.body for module in modules])
        head = _stack([module.head for module in modules])
        return None if body is None or head is None else body + head
    if isinstance(first, _Residual):
        branch = _stack([module.branch for module in modules])
        return None if branch is None else [_residual(branch)]
    if isinstance(first, nn.Linear):
        return [_linear(modules)]
    if isinstance(first, nn.BatchNorm1d):
        return [_batch_norm(modules)]
    if isinstance(first, nn.LayerNorm) and len(first.normalized_shape) == 1:
        return [_layer_norm(modules)]
    if isinstance(first, _STATELESS):
        return [first]
    if isinstance(first, _SKIPPED):
        return []
    return None


def _residual(branch: list[_Op]) -> _Op:
    def residual(x: torch.Tensor) -> torch.Tensor:
        out = x
        for op in branch:
            out = op(out)
        return x + out

    return residual


def _stacked(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.detach() for t in tensors])


def _linear(modules: Sequence[nn.Module]) -> _Op:
    weight = _stacked([m.weight.T for m in modules]).contiguous()  # (k, in, out)
    if modules[0].bias is None:
        return lambda x: torch.bmm(x, weight)
    bias = _stacked([m.bias for m in modules]).unsqueeze(1)  # (k, 1, out)
    return lambda x: torch.baddbmm(bias, x, weight)


def _batch_norm(modules: Sequence[nn.Module]) -> _Op:
    """Eval-mode batch norm: each fold's running statistics as one scale and shift."""
    scales, shifts = [], []
    for m in modules:
        scale = torch.rsqrt(m.running_var + m.eps)
        if m.weight is not None:
            scale = scale * m.weight.detach()
        shift = -m.running_mean * scale
        if m.bias is not None:
            shift = shift + m.bias.detach()
        scales.append(scale)
        shifts.append(shift)
    scale = torch.stack(scales).unsqueeze(1)
    shift = torch.stack(shifts).unsqueeze(1)
    return lambda x: torch.addcmul(shift, x, scale)


def _layer_norm(modules: Sequence[nn.Module]) -> _Op:
    shape, eps = modules[0].normalized_shape, modules[0].eps
    if modules[0].weight is None:
        return lambda x: F.layer_norm(x, shape, eps=eps)
    weight = _stacked([m.weight for m in modules]).unsqueeze(1)
    if modules[0].bias is None:
        return lambda x: F.layer_norm(x, shape, eps=eps) * weight
    bias = _stacked([m.bias for m in modules]).unsqueeze(1)
    return lambda x: torch.addcmul(bias, F.layer_norm(x, shape, eps=eps), weight)
