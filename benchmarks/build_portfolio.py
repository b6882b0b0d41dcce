"""Build the portfolio that ships in ``sknas/data/portfolio.json``.

Three stages, for each task (classification, regression):

1. **Search** each building problem (``n_trials`` trials of the default fused search,
   ``portfolio=False``) and keep its best distinct completed configurations.
2. **Cross-evaluate** every kept configuration, and every family's default, on every
   building problem of the task: the same split, seed and full epoch budget for all.
3. **Select greedily** (Feurer et al., "Auto-Sklearn 2.0", 2022): scores are scaled to
   [0, 1] per problem (the worst configuration 0, the best 1); each step adds the
   configuration that most raises the mean over problems of the best scaled score
   reached by the portfolio so far.

The problems are generated ones of varied shape, size and noise; none of the six
benchmark problems (``_report.PROBLEMS``) is among them, so ``benchmarks/portfolio.py``
measures the portfolio on problems it was not built from. Stage 1 results are cached in
``benchmarks/results/portfolio_build/`` and stage 2 results are appended to
``portfolio_scores.jsonl`` there, so an interrupted build resumes. Run::

    python benchmarks/build_portfolio.py [--n-trials 30] [--top 3] [--size 10]
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from sklearn import datasets

import sknas
from sknas import NASClassifier, NASRegressor
from sknas.evaluation import Evaluator, make_split
from sknas.preprocessing import make_tabular_preprocessor
from sknas.scoring import get_prediction_scorer
from sknas.space import Genome, default_search_space
from sknas.strategies.base import candidate_key
from sknas.transfer import PORTFOLIO_PATH
from sknas.trial import Candidate

WORK = Path(__file__).resolve().parent / "results" / "portfolio_build"
SPLIT_SEED = 0
#: Epoch bound of the searches and of the portfolio's networks (the estimators' default).
MAX_EPOCHS = 50

Loader = Callable[[], tuple[np.ndarray, np.ndarray]]

#: name -> (task, loader). Varied rows (300-3,000), features (2-100), classes (2-6),
#: label noise and target shapes; all generated offline.
BUILD_PROBLEMS: dict[str, tuple[str, Loader]] = {
    "clf_easy_binary": (
        "classification",
        partial(
            datasets.make_classification,
            n_samples=1000,
            n_features=10,
            n_informative=5,
            class_sep=1.5,
            random_state=1,
        ),
    ),
    "clf_multiclass_4": (
        "classification",
        partial(
            datasets.make_classification,
            n_samples=2000,
            n_features=30,
            n_informative=15,
            n_classes=4,
            flip_y=0.05,
            random_state=2,
        ),
    ),
    "clf_noisy": (
        "classification",
        partial(
            datasets.make_classification,
            n_samples=1500,
            n_features=20,
            n_informative=4,
            n_redundant=6,
            flip_y=0.2,
            random_state=3,
        ),
    ),
    "clf_wide_small": (
        "classification",
        partial(
            datasets.make_classification,
            n_samples=400,
            n_features=100,
            n_informative=10,
            n_classes=3,
            random_state=4,
        ),
    ),
    "clf_moons": (
        "classification",
        partial(datasets.make_moons, n_samples=1000, noise=0.3, random_state=5),
    ),
    "clf_circles": (
        "classification",
        partial(datasets.make_circles, n_samples=1000, noise=0.15, factor=0.5, random_state=6),
    ),
    "clf_hastie": (
        "classification",
        partial(datasets.make_hastie_10_2, n_samples=3000, random_state=7),
    ),
    "clf_quantiles_6": (
        "classification",
        partial(
            datasets.make_gaussian_quantiles,
            n_samples=1500,
            n_features=6,
            n_classes=6,
            random_state=8,
        ),
    ),
    "reg_linear": (
        "regression",
        partial(
            datasets.make_regression,
            n_samples=1000,
            n_features=20,
            n_informative=10,
            noise=10.0,
            random_state=11,
        ),
    ),
    "reg_low_rank_wide": (
        "regression",
        partial(
            datasets.make_regression,
            n_samples=600,
            n_features=80,
            n_informative=20,
            effective_rank=10,
            noise=5.0,
            random_state=12,
        ),
    ),
    "reg_small": (
        "regression",
        partial(
            datasets.make_regression,
            n_samples=300,
            n_features=8,
            n_informative=6,
            noise=20.0,
            random_state=13,
        ),
    ),
    "reg_friedman2": (
        "regression",
        partial(datasets.make_friedman2, n_samples=1500, noise=10.0, random_state=14),
    ),
    "reg_friedman3": (
        "regression",
        partial(datasets.make_friedman3, n_samples=1500, noise=0.05, random_state=15),
    ),
    "reg_sparse": (
        "regression",
        partial(datasets.make_sparse_uncorrelated, n_samples=1000, n_features=12, random_state=16),
    ),
    "reg_swiss_roll": ("regression", lambda: _swiss_roll()),
    "reg_sine_interactions": ("regression", lambda: _sine_interactions()),
}


def _swiss_roll() -> tuple[np.ndarray, np.ndarray]:
    """Predict the position along a noisy swiss roll from its 3-d points."""
    X, t = datasets.make_swiss_roll(n_samples=1500, noise=0.5, random_state=17)
    return X, t


def _sine_interactions() -> tuple[np.ndarray, np.ndarray]:
    """A smooth target of pairwise interactions and sines of 10 features, plus noise."""
    rng = np.random.default_rng(18)
    X = rng.uniform(-2, 2, size=(2000, 10))
    y = np.sin(2 * X[:, 0]) * X[:, 1] + X[:, 2] * X[:, 3] + np.cos(X[:, 4]) ** 2
    return X, y + rng.normal(scale=0.2, size=len(y))


def search_problem(name: str, n_trials: int, top: int) -> list[dict]:
    """Stage 1: the best ``top`` distinct completed configurations of one search (cached)."""
    path = WORK / f"search_{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    task, load = BUILD_PROBLEMS[name]
    X, y = load()
    estimator = NASClassifier if task == "classification" else NASRegressor
    model = estimator(
        n_trials=n_trials, portfolio=False, ensemble_size=1, refit=False, random_state=0
    ).fit(X, y)
    board = model.leaderboard_[model.leaderboard_["state"] == "COMPLETE"]
    kept, keys = [], set()
    for row in board.itertuples():  # best first
        genome = Genome.from_key(row.genome) if isinstance(row.genome, str) else None
        key = candidate_key(row.family, row.params, genome)
        if key not in keys:
            keys.add(key)
            kept.append(_configuration(row.family, row.params, genome, source=name))
        if len(kept) == top:
            break
    path.write_text(json.dumps(kept, indent=1))
    return kept


def _configuration(family: str, params: dict, genome: Genome | None, source: str) -> dict:
    return {
        "family": family,
        "params": {k: v.item() if hasattr(v, "item") else v for k, v in params.items()},
        "genome": None if genome is None else genome.to_dict(),
        "source": source,
    }


def family_defaults(task: str) -> list[dict]:
    """Every family's default configuration, as a candidate of the portfolio too."""
    space = default_search_space(task, max_epochs=MAX_EPOCHS)
    return [
        _configuration(family.name, *family.decode(family.default_point()), source="default")
        for family in space.families
    ]


