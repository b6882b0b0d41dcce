"""checkpoint_dir: a search journal that survives SIGKILL and resumes exactly."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sknas import NASClassifier
from sknas.checkpoint import FORMAT_VERSION, SearchJournal, fingerprint
from sknas.evaluation import Evaluator
from sknas.evaluation.members import CHUNKING_TOLERANCE
from sknas.exceptions import CheckpointError
from sknas.strategies import RandomStrategy

SEARCH = {"n_trials": 8, "max_epochs": 15, "random_state": 0}


def _columns(board):
    return board[["trial_id", "family", "state", "score", "n_epochs", "genome"]]


@pytest.fixture
def trials_run(monkeypatch):
    """Every candidate evaluated from now on (once, although k-fold trials train k folds)."""
    evaluate = Evaluator.__call__
    calls = []

    def record(self, candidate, *args, **kwargs):
        if not calls or calls[-1].trial_id != candidate.trial_id:
            calls.append(candidate)
        return evaluate(self, candidate, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "__call__", record)
    return calls


@pytest.fixture(scope="module")
def uninterrupted(iris):
    return NASClassifier(**SEARCH).fit(*iris)


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_a_resumed_search_ends_as_an_uninterrupted_one(iris, uninterrupted, tmp_path):
    X, y = iris
    first = NASClassifier(**SEARCH | {"n_trials": 3}, checkpoint_dir=tmp_path).fit(X, y)
    assert len(first.leaderboard_) == 3
    recorded = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("trial_*.pkl")}
    resumed = NASClassifier(**SEARCH, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_search(resumed, uninterrupted, X)
    # The three recorded trials were read back, not run again.
    current = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("trial_*.pkl")}
    assert all(current[name] == mtime for name, mtime in recorded.items())
    assert len(list(tmp_path.glob("trial_*.pkl"))) == 8
    assert not list(tmp_path.glob(".*.tmp"))


def assert_same_search(resumed, uninterrupted, X):
    board, expected = _columns(resumed.leaderboard_), _columns(uninterrupted.leaderboard_)
    assert board.to_dict("records") == expected.to_dict("records")  # scores exactly equal
    # Predictions agree within the float32 tolerance, not bit for bit: in full-suite runs
    # they differed by up to 1e-7 (absolute) while the leaderboards were identical. The
    # cause is not found yet (one model predicts bit-identically call after call, and
    # after pickling, on one torch thread).
    np.testing.assert_allclose(
        resumed.predict_proba(X), uninterrupted.predict_proba(X), rtol=0, atol=CHUNKING_TOLERANCE
    )


@pytest.mark.slow  # a search in a child process, killed, then resumed to the end
def test_a_search_killed_with_sigkill_resumes(iris, uninterrupted, tmp_path):
    X, y = iris
    child = textwrap.dedent(
        f"""
        import torch
        from sklearn.datasets import load_iris
        from sknas import NASClassifier
        torch.set_num_threads(1)  # as the test process (conftest): the same float sums
        X, y = load_iris(return_X_y=True)
        NASClassifier(**{SEARCH!r}, checkpoint_dir={str(tmp_path)!r}).fit(X, y)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("trial_*.pkl"))) < 3 and time.monotonic() < deadline:
            assert process.poll() is None, "the search ended before it could be killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    n_recorded = len(list(tmp_path.glob("trial_*.pkl")))
    assert 3 <= n_recorded < SEARCH["n_trials"]
    (tmp_path / ".trial_00007.pkl.tmp").write_bytes(b"a write cut short")
    resumed = NASClassifier(**SEARCH, checkpoint_dir=tmp_path).fit(X, y)
    assert_same_search(resumed, uninterrupted, X)
    assert not list(tmp_path.glob(".*.tmp"))


#: The record of an earlier search, as init_from takes it (the leaderboard_'s columns).
_EARLIER_SEARCH = pd.DataFrame(
    [["linear", {"C": 2.0}, None, "COMPLETE", 0.9]],
    columns=["family", "params", "genome", "state", "score"],
)


