"""Test helpers: a strategy that proposes scripted configurations, network members."""

from __future__ import annotations

from typing import Any

import torch
from threadpoolctl import threadpool_info

from sknas.evaluation.members import NeuralMember
from sknas.space.genome import Genome
from sknas.space.modules import GenomeNet
from sknas.strategies import Proposal, Strategy


class ScriptedStrategy(Strategy):
    """Proposes the given (family, overrides) in order, then repeats the last one.

    ``overrides`` replace entries of the family's default point (``arch__*`` names
    included), so a test can make one candidate diverge or crash on purpose.
    """

    name = "scripted"
    start_with_defaults = False

    def __init__(self, script: list[tuple[str, dict[str, Any]]]) -> None:
        self.script = script

    def propose(self, trial_id: int) -> Proposal:
        family, overrides = self.script[min(trial_id, len(self.script) - 1)]
        return self._proposal(family, self.space_[family].default_point() | overrides)


def bounded_by_trials(monkeypatch, namespace, n_trials, **params):
    """Make the estimators that code in ``namespace`` creates stop after ``n_trials``.

    For code that takes only a ``time_budget`` (an example, the command line): the
    test then checks what that code does with a fixed number of trials (the same
    result on a busy machine), not what a machine manages in a few seconds.
    ``params`` override further parameters. Returns the parameters the code passed,
    one dict per estimator it created.
    """
    import sknas

    passed = []
    for name in ("NASClassifier", "NASRegressor"):
        estimator = getattr(sknas, name)

        def make(estimator=estimator, **given):
            passed.append(given)
            return estimator(**given | {"time_budget": None, "n_trials": n_trials} | params)

        monkeypatch.setattr(namespace, name, make, raising=False)
    return passed


def network_member(key, n_features, n_outputs, task, target_mean=0.0, target_scale=1.0, seed=0):
    """A member with initial weights and non-trivial batch-norm statistics."""
    genome = Genome.from_key(key)
    image_shape = (1, 8, 8) if genome.family == "cnn" else None
    torch.manual_seed(seed)
    module = GenomeNet(genome, n_features, n_outputs, image_shape)
    for name, buffer in module.state_dict().items():
        if name.endswith("running_mean"):
            buffer.normal_(0.0, 0.5)
        elif name.endswith("running_var"):
            buffer.uniform_(0.5, 2.0)
    return NeuralMember.from_module(
        module,
        genome=genome,
        n_features=n_features,
        n_outputs=n_outputs,
        task=task,
        target_mean=target_mean,
        target_scale=target_scale,
        image_shape=image_shape,
    )


def threads_of(user_api: str) -> set[int]:
    """The thread counts of the loaded ``user_api`` libraries ("openmp" or "blas")."""
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == user_api}