def evaluate(problem: str, configurations: list[dict]) -> list[dict]:
    """Stage 2: train and score each configuration on ``problem``'s fixed split."""
    task, load = BUILD_PROBLEMS[problem]
    X, y = load()
    if task == "classification":
        y = np.unique(y, return_inverse=True)[1]
    X_model = make_tabular_preprocessor(X).fit_transform(X)
    split = make_split(X_model, y, task=task, validation_fraction=0.2, seed=SPLIT_SEED)
    evaluator = Evaluator(split, get_prediction_scorer(None, task).weighted(None))
    rows = []
    for index, configuration in enumerate(configurations):
        genome = configuration["genome"]
        params = configuration["params"]
        candidate = Candidate(
            trial_id=index,
            family=configuration["family"],
            params=params,
            genome=None if genome is None else Genome.from_dict(genome),
            seed=0,
            budget_epochs=int(params.get("max_epochs", 1)),
            proposer="portfolio",
        )
        result = evaluator(candidate)
        rows.append(
            {
                "problem": problem,
                "key": candidate_key(candidate.family, params, candidate.genome),
                "score": float(result.score) if result.ok else None,
                "fit_time": result.fit_time,
            }
        )
        print(f"  {problem} {index:3d} {candidate.family:13s} {rows[-1]['score']}", flush=True)
    return rows


