"""Tabular preprocessing fitted inside the estimator, before the search.

Networks and the classical families all see the same numeric matrix: numeric
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
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

__all__ = ["MAX_CATEGORIES", "categorical_columns", "make_tabular_preprocessor"]

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
