"""ONNX export of a fitted :class:`~sknas.NASClassifier` or :class:`~sknas.NASRegressor`.

The whole estimator becomes one ONNX graph: the fitted preprocessing, every member of
the ensemble (networks through ``torch.onnx``, trees and linear models written as ONNX
operators), bags of fold models and the ensemble's weighted average. The graph computes
what ``predict_proba`` and ``predict`` compute, in the same precision: preprocessing,
trees, linear models, softmax and averaging in float64, networks in float32.

Classical members and preprocessing are written here rather than by skl2onnx, whose
converters compare tree thresholds in float32 (an input near a threshold may take the
other branch), cannot build histogram gradient boosting with float64 input, and refuse
unseen categories of a one-hot encoder that groups rare categories.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from .evaluation.classical import ClassicalMember
from .evaluation.crossval import BaggedMember
from .evaluation.members import NeuralMember
from .preprocessing import ChannelStandardizer, _as_category_strings

__all__ = ["ONNX_OPSET", "onnx_inputs", "to_onnx"]

#: Opsets of the graph: the default domain's, and ``ai.onnx.ml``'s (its ``TreeEnsemble``
#: takes float64 thresholds and leaf values).
ONNX_OPSET = {"": 18, "ai.onnx.ml": 5}
_FORESTS = (
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
)
_HGB = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError("ONNX export needs the onnx extra: pip install 'sknas[onnx]'.") from exc
    return onnx


class _Graph:
    """Nodes and constants of the graph being built, with unique tensor names."""

    def __init__(self) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        #: Exported networks by architecture, for members that share one.
        self.networks: dict[tuple, Any] = {}
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"sknas/{hint}_{self._count}"  # apart from column names

    def const(self, value: Any, hint: str = "const") -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, domain: str = "", **attributes: Any) -> str:
        output = self.name(op_type.lower())
        node = self.onnx.helper.make_node(
            op_type, list(inputs), [output], name=output, domain=domain, **attributes
        )
        self.nodes.append(node)
        return output

    def input(self, name: str, elem_type: int, n_columns: int) -> str:
        self.inputs.append(
            self.onnx.helper.make_tensor_value_info(name, elem_type, [None, n_columns])
        )
        return name

    def as_float32(self, x: str) -> str:
        """``x`` (float64) rounded to float32 and back: what a float32 copy computes on."""
        proto = self.onnx.TensorProto
        return self.op("Cast", self.op("Cast", x, to=proto.FLOAT), to=proto.DOUBLE)

    def embed(self, model: Any, x: str, prefix: str) -> str:
        """Append a one-input, one-output model's nodes, fed by ``x``; its output's name."""
        onnx = self.onnx
        model = onnx.compose.add_prefix(model, prefix)
        graph = model.graph
        versions = {opset.domain or "": opset.version for opset in model.opset_import}
        if versions.get("", ONNX_OPSET[""]) != ONNX_OPSET[""]:
            model = onnx.version_converter.convert_version(model, ONNX_OPSET[""])
            graph = model.graph
        self.nodes.append(onnx.helper.make_node("Identity", [x], [graph.input[0].name]))
        self.nodes.extend(graph.node)
        self.initializers.extend(graph.initializer)
        return graph.output[0].name


# --- preprocessing ---------------------------------------------------------------------


def _unsupported(what: str, part: Any) -> NotImplementedError:
    return NotImplementedError(f"ONNX export does not support {what}: {part!r}.")


def _imputer(g: _Graph, step: SimpleImputer, x: str) -> str:
    if not (isinstance(step.missing_values, float) and np.isnan(step.missing_values)):
        raise _unsupported("an imputer of values other than NaN", step)
    statistics = step.statistics_
    if np.isnan(statistics).any():  # keep_empty_features=False drops such columns
        raise _unsupported("an imputer that drops columns without values", step)
    missing = g.op("IsNaN", x)
    imputed = g.op("Where", missing, g.const(statistics[None, :], "statistics"), x)
    indicator = getattr(step, "indicator_", None)
    if indicator is None:
        return imputed
    if indicator.features == "all" and len(indicator.features_) == 0:
        return imputed
    columns = g.op("Gather", missing, g.const(np.asarray(indicator.features_, np.int64)), axis=1)
    flags = g.op("Cast", columns, to=g.onnx.TensorProto.DOUBLE)
    return g.op("Concat", imputed, flags, axis=1)


def _scaler(g: _Graph, step: StandardScaler, x: str) -> str:
    if step.with_mean:
        x = g.op("Sub", x, g.const(step.mean_[None, :], "mean"))
    if step.with_std:
        x = g.op("Div", x, g.const(step.scale_[None, :], "scale"))
    return x


def _channel_standardizer(g: _Graph, step: ChannelStandardizer, x: str) -> str:
    channels = g.op("Reshape", x, g.const(np.array([0, step.image_shape[0], -1], np.int64)))
    channels = g.op("Sub", channels, g.const(step.mean_[None, :, None], "mean"))
    channels = g.op("Div", channels, g.const(step.scale_[None, :, None], "scale"))
    rows = g.op("Reshape", channels, g.const(np.array([0, -1], np.int64)))
    return g.as_float32(rows)  # its output is float32


def _one_hot(g: _Graph, step: OneHotEncoder, columns: list[str]) -> str:
    """Each category's column as ``OneHotEncoder.transform`` fills it, as float64."""
    if step.drop_idx_ is not None or step.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise _unsupported("a one-hot encoder that drops categories or refuses unknown ones", step)
    infrequent = getattr(step, "infrequent_categories_", [None] * len(columns))
    parts = []
    for column, categories, rare in zip(columns, step.categories_, infrequent, strict=True):
        rare = set() if rare is None else set(rare)
        frequent = [c for c in categories if c not in rare]
        n_out = len(frequent) + bool(rare)
        position = {c: i for i, c in enumerate(frequent)} | dict.fromkeys(rare, len(frequent))
        unknown = len(frequent) if rare and step.handle_unknown == "infrequent_if_exist" else -1
        index = g.op(
            "LabelEncoder",
            column,
            domain="ai.onnx.ml",
            keys_strings=[str(c) for c in position],
            values_int64s=list(position.values()),
            default_int64=unknown,
        )
        hot = g.op("Equal", index, g.const(np.arange(n_out, dtype=np.int64)[None, :]))
        parts.append(g.op("Cast", hot, to=g.onnx.TensorProto.DOUBLE))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _pipeline(g: _Graph, pipeline: Any, x: str | list[str]) -> str:
    steps = pipeline.steps if isinstance(pipeline, Pipeline) else [("", pipeline)]
    for name, step in steps:
        if isinstance(step, FunctionTransformer) and step.func is _as_category_strings:
            continue  # onnx_inputs feeds categories as these strings
        if isinstance(step, OneHotEncoder):
            x = _one_hot(g, step, x)
            continue
        if isinstance(x, list):
            x = x[0] if len(x) == 1 else g.op("Concat", *x, axis=1)
        if isinstance(step, SimpleImputer):
            x = _imputer(g, step, x)
        elif isinstance(step, StandardScaler):
            x = _scaler(g, step, x)
        elif isinstance(step, ChannelStandardizer):
            x = _channel_standardizer(g, step, x)
        else:
            raise _unsupported(f"the preprocessing step {name or type(step).__name__!r}", step)
    return x


