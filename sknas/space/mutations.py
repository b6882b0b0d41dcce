"""Mutations: one small change to a candidate's genome or training parameters.

Evolution applies exactly one mutation per child. Architecture mutations act on a
:class:`Genome`; parameter mutations perturb one training parameter inside its
:class:`~sknas.space.FamilySpace` dimension. A child that would not fit the family's
inputs (a convolution network pooling an image below one pixel) is never returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from .families import ARCH_PREFIX, FamilySpace
from .genome import ACTIVATIONS, DILATIONS, KERNELS, NORMS, SEQUENCE_KERNELS, Genome, LayerGene
from .params import Categorical, Float, Int

__all__ = ["MAX_LAYERS", "MAX_WIDTH", "MIN_WIDTH", "mutate"]

MAX_LAYERS = 8
_MAX_TRIES = 20
MIN_WIDTH = 8
MAX_WIDTH = 2048

Params = dict[str, Any]
Mutation = Callable[[Genome, Params, FamilySpace, np.random.Generator], "tuple[Genome, Params]"]


def _pick(rng: np.random.Generator, options: tuple | list) -> Any:
    return options[int(rng.integers(len(options)))]


def _with_layer(genome: Genome, index: int, layer: LayerGene) -> Genome:
    layers = list(genome.layers)
    layers[index] = layer
    return replace(genome, layers=tuple(layers))


def _mutable_index(genome: Genome, rng: np.random.Generator) -> int:
    """A layer to change; the stem of a residual network keeps its role."""
    first = 1 if genome.family == "resnet_mlp" and len(genome.layers) > 1 else 0
    return int(rng.integers(first, len(genome.layers)))


def _add_layer(genome, params, family, rng):
    """Insert a copy of a layer after it (a convolution's copy does not pool)."""
    index = int(rng.integers(len(genome.layers)))
    copy_of = genome.layers[index]
    layers = list(genome.layers)
    layers.insert(index + 1, replace(copy_of, pool=False))
    return replace(genome, layers=tuple(layers)), params


def _remove_layer(genome, params, family, rng):
    index = _mutable_index(genome, rng)
    layers = list(genome.layers)
    del layers[index]
    return replace(genome, layers=tuple(layers)), params


def _resize_layer(genome, params, family, rng):
    index = _mutable_index(genome, rng)
    layer = genome.layers[index]
    factor = _pick(rng, (0.5, 2.0))
    widest = _widest(layer, family)
    width = int(min(max(round(layer.width * factor), MIN_WIDTH), widest))
    if width == layer.width:
        width = int(min(max(round(layer.width / factor), MIN_WIDTH), widest))
    return _with_layer(genome, index, replace(layer, width=width)), params


def _widest(layer: LayerGene, family: Any) -> int:
    """The widest ``layer`` may grow: the family's bounded dense width (four times it for
    a residual block's hidden size, as ``hidden_factor`` allows), else :data:`MAX_WIDTH`."""
    width = getattr(family, "dimensions", {}).get(ARCH_PREFIX + "width")
    if width is None or layer.is_conv:
        return MAX_WIDTH
    return min(MAX_WIDTH, max(layer.width, width.high * (4 if layer.kind == "residual" else 1)))


def _conv_index(genome: Genome, rng: np.random.Generator) -> int:
    convs = [i for i, layer in enumerate(genome.layers) if layer.is_conv]
    return convs[int(rng.integers(len(convs)))]


def _change_choice(
    gene_field: str, choices: tuple, layer_index: Callable[[Genome, np.random.Generator], int]
) -> Mutation:
    """A mutation that gives one layer (from ``layer_index``) another of ``choices``."""

    def mutation(genome, params, family, rng):
        index = layer_index(genome, rng)
        layer = genome.layers[index]
        value = _pick(rng, [c for c in choices if c != getattr(layer, gene_field)])
        return _with_layer(genome, index, replace(layer, **{gene_field: value})), params

    mutation.__name__ = f"_change_{gene_field}"
    return mutation


_change_activation = _change_choice("activation", ACTIVATIONS, _mutable_index)
_change_norm = _change_choice("norm", NORMS, _mutable_index)
_change_dilation = _change_choice("dilation", DILATIONS, _conv_index)


def _on_sequences(family: Any) -> bool:
    """Whether ``family`` searches sequences ``(C, L)`` (1-d convolutions)."""
    shape = getattr(family, "image_shape", None)
    return shape is not None and len(shape) == 2


def _change_kernel(genome, params, family, rng):
    """Give a convolution another kernel size (of those images or sequences use)."""
    index = _conv_index(genome, rng)
    layer = genome.layers[index]
    choices = SEQUENCE_KERNELS if _on_sequences(family) else KERNELS
    kernel = _pick(rng, [k for k in choices if k != layer.kernel])
    return _with_layer(genome, index, replace(layer, kernel=kernel)), params


def _change_block(genome, params, family, rng):
    """Turn a sequence convolution into an inception block of its width, or back."""
    index = _conv_index(genome, rng)
    layer = genome.layers[index]
    kind = "conv" if layer.kind == "inception" else "inception"
    return _with_layer(genome, index, replace(layer, kind=kind)), params


def _change_dropout(genome, params, family, rng):
    index = _mutable_index(genome, rng)
    layer = genome.layers[index]
    steps = [round(layer.dropout + step, 2) for step in (-0.1, 0.1)]
    dropout = _pick(rng, [d for d in steps if 0.0 <= d <= 0.6] or [0.0])
    return _with_layer(genome, index, replace(layer, dropout=dropout)), params


_SKIP_TOGGLE = {
    "dense": "residual",
    "residual": "dense",
    "conv": "residual_conv",
    "residual_conv": "conv",
    "inception": "residual_conv",
}


def _toggle_skip(genome, params, family, rng):
    """Turn a layer (not the first) into a residual block of that hidden size, or back."""
    index = int(rng.integers(1, len(genome.layers)))
    layer = genome.layers[index]
    return _with_layer(genome, index, replace(layer, kind=_SKIP_TOGGLE[layer.kind])), params


def _toggle_pool(genome, params, family, rng):
    """Add or remove the pooling after a convolution."""
    index = _conv_index(genome, rng)
    layer = genome.layers[index]
    return _with_layer(genome, index, replace(layer, pool=not layer.pool)), params


def _perturb_param(genome, params, family, rng):
    """Move one training parameter a small step inside its dimension."""
    names = [n for n in params if n in family.dimensions]
    name = _pick(rng, names)
    dim = family.dimensions[name]
    value = params[name]
    if isinstance(dim, Categorical):
        index = dim.choices.index(value) if value in dim.choices else 0
        step = _pick(rng, (-1, 1))
        new = dim.choices[int(np.clip(index + step, 0, len(dim.choices) - 1))]
        if new == value:
            new = dim.choices[int(np.clip(index - step, 0, len(dim.choices) - 1))]
    elif isinstance(dim, Float) and dim.log:
        new = dim.clip(value * math.exp(rng.normal(0.0, 0.5)))
    elif isinstance(dim, Float):
        new = dim.clip(value + rng.normal(0.0, 0.1 * (dim.high - dim.low)))
    elif isinstance(dim, Int):
        spread = max(1.0, 0.2 * value) if dim.log else max(1.0, 0.1 * (dim.high - dim.low))
        new = dim.clip(value + _pick(rng, (-1, 1)) * spread)
    else:  # pragma: no cover - every Dimension type is handled above
        raise TypeError(f"Unknown dimension {dim!r}")
    return genome, params | {name: new}


def _applicable(genome: Genome, family: FamilySpace) -> list[Mutation]:
    mutations: list[Mutation] = [
        _resize_layer,
        _change_activation,
        _change_norm,
        _change_dropout,
        _perturb_param,
        _perturb_param,  # training parameters matter as much as the architecture
    ]
    if len(genome.layers) < MAX_LAYERS:
        mutations.append(_add_layer)
    if len(genome.layers) > (2 if genome.family == "resnet_mlp" else 1):
        mutations.append(_remove_layer)
    if len(genome.layers) > 1:
        mutations.append(_toggle_skip)
    if any(layer.is_conv for layer in genome.layers):
        mutations += [_change_kernel, _toggle_pool]
        if _on_sequences(family):
            mutations += [_change_dilation, _change_block]
    return mutations


def mutate(
    genome: Genome, params: Mapping[str, Any], family: FamilySpace, rng: np.random.Generator
) -> tuple[Genome, Params, str]:
    """Apply one random mutation.

    Parameters
    ----------
    genome : Genome
    params : mapping
        Training parameters (skorch paths).
    family : FamilySpace
        Bounds for parameter mutations.
    rng : numpy.random.Generator

    Returns
    -------
    genome, params, name
        The mutated genome and parameters, and the mutation's name.

    Examples
    --------
    >>> import numpy as np
    >>> from sknas.space import default_search_space
    >>> family = default_search_space("classification", max_epochs=10)["mlp"]
    >>> params, genome = family.decode(family.default_point())
    >>> child, child_params, name = mutate(genome, params, family, np.random.default_rng(0))
    >>> (child, child_params) != (genome, params)
    True
    """
    for _ in range(_MAX_TRIES):
        operation = _pick(rng, _applicable(genome, family))
        child, child_params = operation(genome, dict(params), family, rng)
        if family.accepts(child):
            break
    else:  # no architecture change fitted: change a training parameter instead
        operation = _perturb_param
        child, child_params = operation(genome, dict(params), family, rng)
    return child, child_params, operation.__name__.lstrip("_")
