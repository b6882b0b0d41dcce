"""Build the skorch net that trains one candidate."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.helper import predefined_split
from torch.utils.data import TensorDataset

from ..space.modules import GenomeNet
from ..trial import Candidate
from .augmentation import Augmentation
from .callbacks import LearningRateSchedule
from .data import TensorBatchIterator

__all__ = [
    "EPOCH_ROWS",
    "MIN_STEPS_PER_EPOCH",
    "OPTIMIZERS",
    "SearchNet",
    "batch_size_for",
    "cpu_bf16_is_fast",
    "make_net",
    "training_precision",
]

#: Searched optimizer names and their classes (SGD runs with Nesterov momentum 0.9).
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
#: Devices whose optimizers run fused (one kernel for all parameters): on this project's
#: CPU, an Adam step over a 64 x 50,000 first layer (a sparse text input) took 10.3 ms
#: one tensor at a time (PyTorch's default on CPU), 3.4 ms with ``foreach`` and 1.1 ms
#: fused; a one-epoch MLP trial on 30,000 such rows spent 52 of its 90 s in Adam.
FUSED_OPTIMIZER_DEVICES = ("cpu", "cuda")
#: Fewest optimizer steps an epoch takes where the rows allow batches of at least
#: :data:`MIN_BATCH_SIZE`. A batch as large as the data makes an epoch one step, and a
#: few steps at a high learning rate are a lottery: on wine (106 training rows) one
#: configuration at batch size 512 reached validation accuracy 0.41 to 1.0 over six
#: seeds, and retraining it for the same epochs fell from 0.97 to 0.59.
MIN_STEPS_PER_EPOCH = 8
MIN_BATCH_SIZE = 16
#: Rows a network trains on per epoch: on more training rows, every epoch is a fresh
#: random sample of this many, so an epoch (and successive halving's rungs, counted in
#: epochs) costs the same on a million rows as on twenty thousand, while the network
#: still sees every row over its epochs. On 225,000 rows, a full epoch of the portfolio's
#: first MLP took 5.7 s on 2 cores and one trial took 104 s of a 120 s budget.
EPOCH_ROWS = 20_000


def batch_size_for(batch_size: int, n_rows: int) -> int:
    """The searched ``batch_size``, capped so an epoch over ``n_rows`` rows takes at least
    :data:`MIN_STEPS_PER_EPOCH` optimizer steps (batches never below :data:`MIN_BATCH_SIZE`).

    Examples
    --------
    >>> batch_size_for(512, 106), batch_size_for(64, 106), batch_size_for(512, 100_000)
    (16, 16, 512)
    """
    return int(min(batch_size, max(MIN_BATCH_SIZE, n_rows // MIN_STEPS_PER_EPOCH)))


class SearchNet(NeuralNet):
    """skorch's ``NeuralNet`` with a leaner training step.

    skorch resets train mode and runs the optimizer through a closure on every batch;
    the searched optimizers need no closure and the mode only changes between the
    training and validation passes. This brings skorch's loop close to a hand-written
    one (see ``benchmarks/training_throughput.py``). Batches arrive on the device
    already (:class:`TensorBatchIterator`). The ``on_grad_computed`` hook is not called.

    A batch ``(X, y, weight)`` carries sample weights (scaled to mean one over the
    data); the criterion then has ``reduction="none"`` and the loss is the mean of
    the weighted per-row losses.

    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the training forward pass in
    mixed precision; weights, gradients, validation and prediction stay float32.
    ``channels_last=True`` stores the convolution weights in NHWC order (their values
    and the state dict's shapes are unchanged), which oneDNN's convolutions run faster.
    """

    def __init__(self, module, criterion, *, autocast_dtype=None, channels_last=False, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.autocast_dtype = autocast_dtype
        self.channels_last = channels_last

    def initialize_module(self):
        super().initialize_module()
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def train_step(self, batch, **fit_params):
        if not self.module_.training:
            self._set_training(True)
        self.optimizer_.zero_grad()
        Xi, yi, *weight = batch
        with torch.autocast(
            torch.device(self.device).type,
            dtype=self.autocast_dtype,
            enabled=self.autocast_dtype is not None,
        ):
            y_pred = self.module_(Xi)
            loss = self._batch_loss(y_pred, yi, weight)
        loss.backward()
        self.optimizer_.step()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi, *weight = batch
        with torch.no_grad():
            y_pred = self.module_(Xi)
            loss = self._batch_loss(y_pred, yi, weight)
        return {"loss": loss, "y_pred": y_pred}

    def _batch_loss(
        self, y_pred: torch.Tensor, y_true: torch.Tensor, weight: list[torch.Tensor]
    ) -> torch.Tensor:
        loss = self.criterion_(y_pred, y_true)
        if weight:
            loss = (loss.reshape(len(y_true), -1).mean(dim=1) * weight[0]).mean()
        return loss


def make_net(
    candidate: Candidate,
    *,
    task: str,
    n_features: int,
    n_outputs: int,
    valid_dataset: TensorDataset | None,
    callbacks: Sequence[tuple[str, Callback]],
    device: str = "cpu",
    weighted: bool = False,
    image_shape: tuple[int, int, int] | None = None,
    n_rows: int | None = None,
    train_epochs: int | None = None,
) -> SearchNet:
    """A ``skorch.NeuralNet`` for ``candidate``, validating on ``valid_dataset`` every epoch.

    With ``valid_dataset=None`` the net trains without validation (refitting).
    ``weighted=True`` when the datasets carry a third tensor of sample weights.
    ``image_shape`` is ``(C, H, W)`` when the rows are flattened images. The
    ``aug__*`` parameters become the training iterator's :class:`Augmentation`.
    ``n_rows``, the rows of the search's training part, caps the batch size
    (:func:`batch_size_for`); a refit on more rows uses the same batches. An epoch
    trains on at most :data:`EPOCH_ROWS` rows, drawn afresh each epoch.
    ``lr_schedule`` (default ``"cosine"``) becomes a :class:`LearningRateSchedule`
    over ``candidate.budget_epochs``; ``train_epochs`` (default: the same) stops the
    training sooner on that schedule, as a refit to a trial's best epoch does. The
    schedule shrinks to the epochs that fit before the net's deadlines
    (``LearningRateSchedule(follow_deadline=True)``) and the training ends with it: a
    CNN trial takes most of a short budget, and one cut at its peak learning rate was
    worth little; the first MLP on 180,000 rows, predicted at 20 s before any network
    had calibrated the cost model, took 57 s of a 120 s search.

    ``candidate.params`` are skorch parameter paths and go to the net unchanged,
    except ``optimizer`` (a name from :data:`OPTIMIZERS`) and ``max_epochs``
    (the trial trains ``candidate.budget_epochs``). Training runs in bfloat16 mixed
    precision (which, unlike float16, needs no loss scaling) on a CUDA device that
    supports it, and for image convolution networks on a CPU where it is fast
    (:func:`training_precision`).
    """
    params = dict(candidate.params)
    optimizer = OPTIMIZERS[params.pop("optimizer", "adamw")]
    params.pop("max_epochs", None)
    params.pop("class_weight", None)  # applied to the sample weights by the evaluator
    convolutional = any(layer.is_conv for layer in candidate.genome.layers)
    schedule = LearningRateSchedule(
        candidate.budget_epochs, params.pop("lr_schedule", "cosine"), follow_deadline=True
    )
    if n_rows is not None and "batch_size" in params:
        params["batch_size"] = batch_size_for(params["batch_size"], n_rows)
    n_classes = n_outputs if task == "classification" else 0
    augmentation = Augmentation.from_params(params, image_shape, n_classes)
    params = {k: v for k, v in params.items() if not k.startswith("aug__")}
    if weighted:
        params["criterion__reduction"] = "none"
    if optimizer is torch.optim.SGD:
        params |= {"optimizer__momentum": 0.9, "optimizer__nesterov": True}
    if torch.device(device).type in FUSED_OPTIMIZER_DEVICES:
        params["optimizer__fused"] = True
    criterion = torch.nn.CrossEntropyLoss if task == "classification" else torch.nn.MSELoss
    return SearchNet(
        module=GenomeNet,
        module__genome=candidate.genome,
        module__n_features=n_features,
        module__n_outputs=n_outputs,
        module__image_shape=image_shape,
        criterion=criterion,
        optimizer=optimizer,
        max_epochs=candidate.budget_epochs if train_epochs is None else train_epochs,
        iterator_train=TensorBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__augmentation=augmentation,
        iterator_train__rows_per_epoch=EPOCH_ROWS,
        iterator_valid=TensorBatchIterator,
        train_split=None if valid_dataset is None else predefined_split(valid_dataset),
        callbacks=[("lr_schedule", schedule), *callbacks],
        callbacks__print_log=None,
        device=device,
        verbose=0,
        **training_precision(device, convolutional=convolutional and len(image_shape or ()) == 3),
        **params,
    )


def cpu_bf16_is_fast() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX) through oneDNN.

    Elsewhere bfloat16 is emulated and no faster than float32.
    """
    native = any(
        getattr(torch.cpu, name, lambda: False)()
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )
    return native and torch.backends.mkldnn.is_available()


def training_precision(device: str, *, convolutional: bool) -> dict[str, object]:
    """``autocast_dtype`` and ``channels_last`` of :class:`SearchNet` on ``device``.

    bfloat16 autocast on CUDA devices that support it (every network, as before), and
    for convolution networks on CPUs where bfloat16 is native (:func:`cpu_bf16_is_fast`).
    Convolution networks keep their weights channels-last on every CPU, and on CUDA in
    bfloat16. Weights, gradients and the optimizer stay float32. Measured on this
    project's Xeon (AMX), one thread, batches of 128 28x28 images through the hand CNN of
    ``benchmarks/images.py``: float32 NCHW 286 ms a step, bfloat16 NCHW 148, bfloat16
    channels-last 107 (NHWC inputs alone gain nothing: the weights' layout decides). On a
    Xeon without bfloat16 (AVX-512, two threads), float32: NCHW 210-219 ms a step,
    channels-last 138-140 (1.5x; 3x32x32 images 1.6x, 8x8 1.3x); float32 trials had been
    NCHW, so the search trained the hand CNN at 6.0 s an epoch where the benchmark's own
    loop took 3.3-3.6 s. Tabular networks and 1-d convolution networks (sequences:
    ``make_net`` passes ``convolutional=False``) on a CPU stay float32: the default
    sequence network's 5-fold trial on GunPoint took 7.2 s in bfloat16 and 7.6 s in
    float32, but 73-90 s in bfloat16 once another network's 1-d convolutions had run in
    the process.
    """
    cuda = device.startswith("cuda")
    if cuda and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    elif not cuda and convolutional and cpu_bf16_is_fast():
        dtype = torch.bfloat16
    else:
        dtype = None
    return {
        "autocast_dtype": dtype,
        "channels_last": convolutional and (not cuda or dtype is not None),
    }