def _column_kinds(transformer: ColumnTransformer) -> dict[int, str]:
    """Each input column's part of ``transformer``: ``numeric`` for float64 inputs."""
    kinds = {}
    for name, _, columns in transformer.transformers_:
        for column in np.atleast_1d(columns):
            kinds[int(column)] = name
    return kinds


def _preprocess(g: _Graph, estimator: Any) -> str:
    """Graph inputs and the float64 features the members see."""
    proto = g.onnx.TensorProto
    preprocessor = estimator.preprocessor_
    if not isinstance(preprocessor, ColumnTransformer):
        return _pipeline(g, preprocessor, g.input("X", proto.DOUBLE, estimator.n_features_in_))
    kinds = _column_kinds(preprocessor)
    taken = set(_input_names(estimator)) & {"label", "probabilities", "values"}
    if taken:
        raise NotImplementedError(
            f"ONNX export names its outputs 'label', 'probabilities' and 'values'; rename "
            f"the column(s) {sorted(taken)} before fitting."
        )
    inputs = [
        g.input(name, proto.DOUBLE if kinds.get(i) == "numeric" else proto.STRING, 1)
        for i, name in enumerate(_input_names(estimator))
    ]
    parts = []
    for name, transformer, columns in preprocessor.transformers_:
        columns = [int(c) for c in np.atleast_1d(columns)]
        if isinstance(transformer, str) or not columns:  # "drop", or an empty selection
            if transformer not in ("drop",) and columns:
                raise _unsupported(f"the column transformer part {name!r}", transformer)
            continue
        if name.startswith("text"):
            raise NotImplementedError(
                f"ONNX export does not support free-text columns (TF-IDF of column "
                f"{_input_names(estimator)[columns[0]]!r}); give it the 'category' dtype "
                "before fitting to one-hot encode it instead."
            )
        parts.append(_pipeline(g, transformer, [inputs[c] for c in columns]))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _input_names(estimator: Any) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(estimator.n_features_in_)]
    return [str(name) for name in names]


