"""Training throughput of sknas's skorch path against a hand-written PyTorch loop.

What is measured
----------------
One fixed MLP (50 -> 256 -> 256 -> 2, ReLU, no dropout, no normalisation) is trained
on seeded synthetic data (``--rows`` x 50 float32, two classes) for 5 epochs with
Adam (lr 1e-3, fused: one kernel for all parameters, as sknas trains on CPU and CUDA),
batch size 128 and a new shuffle every epoch, in five ways:

(a) ``hand loop``: plain PyTorch. A ``GenomeNet``, a ``torch.randperm`` permutation
    per epoch, batches indexed from pre-made tensors, forward / ``CrossEntropyLoss`` /
    backward / ``step`` / ``zero_grad`` and ``loss.item()`` per batch.
(b) ``sknas net``: the skorch ``NeuralNet`` that sknas builds for a trial
    (:func:`sknas.evaluation.nets.make_net`, i.e. ``TensorBatchIterator``) with the
    callbacks sknas trains with (``FiniteLossGuard``, ``TrainingDeadline(None)``),
    ``train_split=None`` so that only training runs: ``net.fit(train_dataset, None)``.
(c) ``skorch default``: a plain skorch ``NeuralNet`` with its default
    ``DataLoader`` on numpy arrays, ``train_split=None`` (context only).
(d) ``sknas trial``: a whole trial, ``evaluator(candidate)`` with one ``Evaluator``
    (as a search keeps one) on a 20 % holdout (per-epoch validation loss,
    early-stopping bookkeeping, validation prediction and scoring), against
(e) ``hand trial``: the hand loop on the same split plus the equivalent extra work:
    a per-epoch validation pass in batches of 128, a copy of the best weights,
    restoring them, predicting validation probabilities and scoring them.

(a)-(c) train on all rows; (d)/(e) train on the 80 % training part of the split.
With ``--device cuda`` every variant trains on the GPU, the data already there (as
sknas keeps it), and the hand loops use the same mixed precision as sknas
(bfloat16 autocast where the GPU supports it); times then end with a
``torch.cuda.synchronize()``.
All variants run in this one process with torch's default thread count; each is
warmed up once (one epoch), then timed ``--repeats`` times with
``time.perf_counter``, the variants interleaved so that drifting machine load hits
all of them alike (and ``gc.collect()`` before each). The table shows median and
minimum seconds and three ratios to the baseline ((a) for (b)/(c), (e) for (d)):
of the medians (the headline figure), the median of the per-round ratios, and of
the minima.

Target: (b)/(a) <= 1.15, the ratio of the medians.

Run it with::

    python benchmarks/training_throughput.py [--repeats 5] [--rows 20000] [--device cuda]

Run it on an otherwise idle machine: with torch using every core, any competing
process slows the runs down by large, uneven factors (the script prints the load
average, and a note when the hand loop's own time varies by more than 20 % between
rounds).
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skorch
import torch
from skorch import NeuralNet
from torch.utils.data import TensorDataset

# Benchmark this checkout's sknas, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sknas.evaluation.callbacks import FiniteLossGuard, TrainingDeadline  # noqa: E402
from sknas.evaluation.data import DataSplit, make_split  # noqa: E402
from sknas.evaluation.evaluator import Evaluator  # noqa: E402
from sknas.evaluation.nets import make_net, training_precision  # noqa: E402
from sknas.scoring import PredictionScorer, get_prediction_scorer  # noqa: E402
from sknas.space.genome import Genome, LayerGene  # noqa: E402
from sknas.space.modules import GenomeNet  # noqa: E402
from sknas.trial import Candidate, TrialState  # noqa: E402

N_FEATURES = 50
N_CLASSES = 2
EPOCHS = 5
BATCH_SIZE = 128
LR = 1e-3
SEED = 0
TARGET = 1.15
GENOME = Genome("mlp", (LayerGene("dense", 256), LayerGene("dense", 256)))


def make_data(n_rows: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Seeded float32 features and a two-class target from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, N_FEATURES)).astype(np.float32)
    logits = X @ rng.standard_normal(N_FEATURES) + 0.5 * rng.standard_normal(n_rows)
    return X, (logits > 0).astype(np.int64)


def make_candidate(epochs: int) -> Candidate:
    params = {
        "lr": LR,
        "batch_size": BATCH_SIZE,
        "optimizer": "adam",
        "optimizer__weight_decay": 0.0,
        "max_epochs": epochs,
    }
    return Candidate(0, "mlp", params, GENOME, seed=SEED, budget_epochs=epochs, proposer="bench")


def make_module(device: str) -> GenomeNet:
    return GenomeNet(GENOME, n_features=N_FEATURES, n_outputs=N_CLASSES).to(device)


# --------------------------------------------------------------------------- (a) hand loop
def hand_train(
    module: torch.nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor
) -> float:
    """One training epoch; returns the summed batch losses."""
    criterion = torch.nn.CrossEntropyLoss()
    module.train()
    order = torch.randperm(len(X), device=X.device)
    autocast_dtype = training_precision(str(X.device), convolutional=False)["autocast_dtype"]
    total = 0.0
    for start in range(0, len(X), BATCH_SIZE):
        index = order[start : start + BATCH_SIZE]
        with torch.autocast(
            X.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None
        ):
            loss = criterion(module(X[index]), y[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        # skorch records ``loss.item()`` after every batch (a host sync on a GPU), so
        # the reference loop does the same to compare like with like.
        total += loss.item()
    return total


def run_hand_loop(X: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    torch.manual_seed(SEED)
    module = make_module(str(X.device))
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, weight_decay=0.0, fused=True)
    for _ in range(epochs):
        hand_train(module, optimizer, X, y)


# --------------------------------------------------------------------------- (b) sknas net
def run_sknas_net(dataset: TensorDataset, epochs: int, device: str) -> None:
    torch.manual_seed(SEED)
    net = make_net(
        make_candidate(epochs),
        task="classification",
        n_features=N_FEATURES,
        n_outputs=N_CLASSES,
        valid_dataset=dataset,  # unused: train_split=None below
        callbacks=[("finite_loss", FiniteLossGuard()), ("deadline", TrainingDeadline(None))],
        device=device,
    )
    net.set_params(train_split=None)
    net.fit(dataset, None)


# ----------------------------------------------------------------------- (c) skorch default
def run_skorch_default(X: np.ndarray, y: np.ndarray, epochs: int, device: str) -> None:
    torch.manual_seed(SEED)
    net = NeuralNet(
        module=GenomeNet,
        module__genome=GENOME,
        module__n_features=N_FEATURES,
        module__n_outputs=N_CLASSES,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        optimizer__fused=True,
        lr=LR,
        batch_size=BATCH_SIZE,
        max_epochs=epochs,
        iterator_train__shuffle=True,
        train_split=None,
        device=device,
        verbose=0,
    )
    net.fit(X, y)


# --------------------------------------------------------------------------- (d) sknas trial
def run_sknas_trial(evaluator: Evaluator, epochs: int) -> None:
    result = evaluator(make_candidate(epochs))
    if result.state is not TrialState.COMPLETE or result.n_epochs != epochs:
        raise RuntimeError(f"the sknas trial did not train {epochs} epochs: {result}")


# ---------------------------------------------------------------------------- (e) hand trial
def run_hand_trial(split: DataSplit, scorer: PredictionScorer, epochs: int, device: str) -> float:
    """The hand loop plus what a trial adds: validation, best weights, prediction, score."""
    X, y, X_valid, y_valid = (
        torch.from_numpy(array).to(device)
        for array in (split.X_train, split.y_train, split.X_valid, split.y_valid)
    )
    criterion = torch.nn.CrossEntropyLoss()
    torch.manual_seed(SEED)
    module = make_module(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, weight_decay=0.0, fused=True)
    best_loss, best_state = float("inf"), None
    for _ in range(epochs):
        hand_train(module, optimizer, X, y)
        module.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(X_valid), BATCH_SIZE):
                xb, yb = X_valid[start : start + BATCH_SIZE], y_valid[start : start + BATCH_SIZE]
                total += criterion(module(xb), yb).item() * len(xb)
        if total / len(X_valid) < best_loss:
            best_loss, best_state = total / len(X_valid), copy.deepcopy(module.state_dict())
    module.load_state_dict(best_state)
    with torch.inference_mode():
        proba = torch.softmax(module(X_valid).double(), dim=1)
    return scorer(split.y_valid_true, proba.cpu().numpy())


# ------------------------------------------------------------------------------------ driver
def time_variants(
    variants: dict[str, Callable[[int], object]], repeats: int, device: str = "cpu"
) -> dict[str, list[float]]:
    """Warm every variant up (one epoch), then time them interleaved ``repeats`` times.

    Every other round runs the variants in reverse order, so that no variant always
    follows the same one.
    """
    for run in variants.values():
        run(1)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeats):
        order = list(variants.items())
        for name, run in order[::-1] if round_ % 2 else order:
            gc.collect()
            start = time.perf_counter()
            run(EPOCHS)
            if device.startswith("cuda"):
                torch.cuda.synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of synthetic data")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    X, y = make_data(args.rows)
    device = args.device
    X_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    dataset = TensorDataset(X_t, y_t)
    split = make_split(X, y, task="classification", validation_fraction=0.2, seed=SEED)
    scorer = get_prediction_scorer(None, "classification")
    evaluator = Evaluator(split, scorer, device=device)

    variants: dict[str, Callable[[int], object]] = {
        "(a) hand loop": lambda epochs: run_hand_loop(X_t, y_t, epochs),
        "(b) sknas net": lambda epochs: run_sknas_net(dataset, epochs, device),
        "(c) skorch default": lambda epochs: run_skorch_default(X, y, epochs, device),
        "(d) sknas trial": lambda epochs: run_sknas_trial(evaluator, epochs),
        "(e) hand trial": lambda epochs: run_hand_trial(split, scorer, epochs, device),
    }
    load_before = os.getloadavg()[0]
    times = time_variants(variants, args.repeats, device)
    median = {name: statistics.median(values) for name, values in times.items()}
    baseline = {name: "(e) hand trial" if name[1] in "de" else "(a) hand loop" for name in times}

    def paired(name: str) -> float:
        """Median over rounds of the ratio to the baseline timed right next to it."""
        pairs = zip(times[name], times[baseline[name]], strict=True)
        return statistics.median(t / base for t, base in pairs)

    print(
        f"torch {torch.__version__}, skorch {skorch.__version__}, python "
        f"{platform.python_version()}, device {device}, torch threads {torch.get_num_threads()} "
        f"(interop {torch.get_num_interop_threads()}), {os.cpu_count()} CPUs, "
        f"1-min load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"MLP 50-256-256-{N_CLASSES}, {args.rows} x {N_FEATURES} float32, {EPOCHS} epochs, "
        f"batch {BATCH_SIZE}, Adam lr {LR:g}; {args.repeats} timed rounds after a warm-up"
    )
    print()
    header = f"{'variant':<20} {'median s':>9} {'min s':>7} {'ratio':>6} {'paired':>7} {'mins':>5}"
    print(header + "  baseline")
    for name, values in times.items():
        base = baseline[name]
        print(
            f"{name:<20} {median[name]:9.3f} {min(values):7.3f} "
            f"{median[name] / median[base]:6.2f} {paired(name):7.2f} "
            f"{min(values) / min(times[base]):5.2f}  {base}"
        )
    print()
    print(
        "ratio: of the medians; paired: median over rounds of the per-round ratio; "
        "mins: of the minima"
    )
    train_ratio = median["(b) sknas net"] / median["(a) hand loop"]
    trial_ratio = median["(d) sknas trial"] / median["(e) hand trial"]
    verdict = "met" if train_ratio <= TARGET else "NOT met"
    print(
        f"training ratio (b)/(a) = {train_ratio:.3f} (paired {paired('(b) sknas net'):.3f}); "
        f"target <= {TARGET}: {verdict}"
    )
    print(f"trial ratio    (d)/(e) = {trial_ratio:.3f} (paired {paired('(d) sknas trial'):.3f})")
    rounds = zip(times["(b) sknas net"], times["(a) hand loop"], strict=True)
    print("(b)/(a) per round: " + " ".join(f"{b / a:.2f}" for b, a in rounds))
    hand = times["(a) hand loop"]
    if max(hand) > 1.2 * min(hand):
        print(
            f"note: the hand loop's own time varied {max(hand) / min(hand):.2f}x between rounds; "
            "the machine is noisy (other load, shared host), so single ratios carry that "
            "much uncertainty: use more --repeats, or an idle machine."
        )
    return {"train_ratio": train_ratio, "trial_ratio": trial_ratio}


if __name__ == "__main__":
    main()
