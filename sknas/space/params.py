"""Search dimensions: the values one hyperparameter or architecture choice may take.

Dimensions are frozen, torch-free and hyperopt-free; strategies translate them into
their own vocabulary (hyperopt expressions, mutations, random draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Categorical", "Dimension", "Float", "Int"]


@dataclass(frozen=True)
class Float:
    """A real value in ``[low, high]``, sampled uniformly or log-uniformly.

    Examples
    --------
    >>> Float(1e-4, 1e-1, log=True, default=1e-3).contains(0.01)
    True
    """

    low: float
    high: float
    log: bool = False
    default: float | None = None

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"Float needs low < high, got [{self.low}, {self.high}].")
        if self.log and self.low <= 0:
            raise ValueError(f"A log-scaled Float needs low > 0, got {self.low}.")

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the dimension."""
        return isinstance(value, (float, int)) and self.low <= value <= self.high

    def clip(self, value: float) -> float:
        """Project ``value`` onto the dimension."""
        return float(min(max(value, self.low), self.high))

    @property
    def default_value(self) -> float:
        """The configured default, or the (geometric) middle of the range."""
        if self.default is not None:
            return float(self.default)
        if self.log:
            return float(math.sqrt(self.low * self.high))
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (both included), uniform or log-uniform.

    Examples
    --------
    >>> Int(1, 4).contains(4)
    True
    """

    low: int
    high: int
    log: bool = False
    default: int | None = None

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"Int needs low <= high, got [{self.low}, {self.high}].")
        if self.log and self.low <= 0:
            raise ValueError(f"A log-scaled Int needs low > 0, got {self.low}.")

    def sample(self, rng: np.random.Generator) -> int:
        """Draw one value."""
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return self.clip(math.floor(value))
        return int(rng.integers(self.low, self.high + 1))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the dimension."""
        return isinstance(value, (int, np.integer)) and self.low <= value <= self.high

    def clip(self, value: float) -> int:
        """Round and project ``value`` onto the dimension."""
        return int(min(max(round(value), self.low), self.high))

    @property
    def default_value(self) -> int:
        """The configured default, or the (geometric) middle of the range."""
        if self.default is not None:
            return int(self.default)
        middle = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return self.clip(middle)


@dataclass(frozen=True)
class Categorical:
    """One of a fixed tuple of choices (strings, numbers, booleans).

    Examples
    --------
    >>> Categorical(("relu", "gelu")).default_value
    'relu'
    """

    choices: tuple
    default: Any = None

    def __post_init__(self) -> None:
        if len(self.choices) == 0:
            raise ValueError("Categorical needs at least one choice.")
        if self.default is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of {self.choices}.")

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value."""
        return self.choices[int(rng.integers(len(self.choices)))]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the choices."""
        return value in self.choices

    @property
    def default_value(self) -> Any:
        """The configured default, or the first choice."""
        return self.choices[0] if self.default is None else self.default


Dimension = Float | Int | Categorical