# --- members ---------------------------------------------------------------------------


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


def _tree_ensemble(g: _Graph, x: str, trees: list[dict[str, np.ndarray]], n_targets: int) -> str:
    """Sum over ``trees`` of their leaves' values, one ``TreeEnsemble`` node, float64.

    Each tree: ``left``, ``right`` (children, ignored at leaves), ``feature``,
    ``threshold`` (go left when ``x <= threshold``), ``missing_left``, ``is_leaf``,
    ``value`` (at leaves), ``target``, the column its leaves add to, and optionally
    ``reached``, the nodes kept (the others are below a pruned node).
    """
    nodes: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "split", "missing")}
    for side in ("true", "false"):
        nodes[side], nodes[side + "_leaf"] = [], []
    leaves, targets, roots = [], [], []
    n_nodes = n_leaves = 0
    for tree in trees:
        is_leaf = np.asarray(tree["is_leaf"], bool)
        if is_leaf[0]:  # a lone leaf: one split whose two branches reach it
            tree = tree | {"feature": [0], "threshold": [0.0], "missing_left": [1]}
            internal, leaf_rows = np.array([0]), np.array([0])
            for side in ("true", "false"):
                nodes[side].append(np.array([n_leaves]))
                nodes[side + "_leaf"].append(np.array([1]))
        else:
            reached = tree.get("reached", True)
            internal = np.flatnonzero(~is_leaf & reached)
            leaf_rows = np.flatnonzero(is_leaf & reached)
            index = np.zeros(len(is_leaf), np.int64)
            index[internal] = n_nodes + np.arange(len(internal))
            index[leaf_rows] = n_leaves + np.arange(len(leaf_rows))
            for side, children in (("true", tree["left"]), ("false", tree["right"])):
                children = np.asarray(children)[internal]
                nodes[side].append(index[children])
                nodes[side + "_leaf"].append(is_leaf[children].astype(np.int64))
        nodes["feature"].append(np.asarray(tree["feature"], np.int64)[internal])
        nodes["split"].append(np.asarray(tree["threshold"], np.float64)[internal])
        nodes["missing"].append(np.asarray(tree["missing_left"], np.int64)[internal])
        leaves.append(np.asarray(tree["value"], np.float64)[leaf_rows])
        targets.append(np.full(len(leaf_rows), tree["target"], np.int64))
        roots.append(n_nodes)
        n_nodes += len(internal)
        n_leaves += len(leaf_rows)
    flat = {k: np.concatenate(v) for k, v in nodes.items()}
    helper = g.onnx.numpy_helper
    return g.op(
        "TreeEnsemble",
        x,
        domain="ai.onnx.ml",
        n_targets=n_targets,
        tree_roots=roots,
        nodes_featureids=flat["feature"].tolist(),
        nodes_splits=helper.from_array(flat["split"]),
        nodes_modes=helper.from_array(np.zeros(n_nodes, np.uint8)),  # BRANCH_LEQ
        nodes_truenodeids=flat["true"].tolist(),
        nodes_trueleafs=flat["true_leaf"].tolist(),
        nodes_falsenodeids=flat["false"].tolist(),
        nodes_falseleafs=flat["false_leaf"].tolist(),
        nodes_missing_value_tracks_true=flat["missing"].tolist(),
        leaf_targetids=np.concatenate(targets).tolist(),
        leaf_weights=helper.from_array(np.concatenate(leaves)),
        aggregate_function=1,  # SUM
        post_transform=0,
    )


