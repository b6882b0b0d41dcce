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
from .data import TensorBatchIterator

__all__ = ["OPTIMIZERS", "make_net"]

#: Searched optimizer names and their classes (SGD runs with Nesterov momentum 0.9).
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def make_net(
    candidate: Candidate,
    *,
    task: str,
    n_features: int,
    n_outputs: int,
    valid_dataset: TensorDataset,
    callbacks: Sequence[tuple[str, Callback]],
    device: str = "cpu",
) -> NeuralNet:
    """A ``skorch.NeuralNet`` for ``candidate``, validating on ``valid_dataset`` every epoch.

    ``candidate.params`` are skorch parameter paths and go to the net unchanged,
    except ``optimizer`` (a name from :data:`OPTIMIZERS`) and ``max_epochs``
    (the trial trains ``candidate.budget_epochs``).
    """
    params = dict(candidate.params)
    optimizer = OPTIMIZERS[params.pop("optimizer", "adamw")]
    params.pop("max_epochs", None)
    if optimizer is torch.optim.SGD:
        params |= {"optimizer__momentum": 0.9, "optimizer__nesterov": True}
    criterion = torch.nn.CrossEntropyLoss if task == "classification" else torch.nn.MSELoss
    return NeuralNet(
        module=GenomeNet,
        module__genome=candidate.genome,
        module__n_features=n_features,
        module__n_outputs=n_outputs,
        criterion=criterion,
        optimizer=optimizer,
        max_epochs=candidate.budget_epochs,
        iterator_train=TensorBatchIterator,
        iterator_train__shuffle=True,
        iterator_valid=TensorBatchIterator,
        train_split=predefined_split(valid_dataset),
        callbacks=list(callbacks),
        callbacks__print_log=None,
        device=device,
        verbose=0,
        **params,
    )
