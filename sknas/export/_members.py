"""Ensemble members as ONNX: networks through ``torch.onnx``, linear models as operators,
trees (:mod:`._trees`), bags of fold models as their mean."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from ..evaluation.classical import ClassicalMember
from ..evaluation.crossval import BaggedMember
from ..evaluation.members import NeuralMember
from ._graph import ONNX_OPSET, _Graph, _unsupported
from ._trees import _boosting, _forest

_FORESTS = (
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
)
_HGB = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def _exported_network(member: NeuralMember) -> Any:
    """``member``'s module as an ONNX model, float32 rows in, outputs out, its weights
    as initializers named by their ``state_dict`` keys (the graph is not optimised)."""
    import torch

    exporter_log = logging.getLogger("torch.onnx")  # "torchvision is not installed"
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notes
            program = torch.onnx.export(
                member.to_module().eval(),
                (torch.zeros(2, member.n_features),),
                input_names=["x"],
                output_names=["y"],
                opset_version=ONNX_OPSET[""],
                dynamo=True,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                optimize=False,
                verbose=False,
            )
    finally:
        exporter_log.setLevel(level)
    return program.model_proto


def _network_model(g: _Graph, member: NeuralMember) -> Any:
    """The exported model of ``member``: exported once per architecture, then given each
    member's weights (bags of fold models share theirs)."""
    onnx = g.onnx
    key = (member.genome.key(), member.n_features, member.n_outputs, member.image_shape)
    if key not in g.networks:
        model = _exported_network(member)
        names = {tensor.name for tensor in model.graph.initializer}
        parameters = {name for name, w in member.weights.items() if w.dtype.kind == "f"}
        # Reused only when every float weight is an initializer (none folded in the graph).
        g.networks[key] = model if names == parameters else None
        return model
    template = g.networks[key]
    if template is None:
        return _exported_network(member)
    model = onnx.ModelProto()
    model.CopyFrom(template)
    for tensor in model.graph.initializer:
        weight = member.weights[tensor.name]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
        tensor.CopyFrom(onnx.numpy_helper.from_array(weight.astype(dtype), tensor.name))
    return model


def _network(g: _Graph, member: NeuralMember, x: str) -> str:
    proto = g.onnx.TensorProto
    model = _network_model(g, member)
    out = g.embed(model, g.op("Cast", x, to=proto.FLOAT), g.name("net") + "/")
    out = g.op("Cast", out, to=proto.DOUBLE)
    if member.task == "classification":
        return g.op("Softmax", out, axis=1)
    return _unscale(g, out, member)


def _unscale(g: _Graph, values: str, member: Any) -> str:
    """Standardised regression outputs mapped back to the target's scale."""
    values = g.op("Mul", values, g.const(np.float64(member.target_scale)))
    return g.op("Add", values, g.const(np.float64(member.target_mean)))


def _binary_proba(g: _Graph, decision: str) -> str:
    """``[1 - expit(d), expit(d)]``, as scikit-learn's binary classifiers compute it."""
    positive = g.op("Sigmoid", decision)
    return g.op("Concat", g.op("Sub", g.const(np.float64(1.0)), positive), positive, axis=1)


def _classical(g: _Graph, member: ClassicalMember, x: str) -> str:
    model = member.estimator
    classification = member.task == "classification"
    if isinstance(model, _FORESTS):
        out = _forest(g, model, x)
    elif isinstance(model, _HGB):
        if not classification and model.loss != "squared_error":
            raise _unsupported(f"gradient boosting with loss={model.loss!r}", model)
        out = _boosting(g, model, x)
        if classification and model.n_trees_per_iteration_ == 1:
            out = _binary_proba(g, out)
        elif classification:
            out = g.op("Softmax", out, axis=1)
    elif isinstance(model, LogisticRegression | Ridge):
        coef = np.atleast_2d(model.coef_).T.astype(np.float64)
        out = g.op(
            "Add",
            g.op("MatMul", x, g.const(coef)),
            g.const(np.atleast_1d(model.intercept_).astype(np.float64)),
        )
        if classification:
            out = _binary_proba(g, out) if coef.shape[1] == 1 else g.op("Softmax", out, axis=1)
    else:
        raise _unsupported(f"classical members of type {type(model).__name__}", model)
    if not classification:
        return _unscale(g, out, member)
    classes = np.asarray(model.classes_)
    if not np.array_equal(classes, np.arange(member.n_outputs)):  # a subset of the classes
        spread = np.zeros((len(classes), member.n_outputs))
        spread[np.arange(len(classes)), classes] = 1.0
        out = g.op("MatMul", out, g.const(spread))
    return out


def _member(g: _Graph, member: Any, x: str) -> str:
    """Probabilities ``(n, n_classes)`` or values ``(n, 1)`` of one member, float64."""
    if isinstance(member, BaggedMember):
        total = _member(g, member.members[0], x)
        for fold in member.members[1:]:
            total = g.op("Add", total, _member(g, fold, x))
        return g.op("Div", total, g.const(np.float64(len(member.members))))
    if isinstance(member, NeuralMember):
        return _network(g, member, x)
    if isinstance(member, ClassicalMember):
        return _classical(g, member, x)
    raise _unsupported(f"ensemble members of type {type(member).__name__}", member)
