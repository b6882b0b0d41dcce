"""Weight inheritance: a mutated child network starts from its parent's trained weights.

The layers of parent and child genomes are aligned by their common prefix and suffix
of layer kinds (a mutation changes one place in the genome). Every aligned layer, and
the output layer, copies the parent's tensors where shapes overlap; a layer whose
shape changed keeps the parent's values in the overlapping part. Where the mutation
permits, the child computes what the parent did:

* widening a layer: the inputs that the wider layer adds to the next layer start at
  zero, so the new units change nothing until they learn;
* adding a residual block (dense or convolutional): its last layer starts at zero, so
  the block is the identity.

Everything else (a new plain layer, a changed kernel size) is freshly initialised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..space import Genome
from ..space.modules import GenomeNet

__all__ = ["inherit_weights"]


def inherit_weights(
    child: GenomeNet,
    child_genome: Genome,
    parent_genome: Genome,
    parent_weights: Mapping[str, np.ndarray],
) -> float:
    """Copy ``parent_weights`` into ``child`` (in place) wherever shapes allow.

    Parameters
    ----------
    child : GenomeNet
        The freshly initialised child network.
    child_genome, parent_genome : Genome
    parent_weights : mapping of str to ndarray
        The parent's ``state_dict`` as numpy arrays.

    Returns
    -------
    float
        Share of the child's parameters (values, not tensors) taken from the parent.
    """
    child_layers = GenomeNet.layer_positions(child_genome.layers)
    parent_layers = GenomeNet.layer_positions(parent_genome.layers)
    aligned = _aligned(parent_genome, child_genome)
    prefixes = {"head.": "head."}
    for p, c in aligned:
        prefixes[f"body.{child_layers[c]}."] = f"body.{parent_layers[p]}."
    parameters = {name for name, _ in child.named_parameters()}
    inherited = 0
    with torch.no_grad():
        for name, tensor in child.state_dict().items():  # shares the module's storage
            prefix = next((k for k in prefixes if name.startswith(k)), None)
            source = None if prefix is None else prefixes[prefix] + name[len(prefix) :]
            if source not in parent_weights:
                continue
            parent = torch.from_numpy(parent_weights[source])
            if parent.ndim != tensor.ndim or parent.shape[2:] != tensor.shape[2:]:
                continue  # another kernel size
            shapes = zip(tensor.shape, parent.shape, strict=True)
            overlap = tuple(slice(0, min(a, b)) for a, b in shapes)
            tensor[overlap] = parent[overlap].to(tensor.device, tensor.dtype)
            if tensor.ndim >= 2 and tensor.shape[1] > parent.shape[1]:
                tensor[:, parent.shape[1] :] = 0  # inputs from new units of a widened layer
            if name in parameters:
                inherited += parent[overlap].numel()
        new_layers = set(range(len(child_genome.layers))) - {c for _, c in aligned}
        for c in sorted(new_layers):
            if child_genome.layers[c].kind.startswith("residual"):
                last = child.body[child_layers[c]].branch[-1]  # the block starts as identity
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
    total = sum(p.numel() for p in child.parameters())
    return inherited / total if total else 0.0


def _aligned(parent: Genome, child: Genome) -> list[tuple[int, int]]:
    """Pairs ``(parent index, child index)`` of layers matched by the longest common
    prefix, then suffix, of layer kinds."""
    p, c = [g.kind for g in parent.layers], [g.kind for g in child.layers]
    n = 0
    while n < min(len(p), len(c)) and p[n] == c[n]:
        n += 1
    m = 0
    while m < min(len(p), len(c)) - n and p[-1 - m] == c[-1 - m]:
        m += 1
    return [(i, i) for i in range(n)] + [(len(p) - 1 - k, len(c) - 1 - k) for k in range(m)]
