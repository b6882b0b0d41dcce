"""Cost-aware ensemble selection: what a latency budget costs in accuracy and saves in time.

Fits ``NASClassifier(time_budget=..., random_state=0)`` once on 75 % of sklearn's digits
(as ``benchmarks/serving.py``'s ``digits`` model), keeping the search's history, then
selects ensembles from that same history with ``select_members(max_predict_ms=B)`` for
each budget ``B`` (``none``: the default selection). For each it prints the members, the
validation score selection maximised, the accuracy on the other 25 % of digits, the
median time of the estimator's one-row ``predict`` (201 calls, the estimator's
validation and preprocessing included) and the seconds selection took (timing the
candidates included). Members are the search's own (bags of fold models under
``cv="auto"``; no refit), so every budget is compared on the same models. Run::

    python benchmarks/cost_aware_selection.py [--time-budget 60] [--budgets none 2 1 0.5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from sknas import NASClassifier, engine
from sknas.ensemble import FittedEnsemble, select_members


def median_ms(call, repeats: int = 201) -> float:
    """Median milliseconds of ``call()``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--budgets", nargs="+", default=["none", "2", "1", "0.5"])
    args = parser.parse_args()
    torch.set_num_threads(1)  # a loaded 2-core machine makes two threads crawl

    X, y = load_digits(return_X_y=True)
    cut = len(X) * 3 // 4
    captured = {}

    def capturing(history, y_valid, scorer, **kwargs):
        captured.update(history=history, y_valid=y_valid, scorer=scorer, kwargs=kwargs)
        return select_members(history, y_valid, scorer, **kwargs)

    engine.select_members = capturing  # what fit calls
    try:
        est = NASClassifier(time_budget=args.time_budget, random_state=0).fit(X[:cut], y[:cut])
    finally:
        engine.select_members = select_members
    history, y_valid, scorer = captured["history"], captured["y_valid"], captured["scorer"]
    probe = est.preprocessor_.transform(X[cut : cut + 1])
    row, X_test, y_test = X[cut : cut + 1], X[cut:], y[cut:]
    print(f"{len(history.scored())} scored trials; default ensemble {est.ensemble_}")
    print(
        "| max_predict_ms | members (trial: weight) | members' one-row ms (measured) "
        "| validation score | test accuracy | predict 1 row ms | selection s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for budget in args.budgets:
        limit = None if budget == "none" else float(budget)
        started = time.monotonic()
        selection = select_members(
            history, y_valid, scorer, **captured["kwargs"], max_predict_ms=limit, X_probe=probe
        )
        seconds = time.monotonic() - started
        est.ensemble_ = FittedEnsemble(
            [r.member for r, _ in selection],
            [w for _, w in selection],
            [r.candidate.trial_id for r, _ in selection],
        )
        members_ms = sum(median_ms(lambda m=r.member: m.predict(probe), 51) for r, _ in selection)
        valid = sum(w * r.valid_pred for r, w in selection)
        accuracy = float(np.mean(est.predict(X_test) == y_test))
        parts = ", ".join(
            f"{r.candidate.trial_id} {r.candidate.family}: {w:.2f}" for r, w in selection
        )
        print(
            f"| {budget} | {parts} | {members_ms:.2f} | {scorer(y_valid, valid):.4f} "
            f"| {accuracy:.4f} | {median_ms(lambda: est.predict(row)):.2f} | {seconds:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
