"""A search journal on disk, so that a killed ``fit`` resumes where it stopped.

``checkpoint_dir`` holds:

- ``manifest.json``: the checkpoint format version, the search's key (a
  :func:`fingerprint` of the data and of the parameters that shape the search)
  and the seeds drawn from ``random_state``;
- one artifact per finished trial, ``trial_00000.pkl``, ... (the trained member
  included, so the ensemble can use it), and one state file per trial,
  ``state_00000.pkl``, ...: what changed in the strategy's and the
  successive-halving table's state since the trial before (so the bytes written per
  trial stay flat however long the search);
- ``journal.jsonl``: one JSON line per finished trial naming its two files with
  their byte sizes and SHA-256 checksums.

A trial is recorded by writing its files (each to a temporary name, fsynced, then
renamed) and only then appending its line (fsynced), so a kill at any moment leaves
a consistent directory: a trailing line without its newline is a write that the
kill cut short, ignored (that trial runs again). Resuming checks every file against
its line *before* reading it and refuses, with a :class:`~sknas.exceptions.CheckpointError`
that names ``checkpoint_dir``, the file and what to do, anything that does not
match: a missing manifest next to a checkpoint's files, a manifest of other data or
settings or of a newer format, a malformed journal line, a missing, truncated,
corrupted or swapped file, a directory that cannot be written. The files are
pickles: the checksums catch damage, not forgery, so open only directories you wrote.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import CheckpointError
from .trial import TrialResult

__all__ = ["FORMAT_VERSION", "MemoryJournal", "SearchJournal", "fingerprint"]

#: Version of the layout of ``checkpoint_dir``; a directory of a newer one is refused.
FORMAT_VERSION = 4  # 2: the study's state (trial ids, seeds, queue) beside the strategy's;
# 3: trials carry the cost model's predicted time; 4: evolution remembers a seeded population

_FORMAT = "sknas-checkpoint"
_MANIFEST = "manifest.json"
_JOURNAL = "journal.jsonl"
_CHECKPOINT_FILE = re.compile(r"(trial|state)_\d{5,}\.pkl|search\.json|state\.pkl")
_START_AFRESH = "Delete the directory, or pass another checkpoint_dir, to start a new search."
_LINE_FIELDS = {"trial", "file", "bytes", "sha256", "state_file", "state_bytes", "state_sha256"}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def fingerprint(arrays: Sequence[np.ndarray | None], settings: Mapping[str, Any]) -> str:
    """A hash of the data and of the settings that shape a search.

    The same in every process: objects in ``settings`` count by their type and
    their attributes (see :func:`_describe`), never by their address in memory.

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
    digest.update(json.dumps(_describe(settings), sort_keys=True).encode())
    return digest.hexdigest()


def _describe(value: Any, within: frozenset[int] = frozenset()) -> Any:
    """``value`` as JSON data that is the same in every process that builds it alike.

    Plain data stays itself; arrays count by dtype, shape and a hash of their
    bytes; classes and functions by qualified name; other objects by qualified type
    name and their own attributes (``get_params()`` for an estimator, else their
    ``__dict__`` or slots), described recursively. An object with neither counts by
    its ``repr`` with any memory address taken out.

    Examples
    --------
    >>> class Holder:
    ...     def __init__(self):
    ...         self.inner = object()
    >>> _describe([Holder(), {1, 2}])
    [{'type': 'sknas.checkpoint.Holder', 'attributes': {'inner': '<object object>'}}, [1, 2]]
    """
    if isinstance(value, Enum):
        return [_qualified_name(type(value)), value.name]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if inspect.isclass(value) or inspect.isroutine(value):
        return _qualified_name(value)
    if id(value) in within:
        return f"<cycle: {_qualified_name(type(value))}>"
    within = within | {id(value)}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return _describe(value.tolist(), within)
        data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return {"ndarray": str(value.dtype), "shape": list(value.shape), "sha256": data}
    if isinstance(value, Mapping):
        return {_key(name): _describe(item, within) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_describe(item, within) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [_describe(item, within) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if callable(getattr(value, "get_params", None)):
        attributes = value.get_params(deep=False)
    elif hasattr(value, "__dict__"):
        attributes = vars(value)
    elif slots := [n for c in type(value).__mro__ for n in getattr(c, "__slots__", ())]:
        attributes = {name: getattr(value, name) for name in slots if hasattr(value, name)}
    else:
        return _ADDRESS.sub("", repr(value))
    return {"type": _qualified_name(type(value)), "attributes": _describe(attributes, within)}


def _qualified_name(thing: Any) -> str:
    return f"{getattr(thing, '__module__', None)}.{getattr(thing, '__qualname__', thing)}"


def _key(name: Any) -> str:
    """A mapping key as a string that does not collide with other types' keys."""
    if isinstance(name, str):
        return name
    return f"{type(name).__name__}:{json.dumps(_describe(name), sort_keys=True)}"


def _dump_artifact(result: TrialResult) -> bytes:
    """The bytes of a trial's artifact file (the one place that chooses its format)."""
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def _load_artifact(data: bytes) -> TrialResult:
    """Read :func:`_dump_artifact`'s bytes, already checked against their SHA-256."""
    result = pickle.loads(data)
    if not isinstance(result, TrialResult):
        raise TypeError(f"it holds a {type(result).__name__}, not a TrialResult")
    return result


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal and of the same types throughout (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) in (dict, list, tuple):
        pickled = _pickled(a)
        if pickled is not None and pickled == _pickled(b):
            return True  # equal pickles read back alike: the fast answer for most containers
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[name], b[name]) for name in a)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    if type(a) is float:
        return a == b or (a != a and b != b)
    if isinstance(a, np.ndarray):
        nan = a.dtype.kind in "fc"
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=nan)
    try:
        equal = a == b
    except Exception:  # an object whose == fails is compared as different
        return False
    return isinstance(equal, (bool, np.bool_)) and bool(equal)