@pytest.mark.parametrize(
    "change",
    [
        {"X_scale": 2.0},
        {"max_epochs": 7},
        {"families": ["mlp"]},
        {"random_state": 1},
        {"portfolio": False},
        {"init_from": _EARLIER_SEARCH},
    ],
    ids=["data", "max_epochs", "families", "random_state", "portfolio", "init_from"],
)
def test_a_journal_of_another_search_is_refused(iris, tmp_path, change):
    X, y = iris
    NASClassifier(n_trials=1, max_epochs=5, random_state=0, checkpoint_dir=tmp_path).fit(X, y)
    params = {"n_trials": 1, "max_epochs": 5, "random_state": 0} | change
    X = X * params.pop("X_scale", 1.0)
    with pytest.raises(ValueError, match="holds a search for other data or other search") as info:
        NASClassifier(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert_names(info, tmp_path, "manifest.json")


# -- a damaged checkpoint is refused, naming checkpoint_dir, the file and what to do --

RECORDED = {"n_trials": 3, "max_epochs": 5, "random_state": 0}


@pytest.fixture(scope="module")
def recorded(iris, tmp_path_factory):
    """A checkpoint of three trials, copied by each test that damages it."""
    directory = tmp_path_factory.mktemp("recorded")
    NASClassifier(**RECORDED, checkpoint_dir=directory).fit(*iris)
    return directory


@pytest.fixture
def checkpoint(recorded, tmp_path):
    return Path(shutil.copytree(recorded, tmp_path / "checkpoint"))


def assert_names(info, directory, name):
    message = str(info.value)
    assert f"checkpoint_dir {str(directory)!r}" in message and name in message, message


def refused(iris, directory, name, match=None, **params):
    """Resume the search in ``directory``: refused with an error naming it and ``name``."""
    with pytest.raises(CheckpointError, match=match) as info:
        NASClassifier(**RECORDED | params, checkpoint_dir=directory).fit(*iris)
    assert_names(info, directory, name)
    return str(info.value)


def test_a_deleted_manifest_is_refused_not_a_fresh_start(iris, checkpoint):
    (checkpoint / "manifest.json").unlink()
    message = refused(iris, checkpoint, "manifest.json", "is missing")
    assert "journal.jsonl" in message and "Delete the directory" in message
    # Other data over the leftovers: refused as well, not resumed.
    with pytest.raises(CheckpointError, match="manifest.json is missing"):
        NASClassifier(**RECORDED, checkpoint_dir=checkpoint).fit(iris[0] * 2, iris[1])


def test_a_deleted_journal_is_refused(iris, checkpoint):
    (checkpoint / "journal.jsonl").unlink()
    refused(iris, checkpoint, "journal.jsonl", "is missing")


def test_a_checkpoint_of_the_previous_format_is_refused(iris, tmp_path):
    (tmp_path / "search.json").write_text('{"key": "x", "seeds": {}}')
    (tmp_path / "state.pkl").write_bytes(pickle.dumps({}))
    refused(iris, tmp_path, "search.json", "manifest.json is missing")


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-10])


def _empty(path):
    path.write_bytes(b"")


def _random_bytes(path):
    data = bytearray(path.read_bytes())
    data[100:164] = np.random.default_rng(0).bytes(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _empty, Path.unlink, _random_bytes])
@pytest.mark.parametrize("name", ["trial_00001.pkl", "state_00001.pkl"])
def test_a_damaged_file_is_refused(iris, checkpoint, damage, name):
    if damage is _random_bytes and name.startswith("state"):
        name = "state_00000.pkl"  # the first trial's state holds the whole state
    damage(checkpoint / name)
    message = refused(iris, checkpoint, name, "is missing|does not match")
    assert "journal.jsonl (line" in message and "Delete the directory" in message


def test_swapped_trial_files_are_refused(iris, checkpoint):
    first, second = checkpoint / "trial_00000.pkl", checkpoint / "trial_00001.pkl"
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)
    refused(iris, checkpoint, "trial_00000.pkl", "swapped")


