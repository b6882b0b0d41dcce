"""The safe model file: a fitted estimator in one zip archive that loading never unpickles.

:func:`save` writes, and :func:`load` reads, one zip archive of these parts:

- ``manifest.json``: the format name and version; the versions of sknas, Python,
  torch, scikit-learn, numpy, skops and safetensors that wrote the file; the task
  and the estimator's class; its parameters (``get_params``) that JSON holds; the
  input features (names and how the preprocessor encodes each); every fitted
  attribute other than the two below, in JSON (``classes_`` and
  ``feature_names_in_`` with their dtypes, ``n_features_in_``, ``image_shape_``,
  ``best_params_`` with its genome, ``best_score_``, ``n_trials_``, ``device_``,
  ``timings_``, ``leaderboard_`` column by column with its dtypes, and any other
  fitted attribute that JSON holds, such as ``reference_``); the ensemble's weights
  and trial ids with one entry per member saying its kind and how to rebuild it;
  and the size and SHA-256 of every other part;
- ``members/<i>.safetensors``: the weights of a network member, whose genome (as
  JSON) is in its manifest entry;
- ``members/<i>.skops``: a classical member's scikit-learn estimator, through
  :mod:`skops.io`;
- ``members/<i>/fold<k>.*``: the fold models of a bag (a member trained on each fold
  of a k-fold search), each as one of the above;
- ``preprocessor.skops``: the fitted ``preprocessor_``, through :mod:`skops.io`.

Loading checks the format version, every part's size and SHA-256, then every skops
part's types against :data:`TRUSTED_TYPES` (nothing else is loaded) and every
network's tensors against the names and shapes its genome builds, and refuses what
does not match with a :class:`~sknas.exceptions.ModelFileError` that names the part
and says what to do. Loading runs no code from the file: no part is unpickled, skops
builds only the trusted types, and safetensors holds raw numbers.

Deliberately not saved: the private ``_warm_journal`` (the search's record and its
best models, kept in memory for ``warm_start`` only, and not pickled either) and
estimator parameters that JSON cannot hold (a strategy or splitter object, ``init_from``, a
``RandomState``): a loaded estimator has their defaults, and the manifest lists
them under ``params_not_saved``. These parameters shape a new search, not
predictions. A fitted attribute that can be neither saved nor rebuilt makes
:func:`save` fail with its name, rather than be left out silently.

:func:`member_to_parts` and :func:`member_from_parts` turn one ensemble member into
a JSON entry and named byte strings, and back: the same functions can store members
elsewhere (a search's checkpoint) under the same format and checks.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "load",
    "member_from_parts",
    "member_to_parts",
    "save",
]

#: Version of the model file's layout; a file of a newer version is refused.
FORMAT_VERSION = 1
_FORMAT = "sknas-model"
_MANIFEST = "manifest.json"
_PREPROCESSOR = "preprocessor.skops"
#: The largest manifest (and skops schema) read, in bytes: leaderboards of many thousand
#: trials fit.
_MAX_MANIFEST_BYTES = 256 * 2**20
#: Fitted attributes stored as parts of their own rather than in the manifest.
_PARTS_ATTRIBUTES = ("preprocessor_", "ensemble_")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*_")
_TASKS = ("classification", "regression")

#: Every type a skops part (the preprocessor, a classical member) may hold, by its
#: fully qualified name: the only types :func:`load` builds from skops parts. The
#: estimators and transformers sknas fits, the scikit-learn internals they hold
#: (trees, boosting predictors, losses, binning), and the numpy and Python values
#: of their attributes.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.bool",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    # Gradient boosting on category codes validates its numeric columns through
    # partial(check_array, ...); skops audits the function a partial wraps like any type.
    "functools.partial",
    "numpy.bool",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int32",
    "numpy.int64",
    "numpy.ndarray",
    "numpy.random._generator.Generator",
    "numpy.uint32",
    "numpy.uint64",
    "numpy.uint8",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.decomposition._truncated_svd.TruncatedSVD",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.preprocessing._target_encoder.TargetEncoder",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
    "sknas.preprocessing.CategoryEncoder",
    "sknas.preprocessing.ChannelStandardizer",
    "sknas.preprocessing.TableTransformer",
    "sknas.preprocessing.TargetPipeline",
    "sknas.preprocessing.TextDocuments",
    "sknas.preprocessing._as_category_strings",
    "sknas.preprocessing._datetime_features",
    "sknas.preprocessing._duration_days",
)


# --- JSON values -------------------------------------------------------------------------
# Plain JSON, with tagged objects for what it lacks: {"$float": "nan"}, {"$tuple": [...]},
# {"$dict": [[key, value], ...]} (keys that are not strings, or start with "$"),
# {"$ndarray": ...}, {"$frame": ...} and {"$genome": ...}.


class _NotJSONable(TypeError):
    """A value the manifest's JSON encoding cannot hold."""


