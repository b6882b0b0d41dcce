"""How optimistic a small-table search's out-of-fold scores are, and whether it shows.

On a few hundred rows a k-fold search compares hundreds of trials on the same
out-of-fold (OOF) predictions, so the best of them look better than they are. This fits
``NASClassifier``/``NASRegressor(time_budget=T, random_state=seed, scoring=<metric>)``
on one table's training split (the split ``benchmarks/compare.py`` uses), looking inside
the search, and prints one JSON line (``--out`` appends it too) with:

- the fitted model's test score;
- what :func:`sknas.ensemble.check_against_baselines` weighed: the held-out scores of
  ensemble selection and of the better default baseline over 5 folds of the OOF rows,
  and a bootstrap standard error of their difference (300 resamples of the rows);
- for the default baselines and the ``--top`` best other trials: the OOF score the
  search saw, the mean OOF score of the same configuration trained from scratch on
  ``--refolds`` fresh 5-fold splits of the same rows, and the test score of the
  trial's own bag of fold models.

A search whose trials' scores drop on fresh folds, while the baselines' do not, chose
them partly for the luck of its folds; the test column says what the difference was
worth. ::

    python benchmarks/selection_optimism.py --table diabetes --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import score  # noqa: E402
from datasets import TABLES, split_problem  # noqa: E402

import sknas.engine  # noqa: E402
from sknas import NASClassifier, NASRegressor  # noqa: E402
from sknas.ensemble.baselines import CHECK_FOLDS, _on_rows  # noqa: E402
from sknas.ensemble.greedy import GreedyEnsembler  # noqa: E402
from sknas.evaluation.crossval import CrossValEvaluator  # noqa: E402

BOOTSTRAPS = 300


class SearchSpy:
    """Wraps ``sknas.engine``'s evaluator factory and baseline check to keep what the
    search trained on and what the check weighed (the search itself is unchanged)."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}
        make_evaluator, check = sknas.engine._make_evaluator, sknas.engine.check_against_baselines

        def spied_make_evaluator(est, X, y, sample_weight, folds, scorer, *rest):
            self.seen.update(X=np.array(X, copy=True), y=y.copy(), scorer=scorer)
            self.seen["category_codes"] = rest[-1]
            return make_evaluator(est, X, y, sample_weight, folds, scorer, *rest)

        def spied_check(selection, history, y_valid, scorer, **settings):
            self.seen.update(selection=list(selection), history=history, y_valid=y_valid)
            self.seen.update(check_scorer=scorer, check_settings=settings)
            return check(selection, history, y_valid, scorer, **settings)

        sknas.engine._make_evaluator = spied_make_evaluator
        sknas.engine.check_against_baselines = spied_check


def check_statistics(seen: dict[str, Any]) -> dict[str, float]:
    """The check's two held-out scores (computed as it does, folds seeded 0) and a
    bootstrap standard error of their difference."""
    history, y, scorer = seen["history"], seen["y_valid"], seen["check_scorer"]
    settings = seen["check_settings"]
    tie_breaker = settings.get("tie_breaker")
    kept = history.kept()
    baselines = [i for i, r in enumerate(kept) if r.candidate.proposer == "baseline"]
    predictions = [np.asarray(r.valid_pred, dtype=np.float64) for r in kept]
    chosen, baseline = np.zeros_like(predictions[0]), np.zeros_like(predictions[0])
    for train, test in KFold(CHECK_FOLDS, shuffle=True, random_state=0).split(y):
        on_train = _on_rows(scorer, train)
        ties = None if tie_breaker is None else _on_rows(tie_breaker, train)
        weights = GreedyEnsembler(settings["ensemble_size"], tie_breaker=ties).select(
            [p[train] for p in predictions], y[train], on_train
        )
        chosen[test] = sum(w * p[test] for w, p in zip(weights, predictions, strict=True) if w)
        better = max(baselines, key=lambda i: on_train(y[train], predictions[i][train]))
        baseline[test] = predictions[better][test]
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(BOOTSTRAPS):  # a resample of the rows, as row weights
        resampled = scorer.weighted(np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)))
        differences.append(resampled(y, chosen) - resampled(y, baseline))
    return {
        "selection_held_out": scorer(y, chosen),
        "baseline_held_out": scorer(y, baseline),
        "difference_se": float(np.std(differences)),
    }


def refold_scores(seen: dict[str, Any], trial: Any, task: str, refolds: int) -> list[float]:
    """``trial``'s configuration trained from scratch on ``refolds`` fresh 5-fold splits
    of the search's rows: the OOF score of each."""
    X, y = seen["X"], seen["y"]
    splitter = StratifiedKFold if task == "classification" else KFold
    scores = []
    for fold_seed in range(11, 11 + refolds):
        folds = list(splitter(5, shuffle=True, random_state=fold_seed).split(X, y))
        evaluator = CrossValEvaluator(
            X, y, folds, task=task, scorer=seen["scorer"], category_codes=seen["category_codes"]
        )
        candidate = replace(trial.candidate, fidelity=None, parent_model=None, time_limit=None)
        scores.append(evaluator(candidate).score)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, choices=sorted(TABLES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--top", type=int, default=6, help="best non-baseline trials to refold")
    parser.add_argument("--refolds", type=int, default=3, help="fresh fold splits per trial")
    parser.add_argument("--out", type=Path, help="JSON lines file to append the result to")
    args = parser.parse_args()
    spy = SearchSpy()
    task, X_train, X_test, y_train, y_test = split_problem(args.table, args.seed)
    metric = TABLES[args.table].metric
    Estimator = NASClassifier if task == "classification" else NASRegressor
    model = Estimator(time_budget=args.time_budget, random_state=args.seed, scoring=metric)
    model.fit(X_train, y_train)
    X_test_model = model.preprocessor_.transform(X_test)

    def test_score(member: Any) -> float:
        pred = np.asarray(member.predict(X_test_model), dtype=np.float64)
        return score(
            metric, y_test, pred if task == "regression" else model.classes_[pred.argmax(1)]
        )

    kept = sorted(spy.seen["history"].kept(), key=lambda r: -r.score)
    baselines = [r for r in kept if r.candidate.proposer == "baseline"]
    others = [r for r in kept if r.candidate.proposer != "baseline"][: args.top]
    selected = {r.candidate.trial_id for r, _ in spy.seen["selection"]}
    trials = []
    for trial in baselines + others:
        fresh = refold_scores(spy.seen, trial, task, args.refolds)
        trials.append(
            {
                "trial_id": trial.candidate.trial_id,
                "family": trial.candidate.family,
                "proposer": trial.candidate.proposer,
                "selected": trial.candidate.trial_id in selected,
                "oof": round(trial.score, 4),
                "fresh_oof": round(float(np.mean(fresh)), 4),
                "test": round(test_score(trial.member), 4),
            }
        )
    row = {
        "table": args.table,
        "seed": args.seed,
        "time_budget": args.time_budget,
        "rows": len(spy.seen["y"]),
        "trials": len(model.leaderboard_),
        "test_score": round(score(metric, y_test, model.predict(X_test)), 4),
        **{k: round(v, 4) for k, v in check_statistics(spy.seen).items()},
        "trials_refolded": trials,
    }
    print(json.dumps(row))
    if args.out is not None:
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
