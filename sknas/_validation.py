"""Checks of what ``fit`` and ``predict`` receive: ``X``, ``y``, weights and groups.

Every function raises scikit-learn-style errors that say what to fix, and never
modifies what the user passed in. Sparse ``X`` (any scipy format) becomes a CSR
matrix, never densified; its explicit values must be finite.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api.types import infer_dtype
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import MaxAbsScaler
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from .preprocessing import categorical_columns, input_rows, with_fitted_level_numbers
from .utils._compat import check_sample_weight

__all__ = [
    "check_class_labels",
    "check_hashable_values",
    "rows_for_fingerprint",
    "validate_fit_data",
    "validate_predict_X",
]

_FLOATS = [np.float64, np.float32]
#: Sparse formats kept as they are (any other becomes CSR, the first).
_SPARSE = ["csr"]


def _finite_sparse(X: sp.csr_matrix) -> sp.csr_matrix:
    """``X`` itself when its stored values are finite; a ValueError saying what to do if not."""
    if not np.isfinite(X.data).all():
        kind = "NaN" if np.isnan(X.data).any() else "infinite values"
        raise ValueError(
            f"Sparse X holds {kind}. Missing values are imputed in dense X only; impute "
            "them before (SimpleImputer in the pipeline), drop those rows, or pass dense "
            "X (X.toarray()) if it fits in memory."
        )
    return X


def _check_sparse_kind(*shapes: Any) -> None:
    """Refuse sparse images and sequences: the convolution networks read dense values."""
    for shape in shapes:
        if shape is not None:
            kind, name = (
                ("images", "image_shape") if len(shape) == 3 else ("sequences", "sequence_shape")
            )
            raise TypeError(
                f"Sparse X cannot hold {kind} ({name}={tuple(shape)}): pass dense rows "
                "(X.toarray())."
            )


def _finite_sequences(X: np.ndarray) -> None:
    """Refuse sequences with NaN or infinite values, saying what to do."""
    X = np.asarray(X)
    if X.ndim == 2 and X.dtype.kind in "fc" and not np.isfinite(X).all():
        rows = int((~np.isfinite(X)).any(axis=1).sum())
        raise ValueError(
            f"Sequences hold NaN or infinite values (in {rows} of {len(X)} series). sknas "
            "does not impute sequences: fill the gaps first (interpolate along time, or "
            "carry the last value forward), and pad series of different lengths with "
            "their last value (or zeros) rather than NaN."
        )


def validate_fit_data(
    estimator: Any, X: Any, y: Any, sample_weight: Any = None, groups: Any = None
) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validated ``X``, 1-d ``y``, weights and groups for ``fit``.

    ``X`` becomes an ndarray (images and sequences flattened to rows), a CSR matrix when
    sparse, or stays a DataFrame when it has categorical, string or bool columns; sets
    ``estimator``'s ``n_features_in_``, ``feature_names_in_``, ``image_shape_`` (the shape
    of one image or sequence) and ``sequence_shape_``. Sequences must be finite. Rows of weight
    zero are dropped, exactly as if absent.
    """
    X, y = _validate_X_y(estimator, X, y)
    if groups is not None:
        groups = column_or_1d(groups)
        check_consistent_length(X, groups)
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X, ensure_non_negative=True)
        X, y, sample_weight, groups = _drop_zero_weight_rows(X, y, sample_weight, groups)
    return X, y, sample_weight, groups


def _unique_columns(X: Any) -> None:
    """Refuse a DataFrame whose columns share names: ``predict`` matches columns by name."""
    columns = getattr(X, "columns", None)
    if columns is None or columns.is_unique:
        return
    repeated = columns[columns.duplicated()].unique().tolist()
    raise ValueError(
        f"X has columns that share a name: {repeated}. Give every column its own name "
        "(columns are matched by name at predict), for example X.columns = "
        "[f'{name}_{i}' for i, name in enumerate(X.columns)]."
    )


def check_hashable_values(X: pd.DataFrame) -> None:
    """Refuse a DataFrame column of lists, dicts, sets or arrays: a non-numeric column's
    values are encoded as categories, which must be hashable (pandas fails on them deep
    inside otherwise). Only object columns that pandas infers as ``"mixed"`` are scanned.

    ``fit`` checks before it starts; ``predict`` only once its preprocessing has failed
    (the check costs a one-row prediction about 4 %).
    """
    for name, column in X.items():
        if column.dtype != object or infer_dtype(column, skipna=True) != "mixed":
            continue
        for row, value in enumerate(column):
            if not isinstance(value, Hashable):
                raise ValueError(
                    f"Column {name!r} of X holds a {type(value).__name__} (row {row}: "
                    f"{value!r:.60}). A non-numeric column's values are encoded as "
                    "categories, so each must be a number, a string or another hashable "
                    "value: spread the items into columns of their own (for example "
                    f"pd.DataFrame(X[{name!r}].tolist(), index=X.index)) or drop the column."
                )


def check_class_labels(y: np.ndarray) -> None:
    """Refuse class labels that are missing or of types that cannot be ordered together
    (scikit-learn's own estimators fail there with numpy's ``TypeError``).

    Examples
    --------
    >>> check_class_labels(np.array(["a", None], dtype=object))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: y has 1 missing label (None or NaN) among 2. Drop those rows, or give ...
    """
    if y.dtype != object:
        return
    missing = int(pd.isna(y).sum())
    if missing:
        raise ValueError(
            f"y has {missing} missing label{'s' if missing > 1 else ''} (None or NaN) among "
            f"{len(y)}. Drop those rows, or give them a class of their own (for example "
            "y.fillna('missing'))."
        )
    try:
        np.unique(y)  # how LabelEncoder orders the classes
    except TypeError:
        kinds = sorted({type(label).__name__ for label in y})
        raise ValueError(
            f"y mixes labels of types {kinds}, which cannot be ordered together. Give "
            "labels of one type, for example y.astype(str)."
        ) from None