def _pickled(value: Any) -> bytes | None:
    """``value``'s pickle, or None when it cannot be pickled."""
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:  # compared item by item instead
        return None


def _diff(old: Any, new: Any) -> tuple | None:
    """How to turn ``old`` into ``new`` (None: nothing to do), sized by what changed.

    Dicts are patched key by key; a list keeps its longest common head (after
    dropping items from its front) and tail with ``old`` and stores only what lies
    between, so a list that grows by appends (trial documents, rung scores), by a
    sorted insertion or as a sliding window costs what it gained.

    Examples
    --------
    >>> _diff({"a": [1, 2], "b": 0}, {"a": [1, 2, 3], "b": 0})
    ('dict', {'a': ('list', 0, 2, 0, [3])}, [])
    >>> _diff([1, 2, 3], [2, 3, 4]), _diff([1, 3], [1, 2, 3])
    (('list', 1, 2, 0, [4]), ('list', 0, 1, 1, [2]))
    """
    if type(old) is dict and type(new) is dict:
        kept = [name for name in old if name in new]
        if kept + [name for name in new if name not in old] == list(new):
            changed = {}
            for name, value in new.items():
                operation = _diff(old.get(name, _MISSING), value)
                if operation is not None:
                    changed[name] = operation
            removed = [name for name in old if name not in new]
            return ("dict", changed, removed) if changed or removed else None
    elif type(old) is list and type(new) is list:
        if old and new and not _same(old[0], new[0]):  # dropped from the front (a window)?
            drop = next((i for i, item in enumerate(old) if _same(item, new[0])), 0)
        else:
            drop = 0
        head = 0
        while head < min(len(old) - drop, len(new)) and _same(old[drop + head], new[head]):
            head += 1
        if head == len(old) == len(new):
            return None
        tail = 0
        while tail < min(len(old) - drop, len(new)) - head and _same(
            old[-1 - tail], new[-1 - tail]
        ):
            tail += 1
        return ("list", drop, head, tail, new[head : len(new) - tail])
    return None if _same(old, new) else ("set", new)