def _encode(value: Any) -> Any:
    """``value`` as JSON-ready data that :func:`_decode` turns back into an equal value."""
    if value is None or value is pd.NA or isinstance(value, bool | str):
        return None if value is pd.NA else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if type(value) is np.ndarray:  # not a subclass (a masked array's mask would be lost)
        return {"$ndarray": _encode_array(value)}
    if isinstance(value, pd.DataFrame):
        return {"$frame": _encode_frame(value)}
    from .space.genome import Genome

    if isinstance(value, Genome):
        return {"$genome": value.to_dict()}
    raise _NotJSONable(f"a {type(value).__name__} is not JSON-able")


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    if array.dtype.kind not in "biufUO" or (array.dtype.kind == "O" and array.ndim != 1):
        raise _NotJSONable(f"an array of dtype {array.dtype} and {array.ndim} dimensions")
    return {
        "dtype": array.dtype.str if array.dtype.kind != "O" else "object",
        "shape": list(array.shape),
        "values": _encode(array.ravel().tolist()),
    }


def _encode_frame(frame: pd.DataFrame) -> dict[str, Any]:
    default_index = frame.index.equals(pd.RangeIndex(len(frame)))
    return {
        "columns": _encode(list(frame.columns)),
        "dtypes": [str(dtype) for dtype in frame.dtypes],
        "index": None if default_index else _encode(frame.index.tolist()),
        "data": [_encode(frame.iloc[:, i].tolist()) for i in range(frame.shape[1])],
    }