def _some_rows(estimator: Any, X: Any) -> None:
    """Refuse ``X`` of no rows in scikit-learn's words, with the shape it was given (the
    check that would catch it later sees a single column of it)."""
    shape = getattr(X, "shape", ())  # lists and other sequences: checked later
    if len(shape) > 1 and shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={tuple(shape)}) while a minimum of 1 is "
            f"required by {type(estimator).__name__}."
        )


def _validate_X_y(estimator: Any, X: Any, y: Any) -> tuple[Any, np.ndarray]:
    _unique_columns(X)
    regression = estimator._task == "regression"
    if sp.issparse(X):
        estimator.image_shape_ = estimator.sequence_shape_ = None
        _check_sparse_kind(estimator.image_shape, estimator.sequence_shape)
        X, y = validate_data(
            estimator,
            X,
            y,
            accept_sparse=_SPARSE,
            dtype=_FLOATS,
            ensure_all_finite=False,
            ensure_min_samples=2,
            y_numeric=regression,
        )
        return _finite_sparse(X), y
    X, estimator.image_shape_ = input_rows(X, estimator.image_shape, estimator.sequence_shape)
    shape = estimator.image_shape_
    estimator.sequence_shape_ = shape if shape is not None and len(shape) == 2 else None
    if estimator.sequence_shape_ is not None:
        _finite_sequences(X)
    if shape is not None:  # no missing values in images and sequences
        return validate_data(
            estimator, X, y, dtype=_FLOATS, ensure_min_samples=2, y_numeric=regression
        )
    if not categorical_columns(X):
        return validate_data(
            estimator,
            X,
            y,
            dtype=_FLOATS,
            ensure_all_finite="allow-nan",
            ensure_min_samples=2,
            y_numeric=regression,
        )
    check_hashable_values(X)
    X = validate_data(estimator, X, skip_check_array=True)
    if X.shape[0] < 2:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is required."
        )
    y = check_array(y, ensure_2d=False, dtype="numeric" if regression else None, input_name="y")
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    return X, y


def validate_predict_X(estimator: Any, X: Any) -> Any:
    """``X`` checked against what ``fit`` saw (feature count and names, image or sequence
    shape).

    Sparse ``X`` stays sparse (as a CSR matrix) for a model fitted on sparse ``X``, and
    is densified for one fitted on dense rows (which its preprocessing needs); dense
    ``X`` for a model fitted on sparse ``X`` must be finite, as sparse ``X`` must.
    """
    _unique_columns(X)
    _some_rows(estimator, X)
    preprocessor = getattr(estimator, "preprocessor_", None)
    if isinstance(preprocessor, ColumnTransformer) and not isinstance(X, pd.DataFrame):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on a DataFrame with non-numeric columns; "
            f"predict needs a DataFrame with its columns {list(estimator.feature_names_in_)}; "
            f"got {type(X).__name__} (for one row of a DataFrame df: df.iloc[[i]])."
        )
    fitted_sparse = isinstance(preprocessor, MaxAbsScaler)
    if sp.issparse(X):
        _check_sparse_kind(estimator.image_shape_)
        X = validate_data(
            estimator, X, reset=False, accept_sparse=_SPARSE, dtype=_FLOATS, ensure_all_finite=False
        )
        if fitted_sparse:
            return _finite_sparse(X)
        X = X.toarray()  # for a model fitted on dense rows: the dense checks below
    if fitted_sparse:
        return validate_data(estimator, X, reset=False, dtype=_FLOATS)
    shape = estimator.image_shape_
    if shape is not None:
        sequences = len(shape) == 2
        X, _ = input_rows(X, None if sequences else shape, shape if sequences else None)
        if sequences:
            _finite_sequences(X)
        return validate_data(estimator, X, reset=False, dtype=_FLOATS)
    if isinstance(preprocessor, ColumnTransformer):
        # A DataFrame stays one (even when every column is numeric now): a column that
        # was categorical at fit is encoded by its values as they print.
        X = validate_data(estimator, X, reset=False, skip_check_array=True)
        return with_fitted_level_numbers(preprocessor, X)
    if categorical_columns(X):
        return validate_data(estimator, X, reset=False, skip_check_array=True)
    return validate_data(estimator, X, reset=False, dtype=_FLOATS, ensure_all_finite="allow-nan")


def _drop_zero_weight_rows(
    X: Any, y: np.ndarray, sample_weight: np.ndarray, groups: np.ndarray | None
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]:
    keep = sample_weight > 0
    if keep.sum() < 2:
        raise ValueError(
            f"sample_weight has {keep.sum()} positive value(s); at least 2 rows need a "
            "positive weight."
        )
    if keep.all():
        return X, y, sample_weight, groups
    rows = X.iloc[keep] if hasattr(X, "iloc") else X[keep]
    return rows, y[keep], sample_weight[keep], None if groups is None else groups[keep]


def rows_for_fingerprint(X: Any) -> np.ndarray:
    """``X`` as an array for fingerprinting (a DataFrame: its rows' hashes; a sparse
    matrix: its shape, row pointers, column indices and values, one after the other)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, copy=True)
        X.sum_duplicates()  # one canonical form: sorted indices, no duplicates
        return np.concatenate(
            [np.asarray(X.shape, np.float64), X.indptr, X.indices, X.data]
        ).astype(np.float64)
    if isinstance(X, pd.DataFrame):
        return pd.util.hash_pandas_object(X, index=False).to_numpy()
    return np.asarray(X)
