"""The fitted preprocessing as ONNX operators, in float64 (float32 where it rounds)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

from ..preprocessing import ChannelStandardizer, _as_category_strings
from ._graph import _Graph, _unsupported


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


def _level_codes(g: _Graph, step: OrdinalEncoder, columns: list[str]) -> str:
    """Each column's level code as ``OrdinalEncoder.transform`` gives it (unknown levels:
    its ``unknown_value``), as float64."""
    if step.handle_unknown != "use_encoded_value" or getattr(step, "_missing_indices", None):
        raise _unsupported("an ordinal encoder that refuses unknown levels", step)
    parts = []
    for column, categories in zip(columns, step.categories_, strict=True):
        codes = g.op(
            "LabelEncoder",
            column,
            domain="ai.onnx.ml",
            keys_strings=[str(c) for c in categories],
            values_floats=[float(i) for i in range(len(categories))],
            default_float=float(step.unknown_value),
        )
        parts.append(g.op("Cast", codes, to=g.onnx.TensorProto.DOUBLE))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _target_encoding(g: _Graph, step: TargetEncoder, columns: list[str]) -> str:
    """Each column's encodings as ``TargetEncoder.transform`` gives them (unknown
    categories: the target mean), as float64."""
    n_classes = len(step.classes_) if step.target_type_ == "multiclass" else 1
    means = np.atleast_1d(step.target_mean_)
    parts = []
    for j, (column, categories) in enumerate(zip(columns, step.categories_, strict=True)):
        encodings = step.encodings_[j * n_classes : (j + 1) * n_classes]
        table = np.vstack([np.column_stack(encodings), means[None, :]])  # unknown: last row
        index = g.op(
            "LabelEncoder",
            column,
            domain="ai.onnx.ml",
            keys_strings=[str(c) for c in categories],
            values_int64s=list(range(len(categories))),
            default_int64=len(categories),
        )
        rows = g.op("Gather", g.const(table, "encodings"), index, axis=0)  # (n, 1, width)
        parts.append(g.op("Reshape", rows, g.const(np.array([0, -1], np.int64))))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _pipeline(g: _Graph, pipeline: Any, x: str | list[str]) -> str:
    steps = pipeline.steps if isinstance(pipeline, Pipeline) else [("", pipeline)]
    for name, step in steps:
        if isinstance(step, FunctionTransformer) and step.func is _as_category_strings:
            continue  # onnx_inputs feeds categories as these strings
        if isinstance(step, OneHotEncoder):
            x = _one_hot(g, step, x)
            continue
        if isinstance(step, TargetEncoder):
            x = _target_encoding(g, step, x)
            continue
        if isinstance(step, OrdinalEncoder):
            x = _level_codes(g, step, x)
            continue
        if isinstance(x, list):
            x = x[0] if len(x) == 1 else g.op("Concat", *x, axis=1)
        if isinstance(step, SimpleImputer):
            x = _imputer(g, step, x)
        elif isinstance(step, StandardScaler):
            x = _scaler(g, step, x)
        elif isinstance(step, MaxAbsScaler):
            x = g.op("Div", x, g.const(step.scale_.astype(np.float64)[None, :], "scale"))
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
    if isinstance(preprocessor, MaxAbsScaler):  # fitted on sparse rows, which ONNX lacks
        raise _unsupported("a model fitted on sparse input", preprocessor)
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
        if name in ("datetime", "duration"):
            raise NotImplementedError(
                f"ONNX export does not support {name} columns "
                f"({[_input_names(estimator)[c] for c in columns]}); turn them into numbers "
                "(days since an epoch and the calendar parts you need, or a duration's "
                "days) before fitting."
            )
        parts.append(_pipeline(g, transformer, [inputs[c] for c in columns]))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


def _input_names(estimator: Any) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(estimator.n_features_in_)]
    return [str(name) for name in names]