def greedy_portfolio(scores: np.ndarray, size: int) -> list[int]:
    """Stage 3: indices of configurations chosen greedily.

    Parameters
    ----------
    scores : ndarray of shape (n_configurations, n_problems)
        Validation scores; NaN where a configuration failed.
    size : int
        Most configurations to choose; stops early when none adds anything.

    Examples
    --------
    >>> greedy_portfolio(np.array([[1.0, 0.0], [0.9, 0.9], [0.0, 1.0]]), size=3)
    [1, 0, 2]
    """
    low, high = np.nanmin(scores, axis=0), np.nanmax(scores, axis=0)
    scaled = np.nan_to_num((scores - low) / np.where(high > low, high - low, 1.0), nan=0.0)
    chosen: list[int] = []
    reached = np.zeros(scores.shape[1])
    for _ in range(min(size, len(scores))):
        gains = np.maximum(scaled, reached).mean(axis=1) - reached.mean()
        gains[chosen] = -np.inf
        best = int(np.argmax(gains))
        if gains[best] <= 0 and chosen:
            break
        chosen.append(best)
        reached = np.maximum(reached, scaled[best])
    return chosen


def build(task: str, n_trials: int, top: int, size: int) -> list[dict]:
    """The portfolio of one task: search, cross-evaluate, select."""
    problems = [name for name, (kind, _) in BUILD_PROBLEMS.items() if kind == task]
    pool, keys = [], set()
    for configuration in family_defaults(task) + [
        c for name in problems for c in search_problem(name, n_trials, top)
    ]:
        genome = configuration["genome"]
        key = candidate_key(
            configuration["family"],
            configuration["params"],
            None if genome is None else Genome.from_dict(genome),
        )
        if key not in keys:
            keys.add(key)
            pool.append(configuration | {"key": key})
    scores_path = WORK / "portfolio_scores.jsonl"
    done = [json.loads(line) for line in scores_path.open()] if scores_path.exists() else []
    measured = {(row["problem"], row["key"]): row for row in done}
    for problem in problems:
        missing = [c for c in pool if (problem, c["key"]) not in measured]
        if missing:
            print(f"{task}: cross-evaluating {len(missing)} configurations on {problem}")
        for row in evaluate(problem, missing):
            measured[(problem, row["key"])] = row
            with scores_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
    scores = np.array(
        [
            [np.nan if (s := measured[(p, c["key"])]["score"]) is None else s for p in problems]
            for c in pool
        ]
    )
    chosen = greedy_portfolio(scores, size)
    portfolio = []
    for rank, index in enumerate(chosen):
        configuration = {k: v for k, v in pool[index].items() if k != "key"}
        best_on = [p for j, p in enumerate(problems) if scores[index, j] == np.nanmax(scores[:, j])]
        portfolio.append(configuration | {"rank": rank, "best_on": best_on})
        print(f"{task} #{rank}: {configuration['family']} from {configuration['source']}")
    return portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=30, help="trials per building search")
    parser.add_argument("--top", type=int, default=3, help="configurations kept per search")
    parser.add_argument("--size", type=int, default=10, help="configurations per task")
    parser.add_argument("--out", type=Path, default=PORTFOLIO_PATH)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    data = {
        "format": 1,
        "version": datetime.date.today().isoformat(),
        "sknas_version": sknas.__version__,
        "built_by": "benchmarks/build_portfolio.py "
        f"--n-trials {args.n_trials} --top {args.top} --size {args.size}",
        "max_epochs": MAX_EPOCHS,
        "problems": sorted(BUILD_PROBLEMS),
    }
    for task in ("classification", "regression"):
        data[task] = build(task, args.n_trials, args.top, args.size)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
