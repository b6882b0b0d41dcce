"""Preprocessing fitted inside the estimator, before the search: tables, sparse
matrices, images and sequences.

Networks and the classical families all see the same numeric matrix. Images and
sequences are flattened to rows (``input_rows``) and standardised per channel. In tables,
numeric columns are imputed (median, plus a missing-value indicator where values were
missing) and standardised; datetime columns become numbers (``DATETIME_FEATURES``) and
durations days, then are treated as numeric ones; free-text columns
(``text_columns_of``) are vectorised with TF-IDF and reduced to a few dense components;
the other categorical, string and bool columns are one-hot encoded, with missing values
as a category of their own, unknown categories at predict time as all-zero (or
infrequent) columns, and high cardinality bounded by grouping rare levels into one
"infrequent" column; a column with more levels than one-hot keeps is also target
encoded (with the targets, when ``fit`` gives them), so that no level's information is
lost, and, up to ``MAX_CODED_LEVELS``, becomes a column of level codes, on which
gradient boosting splits natively; on large tables, the widest one-hot blocks give way
to those two as well (``ONE_HOT_MAX_BYTES``). Sparse matrices are scaled column by
column by their largest absolute value, which keeps them sparse.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import __version__ as sklearn_version
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils import _safe_indexing
from sklearn.utils.fixes import parse_version
from sklearn.utils.validation import FLOAT_DTYPES, check_array, check_is_fitted, validate_data

__all__ = [
    "MAX_CATEGORIES",
    "MAX_CODED_LEVELS",
    "ONE_HOT_MAX_BYTES",
    "TARGET_ENCODING_FOLDS",
    "TEXT_COMPONENTS",
    "TEXT_MAX_FEATURES",
    "TEXT_MIN_DISTINCT_FRACTION",
    "TEXT_MIN_WORDS",
    "TABLE_ROWS",
    "DATETIME_FEATURES",
    "CategoryEncoder",
    "ChannelStandardizer",
    "FrameTransform",
    "NumericTransform",
    "TableTransformer",
    "TargetPipeline",
    "TextDocuments",
    "categorical_columns",
    "check_numeric_columns",
    "coded_target_columns",
    "datetime_columns",
    "duration_columns",
    "fitted_part_columns",
    "with_fitted_level_numbers",
    "fit_preprocessor",
    "input_rows",
    "parse_dates",
    "level_code_columns",
    "make_tabular_preprocessor",
    "one_hot_blocks",
    "serving_transform",
    "text_columns_of",
]

#: Most one-hot columns per categorical column; rarer levels share one column. A column
#: with more levels is target encoded as well (see ``make_tabular_preprocessor``).
MAX_CATEGORIES = 32
#: Most levels (missing values one of them) a column may have for its column of level
#: codes: histogram gradient boosting's limit on a categorical feature.
MAX_CODED_LEVELS = 255
#: Bytes the one-hot block of the trials' float32 matrix may take (rows x its columns x
#: 4). Past it, the categorical columns with the widest blocks are target encoded and
#: level coded instead of one-hot encoded (see ``make_tabular_preprocessor``).
ONE_HOT_MAX_BYTES = 64 * 2**20
#: Folds of the target encoding's cross-fitting (shuffled, seeded: the same every fit).
TARGET_ENCODING_FOLDS = 5
#: Training rows (a seeded sample) on which :class:`TargetPipeline` measures the spread
#: of the encodings ``transform`` gives.
_SPREAD_SAMPLE = 50_000
#: A free-text column's distinct values, as a fraction of its non-blank values, reach this.
TEXT_MIN_DISTINCT_FRACTION = 0.3
#: A free-text column's values have at least this many words (the median, split at whitespace).
TEXT_MIN_WORDS = 3
#: Most dense columns one free-text column becomes (TruncatedSVD components).
TEXT_COMPONENTS = 128
#: Most terms the TF-IDF vocabulary of a text column keeps (the most frequent).
TEXT_MAX_FEATURES = 20_000
#: Values of a column the free-text rule counts words in (evenly spaced rows).
_WORD_SAMPLE = 1_000
_MISSING = "__missing__"
#: The numbers each datetime column becomes: days since 1970-01-01 (the trend), then the
#: calendar (year, month, day of the month, day of the week with Monday 0, day of the
#: year) and the time of day in hours. Time zones are converted to UTC first.
DATETIME_FEATURES = ("days", "year", "month", "day", "weekday", "day_of_year", "hour")
#: Parts of a table's preprocessor that turn dates and durations into numbers.
_DATES, _DURATIONS = "datetime", "duration"
#: ``pandas.api.types.infer_dtype`` kinds whose equal values print alike.
_PRINT_ALIKE = frozenset({"string", "integer", "boolean", "empty"})


def categorical_columns(X: Any) -> list[int]:
    """Positions of the columns one-hot encoded: non-numeric or bool columns of a DataFrame.

    Free-text, datetime and duration columns are among them; ``make_tabular_preprocessor``
    vectorises the first and turns the others into numbers instead.

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


def datetime_columns(X: Any) -> list[int]:
    """Positions of a DataFrame's datetime columns (``datetime64``, with or without a
    time zone, and periods, taken at their start), which become ``DATETIME_FEATURES``.

    Examples
    --------
    >>> import pandas as pd
    >>> datetime_columns(pd.DataFrame({"a": [1.0], "b": pd.to_datetime(["2024-05-01"])}))
    [1]
    """
    return _positions(
        X,
        lambda dtype: (
            pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype)
        ),
    )


def duration_columns(X: Any) -> list[int]:
    """Positions of a DataFrame's duration columns (``timedelta64``), which become their
    length in days.

    Examples
    --------
    >>> import pandas as pd
    >>> duration_columns(pd.DataFrame({"a": [1.0], "b": pd.to_timedelta(["36h"])}))
    [1]
    """
    return _positions(X, pd.api.types.is_timedelta64_dtype)


def _positions(X: Any, of_kind: Callable[[Any], bool]) -> list[int]:
    """Positions of the columns of a DataFrame ``X`` whose dtype is ``of_kind``."""
    if not isinstance(X, pd.DataFrame):
        return []
    return [position for position, dtype in enumerate(X.dtypes) if of_kind(dtype)]


def fitted_part_columns(preprocessor: Any, part: str) -> list[int]:
    """Positions of the input columns that the part named ``part`` (``"datetime"``,
    ``"duration"``, ...) of a fitted table preprocessor takes: none for other
    preprocessors, or where it has no such part."""
    if not isinstance(preprocessor, ColumnTransformer):
        return []
    for name, _, columns in preprocessor.transformers_:
        if name == part:
            return [int(column) for column in np.atleast_1d(columns)]
    return []


def _datetime_features(X: pd.DataFrame) -> np.ndarray:
    """Each column of ``X`` (datetime at fit) as the ``DATETIME_FEATURES`` floats
    (:func:`_date_numbers`)."""
    return _side_by_side(X, _date_numbers)


