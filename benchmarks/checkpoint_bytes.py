"""Checkpoint bytes written per trial: flat as the search grows.

Runs ``run_search`` for ``--trials`` instant trials (a dummy evaluator: a random score,
no model) with a :class:`~sknas.checkpoint.SearchJournal` in a temporary directory, and
prints the mean bytes written per trial (its artifact, its state file and its journal
line; "written" is their sum) over the first and the last 50 trials, next to the
size of a whole-state snapshot per trial (what a journal that rewrote the strategy's
state after every trial would write). Run::

    python benchmarks/checkpoint_bytes.py [--trials 300] [--strategy random] [--halving]
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

from sknas._search import run_search
from sknas.checkpoint import SearchJournal
from sknas.fidelity import SuccessiveHalving
from sknas.space import default_search_space
from sknas.strategies import (
    FusedStrategy,
    HyperoptStrategy,
    RandomStrategy,
    RegularizedEvolutionStrategy,
)
from sknas.study import Study
from sknas.trial import Candidate, TrialResult, TrialState

STRATEGIES = {
    "random": RandomStrategy,
    "tpe": HyperoptStrategy,
    "evolution": RegularizedEvolutionStrategy,
    "fused": FusedStrategy,
}
WINDOW = 50


class SnapshotSizes(SearchJournal):
    """A journal that also notes the size of the whole state it was given."""

    snapshots: list[int]

    def record(self, index: int, result: TrialResult, state: dict) -> None:
        self.snapshots.append(len(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)))
        super().record(index, result, state)


def dummy_evaluate(candidate: Candidate, deadline: float | None) -> TrialResult:
    """An instant trial with a random score."""
    score = float(np.random.default_rng(candidate.seed).uniform())
    return TrialResult(candidate, TrialState.COMPLETE, score=score, n_epochs=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="random")
    parser.add_argument("--halving", action="store_true", help="with successive halving")
    args = parser.parse_args()
    space = default_search_space("classification", max_epochs=9)
    with tempfile.TemporaryDirectory() as directory:
        journal = SnapshotSizes(directory, "benchmark", {})
        journal.snapshots = []
        study = Study(
            STRATEGIES[args.strategy](),
            space,
            0,
            pruner=SuccessiveHalving() if args.halving else None,
            journal=journal,
        )
        started = time.perf_counter()
        run_search(study, dummy_evaluate, n_trials=args.trials)
        seconds = time.perf_counter() - started
        lines = (Path(directory) / "journal.jsonl").read_bytes().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    parts = {
        "artifact": np.array([r["bytes"] for r in records]),
        "state": np.array([r["state_bytes"] for r in records]),
        "line": np.array([len(line) for line in lines]),
    }
    columns = {"written": sum(parts.values())} | parts | {"whole state": journal.snapshots}
    print(
        f"{args.trials} trials, strategy={args.strategy}, halving={args.halving} "
        f"({seconds:.1f} s in all); mean bytes per trial:"
    )
    print(f"{'trials':>10}" + "".join(f"{name:>13}" for name in columns))
    for name, part in (("first", slice(None, WINDOW)), ("last", slice(-WINDOW, None))):
        means = "".join(f"{np.mean(values[part]):>13.0f}" for values in columns.values())
        print(f"{name} {WINDOW:<4}" + means)


if __name__ == "__main__":
    main()