def _decode(data: Any) -> Any:
    """Inverse of :func:`_encode`; raises ValueError, TypeError or KeyError on malformed data."""
    if isinstance(data, list):
        return [_decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((tag, content),) = data.items()
        if tag == "$float":
            if content not in ("nan", "inf", "-inf"):
                raise ValueError(f"{content!r} is not a non-finite float")
            return float(content)
        if tag == "$tuple":
            return tuple(_decode(v) for v in content)
        if tag == "$dict":
            return {_decode(k): _decode(v) for k, v in content}
        if tag == "$ndarray":
            return _decode_array(content)
        if tag == "$frame":
            return _decode_frame(content)
        if tag == "$genome":
            from .space.genome import Genome

            return Genome.from_dict(content)
    return {k: _decode(v) for k, v in data.items()}


def _decode_array(content: Mapping[str, Any]) -> np.ndarray:
    dtype = np.dtype(content["dtype"])
    if dtype.kind not in "biufUO":
        raise ValueError(f"arrays of dtype {dtype} are not part of the format")
    values = _decode(content["values"])
    if dtype.kind == "O":
        array = np.empty(len(values), dtype=object)
        array[:] = values
    else:
        array = np.array(values, dtype=dtype)
    return array.reshape([int(n) for n in content["shape"]])


def _decode_frame(content: Mapping[str, Any]) -> pd.DataFrame:
    columns = _decode(content["columns"])
    series = [
        pd.Series(_decode(values), dtype=dtype)
        for values, dtype in zip(content["data"], content["dtypes"], strict=True)
    ]
    frame = pd.concat(series, axis=1, keys=range(len(columns))) if series else pd.DataFrame()
    frame.columns = columns
    if content["index"] is not None:
        frame.index = pd.Index(_decode(content["index"]))
    return frame


# --- skops parts -------------------------------------------------------------------------


def _skops_types(data: bytes) -> set[str]:
    """Every type a skops payload names: ``module.name`` of each node in its schema.

    skops builds each object from a node whose state holds ``__module__`` and
    ``__class__``, so these are all the types (and functions) loading would import.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if archive.getinfo("schema.json").file_size > _MAX_MANIFEST_BYTES:
            raise ValueError("its schema is larger than any sknas writes")
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _dump_skops(obj: Any, part: str) -> bytes:
    """``obj`` through skops, checked to hold only :data:`TRUSTED_TYPES`."""
    import skops.io

    data = skops.io.dumps(obj, compression=zipfile.ZIP_DEFLATED)
    untrusted = sorted(_skops_types(data) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelFileError(
            f"Cannot save part {part!r}: it holds types that sknas does not load from "
            f"model files: {untrusted}. Pickle the estimator instead, or ask for these "
            "types to join sknas.persistence.TRUSTED_TYPES."
        )
    return data


def _load_skops(data: bytes, part: str) -> Any:
    """The object of a skops part, refused unless it holds only :data:`TRUSTED_TYPES`."""
    import skops.io

    trusted = set(TRUSTED_TYPES)
    try:
        # Our own reading of the schema sees every type; skops' audit is a second check
        # in case a future skops records types where the schema reading does not look.
        untrusted = _skops_types(data) | set(skops.io.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError) as error:
        raise ModelFileError(f"Part {part!r} is not a valid skops payload: {error}.") from error
    untrusted = sorted(untrusted - trusted)
    if untrusted:
        raise ModelFileError(
            f"Part {part!r} holds types that sknas never loads from a model file: "
            f"{untrusted}. The file was altered or not written by sknas.persistence.save; "
            "nothing from it was loaded. Save the model again from a trusted source."
        )
    try:
        return skops.io.loads(data, trusted=sorted(trusted))
    except Exception as error:  # whatever skops raises, the part is unusable
        raise ModelFileError(f"Part {part!r} could not be loaded by skops: {error}.") from error


# --- members -----------------------------------------------------------------------------


def member_to_parts(member: Any, name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One ensemble member as a JSON-ready entry and the named parts it refers to.

    Parameters
    ----------
    member : NeuralMember, ClassicalMember or BaggedMember
    name : str
        Prefix of the parts' names (``"members/3"``: ``"members/3.safetensors"``;
        a bag's fold models get ``"members/3/fold0"`` and so on).

    Returns
    -------
    entry : dict
        ``kind`` (``"network"``, ``"classical"`` or ``"bag"``), what rebuilds the
        member, and the names of its parts.
    parts : dict of str to bytes
        Safetensors weights of networks, skops payloads of classical estimators.

    Raises
    ------
    ModelFileError
        For a member of another type, a classical estimator holding types outside
        :data:`TRUSTED_TYPES`, or a ``minirocket`` member (not saved).
    """
    from .evaluation.classical import ClassicalMember
    from .evaluation.crossval import BaggedMember
    from .evaluation.members import NeuralMember
    from .evaluation.rocket import MiniRocketClassifier, MiniRocketRegressor

    minirocket = (MiniRocketClassifier, MiniRocketRegressor)
    if isinstance(member, BaggedMember):
        entries, parts = [], {}
        for k, fold in enumerate(member.members):
            entry, fold_parts = member_to_parts(fold, f"{name}/fold{k}")
            entries.append(entry)
            parts |= fold_parts
        return {"kind": "bag", "members": entries}, parts
    if isinstance(member, NeuralMember):
        from safetensors.numpy import save as save_tensors

        part = f"{name}.safetensors"
        weights = {k: np.require(v, requirements="C") for k, v in member.weights.items()}
        entry = {
            "kind": "network",
            "genome": member.genome.to_dict(),
            "n_features": int(member.n_features),
            "n_outputs": int(member.n_outputs),
            "task": member.task,
            "target_mean": float(member.target_mean),
            "target_scale": float(member.target_scale),
            "image_shape": None if member.image_shape is None else list(member.image_shape),
            "weights": part,
        }
        return entry, {part: save_tensors(weights)}
    if isinstance(member, ClassicalMember) and isinstance(member.estimator, minirocket):
        raise ModelFileError(
            f"Cannot save member {name!r}: the 'minirocket' family's members (MiniRocket "
            "features through aeon, whose fitted objects skops cannot audit) are not "
            "saved in model files. Pickle the estimator instead, or search "
            "families=['cnn1d'] for a model that saves."
        )
    if isinstance(member, ClassicalMember):
        part = f"{name}.skops"
        entry = {
            "kind": "classical",
            "estimator_class": type(member.estimator).__name__,
            "task": member.task,
            "n_outputs": int(member.n_outputs),
            "target_mean": float(member.target_mean),
            "target_scale": float(member.target_scale),
            "estimator": part,
        }
        if member.codes is not None:
            entry["category_blocks"] = [[int(s), int(w)] for s, w in member.codes.blocks]
            if member.codes.levels:
                levels = member.codes.levels
                entry["level_codes"] = [[int(c), float(scale)] for c, scale in levels]
                entry["dropped_columns"] = [int(c) for c in member.codes.dropped]
        return entry, {part: _dump_skops(member.estimator, part)}
    raise ModelFileError(
        f"Cannot save member {name!r}: sknas saves networks, classical estimators and "
        f"bags of them, not a {type(member).__name__}."
    )


def member_from_parts(entry: Mapping[str, Any], parts: Mapping[str, bytes]) -> Any:
    """Inverse of :func:`member_to_parts`, checking what it reads.

    Parameters
    ----------
    entry : mapping
        A member's entry, as :func:`member_to_parts` made it.
    parts : mapping of str to bytes
        The parts, already checked against their SHA-256 (the caller's job).

    Returns
    -------
    NeuralMember, ClassicalMember or BaggedMember

    Raises
    ------
    ModelFileError
        When the entry is malformed, a part is missing, a skops part holds a type
        outside :data:`TRUSTED_TYPES`, or a network's tensors are not those its
        genome builds (names and shapes).
    """
    kind = entry.get("kind") if isinstance(entry, Mapping) else None
    try:
        if kind == "bag":
            from .evaluation.crossval import BaggedMember

            folds = entry["members"]
            if not isinstance(folds, list) or not folds:
                raise ValueError("a bag needs a non-empty list of members")
            return BaggedMember(tuple(member_from_parts(fold, parts) for fold in folds))
        if kind == "network":
            return _network_from_parts(entry, parts)
        if kind == "classical":
            return _classical_from_parts(entry, parts)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(
            f"A member entry of the manifest is malformed ({type(error).__name__}: {error}); "
            "the file was altered or written by another program. Save the model again."
        ) from error
    raise ModelFileError(
        f"A member of the manifest has kind {kind!r}; this sknas reads 'network', "
        "'classical' and 'bag' members. Upgrade sknas, or save the model again."
    )


def _part(parts: Mapping[str, bytes], name: Any) -> bytes:
    if not isinstance(name, str) or name not in parts:
        raise ModelFileError(
            f"Part {name!r}, which the manifest names, is missing from the file. The file "
            "is incomplete or was altered; save or copy the model again."
        )
    return parts[name]


def _target_scaling(entry: Mapping[str, Any]) -> dict[str, Any]:
    task = entry["task"]
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
    scaling = {key: entry[key] for key in ("target_mean", "target_scale")}
    if not all(isinstance(v, float | int) and not isinstance(v, bool) for v in scaling.values()):
        raise ValueError(f"target_mean and target_scale must be numbers, got {scaling}")
    n_outputs = entry["n_outputs"]
    if not isinstance(n_outputs, int) or isinstance(n_outputs, bool) or n_outputs < 1:
        raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}")
    return {"task": task, "n_outputs": n_outputs, **scaling}


