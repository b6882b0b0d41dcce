"""ONNX export of a fitted :class:`~sknas.NASClassifier` or :class:`~sknas.NASRegressor`.

The whole estimator becomes one ONNX graph: the fitted preprocessing, every member of
the ensemble (networks through ``torch.onnx``, trees and linear models written as ONNX
operators), bags of fold models and the ensemble's weighted average, the trees of each
kind merged (:mod:`._members`). The graph computes what ``predict_proba`` and
``predict`` compute, in the same precision: preprocessing, trees, linear models,
softmax and averaging in float64, networks in float32.

Classical members and preprocessing are written here rather than by skl2onnx, whose
converters compare tree thresholds in float32 (an input near a threshold may take the
other branch), cannot build histogram gradient boosting with float64 input, and refuse
unseen categories of a one-hot encoder that groups rare categories.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.utils.validation import check_is_fitted

from ..preprocessing import _as_category_strings
from ._graph import ONNX_OPSET, _Graph
from ._members import _ensemble
from ._preprocessing import _column_kinds, _input_names, _preprocess

__all__ = ["ONNX_OPSET", "onnx_inputs", "to_onnx"]


def to_onnx(estimator: Any, path: str | os.PathLike | None = None) -> Any:
    """The fitted estimator as one ONNX graph; written to ``path`` when given.

    Parameters
    ----------
    estimator : fitted NASClassifier or NASRegressor
    path : str or path-like, optional
        File the model is written to.

    Returns
    -------
    model : onnx.ModelProto
        Inputs: ``"X"``, float64 rows of shape ``(n, n_features_in_)`` (images
        flattened); or, when ``fit`` saw a DataFrame with categorical columns, one
        ``(n, 1)`` input per column, named as the column: float64 for numeric
        columns (NaN for missing values), strings for the others, each value as
        ``str(value)`` and missing values as ``"__missing__"``. :func:`onnx_inputs`
        builds these from what ``predict`` takes. Outputs: ``"label"`` (the
        ``classes_``, decided at ``decision_threshold_`` when the classifier has one)
        and ``"probabilities"`` (float64, ordered as ``classes_``) for a classifier;
        ``"values"`` (float64, shape ``(n,)``) for a regressor.

    Raises
    ------
    NotImplementedError
        When a member or preprocessing step has no ONNX form (free-text columns, for
        instance); the message names it.

    Notes
    -----
    Bags of fold models are unpacked: the trees of all forests of the ensemble are
    merged into ``TreeEnsemble`` nodes, and those of all gradient boosting models into
    another. For one row at a time, give onnxruntime one intra-op thread
    (``SessionOptions.intra_op_num_threads = 1``): a row is too little work to share,
    and with its default of one thread per core a one-row run pinned to one busy core
    took three times as long.

    Examples
    --------
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_iris
    >>> from sknas import NASClassifier
    >>> from sknas.export import onnx_inputs, to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NASClassifier(n_trials=1, families=["linear"], cv=None, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> session = ort.InferenceSession(to_onnx(clf).SerializeToString())
    >>> labels, proba = session.run(None, onnx_inputs(clf, X[:3]))
    >>> bool(abs(proba - clf.predict_proba(X[:3])).max() < 1e-5)
    True
    """
    check_is_fitted(estimator)
    g = _Graph()
    onnx, proto = g.onnx, g.onnx.TensorProto
    features = _preprocess(g, estimator)
    total = _ensemble(g, estimator.ensemble_, features)
    if is_classifier(estimator):
        classes, elem_type = _classes(estimator.classes_)
        index = _decision(g, total, getattr(estimator, "decision_threshold_", None))
        g.nodes.append(onnx.helper.make_node("Gather", [g.const(classes), index], ["label"]))
        g.nodes.append(onnx.helper.make_node("Identity", [total], ["probabilities"]))
        n_classes = len(classes)
        outputs = [
            onnx.helper.make_tensor_value_info("label", elem_type, [None]),
            onnx.helper.make_tensor_value_info("probabilities", proto.DOUBLE, [None, n_classes]),
        ]
    else:
        g.nodes.append(
            onnx.helper.make_node("Reshape", [total, g.const(np.array([-1], np.int64))], ["values"])
        )
        outputs = [onnx.helper.make_tensor_value_info("values", proto.DOUBLE, [None])]
    graph = onnx.helper.make_graph(
        g.nodes, type(estimator).__name__, g.inputs, outputs, g.initializers
    )
    opsets = [onnx.helper.make_opsetid(domain, v) for domain, v in ONNX_OPSET.items()]
    model = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="sknas")
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


def _decision(g: _Graph, proba: str, threshold: float | None) -> str:
    """The predicted class indices (int64): the most probable class, or the second
    where its probability reaches the decision ``threshold``."""
    if threshold is None:
        return g.op("ArgMax", proba, axis=1, keepdims=0)
    second = g.op("Gather", proba, g.const(np.array(1, np.int64)), axis=1)
    reached = g.op("GreaterOrEqual", second, g.const(np.array(threshold, np.float64)))
    return g.op("Cast", reached, to=g.onnx.TensorProto.INT64)


def _classes(classes: np.ndarray) -> tuple[np.ndarray, int]:
    """``classes_`` as a tensor of labels, and its ONNX element type."""
    from onnx import TensorProto

    if classes.dtype.kind == "b":
        return classes, TensorProto.BOOL
    if classes.dtype.kind in "iu":
        return classes.astype(np.int64), TensorProto.INT64
    if classes.dtype.kind == "f":
        return classes.astype(np.float64), TensorProto.DOUBLE
    if all(isinstance(c, str) for c in classes):
        return np.array([c.encode() for c in classes], dtype=object), TensorProto.STRING
    raise NotImplementedError(
        f"ONNX export needs classes_ of numbers or strings, got {classes.dtype} values."
    )


def onnx_inputs(estimator: Any, X: Any) -> dict[str, np.ndarray]:
    """The inputs of :func:`to_onnx`'s graph for ``X``, as onnxruntime's ``run`` takes them.

    Parameters
    ----------
    estimator : fitted NASClassifier or NASRegressor
    X : array-like or DataFrame
        What ``estimator.predict`` takes; checked the same way.

    Returns
    -------
    dict of str to ndarray
    """
    X = estimator._validated_X(X)
    if not isinstance(estimator.preprocessor_, ColumnTransformer):
        return {"X": np.asarray(X, dtype=np.float64)}
    kinds = _column_kinds(estimator.preprocessor_)
    feed = {}
    for i, name in enumerate(_input_names(estimator)):
        column = X.iloc[:, [i]]
        if kinds.get(i) == "numeric":
            feed[name] = column.astype(np.float64).to_numpy()
        else:
            feed[name] = _as_category_strings(column)
    return feed