def _patch(old: Any, operation: tuple | None) -> Any:
    """Apply :func:`_diff`'s ``operation`` to ``old`` (which is left unchanged)."""
    if operation is None:
        return old
    if operation[0] == "dict":
        _, changed, removed = operation
        new = {name: value for name, value in old.items() if name not in removed}
        for name, change in changed.items():
            new[name] = _patch(new.get(name, _MISSING), change)
        return new
    if operation[0] == "list":
        _, drop, head, tail, middle = operation
        return old[drop : drop + head] + list(middle) + old[len(old) - tail :]
    return operation[1]


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

    def keep_as(self, results: Sequence[TrialResult]) -> None:
        """Hold ``results`` (the history's: the same trials, only its best models kept),
        so that the memory of a warm start stays bounded however many fits continue it."""
        if len(results) != len(self.results):
            raise ValueError(f"{len(results)} results for a record of {len(self.results)}")
        self.results = list(results)


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

    Raises
    ------
    CheckpointError
        When ``path`` holds a checkpoint of another search, of a newer format or
        without its manifest, or cannot be written. Damaged trial files are refused
        by :meth:`resume` (and :meth:`record`).
    """

    def __init__(self, path: str | os.PathLike, key: str, seeds: Mapping[str, int]) -> None:
        self.path = Path(path)
        self.key = key
        self._lines: list[dict[str, Any]] = []
        self._loaded = False  # the lines and state are read on first use
        self._state: dict[str, Any] | None = None
        self._journal_end = 0
        with self._writing(self.path.name):
            self.path.mkdir(parents=True, exist_ok=True)
            for stale in self.path.glob(".*.tmp"):  # a write that a kill cut short
                stale.unlink()
        manifest = self._read_manifest()
        if manifest is None:
            self._refuse_leftovers()
            self.seeds = {name: int(seed) for name, seed in seeds.items()}
            content = {"format": _FORMAT, "version": FORMAT_VERSION, "key": key}
            self._write(_MANIFEST, json.dumps(content | {"seeds": self.seeds}).encode())
        elif manifest["key"] != key:
            raise self._error(_MANIFEST, "holds a search for other data or other search parameters")
        else:
            self.seeds = {name: int(seed) for name, seed in manifest["seeds"].items()}
            if not (self.path / _JOURNAL).exists() and self._checkpoint_files():
                raise self._error(_JOURNAL, "is missing, but the directory holds trial files")
        with self._writing(_JOURNAL), open(self.path / _JOURNAL, "ab"):
            pass  # created, or found writable, before any trial runs

    def resume(self) -> tuple[list[TrialResult], dict[str, Any] | None]:
        """The recorded trials and the state after the last of them (None: nothing yet).

        Raises
        ------
        CheckpointError
            When a journal line is malformed or a file does not match its line.
        """
        results = self._load()
        return results, pickle.loads(pickle.dumps(self._state, pickle.HIGHEST_PROTOCOL))

    def record(self, index: int, result: TrialResult, state: Mapping[str, Any]) -> None:
        """Write trial ``index``'s files, then append its journal line.

        Raises
        ------
        ValueError
            When ``index`` is not the number of trials recorded so far.
        CheckpointError
            When a file cannot be written.
        """
        if not self._loaded:
            self._load()
        if index != len(self._lines):
            raise ValueError(
                f"trial {index} cannot be recorded after {len(self._lines)} trials: "
                "a journal is appended to in order."
            )
        # The base of the next trial's difference, as resume() would read it back.
        state = pickle.loads(pickle.dumps(dict(state), protocol=pickle.HIGHEST_PROTOCOL))
        files = {
            "file": (f"trial_{index:05d}.pkl", _dump_artifact(result)),
            "state_file": (f"state_{index:05d}.pkl", pickle.dumps(_diff(self._state, state))),
        }
        line: dict[str, Any] = {"trial": index}
        for field, (name, data) in files.items():
            self._write(name, data)
            prefix = field.removesuffix("file")
            line |= {field: name, f"{prefix}bytes": len(data), f"{prefix}sha256": _sha256(data)}
        self._fsync_directory()
        self._append(json.dumps(line).encode() + b"\n")
        self._lines.append(line)
        self._state = state

    def _load(self) -> list[TrialResult]:
        """Check and read every recorded trial; keep the lines and the latest state."""
        lines = self._read_journal()
        results = []
        state = None
        for number, line in enumerate(lines, start=1):
            results.append(self._read_file(line, "file", number, _load_artifact))
            state = _patch(state, self._read_file(line, "state_file", number, pickle.loads))
        self._lines, self._state, self._loaded = lines, state, True
        return results

    def _read_manifest(self) -> dict[str, Any] | None:
        """The manifest, checked; None when there is none."""
        try:
            manifest = json.loads((self.path / _MANIFEST).read_bytes())
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._error(_MANIFEST, f"cannot be read ({error})") from error
        except ValueError as error:
            raise self._error(_MANIFEST, f"is not valid JSON ({error})") from error
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise self._error(_MANIFEST, "is not the manifest of an sknas checkpoint")
        version = manifest.get("version")
        if type(version) is int and version > FORMAT_VERSION:
            raise self._error(
                _MANIFEST,
                f"was written by a newer sknas (checkpoint format version {version}; this "
                f"one reads version {FORMAT_VERSION})",
                "Upgrade sknas to resume it, or pass another checkpoint_dir.",
            )
        if type(version) is int and version < FORMAT_VERSION:
            raise self._error(
                _MANIFEST,
                f"was written by an older sknas (checkpoint format version {version}; this "
                f"one reads version {FORMAT_VERSION}), whose search state this one cannot read",
            )
        seeds = manifest.get("seeds")
        if (
            version != FORMAT_VERSION
            or not isinstance(manifest.get("key"), str)
            or not isinstance(seeds, dict)
            or not all(type(seed) is int for seed in seeds.values())
        ):
            raise self._error(_MANIFEST, "is malformed (format version, key or seeds)")
        return manifest

    def _refuse_leftovers(self) -> None:
        """Refuse a directory without a manifest that holds a checkpoint's files."""
        leftovers = self._checkpoint_files()
        if (self.path / _JOURNAL).exists():
            leftovers.insert(0, _JOURNAL)
        if leftovers:
            shown = ", ".join(leftovers[:3]) + (
                f", ... {len(leftovers)} in all" * (len(leftovers) > 3)
            )
            raise self._error(
                _MANIFEST,
                f"is missing, but the directory holds a checkpoint's files ({shown}): they "
                "may belong to another search, so they are not resumed",
            )

    def _checkpoint_files(self) -> list[str]:
        """The names of the trial and state files (of any format) in the directory."""
        return sorted(e.name for e in self.path.iterdir() if _CHECKPOINT_FILE.fullmatch(e.name))

    def _read_journal(self) -> list[dict[str, Any]]:
        """The journal's complete lines, checked (a trailing partial line is ignored)."""
        try:
            data = (self.path / _JOURNAL).read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as error:
            raise self._error(_JOURNAL, f"cannot be read ({error})") from error
        complete, newline, _ = data.rpartition(b"\n")  # after the last: cut short by a kill
        self._journal_end = len(complete) + len(newline)
        if not newline:
            return []
        lines = []
        for number, text in enumerate(complete.split(b"\n"), start=1):
            try:
                line = json.loads(text)
            except ValueError:
                line = None
            if not _well_formed(line, index=number - 1):
                raise self._error(
                    _JOURNAL,
                    f"line {number} is malformed ({text[:80]!r}); only a last line without "
                    "its newline (a write cut short) is ignored",
                )
            lines.append(line)
        return lines

    def _read_file(self, line: Mapping[str, Any], field: str, number: int, load: Any) -> Any:
        """Read the file that ``line`` names under ``field``, checking its size and
        SHA-256 before ``load`` parses it."""
        name = line[field]
        prefix = field.removesuffix("file")
        recorded = f"its line in {_JOURNAL} (line {number})"
        try:
            data = (self.path / name).read_bytes()
        except FileNotFoundError as error:
            raise self._error(name, f"is missing; {recorded} records it") from error
        except OSError as error:
            raise self._error(name, f"cannot be read ({error})") from error
        if len(data) != line[f"{prefix}bytes"] or _sha256(data) != line[f"{prefix}sha256"]:
            raise self._error(
                name,
                f"does not match {recorded} ({len(data)} bytes, SHA-256 "
                f"{_sha256(data)[:12]}..., recorded: {line[f'{prefix}bytes']} bytes, "
                f"{line[f'{prefix}sha256'][:12]}...): it was truncated, corrupted, replaced "
                "or swapped",
            )
        try:
            return load(data)
        except Exception as error:  # intact bytes this sknas cannot read back
            raise self._error(name, f"cannot be read by this sknas ({error!r})") from error

    def _write(self, name: str, data: bytes) -> None:
        """Write ``data`` to file ``name`` at once: a temporary file, fsynced, renamed."""
        path = self.path / name
        temporary = path.with_name(f".{name}.tmp")
        with self._writing(name):
            with open(temporary, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)

    def _append(self, line: bytes) -> None:
        """Append ``line`` to the journal (after cutting off a partial last line), fsynced."""
        with self._writing(_JOURNAL), open(self.path / _JOURNAL, "ab") as f:
            if f.tell() != self._journal_end:
                f.truncate(self._journal_end)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._journal_end += len(line)

    def _fsync_directory(self) -> None:
        """Make the renames durable before the journal line that refers to them."""
        with self._writing(self.path.name):
            descriptor = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    @contextmanager
    def _writing(self, name: str) -> Iterator[None]:
        """Turn an ``OSError`` while writing file ``name`` into a :class:`CheckpointError`."""
        try:
            yield
        except OSError as error:
            raise self._error(
                name,
                f"cannot be written ({type(error).__name__}: {error.strerror or error})",
                "Make the directory writable (permissions, free space) or pass another "
                "checkpoint_dir.",
            ) from error

    def _error(self, name: str, problem: str, remedy: str = _START_AFRESH) -> CheckpointError:
        return CheckpointError(f"checkpoint_dir {str(self.path)!r}: {name} {problem}. {remedy}")


def _well_formed(line: Any, index: int) -> bool:
    """Whether ``line`` is trial ``index``'s journal line, naming its own files."""
    return (
        isinstance(line, dict)
        and set(line) == _LINE_FIELDS
        and line["trial"] == index
        and line["file"] == f"trial_{index:05d}.pkl"
        and line["state_file"] == f"state_{index:05d}.pkl"
        and all(type(line[f]) is int and line[f] >= 0 for f in ("bytes", "state_bytes"))
        and all(_is_sha256(line[f]) for f in ("sha256", "state_sha256"))
    )


def _is_sha256(text: Any) -> bool:
    return isinstance(text, str) and re.fullmatch(r"[0-9a-f]{64}", text) is not None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