def _network_from_parts(entry: Mapping[str, Any], parts: Mapping[str, bytes]) -> Any:
    import torch
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_tensors

    from .evaluation.members import NeuralMember
    from .space.genome import Genome
    from .space.modules import GenomeNet

    part = entry["weights"]
    data = _part(parts, part)
    genome = Genome.from_dict(entry["genome"])
    n_features = entry["n_features"]
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features < 1:
        raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
    image_shape = entry["image_shape"]
    if image_shape is not None:
        if not (isinstance(image_shape, list) and len(image_shape) in (2, 3)):
            raise ValueError(
                f"image_shape must be None, 3 integers (images) or 2 (sequences), got "
                f"{image_shape!r}"
            )
        image_shape = tuple(int(n) for n in image_shape)
    settings = _target_scaling(entry)
    with torch.device("meta"):  # shapes only: no memory, no random numbers
        module = GenomeNet(genome, n_features, settings["n_outputs"], image_shape)
    expected = {
        k: (tuple(v.shape), v.dtype.is_floating_point) for k, v in module.state_dict().items()
    }
    try:
        weights = load_tensors(data)
    except SafetensorError as error:
        raise ModelFileError(f"Part {part!r} is not valid safetensors: {error}.") from error
    found = {k: (tuple(v.shape), v.dtype.kind == "f") for k, v in weights.items()}
    if found != expected:
        wrong = sorted(k for k in found.keys() & expected.keys() if found[k] != expected[k])
        details = [
            f"tensor {k!r} is {found[k][0]}, the genome builds {expected[k][0]}" for k in wrong
        ]
        details += [f"tensor {k!r} is missing" for k in sorted(expected.keys() - found.keys())]
        details += [f"tensor {k!r} is unexpected" for k in sorted(found.keys() - expected.keys())]
        raise ModelFileError(
            f"Part {part!r} does not hold the weights of genome {genome.key()}: "
            f"{'; '.join(details[:5])}. The file was altered; save the model again."
        )
    return NeuralMember(
        genome=genome, n_features=n_features, weights=weights, image_shape=image_shape, **settings
    )


