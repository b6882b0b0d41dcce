"""Preprocessing fitted inside the estimator, before the search: tables and images.

Networks and the classical families all see the same numeric matrix. Images are
flattened to rows (``image_rows``) and standardised per channel. In tables, numeric
columns imputed (median, plus a missing-value indicator where values were
missing) and standardised; categorical, string and bool columns one-hot encoded,
with missing values as a category of their own, unknown categories at predict
time as all-zero (or infrequent) columns, and high cardinality bounded by
grouping rare levels into one "infrequent" column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

__all__ = [
    "MAX_CATEGORIES",
    "ChannelStandardizer",
    "categorical_columns",
    "image_rows",
    "make_tabular_preprocessor",
]

#: Most one-hot columns per categorical column; rarer levels share one column.
MAX_CATEGORIES = 32
_MISSING = "__missing__"


def categorical_columns(X: Any) -> list[int]:
    """Positions of the columns one-hot encoded: non-numeric or bool columns of a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> categorical_columns(pd.DataFrame({"a": [1.0], "b": ["x"], "c": [True]}))
    [1, 2]
    """
    if not isinstance(X, pd.DataFrame):
        return []
    return [
        position
        for position, (_, column) in enumerate(X.items())
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column)
    ]


def _as_category_strings(X: Any) -> np.ndarray:
    """Categorical columns as strings, missing values as one category of their own.

    ``category`` and ``object`` columns holding the same values give the same strings.
    """
    values = np.asarray(X, dtype=object)
    return np.where(pd.isna(values), _MISSING, values.astype(str))


def _numeric_pipeline() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
    )


def make_tabular_preprocessor(X: Any) -> Pipeline | ColumnTransformer:
    """An unfitted transformer from validated ``X`` to the matrix the models train on.

    Parameters
    ----------
    X : ndarray or DataFrame
        Numeric arrays (NaN allowed) get imputation and standardisation; a
        DataFrame's categorical, string and bool columns are one-hot encoded.

    Returns
    -------
    transformer
        Fitted on all rows given to ``fit`` (it sees no targets).
    """
    categorical = categorical_columns(X)
    if not categorical:
        return _numeric_pipeline()
    numeric = [i for i in range(X.shape[1]) if i not in categorical]
    encoder = make_pipeline(
        FunctionTransformer(_as_category_strings),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=MAX_CATEGORIES,
            sparse_output=False,
            dtype=np.float32,
        ),
    )
    return ColumnTransformer(
        [("numeric", _numeric_pipeline(), numeric), ("categorical", encoder, categorical)],
        sparse_threshold=0.0,
    )


def image_rows(X: Any, image_shape: Any) -> tuple[Any, tuple[int, int, int] | None]:
    """Images as flat rows, with their ``(C, H, W)``; other input as it is, with None.

    Parameters
    ----------
    X : array-like
        ``(n, H, W)`` or ``(n, C, H, W)`` images, or 2-d rows.
    image_shape : tuple of int or None
        ``(C, H, W)``: how 2-d rows hold images, or what image arrays must match.

    Examples
    --------
    >>> rows, shape = image_rows(np.zeros((5, 8, 8)), None)
    >>> rows.shape, shape
    ((5, 64), (1, 8, 8))
    """
    if image_shape is not None:
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or not all(
            isinstance(d, int | np.integer) and d > 0 for d in image_shape
        ):
            raise ValueError(
                f"image_shape must be (channels, height, width) of positive integers, "
                f"got {image_shape!r}."
            )
    ndim = getattr(X, "ndim", None)
    if ndim in (3, 4):
        X = np.asarray(X)
        shape = (1, *X.shape[1:]) if ndim == 3 else tuple(X.shape[1:])
        if image_shape is not None and shape != image_shape:
            raise ValueError(f"X holds images of shape {shape}, but image_shape is {image_shape}.")
        return X.reshape(len(X), -1), shape
    if ndim is not None and ndim > 4:
        raise ValueError(
            f"X has {ndim} dimensions; give rows of features (2), or images of shape "
            "(n, H, W) or (n, C, H, W)."
        )
    return X, image_shape


class ChannelStandardizer(TransformerMixin, BaseEstimator):
    """Standardise flattened images per channel (mean and std over all its pixels).

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the images the rows hold.

    Examples
    --------
    >>> X = np.arange(8.0).reshape(2, 4)          # two 1x2x2 images
    >>> ChannelStandardizer((1, 2, 2)).fit_transform(X).std()
    np.float32(1.0)
    """

    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        self.image_shape = image_shape

    def fit(self, X: np.ndarray, y: Any = None) -> ChannelStandardizer:
        if X.shape[1] != int(np.prod(self.image_shape)):
            raise ValueError(
                f"image_shape={tuple(self.image_shape)} holds {int(np.prod(self.image_shape))} "
                f"values per image, but X has {X.shape[1]} features per row."
            )
        channels = self._channels(X)
        self.mean_ = channels.mean(axis=(0, 2))
        self.scale_ = channels.std(axis=(0, 2))
        self.scale_[self.scale_ == 0] = 1.0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        channels = (self._channels(X) - self.mean_[:, None]) / self.scale_[:, None]
        return channels.reshape(len(X), -1).astype(np.float32)

    def _channels(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64).reshape(len(X), self.image_shape[0], -1)
