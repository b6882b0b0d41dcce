"""Ablation of the fused search: random / TPE / evolution / fused at equal time budget.

For every problem (sklearn's digits, breast_cancer, wine, diabetes and two generated
sets of 5,000 rows) and seed, a 25 % test split is held out (stratified for
classification) and one estimator is fitted per configuration with the same
``time_budget`` and ``random_state``, searching the neural families (``mlp``,
``resnet_mlp``: the classical families are compared in ``compare.py``):

* ``random``, ``tpe``, ``evolution``, ``fused``: the four strategies (successive
  halving, ensembling and refit on, as by default);
* ``fused-no-sh``: the fused strategy with successive halving off.

Reported (and written to ``doc/benchmarks.md``):

1. test score (accuracy or R²) per problem, mean ± standard deviation over seeds, and
   each configuration's mean rank among the four strategies (1 = best);
2. the ensemble's test score against its best single member (the member of the trial
   with the best validation score; both refit);
3. successive halving on vs off: trials evaluated and test score;
4. search overhead: the share of ``fit``'s wall time not spent training or
   predicting candidates (trials and refit), from ``timings_``.

Run::

    python benchmarks/ablation.py --time-budget 30 --seeds 0 1 2

It takes about (6 problems x seeds x 5 configurations x time budget). Results are
appended to ``benchmarks/results/ablation_<budget>s.jsonl`` as they come, labelled with
the commit; a rerun on the same commit skips the runs already there, and new code runs
afresh. Run it on an
otherwise idle machine: with the other core busy, torch's two threads slow down
many times over and the comparison is meaningless.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _report import append_row, code_version, write_section  # noqa: E402
from datasets import PROBLEMS, split_problem  # noqa: E402

from sknas import NASClassifier, NASRegressor  # noqa: E402
from sknas.space import TABULAR_NEURAL_FAMILIES  # noqa: E402

STRATEGIES = ("random", "tpe", "evolution", "fused")
# The strategies differ in how they search the networks (evolution mutates genomes),
# so the ablation searches the neural families only.
NEURAL = {"families": list(TABULAR_NEURAL_FAMILIES)}
CONFIGS = {name: NEURAL | {"strategy": name} for name in STRATEGIES} | {
    "fused-no-sh": NEURAL | {"strategy": "fused", "pruner": "none"}
}
RESULTS = Path(__file__).resolve().parent / "results"


def run_one(problem: str, seed: int, config: str, time_budget: float) -> dict:
    task, X_train, X_test, y_train, y_test = split_problem(problem, seed)
    Estimator = NASClassifier if task == "classification" else NASRegressor
    est = Estimator(time_budget=time_budget, random_state=seed, **CONFIGS[config])
    started = time.monotonic()
    est.fit(X_train, y_train)
    wall = time.monotonic() - started
    X_prep = est.preprocessor_.transform(X_test)
    # The ensemble's best single member: the one whose trial had the best validation score.
    valid_score = est.leaderboard_.set_index("trial_id")["score"]
    ensemble = est.ensemble_
    best = max(range(len(ensemble.members_)), key=lambda i: valid_score[ensemble.trial_ids_[i]])
    pred = ensemble.members_[best].predict(X_prep)
    if task == "classification":
        best_member = float(np.mean(est.classes_[pred.argmax(axis=1)] == y_test))
    else:
        best_member = float(
            1 - ((y_test - pred) ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()
        )
    timings = est.timings_
    overhead = (timings["total"] - timings["trials"] - timings["refit"]) / timings["total"]
    board = est.leaderboard_
    return {
        "problem": problem,
        "seed": seed,
        "config": config,
        "test_score": est.score(X_test, y_test),
        "best_member_score": best_member,
        "n_trials": est.n_trials_,
        "n_pruned": int((board["state"] == "PRUNED").sum()),
        "n_members": len(est.ensemble_.members_),
        "wall": wall,
        "overhead": overhead,
        "timings": timings,
    }


def _mean_std(values: pd.Series) -> str:
    return f"{values.mean():.4f} ± {values.std(ddof=0):.4f}"


def report(frame: pd.DataFrame, time_budget: float) -> str:
    strategies = frame[frame["config"].isin(STRATEGIES)].copy()
    strategies["rank"] = strategies.groupby(["problem", "seed"])["test_score"].rank(
        ascending=False, method="average"
    )
    present = [name for name in STRATEGIES if name in set(strategies["config"])]
    scores = strategies.pivot_table(
        index="problem", columns="config", values="test_score", aggfunc=_mean_std
    )[present]
    ranks = strategies.groupby("config")["rank"].mean()[present]
    scores.loc["**mean rank**"] = [f"**{r:.2f}**" for r in ranks]

    default = frame[frame["config"] == "fused"]
    ensemble = default.groupby("problem")[["test_score", "best_member_score", "n_members"]].mean()
    ensemble.loc["mean"] = ensemble.mean()

    halving = frame[frame["config"].isin(["fused", "fused-no-sh"])].pivot_table(
        index="problem", columns="config", values=["n_trials", "test_score"], aggfunc="mean"
    )
    halving.loc["mean"] = halving.mean()

    overhead = frame.groupby("config")["overhead"].agg(["mean", "max"])
    seeds = sorted(frame["seed"].unique())
    configs = [name for name in CONFIGS if name in set(frame["config"])]
    only = "" if configs == list(CONFIGS) else f" --configs {' '.join(configs)}"
    commits = ", ".join(sorted(set(frame.get("commit", pd.Series(["unknown"])).dropna())))
    return "\n\n".join(
        [
            f"## Ablation: search strategies at equal time budget\n\n"
            f"`python benchmarks/ablation.py --time-budget {time_budget:g} --seeds "
            f"{' '.join(map(str, seeds))}{only}` (code version {commits}) on this project's "
            f"2-core CPU machine; test score (accuracy, or R² for diabetes and gen_regression) "
            f"on a 25 % split, mean ± std over {len(seeds)} seeds; rank 1 is best among the "
            f"strategies run.",
            scores.to_markdown(),
            "### Ensemble vs its best single member (fused, test score, means over seeds)",
            ensemble.to_markdown(floatfmt=".4f"),
            "### Successive halving on (`fused`) vs off (`fused-no-sh`): trials and test score",
            halving.to_markdown(floatfmt=".4f"),
            "### Search overhead: share of fit wall time not spent training or predicting "
            "candidates",
            overhead.to_markdown(floatfmt=".4f"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ablation_{args.time_budget:g}s.jsonl"
    commit = code_version()
    done = [json.loads(line) for line in out.open()] if out.exists() else []
    done = [row for row in done if row.get("commit") == commit]  # fresh on new code
    rows = []
    for problem in args.problems:
        for seed in args.seeds:
            for config in args.configs:
                previous = [
                    r
                    for r in done
                    if (r["problem"], r["seed"], r["config"]) == (problem, seed, config)
                ]
                if previous:  # resume an interrupted run of the same code
                    rows.append(previous[0])
                    continue
                row = run_one(problem, seed, config, args.time_budget) | {"commit": commit}
                rows.append(row)
                append_row(out, row)
                print(
                    f"{problem:24s} seed {seed} {config:12s} test {row['test_score']:.4f} "
                    f"best member {row['best_member_score']:.4f} trials {row['n_trials']:3d} "
                    f"overhead {row['overhead']:.3f} wall {row['wall']:.1f}s",
                    flush=True,
                )
    text = report(pd.DataFrame(rows), args.time_budget)
    print(text)
    write_section(f"ablation-{args.time_budget:g}s", text)


if __name__ == "__main__":
    main()