def _classical_from_parts(entry: Mapping[str, Any], parts: Mapping[str, bytes]) -> Any:
    from sklearn.base import BaseEstimator

    from .evaluation.classical import CategoryCodes, ClassicalMember

    part = entry["estimator"]
    estimator = _load_skops(_part(parts, part), part)
    if not isinstance(estimator, BaseEstimator):
        raise ModelFileError(f"Part {part!r} holds a {type(estimator).__name__}, not an estimator.")
    codes = None
    if "category_blocks" in entry:
        blocks = tuple((int(start), int(width)) for start, width in entry["category_blocks"])
        if any(start < 0 or width < 1 for start, width in blocks):
            raise ValueError(f"category blocks must be (start >= 0, width >= 1): {blocks}")
        levels = tuple((int(c), float(scale)) for c, scale in entry.get("level_codes", []))
        if any(column < 0 or not scale > 0 for column, scale in levels):
            raise ValueError(f"level codes must be (column >= 0, scale > 0): {levels}")
        dropped = tuple(int(c) for c in entry.get("dropped_columns", []))
        if any(column < 0 for column in dropped):
            raise ValueError(f"dropped columns must be >= 0: {dropped}")
        codes = CategoryCodes(blocks, levels, dropped)
    return ClassicalMember(estimator=estimator, codes=codes, **_target_scaling(entry))


# --- the archive -------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from . import __version__

    versions = {"sknas": __version__, "python": platform.python_version()}
    for package in ("torch", "scikit-learn", "numpy", "pandas", "skops", "safetensors"):
        versions[package] = version(package)
    return versions


def _feature_encodings(preprocessor: Any, n_features: int) -> list[str]:
    """How the preprocessor encodes each input column: numeric, categorical, text or pixel."""
    from sklearn.compose import ColumnTransformer

    from .preprocessing import ChannelStandardizer

    if isinstance(preprocessor, ChannelStandardizer):
        return ["pixel"] * n_features
    encodings = ["numeric"] * n_features
    if isinstance(preprocessor, ColumnTransformer):
        names = list(getattr(preprocessor, "feature_names_in_", []))
        for name, _, columns in preprocessor.transformers_:
            kind = {"remainder": "dropped"}.get(name, "text" if name.startswith("text") else name)
            if not isinstance(columns, slice) and np.asarray(columns).dtype.kind in "OU":
                columns = [names.index(column) for column in np.atleast_1d(columns)]
            for position in np.atleast_1d(np.arange(n_features)[columns]):
                encodings[int(position)] = kind
    return encodings