def _duration_days(X: pd.DataFrame) -> np.ndarray:
    """Each column of ``X`` (durations at fit) as its length in days (:func:`_days`)."""
    return _side_by_side(X, _days)


def _side_by_side(X: pd.DataFrame, convert: Callable[[Any, pd.Series], np.ndarray]) -> Any:
    """``convert(name, column)`` of each column of ``X``, side by side."""
    blocks = [convert(name, column) for name, column in X.items()]
    return np.hstack(blocks) if blocks else np.empty((len(X), 0))


def _date_numbers(name: Any, column: pd.Series) -> np.ndarray:
    """One column that held dates at fit as the ``DATETIME_FEATURES`` floats, NaN where a
    value is missing. Strings are parsed as dates; a column of other values, or of
    strings that are not dates, is refused by name. Calendar arithmetic on numpy's
    datetime64 (about a tenth of pandas' ``.dt`` accessors' time on a few rows)."""
    dates = _as_utc_dates(name, column)
    days, months, years = (dates.astype(f"datetime64[{unit}]") for unit in "DMY")
    parts = [
        (dates - np.datetime64("1970-01-01")) / np.timedelta64(1, "D"),
        years.astype(np.int64) + 1970,
        months.astype(np.int64) % 12 + 1,
        (days - months).astype(np.int64) + 1,
        (days.astype(np.int64) + 3) % 7,  # 1970-01-01 was a Thursday
        (days - years).astype(np.int64) + 1,
        (dates - days) / np.timedelta64(1, "h"),
    ]
    block = np.column_stack(parts).astype(np.float64)
    block[np.isnat(dates)] = np.nan
    return block


def parse_dates(column: pd.Series) -> pd.Series:
    """Date strings as datetimes in UTC (naive strings taken as UTC), each string in its
    own format: how a datetime column given as strings is read at ``predict``, and
    ``sknas fit --dates`` reads a CSV file's. Raises pandas' error for a value that is not
    a date."""
    return pd.to_datetime(column, utc=True, format="mixed")


def _as_utc_dates(name: Any, column: pd.Series) -> np.ndarray:
    """``column`` as time-zone-naive numpy datetimes in UTC, or a ValueError naming it."""
    if isinstance(column.dtype, pd.PeriodDtype):
        column = column.dt.to_timestamp()  # each period's start
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = _parsed(name, column, parse_dates, "dates", "datetimes (pd.to_datetime)")
    dates = column.array
    if getattr(column.dtype, "tz", None) is not None:
        dates = dates.tz_convert(None)  # to UTC, then without the zone
    return np.asarray(dates)


def _days(name: Any, column: pd.Series) -> np.ndarray:
    """One column that held durations at fit as days, one float column, NaN where a value
    is missing. Strings are parsed as durations (``"36h"``, ``"2 days"``); a column of
    other values, or of strings that are not durations, is refused by name."""
    if not pd.api.types.is_timedelta64_dtype(column.dtype):
        column = _parsed(name, column, pd.to_timedelta, "durations", "timedeltas (pd.to_timedelta)")
    days = np.asarray(column.array) / np.timedelta64(1, "D")  # NaT: NaN
    return days.reshape(-1, 1)


def _parsed(name: Any, column: pd.Series, parse: Callable, kind: str, as_: str) -> pd.Series:
    """``parse(column)`` of a column that held ``kind`` (dates, durations) at fit and now
    holds something else; a ValueError naming the column where that is numbers or values
    ``parse`` refuses."""
    if pd.api.types.is_numeric_dtype(column.dtype) and column.notna().any():
        raise ValueError(
            f"Column {name!r} of X held {kind} at fit and now holds numbers; pass it as {as_}."
        )
    try:
        return parse(column)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(
            f"Column {name!r} of X held {kind} at fit and now holds values that are not "
            f"{kind} ({error}). Pass it as {as_}, with NaT where a value is missing."
        ) from None


def _as_numbers_pipeline(convert: Callable[[pd.DataFrame], np.ndarray]) -> Pipeline:
    """``convert`` of the columns, then as numeric columns are."""
    steps = [("tonumbers", FunctionTransformer(convert)), *_numeric_pipeline().steps]
    return Pipeline(steps)


def _is_free_text(column: pd.Series) -> bool:
    """Whether a column holds free text, by the rule ``text_columns_of`` documents."""
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(column):
        return False  # bools are numeric here; counting a million numbers took 0.2 s
    counts = column.value_counts()  # distinct non-missing values: the checks below see these
    if len(counts) <= MAX_CATEGORIES or pd.api.types.infer_dtype(counts.index) != "string":
        return False
    counts = counts[counts.index.str.strip() != ""]
    if len(counts) <= MAX_CATEGORIES or len(counts) < TEXT_MIN_DISTINCT_FRACTION * counts.sum():
        return False
    values = column[column.isin(counts.index)]
    sample = values.iloc[
        np.linspace(0, len(values) - 1, min(len(values), _WORD_SAMPLE)).astype(int)
    ]
    return bool(sample.str.split().str.len().median() >= TEXT_MIN_WORDS)


def text_columns_of(X: Any, text_columns: Iterable[Any] | None = None) -> list[Any]:
    """Names of the DataFrame columns vectorised as free text rather than one-hot encoded.

    A column is free text when all of these hold:

    - its values are strings: an ``object``, ``str`` or ``string`` column (a
      ``category`` column is categorical by the user's choice, and mixed types,
      bools and numbers are not text);
    - it has more than ``MAX_CATEGORIES`` distinct non-blank values (one-hot
      encoding would otherwise keep every value);
    - its distinct values are at least ``TEXT_MIN_DISTINCT_FRACTION`` of its
      non-blank values (sentences rarely repeat; categories do);
    - the median value has at least ``TEXT_MIN_WORDS`` words (whitespace-separated:
      city names, product codes, dates and yes/no answers have fewer).

    Missing values and blank strings are left out of the counts, so a column with
    nothing in it is never text.

    Parameters
    ----------
    X : DataFrame or ndarray
        Arrays have no text columns.
    text_columns : iterable of column names, optional
        Overrides the rule: exactly these columns are text (an empty list: none).
        Each must be a non-numeric column of ``X``.

    Returns
    -------
    list
        Column names, in the order of ``X``'s columns.

    Raises
    ------
    ValueError
        When ``text_columns`` names a column ``X`` lacks, or a numeric, bool, datetime
        or duration one.
    TypeError
        When ``text_columns`` is a single string rather than a list of names.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "review": [f"review number {i} of this product" for i in range(40)],
    ...     "city": ["Paris", "New York"] * 20,
    ...     "code": [f"SKU-{i}" for i in range(40)],
    ... })
    >>> text_columns_of(frame)
    ['review']
    >>> text_columns_of(frame, text_columns=["city"])
    ['city']
    """
    if text_columns is None:
        if not isinstance(X, pd.DataFrame):
            return []
        return [name for name, column in X.items() if _is_free_text(column)]
    if isinstance(text_columns, str):
        raise TypeError(
            f"text_columns must be a list of column names, got the string {text_columns!r}; "
            f"write [{text_columns!r}]."
        )
    wanted = list(text_columns)
    if wanted and not isinstance(X, pd.DataFrame):
        raise ValueError(
            f"text_columns={wanted!r} names DataFrame columns, but X is not a DataFrame."
        )
    if not wanted:
        return []
    names = list(X.columns)
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ValueError(f"text_columns names columns that X lacks: {missing!r}.")
    not_text = set(datetime_columns(X) + duration_columns(X))
    categorical = {names[i] for i in categorical_columns(X) if i not in not_text}
    not_strings = [
        name for name in wanted if name not in categorical or pd.api.types.is_bool_dtype(X[name])
    ]
    if not_strings:
        raise ValueError(
            f"text_columns names numeric, bool, datetime or duration columns: "
            f"{not_strings!r}; text columns hold strings."
        )
    return [name for name in names if name in wanted]


