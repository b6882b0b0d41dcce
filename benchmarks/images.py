"""Image NAS against a strong hand-written CNN at the same wall budget (issue 17).

Two systems on the image sets of the registry (``datasets.IMAGE_SETS``: ``digits`` 8x8,
``digits28``, ``shapes32``, ``symbols28``, and the held-out ``patterns28``), each on the
set's fixed train/test split, each run in its own child process (so that its peak memory is
its own):

- ``sknas``: ``NASClassifier(time_budget=T, random_state=seed)``, defaults otherwise.
- ``hand``: the hand-written baseline below, plain PyTorch, trained for the same wall
  budget ``T``. It is the bar the search has to clear, not a straw man.

The hand CNN's recipe
---------------------
- **Network**: three blocks of (3x3 conv - batch norm - ReLU) x 2 then 2x2 max-pool, with
  32, 64 and 128 channels; global average pooling; dropout 0.1; one linear layer. 290k
  parameters for one input channel. Inputs standardised per channel with the training mean
  and standard deviation.
- **Training**: AdamW (lr 3e-3 at the peak, betas 0.9/0.99, weight decay 5e-2 on conv and
  linear weights only), a one-cycle schedule (linear warm-up from lr/25 over the first
  20 % of the steps, cosine decay to lr/1e4), cross-entropy with label smoothing 0.1,
  batch size 128 (per-step time was flat from 64 to 256 on this CPU; 128 gives more steps).
- **Augmentation**: a random shift of up to 2 pixels (random crops of the image padded with
  zeros; 1 pixel on images under 16 pixels, where 2 would move an 8x8 digit by a quarter),
  and horizontal flips only on sets where a mirror image keeps its class
  (``ImageSet.flips``: ``shapes32``; not digits, not ``patterns28`` whose 45 and 135 degree
  stripes swap).
- **Speed**: channels-last tensors and bfloat16 autocast where the CPU computes bfloat16 in
  hardware (AVX512-BF16 or AMX, as sknas's own check; on an AVX2-only CPU bfloat16 is
  emulated: 74 s an epoch of shapes32 against 3.5 s on a Xeon with AMX); on that Xeon,
  measured with one thread on 4,041 28x28 images, batch 128, the machine under load 6:
  float32 NCHW 17.5 s/epoch, float32 channels-last 15.8, bf16 NCHW 9.7, bf16
  channels-last 7.1 (softmax and averaging stay float32/float64).
- **Wall budget**: everything inside ``T`` (standardising, measuring, training). Seconds
  per epoch are measured first on 3 timed batches (after one warm-up batch; no optimizer
  step), and the one-cycle schedule is sized to the epochs that fit in 95 % of the
  remaining time, at most ``--max-epochs`` (60: past that the sets here gain nothing,
  so a small set like 8x8 digits stops early). After every epoch the plan is re-sized from
  the last epoch's time (the machine's load changes), and training stops when the next
  epoch would not fit.
- **Members**: ``--members 2`` trains two such networks (different seeds) for ``T / 2``
  each and averages their probabilities.

Rows are keyed by (commit, image set, seed, system) with the time budget, thread count and
members, and appended to ``benchmarks/results/images.jsonl``; a failed run is kept with its
reason. ``--resume`` skips keys already recorded without failure on the same code version.
Run it on an otherwise idle machine::

    python benchmarks/images.py [--sets digits digits28 shapes32 symbols28 patterns28] \\
        [--seeds 0 1 2] [--time-budget 120] [--systems hand sknas] [--threads N] \\
        [--members 1] [--resume] [--write-doc]

``--write-doc`` writes the table to the ``images`` section of ``doc/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import append_row, write_section  # noqa: E402
from datasets import IMAGE_SETS, split_image  # noqa: E402

from sknas.evaluation.nets import cpu_bf16_is_fast  # noqa: E402
from sknas.trial import SKIPPED  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "images.jsonl"
SYSTEMS = ("hand", "sknas")

#: The hand CNN's settings (see the module docstring).
RECIPE: dict[str, Any] = {
    "widths": (32, 64, 128),
    "dropout": 0.1,
    "lr": 3e-3,
    "weight_decay": 5e-2,
    "betas": (0.9, 0.99),
    "warmup": 0.2,
    "label_smoothing": 0.1,
    "batch_size": 128,
    "shift": 2,
    "max_epochs": 60,
    "bf16": cpu_bf16_is_fast(),
    "channels_last": True,
}


# -- the hand-written CNN ----------------------------------------------------------------


def build_cnn(in_channels: int, n_classes: int, widths: tuple[int, ...] = (32, 64, 128)) -> Any:
    """The hand CNN: (conv-BN-ReLU x2, max-pool) per width, global average pool, linear.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    n_classes : int
        Outputs (logits).
    widths : tuple of int, default=(32, 64, 128)
        Channels of each block.

    Returns
    -------
    torch.nn.Sequential
        The network, in training mode.
    """
    from torch import nn

    layers: list[nn.Module] = []
    channels = in_channels
    for width in widths:
        for _ in range(2):
            layers += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(RECIPE["dropout"]),
        nn.Linear(channels, n_classes),
    ]
    return nn.Sequential(*layers)


def _augment(batch: Any, shift: int, flips: bool, generator: Any) -> Any:
    """Random shifts of up to ``shift`` pixels (zero padding), and flips if allowed."""
    import torch

    n, channels, height, width = batch.shape
    padded = torch.nn.functional.pad(batch, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(height))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(width))[:, None, None, :]
    out = padded[
        torch.arange(n)[:, None, None, None],
        torch.arange(channels)[None, :, None, None],
        rows,
        cols,
    ]
    if flips:
        flip = torch.rand(n, generator=generator) < 0.5
        out[flip] = out[flip].flip(-1)
    return out


def _lr_factor(step: int, total: int) -> float:
    """One-cycle multiplier of the peak rate: linear warm-up, then cosine decay."""
    warm = max(1, int(RECIPE["warmup"] * total))
    if step < warm:
        return 1 / 25 + (1 - 1 / 25) * step / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * progress))


def train_hand_cnn(
    X: np.ndarray,
    y: np.ndarray,
    deadline: float,
    seed: int,
    *,
    flips: bool = False,
    max_epochs: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train one hand CNN until ``deadline`` (a ``time.monotonic()`` value).

    Parameters
    ----------
    X : ndarray of shape (n, C, H, W)
        Standardised float32 training images.
    y : ndarray of shape (n,)
        Labels ``0 .. k-1``.
    deadline : float
        When training must be over, on the ``time.monotonic`` clock.
    seed : int
        Seed of the weights, the batches and the augmentation.
    flips : bool, default=False
        Whether horizontal flips are allowed.
    max_epochs : int, optional
        At most this many epochs (``RECIPE["max_epochs"]`` by default).

    Returns
    -------
    model : torch.nn.Module
        The trained network, in evaluation mode.
    info : dict
        ``epochs``, ``planned_epochs`` (the first plan), ``seconds_per_epoch`` (measured
        mean) and ``measured_seconds_per_epoch`` (the estimate from the timed batches).
    """
    import torch

    torch.manual_seed(seed)  # in the benchmark's own child process: no caller's RNG to keep
    generator = torch.Generator().manual_seed(seed)
    max_epochs = max_epochs or RECIPE["max_epochs"]
    n = len(X)
    batch_size = min(RECIPE["batch_size"], n)
    steps_per_epoch = math.ceil(n / batch_size)
    memory = torch.channels_last if RECIPE["channels_last"] else torch.contiguous_format
    inputs = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    targets = torch.from_numpy(np.asarray(y, dtype=np.int64))
    model = build_cnn(X.shape[1], int(y.max()) + 1, RECIPE["widths"]).to(memory_format=memory)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": RECIPE["weight_decay"]},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=RECIPE["lr"],
        betas=RECIPE["betas"],
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=RECIPE["label_smoothing"])
    shift = RECIPE["shift"] if min(X.shape[2:]) >= 16 else 1

    def forward_backward(index: Any) -> Any:
        batch = _augment(inputs[index], shift, flips, generator).contiguous(memory_format=memory)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=RECIPE["bf16"]):
            loss = loss_fn(model(batch), targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    # measure seconds per epoch: one warm-up batch, three timed ones (no optimizer step)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    probe = torch.randperm(n, generator=generator)[:batch_size]
    forward_backward(probe)
    started = time.monotonic()
    for _ in range(3):
        forward_backward(probe)
    measured = (time.monotonic() - started) / 3 * steps_per_epoch
    model.load_state_dict(state)  # batch-norm statistics back to their start
    optimizer.zero_grad(set_to_none=True)

    def plan(done: int, seconds_per_epoch: float) -> int:
        fit = int(0.95 * (deadline - time.monotonic()) / max(seconds_per_epoch, 1e-6))
        return max(done + (1 if done == 0 else 0), min(max_epochs, done + fit))

    total_epochs = planned = plan(0, measured)
    epoch_times: list[float] = []
    step = 0
    epoch = 0
    model.train()
    while epoch < total_epochs:
        epoch_started = time.monotonic()
        order = torch.randperm(n, generator=generator)
        for first in range(0, n, batch_size):
            index = order[first : first + batch_size]
            if len(index) < 2:  # batch norm needs two rows
                continue
            factor = _lr_factor(step, total_epochs * steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = RECIPE["lr"] * factor
            loss = forward_backward(index)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss {loss.item()} at epoch {epoch}, step {step}")
            optimizer.step()
            step += 1
        epoch += 1
        epoch_times.append(time.monotonic() - epoch_started)
        total_epochs = plan(epoch, epoch_times[-1])
    model.eval()
    info = {
        "epochs": epoch,
        "planned_epochs": planned,
        "seconds_per_epoch": float(np.mean(epoch_times)),
        "measured_seconds_per_epoch": measured,
    }
    return model, info


def predict_proba(models: list[Any], X: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Mean class probabilities of ``models`` on standardised images ``X`` (float64).

    Parameters
    ----------
    models : list of torch.nn.Module
        Trained networks in evaluation mode.
    X : ndarray of shape (n, C, H, W)
        Standardised float32 images.
    chunk : int, default=512
        Images per forward pass.

    Returns
    -------
    ndarray of shape (n, n_classes)
        Probabilities averaged over the models.
    """
    import torch

    memory = torch.channels_last if RECIPE["channels_last"] else torch.contiguous_format
    total = None
    with torch.inference_mode():
        for model in models:
            parts = []
            for first in range(0, len(X), chunk):
                batch = torch.from_numpy(
                    np.ascontiguousarray(X[first : first + chunk], dtype=np.float32)
                )
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=RECIPE["bf16"]):
                    logits = model(batch.contiguous(memory_format=memory))
                parts.append(torch.softmax(logits.double(), dim=1).numpy())
            proba = np.concatenate(parts)
            total = proba if total is None else total + proba
    return total / len(models)


def fit_hand(
    X_train: np.ndarray,
    y_train: np.ndarray,
    time_budget: float,
    seed: int,
    *,
    flips: bool = False,
    members: int = 1,
) -> tuple[Any, dict[str, Any]]:
    """Fit the hand baseline within ``time_budget`` seconds.

    Parameters
    ----------
    X_train : ndarray of shape (n, C, H, W)
        Training images.
    y_train : ndarray of shape (n,)
        Integer labels.
    time_budget : float
        Wall seconds for everything (standardising, measuring, training).
    seed : int
        Seed of the first member (member ``k`` uses ``seed + 1000 k``).
    flips : bool, default=False
        Whether horizontal flips are allowed.
    members : int, default=1
        Networks trained one after another, ``time_budget / members`` each, averaged.

    Returns
    -------
    predict : callable
        ``predict(X) -> labels`` on raw images.
    info : dict
        ``members`` and the per-member ``epochs``, ``seconds_per_epoch`` and
        ``measured_seconds_per_epoch``.
    """
    started = time.monotonic()
    classes, encoded = np.unique(y_train, return_inverse=True)
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    standardised = ((X_train - mean) / std).astype(np.float32)
    models, infos = [], []
    for k in range(members):
        deadline = started + time_budget * (k + 1) / members
        model, info = train_hand_cnn(standardised, encoded, deadline, seed + 1000 * k, flips=flips)
        models.append(model)
        infos.append(info)

    def predict(X: np.ndarray) -> np.ndarray:
        proba = predict_proba(models, ((X - mean) / std).astype(np.float32))
        return classes[proba.argmax(axis=1)]

    summary = {key: [info[key] for info in infos] for key in infos[0]}
    return predict, {"members": members, **summary}


# -- one run (in a child process) ---------------------------------------------------------


def run(system: str, name: str, seed: int, time_budget: float, members: int = 1) -> dict[str, Any]:
    """One fit of ``system`` on image set ``name``, in this process.

    Parameters
    ----------
    system : {"hand", "sknas"}
        The system to fit.
    name : str
        A key of ``datasets.IMAGE_SETS``.
    seed : int
        Seed of the fit (the split is fixed).
    time_budget : float
        Wall seconds for ``fit``.
    members : int, default=1
        Networks of the hand baseline.

    Returns
    -------
    dict
        Test accuracy, fit and predict seconds, peak resident memory, and per system: the
        hand CNN's epochs and seconds per epoch; sknas's trials (by state, and how many
        the cost model skipped), families in the leaderboard and in the ensemble.
    """
    import torch

    image_set = IMAGE_SETS[name]
    X_train, X_test, y_train, y_test = split_image(name)
    row: dict[str, Any] = {}
    started = time.monotonic()
    if system == "hand":
        predict, info = fit_hand(
            X_train, y_train, time_budget, seed, flips=image_set.flips, members=members
        )
        fit_seconds = time.monotonic() - started
        row.update(info)
    else:
        from sknas import NASClassifier

        clf = NASClassifier(time_budget=time_budget, random_state=seed)
        clf.fit(X_train, y_train)
        fit_seconds = time.monotonic() - started
        predict = clf.predict
        board = clf.leaderboard_
        family = board.set_index("trial_id")["family"]
        ensemble = clf.ensemble_
        in_ensemble: dict[str, float] = {}
        for weight, trial_id in zip(ensemble.weights_, ensemble.trial_ids_, strict=True):
            if weight > 0:
                key = str(family.get(trial_id, "?"))
                in_ensemble[key] = round(in_ensemble.get(key, 0.0) + float(weight), 4)
        row.update(
            {
                "n_trials": len(board),
                "trials_by_family": board["family"].value_counts().to_dict(),
                "states": board["state"].value_counts().to_dict(),
                # FAIL rows the cost model skipped near the stop, not errors:
                "skipped": int(board["error"].fillna("").str.startswith(SKIPPED).sum()),
                "best_family": str(board["family"].iloc[0]),
                "ensemble_weight_by_family": in_ensemble,
            }
        )
    predicted_at = time.monotonic()
    accuracy = float(np.mean(predict(X_test) == y_test))
    row.update(
        {
            "test_accuracy": accuracy,
            "fit_seconds": round(fit_seconds, 2),
            "predict_seconds": round(time.monotonic() - predicted_at, 2),
            "torch_threads": torch.get_num_threads(),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )
    return row


def _in_child(
    system: str, name: str, seed: int, time_budget: float, threads: int, members: int
) -> dict[str, Any]:
    """``run`` in a child process; a failure becomes ``{"error": reason}``."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    command = [sys.executable, __file__, "--child", system, name, str(seed), str(time_budget)]
    command.append(str(members))
    limit = 3 * time_budget + 300
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"error": f"no result after {limit:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def code_version() -> str:
    """The git commit, with a hash of uncommitted changes to ``sknas/`` and the benchmarks.

    Returns
    -------
    str
        ``<commit>`` or ``<commit>+dirty.<hash>``.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("rev-parse", "HEAD").strip() or "unknown"
    paths = ["sknas", "pyproject.toml", "benchmarks/images.py", "benchmarks/datasets.py"]
    diff = git("diff", "HEAD", "--", *paths)
    if not diff:
        return commit
    return f"{commit}+dirty.{hashlib.sha256(diff.encode()).hexdigest()[:10]}"


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


def report(rows: list[dict[str, Any]]) -> str:
    """Markdown: test accuracy per image set, seed and system, and the means.

    Parameters
    ----------
    rows : list of dict
        Result rows of this script.

    Returns
    -------
    str
        A per-run table, the mean accuracy by image set and system, and (where both
        systems ran) sknas's gap to the hand CNN paired by seed, with its standard error.
    """
    frame = pd.DataFrame(rows)
    if "test_accuracy" not in frame:
        frame["test_accuracy"] = np.nan
    columns = ["set", "seed", "system", "time_budget", "test_accuracy", "fit_seconds"]
    columns += [c for c in ["n_trials", "epochs", "peak_rss_mib", "load", "error"] if c in frame]
    lines = [frame[columns].to_markdown(index=False, floatfmt=".4f"), ""]
    means = frame.pivot_table(index="set", columns="system", values="test_accuracy", aggfunc="mean")
    lines += ["Mean test accuracy:", "", means.to_markdown(floatfmt=".4f"), ""]
    by_seed = frame.pivot_table(
        index=["set", "seed"], columns="system", values="test_accuracy", aggfunc="mean"
    )
    if {"sknas", "hand"} <= set(by_seed.columns):  # seed-to-seed noise is as large as gaps
        gaps = (by_seed["sknas"] - by_seed["hand"]).dropna().groupby(level="set")
        paired = pd.DataFrame(
            {"seeds": gaps.size(), "mean": gaps.mean(), "standard error": gaps.sem()}
        )
        lines += [
            "sknas minus the hand CNN, paired by seed:",
            "",
            paired.to_markdown(floatfmt=("", ".0f", ".4f", ".4f")),
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    """Command line: run the grid of (image set, seed, system) and append the rows."""
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        system, name, seed, budget, members = sys.argv[2:]
        print(json.dumps(run(system, name, int(seed), float(budget), int(members))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(IMAGE_SETS), choices=list(IMAGE_SETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per run (0: torch's default)"
    )
    parser.add_argument("--members", type=int, default=1, help="networks of the hand baseline")
    parser.add_argument("--resume", action="store_true", help="skip keys already recorded")
    parser.add_argument("--write-doc", action="store_true", help="update doc/benchmarks.md")
    args = parser.parse_args()
    RESULTS.parent.mkdir(exist_ok=True)
    version = code_version()
    done = set()
    if args.resume and RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            old = json.loads(line)
            if old.get("commit") == version and "error" not in old:
                done.add(
                    (
                        old["set"],
                        old["seed"],
                        old["system"],
                        old["time_budget"],
                        old.get("threads"),
                        old.get("members"),
                    )
                )
    rows = []
    for name in args.sets:
        for seed in args.seeds:
            for system in args.systems:
                members = args.members if system == "hand" else 1
                key = (name, seed, system, args.time_budget, args.threads, members)
                if key in done:
                    continue
                load = _load_average()
                result = _in_child(system, name, seed, args.time_budget, args.threads, members)
                row = {
                    "commit": version,
                    "set": name,
                    "seed": seed,
                    "system": system,
                    "time_budget": args.time_budget,
                    "threads": args.threads,
                    "members": members,
                    "held_out": IMAGE_SETS[name].held_out,
                    "load": load,
                    **result,
                }
                rows.append(row)
                append_row(RESULTS, row)
                shown = {k: v for k, v in result.items() if k not in {"torch_threads"}}
                print(f"{name} seed {seed} {system} (load {load}): {json.dumps(shown)}", flush=True)
    if rows:
        text = report(rows)
        print(text)
        if args.write_doc:
            write_section("images", "## Image sets: sknas against a hand-written CNN\n\n" + text)


if __name__ == "__main__":
    main()
