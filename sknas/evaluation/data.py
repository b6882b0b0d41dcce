"""The held-out split a search trains and scores on, and a fast batch iterator.

Rows are a dense float32 array, or a scipy CSR matrix when ``fit`` got sparse
``X``: networks then see each batch densified on the fly (:class:`SparseRows`,
:func:`dense_rows`), so memory stays proportional to the non-zeros.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from torch.utils.data import TensorDataset

from .classical import CategoryCodes

__all__ = [
    "VALIDATION_MAX_ROWS",
    "DataSplit",
    "SparseRows",
    "TensorBatchIterator",
    "balanced_weights",
    "concat_rows",
    "dense_rows",
    "holdout_fraction",
    "make_split",
    "rows_tensor",
    "split_at",
]

Batch = tuple[torch.Tensor, ...]

#: Most rows ``validation_fraction="auto"`` holds out; larger tables train on the rest.
#: AutoGluon grows its holdout to about 2,500 rows; 25,000 rank candidates within
#: a few thousandths of accuracy, and on 750,000 rows leave 125,000 more for training.
VALIDATION_MAX_ROWS = 25_000


def holdout_fraction(validation_fraction: float | str, n_rows: int) -> float:
    """The share of ``n_rows`` held out: ``validation_fraction``, or for ``"auto"`` a fifth
    of the rows, at most :data:`VALIDATION_MAX_ROWS` of them.

    Examples
    --------
    >>> holdout_fraction("auto", 1_000), holdout_fraction("auto", 500_000)
    (0.2, 0.05)
    >>> holdout_fraction(0.3, 500_000)
    0.3
    """
    if validation_fraction != "auto":
        return float(validation_fraction)
    return min(0.2, VALIDATION_MAX_ROWS / max(n_rows, 1))


@dataclass(frozen=True)
class DataSplit:
    """Training and validation data, encoded for the networks.

    Parameters
    ----------
    task : {"classification", "regression"}
    X_train, X_valid : ndarray of float32, or CSR matrix of float32
    y_train, y_valid : ndarray
        int64 class codes, or float32 standardised targets of shape ``(n, 1)``.
    y_valid_true : ndarray
        What validation predictions are scored against: class codes, or the
        float64 targets in their original scale.
    n_outputs : int
        Number of classes, or 1.
    target_mean, target_scale : float
        Standardisation of regression targets (0 and 1 for classification).
    w_train, w_valid : ndarray of float32 or None
        Sample weights, each scaled to mean one; None when ``fit`` got none.
    image_shape : tuple of int or None
        ``(C, H, W)`` when the rows are flattened images.
    category_codes : CategoryCodes or None
        How gradient boosting sees the rows' categorical columns: their one-hot blocks
        and columns of level codes as category codes; None when there are none.
    """

    task: str
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_valid: np.ndarray = field(repr=False)
    y_valid: np.ndarray = field(repr=False)
    y_valid_true: np.ndarray = field(repr=False)
    n_outputs: int
    target_mean: float = 0.0
    target_scale: float = 1.0
    w_train: np.ndarray | None = field(default=None, repr=False)
    w_valid: np.ndarray | None = field(default=None, repr=False)
    image_shape: tuple[int, int, int] | None = None
    category_codes: CategoryCodes | None = None

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return self.X_train.shape[1]

    @property
    def n_coded_features(self) -> int:
        """Inputs of gradient boosting: a category code in place of each one-hot block."""
        if self.category_codes is None:
            return self.n_features
        return self.category_codes.n_outputs(self.n_features)

    @property
    def n_rows(self) -> int:
        """Number of training rows (the validation rows excluded)."""
        return self.X_train.shape[0]

    @property
    def sparse(self) -> bool:
        """Whether the rows are a sparse (CSR) matrix."""
        return sp.issparse(self.X_train)

    @property
    def density(self) -> float:
        """Share of the training values stored: below 1 for a sparse matrix, else 1."""
        if not self.sparse:
            return 1.0
        return self.X_train.nnz / max(1, self.n_rows * self.n_features)


def _mean_one(weights: np.ndarray, part: str) -> np.ndarray:
    total = float(np.sum(weights))
    if total <= 0:
        raise ValueError(
            f"sample_weight is zero on every row of the {part} part of the data; give "
            "positive weight to more rows."
        )
    return (weights * (len(weights) / total)).astype(np.float32)


def make_split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    validation_fraction: float | str,
    seed: int,
    sample_weight: np.ndarray | None = None,
    image_shape: tuple[int, int, int] | None = None,
    category_codes: CategoryCodes | None = None,
    in_place: bool = False,
    groups: np.ndarray | None = None,
) -> DataSplit:
    """Hold out validation data: stratified for classification where every class allows it,
    or, with ``groups``, whole groups (a share of them).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Preprocessed features.
    y : ndarray of shape (n_samples,)
        Class codes ``0..n_classes-1`` or real targets.
    task : {"classification", "regression"}
    validation_fraction : float or "auto"
        Share of rows held out (at least one row); see :func:`holdout_fraction`.
    seed : int
        Seed of the split.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative row weights.
    image_shape : tuple of int or None
        ``(C, H, W)`` when the rows are flattened images.
    category_codes : CategoryCodes or None, default=None
        What gradient boosting splits on natively (see :class:`DataSplit`).
    in_place : bool, default=False
        Reorder the rows of ``X`` in place, training rows first, instead of copying
        them, when ``X`` is a C-contiguous float32 array: for a matrix nothing else
        reads (the search's own), so that the search holds one copy of it, not two.
    groups : ndarray of shape (n_samples,) or None, default=None
        Group labels: no group has rows on both sides (scikit-learn's
        ``GroupShuffleSplit``, ``validation_fraction`` of the groups held out).

    Returns
    -------
    DataSplit
    """
    train, valid = _holdout_rows(
        y, task, holdout_fraction(validation_fraction, len(y)), seed, groups
    )
    return split_at(
        X,
        y,
        train,
        valid,
        task=task,
        sample_weight=sample_weight,
        image_shape=image_shape,
        category_codes=category_codes,
        in_place=in_place,
    )


def _holdout_rows(
    y: np.ndarray, task: str, fraction: float, seed: int, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row positions of a holdout of ``fraction`` (see
    :func:`make_split`)."""
    if groups is not None:
        if len(np.unique(groups)) < 2:
            raise ValueError(
                "groups holds a single group, so no holdout can keep groups apart; pass "
                "groups with at least 2 distinct labels, or none."
            )
        splitter = GroupShuffleSplit(1, test_size=fraction, random_state=seed)
        return next(splitter.split(np.zeros((len(y), 1)), y, groups))
    stratify = None
    if task == "classification":
        counts = np.bincount(y)
        n_valid = max(1, int(round(fraction * len(y))))
        if counts.min() >= 2 and n_valid >= len(counts) and len(y) - n_valid >= len(counts):
            stratify = y
    train, valid = train_test_split(
        np.arange(len(y)), test_size=fraction, random_state=seed, stratify=stratify
    )
    return train, valid


def split_at(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    *,
    task: str,
    sample_weight: np.ndarray | None = None,
    image_shape: tuple[int, int, int] | None = None,
    category_codes: CategoryCodes | None = None,
    in_place: bool = False,
) -> DataSplit:
    """The :class:`DataSplit` that trains on rows ``train`` and validates on rows ``valid``.

    Regression targets are standardised with the training rows' mean and scale. With
    ``in_place`` (see :func:`make_split`) and every row either training or validation,
    a C-contiguous float32 ``X`` is reordered in place: its validation rows, in the
    order of ``valid``, move to its end, and the training rows they displace fill their
    places (the training rows' order changes; their set does not).
    """
    if (
        in_place
        and isinstance(X, np.ndarray)
        and X.dtype == np.float32
        and X.flags.c_contiguous
        and len(train) + len(valid) == len(X)
    ):
        train = _validation_rows_last(X, valid)
        valid = np.asarray(valid)
        X_train, X_valid = X[: len(train)], X[len(train) :]
    else:
        X_train, X_valid = _float32_rows(X, train, valid)
    extra: dict[str, Any] = {"image_shape": image_shape, "category_codes": category_codes}
    if sample_weight is not None:
        extra["w_train"] = _mean_one(sample_weight[train], "training")
        extra["w_valid"] = _mean_one(sample_weight[valid], "validation")
    y_train, y_valid = y[train], y[valid]
    if task == "classification":
        return DataSplit(
            task,
            X_train,
            y_train.astype(np.int64),
            X_valid,
            y_valid.astype(np.int64),
            y_valid_true=y_valid.astype(np.int64),
            n_outputs=int(y.max()) + 1,
            **extra,
        )
    w_train = None if sample_weight is None else sample_weight[train]
    mean = float(np.average(y_train, weights=w_train))
    scale = float(np.sqrt(np.average((y_train - mean) ** 2, weights=w_train))) or 1.0
    return DataSplit(
        task,
        X_train,
        ((y_train - mean) / scale).astype(np.float32).reshape(-1, 1),
        X_valid,
        ((y_valid - mean) / scale).astype(np.float32).reshape(-1, 1),
        y_valid_true=y_valid.astype(np.float64),
        n_outputs=1,
        target_mean=mean,
        target_scale=scale,
        **extra,
    )


def _validation_rows_last(X: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Move rows ``valid`` of ``X`` to its end, in place and in their order; the
    training rows they displace take their places. Returns the training rows' original
    positions, in their new order (copies of at most ``len(valid)`` rows are made)."""
    n_train = len(X) - len(valid)
    is_valid = np.zeros(len(X), dtype=bool)
    is_valid[valid] = True
    freed = np.flatnonzero(is_valid[:n_train])  # validation rows among the first n_train
    displaced = n_train + np.flatnonzero(~is_valid[n_train:])  # training rows after them
    held = X[valid]
    X[freed] = X[displaced]
    X[n_train:] = held
    train = np.arange(n_train)
    train[freed] = displaced
    return train


def _float32_rows(X: Any, train: np.ndarray, valid: np.ndarray) -> tuple[Any, Any]:
    """Rows ``train`` and rows ``valid`` of ``X`` as new float32 arrays, or CSR matrices
    when ``X`` is sparse. Dense, the two are consecutive rows of one array, which
    :func:`concat_rows` joins again without a copy."""
    if sp.issparse(X):
        return sp.csr_matrix(X[train], dtype=np.float32), sp.csr_matrix(X[valid], dtype=np.float32)
    X = np.asarray(X, dtype=np.float32)  # the search's matrix is float32 already
    rows = np.empty((len(train) + len(valid), *X.shape[1:]), np.float32)
    np.take(X, train, axis=0, out=rows[: len(train)], mode="clip")
    np.take(X, valid, axis=0, out=rows[len(train) :], mode="clip")
    return rows[: len(train)], rows[len(train) :]


def dense_rows(X: Any) -> np.ndarray:
    """``X`` as a dense array: sparse rows densified, arrays as they are.

    Examples
    --------
    >>> dense_rows(sp.csr_matrix(np.eye(2))).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return X.toarray() if sp.issparse(X) else X


def concat_rows(*parts: Any) -> Any:
    """The rows of ``parts`` one after the other: arrays, CSR matrices, tensors or
    :class:`SparseRows` (each kind with its own).

    Examples
    --------
    >>> concat_rows(sp.csr_matrix(np.ones((1, 2))), sp.csr_matrix(np.zeros((2, 2)))).shape
    (3, 2)
    """
    if all(isinstance(part, SparseRows) for part in parts):
        return SparseRows(concat_rows(*(part.matrix for part in parts)), parts[0].device)
    if all(isinstance(part, torch.Tensor) for part in parts):
        return torch.cat(parts)
    if any(sp.issparse(part) for part in parts):
        return sp.vstack(parts, format="csr")
    return _adjacent_rows(parts) if len(parts) > 1 else np.concatenate(parts)


def _adjacent_rows(parts: tuple[Any, ...]) -> np.ndarray:
    """``parts`` joined: a view when they lie one after the other in one C-contiguous
    array (as :func:`split_at` makes training and validation rows), else a new array."""
    base = parts[0].base
    if not (
        isinstance(base, np.ndarray)
        and base.flags.c_contiguous
        and base.dtype == parts[0].dtype
        and base.shape[1:] == parts[0].shape[1:]
    ):
        return np.concatenate(parts)
    end = _address(parts[0])
    for part in parts:
        if not (
            isinstance(part, np.ndarray)
            and part.base is base
            and part.flags.c_contiguous
            and _address(part) == end
        ):
            return np.concatenate(parts)
        end += part.nbytes
    start = (_address(parts[0]) - _address(base)) // base.strides[0]
    return base[start : start + sum(len(part) for part in parts)]


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


class SparseRows:
    """A CSR matrix that a :class:`TensorBatchIterator` slices into dense tensors.

    It stands in for the ``X`` tensor of a ``TensorDataset``: ``size(0)``, ``len`` and
    ``device`` as a tensor has them, and indexing by a slice or a tensor of row
    positions returns those rows densified, as a float32 tensor on ``device``. The
    whole matrix is never densified.

    Parameters
    ----------
    matrix : scipy.sparse CSR matrix of float32
    device : str or torch.device
        Where the densified batches go.

    Examples
    --------
    >>> rows = SparseRows(sp.csr_matrix(np.eye(3, dtype=np.float32)), "cpu")
    >>> rows[torch.tensor([2, 0])]
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    """

    def __init__(self, matrix: sp.csr_matrix, device: str | torch.device) -> None:
        self.matrix = matrix
        self.device = torch.device(device)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_features)``."""
        return self.matrix.shape

    def size(self, dim: int | None = None) -> Any:
        """The shape, or its length along ``dim``, as ``torch.Tensor.size`` gives them."""
        return torch.Size(self.shape) if dim is None else self.shape[dim]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice | torch.Tensor) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        dense = self.matrix[index].toarray().astype(np.float32, copy=False)
        return torch.from_numpy(dense).to(self.device)


def rows_tensor(X: Any, device: str | torch.device) -> torch.Tensor | SparseRows:
    """``X`` as the rows of a ``TensorDataset`` on ``device``: a tensor sharing an
    array's memory (on CPU), or :class:`SparseRows` for a sparse matrix."""
    if sp.issparse(X):
        return SparseRows(sp.csr_matrix(X), device)
    with warnings.catch_warnings():
        # A worker's rows are memory-mapped read-only (joblib); training only reads them.
        warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
        return torch.from_numpy(X).to(device)


def balanced_weights(y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Row weights that give every class the same total weight, scaled to mean one.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class codes.
    weights : ndarray or None
        Row weights to balance (None: all ones).

    Examples
    --------
    >>> balanced_weights(np.array([0, 0, 0, 1]), None).tolist()
    [0.6666666865348816, 0.6666666865348816, 0.6666666865348816, 2.0]
    """
    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    totals = np.bincount(y, weights=weights)
    present = totals > 0
    factors = np.zeros_like(totals)
    factors[present] = totals.sum() / (present.sum() * totals[present])
    balanced = weights * factors[y]
    return (balanced * (len(y) / balanced.sum())).astype(np.float32)


class TensorBatchIterator:
    """Mini-batches sliced from pre-made tensors: skorch's ``iterator_train``/``_valid``.

    Replaces skorch's default ``DataLoader``, which collates every batch sample by
    sample. A trailing batch of a single row is merged into the one before, so
    batch normalisation always sees at least two rows.

    Parameters
    ----------
    dataset : torch.utils.data.TensorDataset
        Holds ``(X, y)`` or ``(X, y, weight)`` tensors, already on the training device;
        ``X`` may be :class:`SparseRows`, whose batches are densified as they are drawn.
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation (from torch's global generator) every epoch.
    augmentation : callable or None, default=None
        Applied to every batch (the training iterator's only).
    rows_per_epoch : int or None, default=None
        With ``shuffle``, an epoch is a fresh random sample of this many rows (all of
        them when there are fewer): see :data:`~sknas.evaluation.nets.EPOCH_ROWS`.
    """

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int,
        shuffle: bool = False,
        augmentation: Callable[[Batch], Batch] | None = None,
        rows_per_epoch: int | None = None,
    ) -> None:
        self.tensors = dataset.tensors
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.n_rows = len(self.tensors[0])
        n = self.n_rows
        if shuffle and rows_per_epoch is not None:
            n = min(n, int(rows_per_epoch))
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        self._bounds = list(zip(starts, starts[1:] + [n], strict=True))

    def __len__(self) -> int:
        return len(self._bounds)

    def __iter__(self) -> Iterator[Batch]:
        if self.augmentation is None:
            yield from self._batches()
        else:
            yield from map(self.augmentation, self._batches())

    def _batches(self) -> Iterator[Batch]:
        if not self.shuffle:
            for start, stop in self._bounds:
                yield tuple(tensor[start:stop] for tensor in self.tensors)
            return
        order = torch.randperm(self.n_rows)[: self._bounds[-1][1]].to(self.tensors[0].device)
        for start, stop in self._bounds:
            index = order[start:stop]
            yield tuple(tensor[index] for tensor in self.tensors)