def _manifest_and_parts(estimator: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    from sklearn.utils.validation import check_is_fitted

    from ._estimators import NASClassifier, NASRegressor

    if type(estimator) not in (NASClassifier, NASRegressor):
        raise TypeError(
            f"save writes fitted NASClassifier and NASRegressor estimators, not a "
            f"{type(estimator).__name__}; pickle other objects."
        )
    check_is_fitted(estimator)
    params, not_saved = {}, {}
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = _encode(value)
        except _NotJSONable:
            not_saved[name] = type(value).__name__
    attributes = {}
    for name, value in vars(estimator).items():
        if not _ATTRIBUTE_NAME.fullmatch(name) or name in _PARTS_ATTRIBUTES:
            continue
        try:
            attributes[name] = _encode(value)
        except _NotJSONable as error:
            raise ModelFileError(
                f"Cannot save the fitted attribute {name!r}: {error}. sknas.persistence "
                "must learn to store it (or list it as not saved); pickle the estimator "
                "meanwhile."
            ) from None
    ensemble = estimator.ensemble_
    parts = {_PREPROCESSOR: _dump_skops(estimator.preprocessor_, _PREPROCESSOR)}
    members = []
    for i, member in enumerate(ensemble.members_):
        entry, member_parts = member_to_parts(member, f"members/{i}")
        members.append(entry)
        parts |= member_parts
    names = getattr(estimator, "feature_names_in_", None)
    manifest = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": type(estimator).__name__,
        "task": estimator._task,
        "params": params,
        "params_not_saved": not_saved,
        "features": {
            "names": None if names is None else [str(n) for n in names],
            "encodings": _feature_encodings(estimator.preprocessor_, estimator.n_features_in_),
        },
        "attributes": attributes,
        "preprocessor": _PREPROCESSOR,
        "ensemble": {
            "weights": [float(w) for w in ensemble.weights_],
            "trial_ids": [int(t) for t in ensemble.trial_ids_],
            "members": members,
        },
        "parts": {
            name: {"bytes": len(data), "sha256": _sha256(data)} for name, data in parts.items()
        },
    }
    return manifest, parts