def _forest(g: _Graph, forest: Any, x: str) -> str:
    """What ``_forest_average`` computes: the trees' mean on float32 inputs."""
    n_columns = getattr(forest, "n_classes_", 1)
    trees = []
    for estimator in forest.estimators_:
        tree = estimator.tree_
        arrays = {
            "left": tree.children_left,
            "right": tree.children_right,
            "feature": tree.feature,
            "threshold": tree.threshold,
            "missing_left": getattr(tree, "missing_go_to_left", np.zeros(tree.node_count)),
            "is_leaf": tree.children_left == -1,
        }
        values = tree.value[:, 0, :n_columns]
        live = _nonzero_below(arrays["left"], arrays["right"], arrays["is_leaf"], values)
        for target in np.flatnonzero(live[0]):  # a TreeEnsemble leaf adds to one column
            trees.append(_pruned(arrays, values[:, target], live[:, target]) | {"target": target})
    total = _tree_ensemble(g, g.as_float32(x), trees, n_columns)
    return g.op("Div", total, g.const(np.float64(len(forest.estimators_))))


def _nonzero_below(
    left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Whether some leaf under each node (itself, for a leaf) has a non-zero value, per column.

    Children come after their parent in scikit-learn's trees, so one backward pass does.
    """
    live = values != 0
    for node in np.flatnonzero(~is_leaf)[::-1]:
        live[node] = live[left[node]] | live[right[node]]
    return live


def _pruned(tree: dict[str, np.ndarray], value: np.ndarray, live: np.ndarray) -> dict:
    """``tree`` for one column: a subtree whose leaves all add zero becomes a zero leaf.

    Forests grown to pure leaves add zero to most columns at most leaves: a copy per
    column would otherwise repeat every tree once per class.
    """
    reached = np.zeros(len(live), bool)
    reached[0] = True
    is_leaf = tree["is_leaf"] | ~live
    for node in np.flatnonzero(~is_leaf):  # parents first
        reached[tree["left"][node]] = reached[tree["right"][node]] = reached[node]
    return tree | {"is_leaf": is_leaf, "value": np.where(live, value, 0.0), "reached": reached}


def _boosting(g: _Graph, model: Any, x: str) -> str:
    """Raw predictions of histogram gradient boosting: baseline plus its trees."""
    trees = []
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise _unsupported("gradient boosting on native categorical features", model)
            trees.append(
                {
                    "left": nodes["left"],
                    "right": nodes["right"],
                    "feature": nodes["feature_idx"],
                    "threshold": nodes["num_threshold"],
                    "missing_left": nodes["missing_go_to_left"],
                    "is_leaf": nodes["is_leaf"].astype(bool),
                    "value": nodes["value"],
                    "target": target,
                }
            )
    total = _tree_ensemble(g, x, trees, model.n_trees_per_iteration_)
    return g.op("Add", total, g.const(np.asarray(model._baseline_prediction, np.float64)))


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


# --- public functions ------------------------------------------------------------------


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
        ``classes_``) and ``"probabilities"`` (float64, ordered as ``classes_``)
        for a classifier; ``"values"`` (float64, shape ``(n,)``) for a regressor.

    Raises
    ------
    NotImplementedError
        When a member or preprocessing step has no ONNX form (free-text columns, for
        instance); the message names it.

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
    ensemble = estimator.ensemble_
    total = None
    for i, (member, weight) in enumerate(zip(ensemble.members_, ensemble.weights_, strict=True)):
        try:
            pred = _member(g, member, features)
        except NotImplementedError as exc:
            raise NotImplementedError(
                f"Ensemble member {i} (trial {ensemble.trial_ids_[i]}): {exc}"
            ) from exc
        pred = g.op("Mul", g.const(np.float64(weight)), pred)
        total = pred if total is None else g.op("Add", total, pred)
    if is_classifier(estimator):
        classes, elem_type = _classes(estimator.classes_)
        index = g.op("ArgMax", total, axis=1, keepdims=0)
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
