"""A search journal on disk, so that a killed ``fit`` resumes where it stopped.

The directory holds ``search.json`` (what search this is: a fingerprint of the data
and of the parameters that shape the search, and the seeds drawn from
``random_state``), one file per finished trial (``trial_00000.pkl``, ...; the
trained member included, so the ensemble can use it) and ``state.pkl`` (the
strategy's and the successive-halving table's state after the last recorded
trial). Every file is written to a temporary name and renamed, so a kill at any
moment leaves either the old or the new version. Files are pickles: open only
directories you wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .trial import TrialResult

__all__ = ["MemoryJournal", "SearchJournal", "fingerprint"]

_MANIFEST = "search.json"
_STATE = "state.pkl"


def fingerprint(arrays: Sequence[np.ndarray | None], settings: Mapping[str, Any]) -> str:
    """A hash of the data and of the settings that shape a search.

    Examples
    --------
    >>> a = fingerprint([np.zeros(3)], {"max_epochs": 5})
    >>> a == fingerprint([np.zeros(3)], {"max_epochs": 5}), a == fingerprint([np.ones(3)], {})
    (True, False)
    """
    digest = hashlib.sha256()
    for array in arrays:
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
    digest.update(json.dumps(settings, sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


class MemoryJournal:
    """The same record kept in memory: what ``warm_start=True`` continues from.

    Parameters
    ----------
    key : str
        :func:`fingerprint` of the data and settings of the search.
    seeds : mapping
        Seeds the search drew from ``random_state``.
    """

    def __init__(self, key: str, seeds: Mapping[str, int]) -> None:
        self.key = key
        self.seeds = {name: int(seed) for name, seed in seeds.items()}
        self.results: list[TrialResult] = []
        self.state: dict[str, Any] | None = None

    def resume(self) -> tuple[list[TrialResult], dict[str, Any] | None]:
        """The recorded trials and the state after the last of them (None: nothing yet)."""
        return list(self.results), self.state

    def record(self, index: int, result: TrialResult, state: Mapping[str, Any]) -> None:
        """Keep trial ``index`` and the search state that follows it."""
        del self.results[index:]
        self.results.append(result)
        self.state = dict(state)


class SearchJournal:
    """Records a search in ``path`` trial by trial; reads it back to resume.

    Parameters
    ----------
    path : str or Path
        The checkpoint directory (created if needed).
    key : str
        :func:`fingerprint` of the data and settings; a directory written for
        another key is refused.
    seeds : mapping
        Seeds the search drew from ``random_state``; a resumed search reuses the
        recorded ones, so it also resumes without a ``random_state``.
    """

    def __init__(self, path: str | os.PathLike, key: str, seeds: Mapping[str, int]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in self.path.glob(".*.tmp"):  # a write that a kill cut short
            stale.unlink()
        manifest = self.path / _MANIFEST
        if manifest.exists():
            recorded = json.loads(manifest.read_text())
            if recorded["key"] != key:
                raise ValueError(
                    f"checkpoint_dir {str(self.path)!r} holds a search for other data or "
                    "other search parameters; give a new directory (or delete this one) to "
                    "start a new search."
                )
            self.seeds = {name: int(seed) for name, seed in recorded["seeds"].items()}
        else:
            self.seeds = {name: int(seed) for name, seed in seeds.items()}
            _write_atomically(manifest, json.dumps({"key": key, "seeds": self.seeds}).encode())

    def resume(self) -> tuple[list[TrialResult], dict[str, Any] | None]:
        """The recorded trials and the state after the last of them (None: nothing yet)."""
        state_file = self.path / _STATE
        if not state_file.exists():
            return [], None
        state = pickle.loads(state_file.read_bytes())
        results = [
            pickle.loads(self._trial_file(index).read_bytes())
            for index in range(state["n_results"])
        ]
        return results, state

    def record(self, index: int, result: TrialResult, state: Mapping[str, Any]) -> None:
        """Write trial ``index``, then the search state that follows it."""
        _write_atomically(self._trial_file(index), pickle.dumps(result))
        data = pickle.dumps(dict(state) | {"n_results": index + 1})
        _write_atomically(self.path / _STATE, data)

    def _trial_file(self, index: int) -> Path:
        return self.path / f"trial_{index:05d}.pkl"