def save(estimator: Any, path: str | os.PathLike) -> None:
    """Write a fitted estimator to ``path`` as a model file that loads without pickle.

    The file is a zip archive: a JSON manifest, network weights as safetensors, and
    scikit-learn parts (the preprocessor, classical members) through skops; see
    :mod:`sknas.persistence`. It is written to a temporary file next to ``path``,
    then renamed, so ``path`` never holds half a model.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.
    path : str or path-like
        Conventionally ending in ``.skn``.

    Raises
    ------
    TypeError
        When ``estimator`` is not a NASClassifier or NASRegressor.
    sklearn.exceptions.NotFittedError
        When it is not fitted.
    ModelFileError
        When a fitted attribute or member cannot be stored in the format.

    See Also
    --------
    load : Read the file back.
    """
    manifest, parts = _manifest_and_parts(estimator)
    path = Path(path)
    # A new name next to ``path`` (so that the rename is atomic), created with the
    # permissions the umask gives any new file (tempfile's would be private).
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file, zipfile.ZipFile(file, "w") as archive:
            text = json.dumps(manifest, allow_nan=False, separators=(",", ":"))
            archive.writestr(_MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
            for name, data in parts.items():  # already compressed, or dense numbers
                archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every part it lists, each checked against its size and SHA-256."""
    again = "Copy or save the model again."
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ModelFileError(
            f"{path} is not a complete sknas model file ({error}): it is truncated, or is "
            f"not a model file (a pickle, say: load those with pickle, and only if you "
            f"trust them). {again}"
        ) from error
    with archive:
        names = archive.namelist()
        if len(set(names)) != len(names):
            raise ModelFileError(f"{path} holds several parts of one name; it was altered. {again}")
        if _MANIFEST not in names:
            raise ModelFileError(
                f"{path} has no part {_MANIFEST!r}: it is not an sknas model file."
            )
        manifest = _read_part(archive, _MANIFEST, _MAX_MANIFEST_BYTES, path)
        try:
            manifest = json.loads(manifest)
        except ValueError as error:
            raise ModelFileError(
                f"Part {_MANIFEST!r} of {path} is not valid JSON: {error}. {again}"
            ) from error
        _check_format(manifest, path)
        table = manifest.get("parts")
        if not isinstance(table, dict):
            raise ModelFileError(f"Part {_MANIFEST!r} of {path} lists no parts. {again}")
        extra = sorted(set(names) - set(table) - {_MANIFEST})
        if extra:
            raise ModelFileError(
                f"{path} holds parts its manifest does not list: {extra}; it was altered. {again}"
            )
        parts = {}
        for name, expected in table.items():
            if name not in names:
                raise ModelFileError(f"Part {name!r} is missing from {path}. {again}")
            try:
                size, digest = int(expected["bytes"]), str(expected["sha256"])
            except (KeyError, TypeError, ValueError) as error:
                raise ModelFileError(
                    f"The manifest's entry of part {name!r} is malformed. {again}"
                ) from error
            data = _read_part(archive, name, size, path)
            if len(data) != size or _sha256(data) != digest:
                raise ModelFileError(
                    f"Part {name!r} of {path} is corrupted: its size or SHA-256 differs from "
                    f"the manifest's. {again}"
                )
            parts[name] = data
    return manifest, parts


def _read_part(archive: zipfile.ZipFile, name: str, max_bytes: int, path: Path) -> bytes:
    """A part's bytes, refused when larger than ``max_bytes``, compressed or damaged.

    Only the manifest is compressed, so no other part can expand beyond the file's size.
    """
    info = archive.getinfo(name)
    compressed = name != _MANIFEST and info.compress_type != zipfile.ZIP_STORED
    if info.file_size > max_bytes or compressed:
        raise ModelFileError(
            f"Part {name!r} of {path} is {info.file_size} bytes"
            f"{', compressed' if compressed else ''}, not what the manifest allows "
            f"({max_bytes} bytes, stored); the file was altered. Copy or save the model again."
        )
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise ModelFileError(
            f"Part {name!r} of {path} is corrupted or truncated ({error}). Copy or save the "
            "model again."
        ) from error


def _check_format(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ModelFileError(f"{path} is not an sknas model file (its manifest says otherwise).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has a malformed format version {version!r}.")
    if version > FORMAT_VERSION:
        from . import __version__

        written_by = manifest.get("versions", {}).get("sknas", "a newer sknas")
        raise ModelFileError(
            f"{path} is a model file of format version {version}, written by sknas "
            f"{written_by}; this sknas ({__version__}) reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade sknas (pip install -U sknas) to load it."
        )


def load(path: str | os.PathLike) -> Any:
    """Read a model file written by :func:`save`, without unpickling anything.

    Every part is checked against the size and SHA-256 the manifest records; skops
    parts may hold only :data:`TRUSTED_TYPES`, and each network's tensors must have
    the names and shapes its genome builds. The loaded estimator predicts exactly as
    the saved one did.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator : NASClassifier or NASRegressor
        Fitted. Parameters that the file could not hold (see ``params_not_saved`` in
        its manifest) have their defaults.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ModelFileError
        When the file is not a complete, unaltered sknas model file of a format
        version this sknas reads; the message names the part and what to do.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sknas import NASClassifier
    >>> import sknas, tempfile, os
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NASClassifier(n_trials=1, families=["linear"], random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.skn")
    >>> sknas.persistence.save(clf, path)
    >>> (sknas.load(path).predict_proba(X) == clf.predict_proba(X)).all()
    np.True_
    """
    from ._estimators import NASClassifier, NASRegressor
    from .ensemble import FittedEnsemble

    path = Path(path)
    manifest, parts = _read_archive(path)
    classes = {"NASClassifier": NASClassifier, "NASRegressor": NASRegressor}
    try:
        cls = classes[manifest["estimator"]]
        known = cls().get_params(deep=False)
        params = {k: v for k, v in _decode(manifest["params"]).items() if k in known}
        estimator = cls(**params)
        attributes = _decode(manifest["attributes"])
        ensemble = manifest["ensemble"]
        weights = np.array(ensemble["weights"], dtype=np.float64)
        trial_ids = ensemble["trial_ids"]
        entries = ensemble["members"]
        preprocessor = manifest["preprocessor"]
        if not isinstance(entries, list) or not isinstance(attributes, dict):
            raise TypeError("the ensemble's members and the attributes must be a list and a dict")
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(
            f"Part {_MANIFEST!r} of {path} is malformed ({type(error).__name__}: {error}). "
            "Copy or save the model again."
        ) from error
    for name, value in attributes.items():
        if not _ATTRIBUTE_NAME.fullmatch(name) or name in _PARTS_ATTRIBUTES:
            raise ModelFileError(
                f"Part {_MANIFEST!r} of {path} sets {name!r}, which is not a fitted attribute "
                "it may hold; the file was altered. Copy or save the model again."
            )
        setattr(estimator, name, value)
    members = [member_from_parts(entry, parts) for entry in entries]
    try:
        estimator.ensemble_ = FittedEnsemble(members, weights, trial_ids)
    except ValueError as error:
        raise ModelFileError(f"The ensemble in {path} is malformed: {error}") from error
    estimator.ensemble_.weights_ = weights  # exactly as saved (not normalised once more)
    estimator.preprocessor_ = _load_skops(_part(parts, preprocessor), preprocessor)
    return estimator