class TextDocuments(TransformerMixin, BaseEstimator):
    """One text column as the 1-d array of strings a vectoriser reads.

    Missing values become empty strings (no words); other values their ``str``.
    Stateless: ``fit`` learns nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> TextDocuments().fit_transform(pd.Series(["Good food", None, float("nan")]))
    array(['Good food', '', ''], dtype=object)
    """

    def fit(self, X: Any, y: Any = None) -> TextDocuments:
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=object).reshape(-1)
        if len(values) != len(X):
            raise ValueError(
                f"TextDocuments reads one column, got an array of shape {np.shape(X)}."
            )
        # str per value into an object array: a fixed-width numpy string array would
        # take the longest document's size for every row
        return np.where(pd.isna(values), "", np.frompyfunc(str, 1, 1)(values))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        return tags


def _text_vectoriser() -> TfidfVectorizer:
    """TF-IDF of a column's words, unigrams and bigrams.

    Words only: skl2onnx converts ``analyzer="word"`` alone. Character 2-4-grams
    within words, measured after the same reduction, scored 2.5 points better on
    tweets and 1.1 worse on product reviews (both together: 2.2 better, 0.4 worse),
    and took 3.5 times as long to vectorise.
    """
    return TfidfVectorizer(
        ngram_range=(1, 2), max_features=TEXT_MAX_FEATURES, sublinear_tf=True, dtype=np.float32
    )


def _distinct_terms(vectoriser: TfidfVectorizer, documents: np.ndarray, enough: int) -> int:
    """How many distinct terms ``vectoriser`` finds in ``documents``, counting up to ``enough``."""
    analyse, terms = vectoriser.build_analyzer(), set()
    for document in documents:
        terms.update(analyse(document))
        if len(terms) >= enough:
            return enough
    return len(terms)


def _text_pipeline(column: pd.Series) -> Pipeline | None:
    """TF-IDF, then TruncatedSVD to at most ``TEXT_COMPONENTS`` standardised columns.

    Fewer components when ``column`` has fewer distinct documents or terms; None when
    all its rows are one document, or it has fewer than two terms (nothing to learn).
    """
    documents = pd.unique(TextDocuments().transform(column))
    vectoriser = _text_vectoriser()
    components = min(TEXT_COMPONENTS, len(documents))
    terms = _distinct_terms(vectoriser, documents, max(components, 2))
    if len(documents) < 2 or terms < 2:
        return None
    return make_pipeline(
        TextDocuments(),
        vectoriser,
        TruncatedSVD(n_components=min(components, terms), random_state=0),
        StandardScaler(),
    )


def _as_category_strings(X: Any) -> np.ndarray:
    """Categorical columns as strings, missing values as one category of their own.

    ``category`` and ``object`` columns holding the same values give the same strings.
    A DataFrame's or Series' columns are converted level by level: each distinct value
    once (``str``, as for an array), then looked up by its code.
    """
    if isinstance(X, pd.Series):
        return _column_strings(X)
    if isinstance(X, pd.DataFrame) and X.shape[1] > 0:
        return np.column_stack([_column_strings(X.iloc[:, j]) for j in range(X.shape[1])])
    values = np.asarray(X, dtype=object)
    return np.where(pd.isna(values), _MISSING, values.astype(str))


def _column_strings(column: pd.Series) -> np.ndarray:
    """One column as :func:`_as_category_strings` makes it: from its levels and codes
    where equal values always print alike (a ``category`` column, or an ``object``
    column of strings, integers or booleans only: ``1 == True`` and ``0.0 == -0.0``
    would otherwise share a level), else value by value."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, levels = column.cat.codes.to_numpy(), column.cat.categories
    elif pd.api.types.infer_dtype(column, skipna=True) in _PRINT_ALIKE:
        codes, levels = pd.factorize(column.to_numpy(dtype=object, na_value=None))
    else:
        values = column.to_numpy(dtype=object)
        return np.where(pd.isna(values), _MISSING, values.astype(str))
    strings = np.asarray(levels, dtype=object).astype(str)
    if len(strings) == 0:  # every value missing
        return np.full(len(codes), _MISSING)
    return np.where(codes < 0, _MISSING, strings[np.maximum(codes, 0)])


def _numeric_pipeline() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
    )


@dataclass(frozen=True)
class NumericTransform:
    """The fitted numeric pipeline's ``transform`` as three numpy steps, for serving.

    It returns what the pipeline (median imputation with missing-value indicators, then
    standardisation) returns, bit for bit, without scikit-learn's per-call validation:
    predicting one row takes microseconds instead of about half a millisecond.

    Parameters
    ----------
    fill : ndarray of shape (n_features,)
        The imputer's statistics.
    indicated : ndarray of int
        Columns whose missing values get an indicator column.
    mean, scale : ndarray of shape (n_features + len(indicated),)
        The scaler's.
    """

    fill: np.ndarray
    indicated: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    #: What it takes (other input goes through the preprocessor itself).
    input_type = np.ndarray

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> NumericTransform | None:
        """From a fitted :func:`make_tabular_preprocessor` numeric pipeline; None for others."""
        if not (isinstance(pipeline, Pipeline) and len(pipeline) == 2):
            return None
        imputer, scaler = pipeline[0], pipeline[1]
        if not (isinstance(imputer, SimpleImputer) and isinstance(scaler, StandardScaler)):
            return None
        indicator = imputer.indicator_
        indicated = np.empty(0, dtype=int) if indicator is None else indicator.features_
        return cls(imputer.statistics_, np.asarray(indicated), scaler.mean_, scaler.scale_)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Impute, indicate and standardise the float rows ``X`` (a new array)."""
        missing = np.isnan(X)
        out = np.where(missing, self.fill, X)
        if len(self.indicated):
            out = np.hstack([out, missing[:, self.indicated].astype(out.dtype)])
        out -= self.mean.astype(out.dtype)  # in the input's dtype, as StandardScaler does
        out /= self.scale.astype(out.dtype)
        return out


