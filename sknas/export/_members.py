"""The ensemble's weighted average as ONNX: networks through ``torch.onnx``, linear models
as operators, trees (:mod:`._trees`).

Bags are unpacked into their fold models, each weighted by its share of the average
(the member's weight over the bag's folds), and the trees of all forests, and of all
gradient boosting models, are merged into one ``TreeEnsemble`` node each (forests: one
per :data:`~._trees.LEAF_TABLE_CELLS` trees x classes), with their leaf values scaled
by those weights. Networks stay one embedded network per fold model: stacking a bag's
folds into one batched network (as :mod:`sknas.evaluation.stacked` does in torch) took
0.41 instead of 0.44 ms for one row of the two network bags of a default fit on digits
in onnxruntime, but 0.64 instead of 0.46 s and 178 instead of 42 MiB for 10,000 rows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
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
from ._trees import _boostings, _forests, _spread

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


def _linear(g: _Graph, member: ClassicalMember, x: str) -> str:
    model = member.estimator
    coef = np.atleast_2d(model.coef_).T.astype(np.float64)
    out = g.op(
        "Add",
        g.op("MatMul", x, g.const(coef)),
        g.const(np.atleast_1d(model.intercept_).astype(np.float64)),
    )
    if member.task != "classification":
        return _unscale(g, out, member)
    out = _binary_proba(g, out) if coef.shape[1] == 1 else g.op("Softmax", out, axis=1)
    return _spread(g, out, np.asarray(model.classes_), member.n_outputs)


def _kind(model: Any) -> str:
    """The group a fold model or member is computed in: ``"forest"``, ``"boosting"``,
    ``"linear"`` or ``"network"``.

    Raises
    ------
    NotImplementedError
        When ``model`` has no ONNX form.
    """
    if isinstance(model, NeuralMember):
        return "network"
    if not isinstance(model, ClassicalMember):
        raise _unsupported(f"ensemble members of type {type(model).__name__}", model)
    estimator = model.estimator
    if isinstance(estimator, _FORESTS):
        return "forest"
    if isinstance(estimator, _HGB):
        if model.task == "regression" and estimator.loss != "squared_error":
            raise _unsupported(f"gradient boosting with loss={estimator.loss!r}", estimator)
        categorical = getattr(estimator, "is_categorical_", None)
        if model.codes is None and categorical is not None and categorical.any():
            raise _unsupported("gradient boosting on native categorical features", estimator)
        return "boosting"
    if isinstance(estimator, LogisticRegression | Ridge):
        return "linear"
    raise _unsupported(f"classical members of type {type(estimator).__name__}", estimator)


def _unbagged(member: Any, weight: float) -> Iterator[tuple[Any, float]]:
    """``member``'s fold models (itself if it is no bag), each with its share of ``weight``."""
    if isinstance(member, BaggedMember):
        for fold in member.members:
            yield from _unbagged(fold, weight / len(member.members))
    else:
        yield member, weight


def _ensemble(g: _Graph, ensemble: Any, x: str) -> str:
    """The ensemble's weighted average, ``(n, n_classes)`` probabilities or ``(n, 1)``
    values, float64."""
    parts: dict[str, list[tuple[Any, float]]] = {}
    for i, (member, weight) in enumerate(zip(ensemble.members_, ensemble.weights_, strict=True)):
        try:
            for model, share in _unbagged(member, float(weight)):
                parts.setdefault(_kind(model), []).append((model, share))
        except NotImplementedError as exc:
            raise NotImplementedError(
                f"Ensemble member {i} (trial {ensemble.trial_ids_[i]}): {exc}"
            ) from exc
    n_outputs = next(iter(parts.values()))[0][0].n_outputs
    outputs = [
        g.op("Mul", g.const(np.float64(weight)), _network(g, model, x))
        for model, weight in parts.get("network", [])
    ]
    outputs += [
        g.op("Mul", g.const(np.float64(weight)), _linear(g, model, x))
        for model, weight in parts.get("linear", [])
    ]
    if "forest" in parts:
        outputs.append(_forests(g, parts["forest"], x, n_outputs))
    if "boosting" in parts:
        outputs.append(_boostings(g, parts["boosting"], x, n_outputs))
    return outputs[0] if len(outputs) == 1 else g.op("Sum", *outputs)
