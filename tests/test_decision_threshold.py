"""A binary classifier scored by balanced accuracy or F1 decides at a tuned threshold,
and every way of serving it (predict, the model file, ONNX, monitoring) decides alike."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score

from sknas import NASClassifier, load

#: The default logistic regression (no class weights) on rare positives: its probabilities
#: rank them well, but few reach 0.5.
SEARCH = {"families": ["linear"], "n_trials": 1, "cv": None, "random_state": 0}


@pytest.fixture(scope="module")
def rare_positives():
    X, y = make_classification(
        2000, 8, n_informative=4, weights=[0.93], flip_y=0.02, random_state=0
    )
    labels = np.where(y == 1, "yes", "no")
    return X[:1400], labels[:1400], X[1400:], labels[1400:]


@pytest.fixture(scope="module")
def clf(rare_positives):
    X, y, _, _ = rare_positives
    return NASClassifier(scoring="balanced_accuracy", **SEARCH).fit(X, y)


def test_threshold_tuned_on_validation_lifts_the_test_score(clf, rare_positives):
    _, _, X_test, y_test = rare_positives
    threshold = clf.decision_threshold_
    assert threshold is not None and threshold < 0.5
    proba = clf.predict_proba(X_test)
    predicted = clf.predict(X_test)
    np.testing.assert_array_equal(predicted, np.where(proba[:, 1] >= threshold, "yes", "no"))
    at_argmax = balanced_accuracy_score(y_test, clf.classes_[proba.argmax(1)])
    assert balanced_accuracy_score(y_test, predicted) > at_argmax + 0.05
    assert f"Decision: class yes where its probability is at least {threshold:g}" in clf.summary()


def test_accuracy_keeps_the_most_probable_class(rare_positives):
    X, y, _, _ = rare_positives
    assert NASClassifier(**SEARCH).fit(X, y).decision_threshold_ is None


def test_model_file_onnx_and_monitoring_decide_at_the_threshold(clf, rare_positives, tmp_path):
    _, _, X_test, y_test = rare_positives
    clf.save(tmp_path / "model.zip")
    loaded = load(tmp_path / "model.zip")
    assert loaded.decision_threshold_ == clf.decision_threshold_
    np.testing.assert_array_equal(loaded.predict(X_test), clf.predict(X_test))
    report = clf.monitor(X_test, y_test)
    assert report.score["batch"] == pytest.approx(
        balanced_accuracy_score(y_test, clf.predict(X_test))
    )
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from sknas.export import onnx_inputs, to_onnx

    session = ort.InferenceSession(to_onnx(clf).SerializeToString())
    labels, _ = session.run(None, onnx_inputs(clf, X_test))
    np.testing.assert_array_equal(labels.astype(str), clf.predict(X_test))