#: Rows up to which :class:`FrameTransform` looks categories up in dictionaries (one
#: Python call per value) instead of ``pandas.Index.get_indexer`` (about 30 us a call).
FEW_ROWS = 64


class _CategoryTables:
    """A fitted category encoding (one-hot, or target encoding then scaling) as one lookup
    table per column: each column's known values and an unknown one, encoded once by
    ``transform`` itself (the encoder's, or its pipeline's after the category strings).
    """

    def __init__(
        self, encoder: OneHotEncoder | OrdinalEncoder | TargetEncoder, transform: Callable
    ) -> None:
        categories = encoder.categories_
        widths = _output_widths(encoder)  # output columns of each input column
        unknown = "\x00unseen"  # a value no fitted column holds
        self.indexes, self.tables = [], []
        offset = 0
        for j, (known, width) in enumerate(zip(categories, widths, strict=True)):
            rows = np.empty((len(known) + 1, len(categories)), dtype=object)
            rows[:] = [column[0] for column in categories]
            rows[:, j] = [*known, unknown]
            with warnings.catch_warnings():  # the unknown row: encoded, not warned about
                warnings.simplefilter("ignore", UserWarning)
                encoded = transform(rows)
            self.indexes.append(pd.Index(known))
            self.tables.append(np.ascontiguousarray(encoded[:, offset : offset + width]))
            offset += width

        self.positions = [{value: row for row, value in enumerate(known)} for known in categories]

    def rows(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """Each value's row in its column's table; -1 for a value the column never saw."""
        if len(columns[0]) <= FEW_ROWS:  # dictionary look-ups beat hashing the rows
            return [
                np.array([positions.get(value, -1) for value in column], dtype=np.intp)
                for positions, column in zip(self.positions, columns, strict=True)
            ]
        return [
            index.get_indexer(column) for index, column in zip(self.indexes, columns, strict=True)
        ]

    def __call__(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        """Encoded blocks of each column of category strings (unknown values: the last row)."""
        return [table[r] for table, r in zip(self.tables, self.rows(columns), strict=True)]


#: Rows from which :class:`CategoryEncoder` encodes through lookup tables.
TABLE_ROWS = 10_000


class CategoryEncoder(OneHotEncoder):
    """scikit-learn's ``OneHotEncoder`` with a faster ``transform`` of many rows.

    Dense output for at least ``TABLE_ROWS`` rows whose values the encoder knows is
    gathered from one table per column, built from the encoder's own encoding of each
    known value: the same matrix as ``OneHotEncoder.transform``, without its per-value
    dictionary look-ups and sparse assembly (750,000 rows of six columns: 6.3 s ->
    2.4 s). Other input, unknown values included, goes through ``OneHotEncoder``.
    """

    def transform(self, X: Any) -> Any:
        if (
            self.sparse_output
            or not isinstance(X, np.ndarray)
            or X.ndim != 2
            or len(X) < TABLE_ROWS
        ):
            return super().transform(X)
        check_is_fitted(self)
        validate_data(self, X, reset=False, skip_check_array=True)  # feature count and names
        tables = _CategoryTables(self, super().transform)
        rows = tables.rows(list(X.T))
        if any((r < 0).any() for r in rows):  # scikit-learn's handling and warning
            return super().transform(X)
        out = np.empty((len(X), sum(table.shape[1] for table in tables.tables)), self.dtype)
        offset = 0
        for table, r in zip(tables.tables, rows, strict=True):
            out[:, offset : offset + table.shape[1]] = table[r]
            offset += table.shape[1]
        return out


class TableTransformer(ColumnTransformer):
    """scikit-learn's ``ColumnTransformer`` whose ``fit_transform`` stacks its dense parts
    straight into one float32 matrix, the trials' matrix.

    ``ColumnTransformer`` stacks with ``np.hstack``, which makes the matrix float64 when
    any part is (target encodings always are) before ``fit_preprocessor`` casts it to
    float32: on 750,000 rows x 156 columns a 0.9 GB float64 matrix held next to its
    0.45 GB float32 copy at the peak of preprocessing. ``transform`` stacks as
    ``ColumnTransformer`` does (:class:`FrameTransform` serves the same matrix).
    """

    _float32_stack = False

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        self._float32_stack = True
        try:
            return super().fit_transform(X, y, **params)
        finally:
            del self._float32_stack  # back to the class's False: not fitted state

    def _hstack(self, Xs: list[Any], *, n_samples: int) -> Any:
        if not self._float32_stack or self.sparse_output_ or any(map(sp.issparse, Xs)):
            return super()._hstack(Xs, n_samples=n_samples)
        widths = [part.shape[1] for part in Xs]
        out = np.empty((n_samples, sum(widths)), np.float32)
        for part, end in zip(Xs, np.cumsum(widths), strict=True):
            out[:, end - part.shape[1] : end] = part
        return out


def _output_widths(encoder: OneHotEncoder | OrdinalEncoder | TargetEncoder) -> list[int]:
    """How many output columns each input column of a fitted encoder becomes."""
    if isinstance(encoder, TargetEncoder):
        per_column = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
        return [per_column] * len(encoder.categories_)
    if isinstance(encoder, OrdinalEncoder):
        return [1] * len(encoder.categories_)
    return list(encoder._n_features_outs)


class FrameTransform:
    """The fitted DataFrame preprocessor's ``transform`` without scikit-learn's per-call
    overhead, for serving: bit for bit the same matrix, in a fraction of the time.

    Numeric columns go through :class:`NumericTransform`; categorical ones through
    lookup tables built once from the fitted one-hot (and target) encoders' own output,
    for every known category and for an unknown one.

    Parameters
    ----------
    preprocessor : ColumnTransformer
        Fitted, from :func:`make_tabular_preprocessor`, without text columns.
    """

    #: What it takes (other input goes through the preprocessor itself).
    input_type = pd.DataFrame

    def __init__(self, preprocessor: ColumnTransformer) -> None:
        self.parts = []
        for name, step, columns in preprocessor.transformers_:
            if isinstance(step, str) or len(np.atleast_1d(columns)) == 0:
                continue  # "drop" (a constant text column, the remainder) or no columns
            columns = list(np.atleast_1d(columns))
            if name == "numeric":
                self.parts.append((columns, NumericTransform.from_pipeline(step)))
            elif name in ("categorical", "target", "codes"):  # encoder after the strings
                self.parts.append((columns, _CategoryTables(step[1], step[1:].transform)))
            elif name in _CONVERSIONS:  # the dates' (durations') numbers, then numeric
                self.parts.append((columns, _ConvertedColumns(step, _CONVERSIONS[name])))
            else:
                raise ValueError(f"No fast path for the {name!r} part.")

    def __call__(self, X: pd.DataFrame) -> np.ndarray:
        """The model's matrix for the validated DataFrame ``X``; infinite numbers are
        refused, as the preprocessor's own ``transform`` refuses them."""
        series = [column for _, column in X.items()]  # no sub-frames: cheaper on few rows
        blocks = []
        for columns, transform in self.parts:
            if isinstance(transform, NumericTransform):
                values = _numeric_columns([series[j] for j in columns])
                blocks.append(transform(values))
            elif isinstance(transform, _ConvertedColumns):
                blocks.append(transform([series[j] for j in columns]))
            else:
                strings = [_as_category_strings(series[j]) for j in columns]
                blocks.extend(transform(strings))
        return np.hstack(blocks)


class _ConvertedColumns:
    """A fitted dates or durations pipeline's ``transform`` for :class:`FrameTransform`:
    each column's numbers (``convert``), then imputed and standardised by
    :class:`NumericTransform`."""

    def __init__(self, pipeline: Pipeline, convert: Callable[[Any, pd.Series], np.ndarray]):
        numeric = NumericTransform.from_pipeline(pipeline[1:])
        if numeric is None:
            raise ValueError("No fast path for this pipeline.")
        self.numeric, self.convert = numeric, convert

    def __call__(self, columns: list[pd.Series]) -> np.ndarray:
        return self.numeric(np.hstack([self.convert(c.name, c) for c in columns]))


#: Each column's numbers, by the part that converts them.
_CONVERSIONS = {_DATES: _date_numbers, _DURATIONS: _days}


_LEVEL_FORMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def with_fitted_level_numbers(preprocessor: Any, X: pd.DataFrame) -> pd.DataFrame:
    """``X`` whose number-typed columns that were categorical when ``preprocessor`` was
    fitted hold their numbers as the fitted levels print them: integral floats as
    integers where the levels are integers (``2.0`` was level ``"2"``: a column of ints
    with a missing value, read back as floats), integers as floats where the levels are
    floats (``2`` was ``"2.0"``), 0 and 1 as False and True where the levels are those.
    Levels are matched as strings, so these would otherwise all be unknown levels.
    ``X`` itself when nothing changes (never modified)."""
    forms = _LEVEL_FORMS.get(preprocessor)
    if forms is None:
        forms = _LEVEL_FORMS[preprocessor] = _level_forms(preprocessor)
    changed = {}
    for position, form in forms.items():
        column = X.iloc[:, position]
        if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(
            column.dtype
        ):
            continue
        if form == "float":
            changed[position] = column.astype(np.float64)
            continue
        values = column.to_numpy(np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        if form == "bool" and np.isin(present, (0, 1)).all():
            changed[position] = column.astype("boolean")
        elif form == "int" and not pd.api.types.is_integer_dtype(column.dtype):
            exact = np.abs(present) < 2**53  # and finite: others are not integers to match
            if exact.all() and np.array_equal(present, np.round(present)):
                changed[position] = column.astype("Int64")
    if not changed:
        return X
    X = X.copy(deep=False)
    for position, column in changed.items():
        X.isetitem(position, column)
    return X


def _level_forms(preprocessor: Any) -> dict[int, str]:
    """For each input column a fitted table preprocessor encodes as levels and whose
    levels all print as numbers or truth values: ``"int"`` (``"2"``), ``"float"``
    (``"2.0"``) or ``"bool"`` (``"True"``, ``"False"``)."""
    forms: dict[int, str] = {}
    if not isinstance(preprocessor, ColumnTransformer):
        return forms
    for name, step, columns in preprocessor.transformers_:
        columns = np.atleast_1d(columns)
        if name not in ("categorical", "target", "codes") or isinstance(step, str):
            continue
        if len(columns) == 0:  # not fitted
            continue
        for position, levels in zip(columns, step[1].categories_, strict=True):
            printed = [level for level in map(str, levels) if level != _MISSING]
            if printed and set(printed) <= {"True", "False"}:
                forms[int(position)] = "bool"
            elif printed and all(_prints_a_number(level) for level in printed):
                floats = any("." in level or "e" in level for level in printed)
                forms[int(position)] = "float" if floats else "int"
    return forms


def _prints_a_number(level: str) -> bool:
    try:
        float(level)
    except ValueError:
        return False
    return True


def check_numeric_columns(preprocessor: Any, X: pd.DataFrame) -> None:
    """Refuse, by name, the columns of ``X`` that were numeric when ``preprocessor`` (a
    fitted tabular ``ColumnTransformer``) was fitted and now hold infinity or values that
    are not numbers; nothing for other preprocessors."""
    columns = fitted_part_columns(preprocessor, "numeric")
    if columns:
        _numeric_columns([X.iloc[:, j] for j in columns])


def _numeric_columns(columns: list[pd.Series]) -> np.ndarray:
    """:func:`_column_floats` of columns that were numeric at fit, refusing (by name) the
    columns that hold infinity or values that are not numbers, as ``fit`` and the
    preprocessor's own ``transform`` refuse them."""
    try:
        values = _column_floats(columns)
    except (TypeError, ValueError):
        named = [
            c.name
            for c in columns
            if pd.to_numeric(c, errors="coerce").isna().sum() > c.isna().sum()
        ]
        if not named:
            raise
        raise ValueError(
            f"Column(s) {named} of X were numeric at fit and now hold values that are not "
            "numbers. Convert them to numbers (pd.to_numeric), with NaN where a value is missing."
        ) from None
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        named = [c.name for c, bad in zip(columns, infinite, strict=True) if bad]
        raise ValueError(
            f"Input X contains infinity in column(s) {named}. Replace infinite values "
            "with finite numbers, or with NaN to treat them as missing."
        )
    return values


def _column_floats(columns: list[pd.Series]) -> np.ndarray:
    """The columns side by side as :func:`_floats` gives their frame."""
    dtypes = [column.dtype for column in columns]
    if not all(isinstance(dtype, np.dtype) for dtype in dtypes):
        return _floats(pd.concat(columns, axis=1))
    dtype = np.result_type(*dtypes)
    dtype = dtype if dtype in FLOAT_DTYPES else np.float64
    return np.column_stack([column.to_numpy(dtype=dtype) for column in columns])


def _floats(frame: pd.DataFrame) -> np.ndarray:
    """``frame``'s values as ``check_array(frame, dtype=FLOAT_DTYPES)`` gives them: in the
    columns' common float dtype, else float64; directly for numpy dtypes (a millisecond
    less per call)."""
    if all(isinstance(dtype, np.dtype) for dtype in frame.dtypes):
        dtype = np.result_type(*frame.dtypes)
        return frame.to_numpy(dtype=dtype if dtype in FLOAT_DTYPES else np.float64)
    return check_array(frame, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan")


_SERVING_TRANSFORMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def serving_transform(preprocessor: Any) -> Callable[[Any], np.ndarray] | None:
    """The fast form of a fitted tabular preprocessor's ``transform``, or None.

    :class:`NumericTransform` for a numeric pipeline (it takes arrays),
    :class:`FrameTransform` for a DataFrame's column transformer without text
    columns (it takes DataFrames); None for other preprocessors. Built once per
    preprocessor object and kept outside it (so it is neither pickled nor saved).
    """
    try:
        return _SERVING_TRANSFORMS[preprocessor]
    except KeyError:
        pass
    fast: Callable[[Any], np.ndarray] | None = NumericTransform.from_pipeline(preprocessor)
    if fast is None and isinstance(preprocessor, ColumnTransformer):
        try:
            fast = FrameTransform(preprocessor)
        except (ValueError, AttributeError):  # a text part, or an encoder without tables
            fast = None
    _SERVING_TRANSFORMS[preprocessor] = fast
    return fast


def fit_preprocessor(
    X: Any,
    y_encoded: np.ndarray,
    *,
    task: str,
    image_shape: tuple[int, ...] | None,
    text_columns: Iterable[Any] | None,
) -> tuple[Any, Any, list[Any]]:
    """The preprocessor for validated ``X``, fitted; the matrix it makes of ``X``; the
    columns it vectorised as text.

    Images and sequences (``image_shape``) are standardised per channel
    (:class:`ChannelStandardizer`); tables go through :func:`make_tabular_preprocessor`,
    with target encoding for one-dimensional targets. The matrix comes from
    ``fit_transform(X, y_encoded)``, whose target encodings are cross-fitted: no row's
    own target is in its features; dense, it is float32, as the trials read it.
    """
    if image_shape is not None:
        preprocessor = ChannelStandardizer(image_shape)
        return preprocessor, preprocessor.fit_transform(X), []
    columns = text_columns_of(X, text_columns)
    n_classes = len(np.unique(y_encoded)) if task == "classification" else 1
    if task == "classification":
        target_type = "binary" if n_classes == 2 else "multiclass"
    else:
        target_type = "continuous" if y_encoded.ndim == 1 else None
    preprocessor = make_tabular_preprocessor(X, columns, target_type, n_classes)
    with np.errstate(over="ignore", invalid="ignore"):  # refused below, by column
        matrix = preprocessor.fit_transform(X, y_encoded)
        if isinstance(matrix, np.ndarray):  # the trials' float32, no float64 copy kept
            matrix = matrix.astype(np.float32, copy=False)
    if isinstance(matrix, np.ndarray) and not np.isfinite(matrix).all():
        _refuse_overflowing_columns(X)
    return preprocessor, matrix, columns


def _refuse_overflowing_columns(X: Any) -> None:
    """Refuse the numeric columns of ``X`` too large to standardise: those whose standard
    deviation overflows float64 (their squares do)."""
    frame = pd.DataFrame(X).select_dtypes("number")
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.nanstd(frame.to_numpy(dtype=np.float64), axis=0)
    named = frame.columns[~np.isfinite(spread)].tolist()
    if named:
        largest = np.nanmax(np.abs(frame[named].to_numpy(dtype=np.float64)))
        raise ValueError(
            f"Column(s) {named} of X hold values too large to standardise in float64 (up to "
            f"{largest:.3g} in magnitude; their squares overflow). Rescale them, for "
            "example divide by a power of ten or take their logarithm."
        )


def one_hot_blocks(preprocessor: Any) -> tuple[tuple[int, int], ...]:
    """Where a fitted preprocessor's one-hot columns are: ``(start, width)`` of each
    categorical column's block in its output, in column order; empty when it one-hot
    encodes nothing (arrays, sparse matrices, images).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [0.5, 1.5, 2.5], "c": pd.Categorical(["a", "b", "a"])})
    >>> one_hot_blocks(make_tabular_preprocessor(X).fit(X))
    ((1, 2),)
    """
    if not isinstance(preprocessor, ColumnTransformer):
        return ()
    columns = preprocessor.output_indices_["categorical"]
    if columns.start == columns.stop:  # every categorical column is text
        return ()
    position = columns.start
    blocks = []
    for width in _output_widths(preprocessor.named_transformers_["categorical"][-1]):
        blocks.append((position, width))
        position += width
    return tuple(blocks)


def level_code_columns(preprocessor: Any) -> tuple[tuple[int, float], ...]:
    """Where a fitted preprocessor's columns of level codes are: ``(column, scale)`` of
    each, in its output, whose values times ``scale`` are the codes (negative: unseen);
    empty when it makes none.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"shop": [f"s{i % 40}" for i in range(80)], "x": 1.0})
    >>> level_code_columns(make_tabular_preprocessor(X).fit(X))
    ((1, 39.0),)
    """
    if (
        not isinstance(preprocessor, ColumnTransformer)
        or "codes" not in preprocessor.output_indices_
    ):
        return ()
    columns = preprocessor.output_indices_["codes"]
    scales = preprocessor.named_transformers_["codes"][-1].scale_
    return tuple(
        (int(column), float(scale))
        for column, scale in zip(range(columns.start, columns.stop), scales, strict=True)
    )


def coded_target_columns(preprocessor: Any) -> tuple[int, ...]:
    """Output positions of the target encodings of columns that also have level codes
    (gradient boosting sees their every level; it splits on the codes instead)."""
    if not isinstance(preprocessor, ColumnTransformer):
        return ()
    parts = {name: columns for name, _, columns in preprocessor.transformers_}
    if "codes" not in preprocessor.output_indices_ or "target" not in parts:
        return ()
    coded = set(np.atleast_1d(parts["codes"]).tolist())
    encoder = preprocessor.named_transformers_["target"][1]
    position = preprocessor.output_indices_["target"].start
    positions = []
    for column, width in zip(np.atleast_1d(parts["target"]), _output_widths(encoder), strict=True):
        if column in coded:
            positions.extend(range(position, position + width))
        position += width
    return tuple(positions)


def make_tabular_preprocessor(
    X: Any,
    text_columns: Iterable[Any] | None = None,
    target_type: str | None = None,
    n_classes: int = 2,
) -> Pipeline | ColumnTransformer | MaxAbsScaler:
    """An unfitted transformer from validated ``X`` to the matrix the models train on.

    Parameters
    ----------
    X : ndarray, sparse matrix or DataFrame
        Numeric arrays (NaN allowed) get imputation and standardisation; a sparse
        matrix a ``MaxAbsScaler`` (each column divided by its largest absolute
        value: zeros stay zeros, so the output stays sparse, and nothing is imputed);
        a DataFrame's free-text columns are vectorised, its other categorical, string
        and bool columns one-hot encoded (and target encoded, see ``target_type``).
    text_columns : iterable of column names, optional
        The columns vectorised as text; None: those ``text_columns_of`` finds by
        its rule; an empty list: none. Each text column's words (unigrams and
        bigrams) are weighted by TF-IDF (sublinear term frequency, the
        ``TEXT_MAX_FEATURES`` most frequent terms), then
        reduced by TruncatedSVD to at most ``TEXT_COMPONENTS`` standardised dense
        columns (fewer when ``X`` has fewer distinct values or terms). Missing
        values are empty strings, and terms unseen in ``X`` are ignored at
        transform time. A text column whose rows in ``X`` all hold the same value
        (all missing or blank, for instance), or whose values have fewer than two
        distinct terms, contributes no columns.
    target_type : {"continuous", "binary", "multiclass"} or None
        With a target type, every categorical column with more than
        ``MAX_CATEGORIES`` levels is also target encoded (``TargetEncoder``, then
        standardised: one column, or one per class for ``"multiclass"``), and the
        transformer must be fitted with ``fit_transform(X, y)``, whose rows are
        cross-fitted. None: no target encoding, and ``fit`` needs no targets.
        Either way, a column with more than ``MAX_CATEGORIES`` levels and at most
        ``MAX_CODED_LEVELS`` also becomes one column of its level codes divided by the
        largest (``level_code_columns``), which gradient boosting splits on natively.
        With a target type, the one-hot block is also kept within
        ``ONE_HOT_MAX_BYTES`` (rows x columns x 4 bytes): past it, the columns with
        the widest blocks, widest first, are target encoded and level coded instead
        (not one-hot encoded), while that makes the matrix narrower. On 750,000 rows
        of 24 numbers, six categories of 4 to 128 levels and three classes
        (``gen_clf_1m`` of ``benchmarks/large.py``), the matrix takes 52 columns
        instead of 156 (0.16 GB instead of 0.47).
    n_classes : int, default=2
        Classes of a ``"multiclass"`` target: the width of each target encoding.

    Returns
    -------
    transformer
        Built for ``X``, to be fitted on it.
    """
    if sp.issparse(X):
        return MaxAbsScaler()
    text = text_columns_of(X, text_columns)
    dates, durations = datetime_columns(X), duration_columns(X)
    categorical = [i for i in categorical_columns(X) if i not in dates + durations]
    if not categorical + dates + durations:
        return _numeric_pipeline()
    names = list(X.columns)
    text_positions = [names.index(name) for name in text]
    numeric = [i for i in range(X.shape[1]) if i not in categorical + dates + durations]
    parts: list[tuple[str, Any, Any]] = [("numeric", _numeric_pipeline(), numeric)]
    for part, columns, convert in [
        (_DATES, dates, _datetime_features),
        (_DURATIONS, durations, _duration_days),
    ]:
        if columns:
            parts.append((part, _as_numbers_pipeline(convert), columns))
    for position in text_positions:
        pipeline = _text_pipeline(X.iloc[:, position])
        parts.append((f"text{position}", "drop" if pipeline is None else pipeline, position))
    one_hot = [i for i in categorical if i not in text_positions]
    levels = {i: _n_levels(X.iloc[:, i]) for i in one_hot}
    many = [i for i in one_hot if levels[i] > MAX_CATEGORIES]
    if target_type is not None:
        widths = {i: min(levels[i], MAX_CATEGORIES) for i in one_hot}
        encoding_width = n_classes if target_type == "multiclass" else 1
        moved = _over_one_hot_budget(widths, levels, len(X), encoding_width)
        one_hot = [i for i in one_hot if i not in moved]
        many = sorted({*many, *moved})
        if many:
            parts.append(("target", _target_pipeline(target_type), many))
    coded = [i for i in many if levels[i] <= MAX_CODED_LEVELS]
    if coded:
        parts.append(("codes", _codes_pipeline(), coded))
    encoder = make_pipeline(
        FunctionTransformer(_as_category_strings),
        CategoryEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=MAX_CATEGORIES,
            sparse_output=False,
            dtype=np.float32,
        ),
    )
    parts.append(("categorical", encoder, one_hot))
    return TableTransformer(parts, sparse_threshold=0.0)


def _over_one_hot_budget(
    widths: dict[int, int], levels: dict[int, int], n_rows: int, encoding_width: int
) -> set[int]:
    """The columns whose one-hot blocks go, widest first (of equal widths, the most
    levels first: those are target encoded anyway), until the block of the others fits
    ``ONE_HOT_MAX_BYTES`` on ``n_rows`` rows; a column whose target encoding and level
    codes (``encoding_width + 1`` columns) are no narrower than its block stays."""
    fits = ONE_HOT_MAX_BYTES // (4 * max(n_rows, 1))
    total, moved = sum(widths.values()), set()
    for column in sorted(widths, key=lambda i: (-widths[i], -levels[i], i)):
        if total <= fits or widths[column] <= encoding_width + 1:
            break
        moved.add(column)
        total -= widths[column]
    return moved


def _codes_pipeline() -> Pipeline:
    """Category strings as level codes ``0..L-1`` (unknown: -1), divided by ``L - 1``."""
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
    return make_pipeline(FunctionTransformer(_as_category_strings), encoder, MaxAbsScaler())


def _n_levels(column: pd.Series) -> int:
    """Distinct values of a categorical column, missing values counting as one."""
    return column.nunique(dropna=False)


class TargetPipeline(Pipeline):
    """Category strings, target encoded, then standardised, with the scale bounded below
    by the spread of the encodings ``transform`` gives the training rows.

    ``TargetEncoder.fit_transform`` cross-fits (each row encoded by the other folds'
    targets), so the matrix the search trains and validates on holds no row's own
    target; ``transform`` then uses every row's. The two agree where levels have many
    rows. Where most levels are rare (an identifier, a date as a category), cross-fitting
    gives nearly every row the target mean, the cross-fitted column has almost no spread,
    and a scale fitted to it alone (0.003 on a column of 200 dates) blew the encodings
    ``transform`` gives a level seen in training (the label of its row or two) up to
    hundreds of units: predictions on such rows were garbage. With the bound they stay
    within the range of the other columns. Where levels have many rows the two spreads
    agree and the scale is as before (within 0.02 % at 30 rows a level, 0.4 % on the
    tables of ``benchmarks/large.py``).
    """

    def fit(self, X: Any, y: Any = None, **params: Any) -> TargetPipeline:
        self.fit_transform(X, y, **params)
        return self

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        matrix = super().fit_transform(X, y, **params)
        scaler = self[-1]
        if not isinstance(scaler, StandardScaler):  # a slice of the pipeline
            return matrix
        rows = np.arange(len(X))
        if len(rows) > _SPREAD_SAMPLE:
            rows = np.random.default_rng(0).choice(rows, _SPREAD_SAMPLE, replace=False)
        spread = self[:-1].transform(_safe_indexing(X, rows)).std(axis=0)
        scale = np.maximum(scaler.scale_, spread)
        matrix *= scaler.scale_ / scale
        scaler.scale_, scaler.var_ = scale, scale**2
        return matrix


def _target_pipeline(target_type: str) -> TargetPipeline:
    """Category strings, target encoded, then standardised (:class:`TargetPipeline`).
    Unknown levels get the target mean."""
    folds = {"n_splits": TARGET_ENCODING_FOLDS, "shuffle": True, "random_state": 0}
    if parse_version(sklearn_version) >= parse_version(
        "1.9"
    ):  # folds as a splitter; shuffle deprecated
        splitter = KFold if target_type == "continuous" else StratifiedKFold
        encoder = TargetEncoder(target_type=target_type, cv=splitter(**folds))
    else:
        encoder = TargetEncoder(
            target_type=target_type, cv=TARGET_ENCODING_FOLDS, shuffle=True, random_state=0
        )
    steps = [FunctionTransformer(_as_category_strings), encoder, StandardScaler()]
    return TargetPipeline([(type(step).__name__.lower(), step) for step in steps])


def _check_shape(name: str, shape: Any, labels: str) -> tuple[int, ...] | None:
    """``shape`` as a tuple of positive ints of ``labels``' length, or a ValueError."""
    if shape is None:
        return None
    shape = tuple(shape)
    size = len(labels.split(", "))
    if len(shape) != size or not all(isinstance(d, int | np.integer) and d > 0 for d in shape):
        raise ValueError(f"{name} must be ({labels}) of positive integers, got {shape!r}.")
    return tuple(int(d) for d in shape)


def _equal_length_sequences(X: Any) -> Any:
    """A list (or 1-d object array) of ``(C, L)`` series as one ``(n, C, L)`` array; other
    input as it is. Series of different lengths or channels are refused."""
    if not isinstance(X, list | tuple | np.ndarray) or len(X) == 0:
        return X
    if isinstance(X, np.ndarray) and X.dtype != object:
        return X
    if np.ndim(X[0]) != 2:
        return X
    shapes = {np.shape(series) for series in X}
    if len(shapes) > 1:
        raise ValueError(
            f"X holds sequences of {len(shapes)} different (channels, length) shapes, "
            f"such as {sorted(shapes)[:3]}; sknas needs equal lengths. Pad every series "
            "to the longest (repeating its last value, or zeros) or resample them to one "
            "length, then pass an array of shape (n, C, L)."
        )
    return np.asarray([np.asarray(series) for series in X])


#: Channel counts of images (grey, RGB, RGBA): an array whose last axis has one of these,
#: and whose second has not, is channels-last.
_CHANNELS = (1, 3, 4)
#: Sequences shorter than this, of more channels than steps, are (n, L, C) arrays.
_FEWEST_STEPS = 4


def input_rows(
    X: Any, image_shape: Any = None, sequence_shape: Any = None
) -> tuple[Any, tuple[int, ...] | None]:
    """Images and sequences as flat rows, with the shape of one input; tables as they are,
    with None.

    Arrays of shape ``(n, C, H, W)`` are images and ``(n, C, L)`` sequences (the
    time-series convention: channels, then time steps); a list of ``(C, L)`` series
    of one shape is a sequence array too. 2-d rows are images with ``image_shape``,
    sequences with ``sequence_shape``, a table with neither.

    Parameters
    ----------
    X : array-like
    image_shape : tuple of int or None
        ``(C, H, W)``: how 2-d rows hold images, or what image arrays must match.
    sequence_shape : tuple of int or None
        ``(C, L)``: how 2-d rows hold sequences, or what sequence arrays must match.

    Returns
    -------
    rows : array-like
        ``X``, with images and sequences flattened to ``(n, C*H*W)`` or ``(n, C*L)``.
    shape : tuple of int or None
        ``(C, H, W)``, ``(C, L)``, or None for tables.

    Raises
    ------
    ValueError
        When the shapes disagree with ``X``, both shapes are given, series of
        different lengths are given (pad or resample them first), or images look
        channels-last (a last axis of 1, 3 or 4 after a longer one) or sequences look
        like ``(n, L, C)`` (fewer than 4 steps, of more channels) and no shape says to
        read them as they are.

    Examples
    --------
    >>> rows, shape = input_rows(np.zeros((5, 2, 30)))
    >>> rows.shape, shape
    ((5, 60), (2, 30))
    >>> input_rows(np.zeros((5, 1, 8, 8)))[1], input_rows(np.zeros((5, 6)), None, (2, 3))[1]
    ((1, 8, 8), (2, 3))
    """
    image_shape = _check_shape("image_shape", image_shape, "channels, height, width")
    sequence_shape = _check_shape("sequence_shape", sequence_shape, "channels, length")
    if image_shape is not None and sequence_shape is not None:
        raise ValueError("Give image_shape (images) or sequence_shape (sequences), not both.")
    X = _equal_length_sequences(X)
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim > 4:
        raise ValueError(
            f"X has {ndim} dimensions; give rows of features (2), sequences of shape "
            "(n, C, L) (3) or images of shape (n, C, H, W) (4)."
        )
    if ndim == 3 and image_shape is not None:
        raise ValueError(
            f"X of shape {X.shape} is read as sequences (n, C, L), but image_shape="
            f"{image_shape} asks for images: give images a channel axis, X[:, None] "
            "(shape (n, 1, H, W)), or pass flat rows X.reshape(len(X), -1)."
        )
    if ndim == 4 and sequence_shape is not None:
        raise ValueError(
            f"X of shape {X.shape} holds images (n, C, H, W), but sequence_shape="
            f"{sequence_shape} asks for sequences (n, C, L)."
        )
    if ndim in (3, 4):
        X = np.asarray(X)
        shape = tuple(int(d) for d in X.shape[1:])
        given = image_shape if ndim == 4 else sequence_shape
        if ndim == 4:
            channels_last = shape[2] in _CHANNELS and shape[0] not in _CHANNELS
            hint = (
                " They look channels-last (n, H, W, C), as PIL, matplotlib and TensorFlow "
                "give them; sknas takes (n, C, H, W): pass X.transpose(0, 3, 1, 2)"
            )
        else:
            channels_last = shape[1] < _FEWEST_STEPS < shape[0]
            hint = (
                " They look like (n, L, C), as tslearn and Keras give them; sknas takes "
                "(n, C, L): pass X.transpose(0, 2, 1)"
            )
        hint = hint if channels_last else ""
        if given is not None and shape != given:
            kind, name = ("images", "image_shape") if ndim == 4 else ("sequences", "sequence_shape")
            raise ValueError(f"X holds {kind} of shape {shape}, but {name} is {given}.{hint}")
        if channels_last and given is None:
            read = (
                f"images of {shape[0]} channels of {shape[1]} x {shape[2]} pixels"
                if ndim == 4
                else f"sequences of {shape[0]} channels of length {shape[1]}"
            )
            name = "image_shape" if ndim == 4 else "sequence_shape"
            raise ValueError(
                f"X of shape {X.shape} would be read as {read}.{hint}, or {name}={shape} "
                "to read them as they are."
            )
        return X.reshape(len(X), -1), shape
    shape = image_shape if image_shape is not None else sequence_shape
    n_columns = np.shape(X)[1] if ndim == 2 else None
    if shape is not None and n_columns is not None and n_columns != math.prod(shape):
        name = "image_shape" if image_shape is not None else "sequence_shape"
        raise ValueError(
            f"{name}={shape} holds {math.prod(shape)} values per row, but X has "
            f"{n_columns} features per row."
        )
    return X, shape


class ChannelStandardizer(TransformerMixin, BaseEstimator):
    """Standardise flattened images or sequences per channel (mean and std over all its
    pixels or time steps).

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the images the rows hold, or ``(C, L)`` of the sequences.

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
                f"values per input, but X has {X.shape[1]} features per row."
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
