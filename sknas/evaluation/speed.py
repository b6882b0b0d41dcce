"""How fast this device trains a network: a few optimizer steps, timed.

The cost model (:meth:`sknas.cost_model.CostModel.measure_networks`) prices networks
from constants measured on one machine; on another the first network trial was
3.5-4.8 times its prediction (the 2-core AMD machine against the 2-core Xeon the
constants came from) until it had finished and calibrated the model. A tabular search
times two small dense networks first (well under a second on 2 cores) and prices its
networks from them.
"""

from __future__ import annotations

import functools
import time

import torch

from ..space import Genome
from ..space.modules import GenomeNet
from .nets import FUSED_OPTIMIZER_DEVICES

__all__ = ["training_seconds"]

#: Optimizer steps run before the timed ones (first calls allocate and warm caches).
WARMUP_STEPS = 3


def training_seconds(
    genome: Genome, n_features: int, n_outputs: int, batch_size: int, steps: int, device: str
) -> float:
    """Seconds ``steps`` training steps of ``genome``'s network take on ``device``, with
    torch's thread count of the moment (a search's trials run with it; on several workers
    each trains with fewer, and the first trial's time calibrates the difference).

    Each step is what a trial's is: a forward pass on ``batch_size`` random rows, a
    loss, the backward pass and an AdamW step (fused where trials fuse it). Results are
    cached per process and thread count: repeated fits (cross-validation, a grid search)
    time once.

    Examples
    --------
    >>> from sknas.space import LayerGene
    >>> seconds = training_seconds(Genome("mlp", (LayerGene("dense", 16),)), 8, 2, 32, 5, "cpu")
    >>> 0 < seconds < 5
    True
    """
    return _timed(genome, n_features, n_outputs, batch_size, steps, device, torch.get_num_threads())


@functools.lru_cache(maxsize=32)
def _timed(
    genome: Genome,
    n_features: int,
    n_outputs: int,
    batch_size: int,
    steps: int,
    device: str,
    threads: int,
) -> float:
    """:func:`training_seconds`, cached by everything it depends on (``threads`` only
    keys the cache). The caller's global torch random state is left as it was."""
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = GenomeNet(genome, n_features, n_outputs).to(device)
    fused = torch.device(device).type in FUSED_OPTIMIZER_DEVICES
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, fused=fused)
    X = torch.randn(batch_size, n_features, generator=generator).to(device)
    y = torch.randn(batch_size, n_outputs, generator=generator).to(device)

    def step() -> None:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(X), y).backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return time.perf_counter() - started


def _synchronize(device: str) -> None:
    """Wait for ``device``'s queued work (CUDA runs asynchronously)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