class _Planted:
    """Unpickling it creates ``marker``: shows whether a file was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_nothing_damaged_is_unpickled(iris, checkpoint, tmp_path):
    marker = tmp_path / "unpickled"
    (checkpoint / "trial_00002.pkl").write_bytes(pickle.dumps(_Planted(marker)))
    refused(iris, checkpoint, "trial_00002.pkl", "does not match")
    assert not marker.exists()


@pytest.mark.parametrize(
    "line", [b"not json\n", b'{"trial": 1}\n', b"\n"], ids=["text", "fields", "empty"]
)
def test_a_malformed_journal_line_is_refused(iris, checkpoint, line):
    journal = checkpoint / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + line + b"".join(lines[2:]))
    refused(iris, checkpoint, "journal.jsonl", "line 2 is malformed")


def test_a_journal_line_naming_another_file_is_refused(iris, checkpoint):
    journal = checkpoint / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("trial_00001.pkl", "../trial_00001.pkl")
    journal.write_text("".join(lines))
    refused(iris, checkpoint, "journal.jsonl", "line 2 is malformed")


def test_a_line_cut_short_by_a_kill_is_ignored(iris, checkpoint, trials_run):
    journal = checkpoint / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:2]) + lines[2][:40])
    clf = NASClassifier(**RECORDED, checkpoint_dir=checkpoint).fit(*iris)
    assert {c.trial_id for c in trials_run} == {2}  # the cut trial ran again
    assert len(clf.leaderboard_) == 3
    assert journal.read_bytes().count(b"\n") == 3


@pytest.mark.parametrize(
    "change",
    [{"version": FORMAT_VERSION + 1}, {"format": "other"}, {"seeds": None}],
    ids=["newer", "not-sknas", "malformed"],
)
def test_a_manifest_of_a_newer_format_or_malformed_is_refused(iris, checkpoint, change):
    manifest = checkpoint / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | change))
    message = refused(iris, checkpoint, "manifest.json")
    if "version" in change:
        assert "newer sknas" in message and "Upgrade sknas" in message


def test_a_manifest_that_is_not_json_is_refused(iris, checkpoint):
    (checkpoint / "manifest.json").write_bytes(b"\x00" * 10)
    refused(iris, checkpoint, "manifest.json", "not valid JSON")


@pytest.mark.parametrize("fresh", [True, False], ids=["new", "existing"])
def test_a_directory_that_cannot_be_written_is_refused(iris, checkpoint, monkeypatch, fresh):
    # Tests run as root, so a chmod'ed directory would still be writable: the
    # PermissionError the OS would raise is simulated.
    directory = checkpoint.parent / "new" if fresh else checkpoint
    directory.mkdir(exist_ok=True)
    opened = builtins.open

    def read_only(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(directory)) and set(mode) & set("wax+"):
            raise PermissionError(13, "Permission denied", str(file))
        return opened(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    name = "manifest.json" if fresh else "journal.jsonl"
    message = refused(iris, directory, name, "cannot be written")
    assert "PermissionError" in message and "pass another checkpoint_dir" in message


def test_a_file_that_cannot_be_written_mid_search_is_refused(iris, tmp_path, monkeypatch):
    opened = builtins.open

    def full(file, mode="r", *args, **kwargs):
        if Path(file).name == ".trial_00001.pkl.tmp":
            raise OSError(28, "No space left on device", str(file))
        return opened(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    message = refused(iris, tmp_path, "trial_00001.pkl", "cannot be written", families=["linear"])
    assert "OSError: No space left" in message


def test_the_state_read_back_is_the_state_recorded(tmp_path, recorded):
    result = pickle.loads((recorded / "trial_00000.pkl").read_bytes())
    journal = SearchJournal(tmp_path, "key", {"split": 1})
    states = []
    for index in range(40):
        state = {
            "history": [float(i) for i in range(index)] + [float("nan")],  # grows
            "window": list(range(index, index + 5)),  # slides
            "seen": sorted({f"k{i * 7 % 40:02d}" for i in range(index)}),  # sorted insertions
            "weights": np.arange(3.0) * index,
            "last": {"index": index} if index % 2 else {},  # keys come and go
        }
        journal.record(index, result, state)
        states.append(state)
    sizes = [p.stat().st_size for p in sorted(tmp_path.glob("state_*.pkl"))]
    assert max(sizes[20:]) <= max(sizes[1:20])  # what changed, not the whole state
    results, state = SearchJournal(tmp_path, "key", {"split": 2}).resume()
    assert len(results) == 40 and results[0].candidate == result.candidate
    assert pickle.dumps(state) == pickle.dumps(states[-1])
    with pytest.raises(ValueError, match="trial 3 cannot be recorded after 40"):
        journal.record(3, result, state)


# -- the key: the same in every process --


class _Helper:
    def __init__(self, depth):
        self.depth = depth
        self.rng = np.random.default_rng(0)
        self.anything = object()


class _HoldingStrategy(RandomStrategy):
    """A strategy holding objects (whose repr holds a memory address)."""

    def __init__(self):
        super().__init__()
        self.helper = _Helper(3)
        self.scale = np.float64(2.0)
        self.names = {"b", "a"}


def test_the_key_describes_objects_by_type_and_attributes_not_address():
    def key(strategy):
        return fingerprint([np.zeros(3)], {"strategy": [type(strategy).__name__, vars(strategy)]})

    first, second = _HoldingStrategy(), _HoldingStrategy()
    assert "0x" in repr(first.helper) and key(first) == key(second)
    second.helper.depth = 4
    assert key(first) != key(second)


@pytest.mark.slow  # a search in a new process
def test_a_strategy_holding_an_object_resumes_in_a_new_process(iris, tmp_path, trials_run):
    module = tmp_path / "holding_strategy.py"
    module.write_text(
        "import numpy as np\n"
        "from sknas.strategies import RandomStrategy\n\n\n"
        "class Helper:\n"
        "    def __init__(self):\n"
        "        self.rng = np.random.default_rng(0)\n"
        "        self.anything = object()\n\n\n"
        "class HoldingStrategy(RandomStrategy):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.helper = Helper()\n"
    )
    settings = {"max_epochs": 3, "families": ["linear"], "random_state": 0}
    directory = tmp_path / "checkpoint"
    child = textwrap.dedent(
        f"""
        from sklearn.datasets import load_iris
        from holding_strategy import HoldingStrategy
        from sknas import NASClassifier
        NASClassifier(
            n_trials=2, strategy=HoldingStrategy(), checkpoint_dir={str(directory)!r},
            **{settings!r}
        ).fit(*load_iris(return_X_y=True))
        """
    )
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    subprocess.run([sys.executable, "-c", child], check=True, env=environment, timeout=300)
    sys.path.insert(0, str(tmp_path))
    try:
        from holding_strategy import HoldingStrategy

        clf = NASClassifier(
            n_trials=3, strategy=HoldingStrategy(), checkpoint_dir=directory, **settings
        ).fit(*iris)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("holding_strategy", None)
    assert {c.trial_id for c in trials_run} == {2} and len(clf.leaderboard_) == 3


@pytest.mark.slow  # several seconds of searching: the full suite runs it, not the quick tier
def test_warm_start_continues_the_search_in_memory(iris, uninterrupted, trials_run):
    X, y = iris
    clf = NASClassifier(**SEARCH | {"n_trials": 3}, warm_start=True).fit(X, y)
    trials_run.clear()
    clf.set_params(n_trials=8).fit(X, y)
    assert len(trials_run) == 5  # only the new trials ran
    assert_same_search(clf, uninterrupted, X)
    assert "_warm_journal" not in pickle.loads(pickle.dumps(clf)).__dict__
    clf.fit(X[:, ::-1], y)  # other data: a new search
    assert len(trials_run) == 5 + 8


def test_without_warm_start_each_fit_searches_afresh(iris, trials_run):
    X, y = iris
    clf = NASClassifier(n_trials=2, max_epochs=5, random_state=0).fit(X, y)
    trials_run.clear()
    clf.set_params(n_trials=3).fit(X, y)
    assert len(trials_run) == 3 and len(clf.leaderboard_) == 3


def test_every_torch_load_is_weights_only():
    # sknas stores weights as numpy arrays and needs no torch.load; any future one must
    # not unpickle arbitrary objects.
    package = Path(__file__).resolve().parents[1] / "sknas"
    for source in package.rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", source.read_text()):
            assert "weights_only=True" in call, f"{source}: {call}"


def test_a_warm_start_keeps_only_the_models_the_history_keeps(monkeypatch, iris):
    # the record a warm start continues from held every trial's model before: memory grew
    # with each continued fit; it now holds the history's records (best models only)
    monkeypatch.setattr("sknas.engine.KEPT_MODELS", 2)
    X, y = iris
    clf = NASClassifier(
        n_trials=4, families=["linear", "random_forest"], portfolio=False, warm_start=True, cv=None
    )
    for n_trials in (4, 8):
        clf.set_params(n_trials=n_trials).fit(X, y)
        results = clf._warm_journal.results
        assert len(results) == n_trials
        assert sum(r.member is not None for r in results) == 2
    assert clf.score(X, y) > 0.9
