"""The safe model file: round trips that predict bit-identically, and files that are refused."""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io
from helpers import ScriptedStrategy
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sknas
from sknas import ModelFileError, NASClassifier, NASRegressor
from sknas.ensemble import FittedEnsemble
from sknas.evaluation.crossval import BaggedMember
from sknas.persistence import (
    FORMAT_VERSION,
    TRUSTED_TYPES,
    member_from_parts,
    member_to_parts,
    save,
)

FAST = {"max_epochs": 3, "random_state": 0}

# --- what a crafted file would do if its code ran ----------------------------------------

SIDE_EFFECTS: list[str] = []


def _side_effect(tag: str) -> None:
    SIDE_EFFECTS.append(tag)


class _Payload:
    """Runs code when skops builds it (``__setstate__``), as a crafted type would."""

    def __init__(self) -> None:
        self.state = "anything"

    def __setstate__(self, state: dict) -> None:
        _side_effect("setstate")


class _PicklePayload:
    """Runs code when unpickled."""

    def __reduce__(self):
        return _side_effect, ("unpickled",)


_UNPICKLING: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "pickle.find_class":  # every global an unpickler looks up
        _UNPICKLING.append(f"{args[0]}.{args[1]}")


sys.addaudithook(_audit)


@pytest.fixture
def nothing_runs():
    """Fails the test if code from the file ran or anything was unpickled meanwhile."""
    SIDE_EFFECTS.clear()
    _UNPICKLING.clear()
    yield
    assert SIDE_EFFECTS == [], "code from the file ran"
    assert _UNPICKLING == [], "something was unpickled"


# --- data and fitted models ---------------------------------------------------------------


def _frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "city": rng.choice(["Paris", "Oslo", None], n),
            "weight": np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n)),
            "note": [f"note {i % 40} says item {i % 9} is fine" for i in range(n)],
            "flag": rng.random(n) < 0.5,
            "shop": [f"shop{i}" for i in rng.integers(0, 50, n)],  # target encoded too
        }
    )


def _roundtrip(estimator, tmp_path, name="model.skn"):
    path = tmp_path / name
    save(estimator, path)
    return sknas.load(path)


def _assert_same_predictions(original, loaded, X):
    if hasattr(original, "predict_proba"):
        assert np.array_equal(loaded.predict_proba(X), original.predict_proba(X))
    predicted = loaded.predict(X)
    assert np.array_equal(predicted, original.predict(X))
    assert predicted.dtype == original.predict(X).dtype


def _assert_same_fitted_state(original, loaded):
    pd.testing.assert_frame_equal(loaded.leaderboard_, original.leaderboard_)
    assert loaded.summary() == original.summary()
    assert loaded.timings_ == original.timings_
    assert loaded.best_params_ == original.best_params_
    assert loaded.best_score_ == original.best_score_
    assert loaded.n_trials_ == original.n_trials_
    assert loaded.image_shape_ == original.image_shape_
    assert loaded.n_features_in_ == original.n_features_in_
    assert np.array_equal(loaded.ensemble_.weights_, original.ensemble_.weights_)
    assert loaded.ensemble_.trial_ids_ == original.ensemble_.trial_ids_
    fitted = {n for n in vars(original) if n.endswith("_") and not n.startswith("_")}
    assert fitted == {n for n in vars(loaded) if n.endswith("_") and not n.startswith("_")}
    for name in fitted - {"ensemble_", "preprocessor_", "leaderboard_"}:
        value = getattr(original, name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(getattr(loaded, name), value) and (
                getattr(loaded, name).dtype == value.dtype
            ), name
        else:
            assert getattr(loaded, name) == value, name


@pytest.fixture(scope="module")
def iris_mixed(iris):
    """A network and a classical member on a holdout, weighted together.

    Two searches on the same rows, one per kind of member, so that the fixture does not
    depend on which kinds a selection happens to pick; their preprocessing is the same.
    """
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    est = NASClassifier(n_trials=2, cv=None, families=["mlp"], **FAST).fit(X, names[y])
    classical = NASClassifier(n_trials=2, cv=None, families=["linear"], **FAST)
    classical.fit(X, names[y])
    members = est.ensemble_.members_[:1] + classical.ensemble_.members_[:1]
    est.ensemble_ = FittedEnsemble(members, [0.6, 0.4], [est.ensemble_.trial_ids_[0], 99])
    board = classical.leaderboard_
    row = board[board["trial_id"] == classical.ensemble_.trial_ids_[0]].assign(trial_id=99)
    est.leaderboard_ = pd.concat([est.leaderboard_, row], ignore_index=True)
    return est, X


@pytest.fixture(scope="module")
def iris_saved(iris_mixed, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "iris.skn"
    save(iris_mixed[0], path)
    return path


def test_networks_and_classical_members_round_trip_bit_identically(iris_mixed, tmp_path):
    est, X = iris_mixed
    kinds = {type(m).__name__ for m in est.ensemble_.members_}
    assert kinds == {"NeuralMember", "ClassicalMember"}
    loaded = _roundtrip(est, tmp_path)
    assert type(loaded) is NASClassifier
    _assert_same_predictions(est, loaded, X)
    _assert_same_fitted_state(est, loaded)
    assert loaded.get_params() == est.get_params()
    assert loaded.classes_.dtype == est.classes_.dtype


@pytest.mark.parametrize("family", ["mlp", "resnet_mlp", "linear", "hist_gbdt", "random_forest"])
@pytest.mark.parametrize("Estimator", [NASClassifier, NASRegressor])
def test_every_family_round_trips(family, Estimator, iris, regression_data, tmp_path):
    X, y = iris if Estimator is NASClassifier else regression_data
    est = Estimator(n_trials=1, families=[family], cv=None, **FAST).fit(X, y)
    assert est.leaderboard_["family"].tolist() == [family]
    loaded = _roundtrip(est, tmp_path)
    _assert_same_predictions(est, loaded, X)
    _assert_same_fitted_state(est, loaded)


@pytest.mark.parametrize("Estimator", [NASClassifier, NASRegressor])
def test_extra_trees_round_trip_and_unsaved_params_get_defaults(Estimator, iris, tmp_path):
    X, y = iris
    strategy = ScriptedStrategy([("random_forest", {"estimator": "extra_trees"})])
    est = Estimator(n_trials=1, strategy=strategy, portfolio=False, cv=None, **FAST).fit(X, y)
    loaded = _roundtrip(est, tmp_path)
    _assert_same_predictions(est, loaded, X)
    assert "ExtraTrees" in type(loaded.ensemble_.members_[0].estimator).__name__
    with zipfile.ZipFile(tmp_path / "model.skn") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["params_not_saved"] == {"strategy": "ScriptedStrategy"}
    assert loaded.strategy == "auto"


def test_images_round_trip(tmp_path):
    X, y = load_digits(return_X_y=True)
    est = NASClassifier(n_trials=1, image_shape=(1, 8, 8), families=["cnn"], cv=None, **FAST)
    est.fit(X[:200], y[:200])
    loaded = _roundtrip(est, tmp_path)
    _assert_same_predictions(est, loaded, X[300:500])
    _assert_same_predictions(est, loaded, X[300:500].reshape(-1, 1, 8, 8))
    _assert_same_fitted_state(est, loaded)


def test_dataframes_with_categories_missing_values_and_text_round_trip(tmp_path):
    X = _frame()
    y = np.where(X["size"] + (X["colour"] == "red") > 0, "yes", "no")
    est = NASClassifier(n_trials=4, cv=None, **FAST).fit(X, y)
    parts = set(est.preprocessor_.named_transformers_)  # text, target encoding, level codes
    assert {"target", "codes"} <= parts and any(part.startswith("text") for part in parts)
    loaded = _roundtrip(est, tmp_path)
    new = _frame(60).assign(colour=pd.Categorical(["purple"] * 60), shop="new shop")  # unseen
    for rows in (X, new, X.iloc[:1]):
        _assert_same_predictions(est, loaded, rows)
    _assert_same_fitted_state(est, loaded)
    assert list(loaded.feature_names_in_) == list(X.columns)


def test_gradient_boosting_on_category_codes_round_trips(tmp_path):
    X = _frame()
    y = np.where((X["colour"] == "red") ^ (X["city"] == "Oslo"), "yes", "no")
    est = NASClassifier(n_trials=1, families=["hist_gbdt"], cv=None, **FAST).fit(X, y)
    member = est.ensemble_.members_[0]
    assert member.codes is not None and member.estimator.is_categorical_.any()
    assert member.codes.levels  # the shop column's codes, saved in the manifest
    loaded = _roundtrip(est, tmp_path)
    assert loaded.ensemble_.members_[0].codes == member.codes
    new = _frame(60).assign(colour=pd.Categorical(["purple"] * 60))  # an unseen level
    for rows in (X, new, X.iloc[:1]):
        _assert_same_predictions(est, loaded, rows)


def test_a_cv_bag_round_trips(tmp_path):
    X = _frame()
    y = 2 * X["size"] + np.nan_to_num(X["weight"])
    est = NASRegressor(n_trials=3, cv=3, **FAST).fit(X, y)
    assert all(isinstance(m, BaggedMember) for m in est.ensemble_.members_)
    loaded = _roundtrip(est, tmp_path)
    assert [len(m.members) for m in loaded.ensemble_.members_] == [3] * len(est.ensemble_.members_)
    _assert_same_predictions(est, loaded, X)
    _assert_same_fitted_state(est, loaded)


def test_the_file_is_no_larger_than_its_parameters_and_manifest(iris_saved):
    """Network weights as raw safetensors, skops parts deflated: measured at most 1.0x."""
    held = 0
    with zipfile.ZipFile(iris_saved) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".safetensors"):
                held += sum(v.nbytes for v in load_tensors(data).values())
            elif name.endswith(".skops"):
                with zipfile.ZipFile(io.BytesIO(data)) as part:
                    held += sum(i.file_size for i in part.infolist() if i.filename.endswith(".npy"))
            else:
                held += len(data)
    assert iris_saved.stat().st_size <= 1.05 * held


def test_members_convert_to_parts_and_back_for_other_stores(iris_mixed):
    est, X = iris_mixed
    X_model = est.preprocessor_.transform(X)
    bag = BaggedMember(tuple(est.ensemble_.members_))
    entry, parts = member_to_parts(bag, "trial_7")
    assert entry["kind"] == "bag" and all(name.startswith("trial_7/fold") for name in parts)
    json.dumps(entry)  # plain JSON
    rebuilt = member_from_parts(entry, parts)
    assert np.array_equal(rebuilt.predict(X_model), bag.predict(X_model))


def test_the_manifest_describes_the_model(iris_saved, iris_mixed):
    est, _ = iris_mixed
    with zipfile.ZipFile(iris_saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert {"sknas", "torch", "scikit-learn", "numpy"} <= set(manifest["versions"])
    assert manifest["estimator"] == "NASClassifier" and manifest["task"] == "classification"
    assert manifest["attributes"]["classes_"]["$ndarray"]["values"] == list(est.classes_)
    assert manifest["features"]["encodings"] == ["numeric"] * 4
    kinds = [m["kind"] for m in manifest["ensemble"]["members"]]
    assert sorted(set(kinds)) == ["classical", "network"]
    assert manifest["ensemble"]["weights"] == list(est.ensemble_.weights_)
    assert all(len(entry["sha256"]) == 64 for entry in manifest["parts"].values())


def test_any_json_able_fitted_attribute_round_trips(iris_mixed, tmp_path):
    est, X = iris_mixed
    est.custom_stats_ = {"nan": float("nan"), 3: (1, 2.5), "$odd": [None, True, "x"]}
    try:
        loaded = _roundtrip(est, tmp_path)
    finally:
        del est.custom_stats_
    stats = loaded.custom_stats_
    assert np.isnan(stats["nan"]) and stats[3] == (1, 2.5) and stats["$odd"] == [None, True, "x"]


# --- refusals -----------------------------------------------------------------------------


def _rewrite(source, target, *, parts=None, drop=(), manifest=None, fix_hashes=True):
    """Copy a model file, replacing or dropping parts and editing the manifest."""
    import hashlib

    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents |= parts or {}
    for name in drop:
        del contents[name]
    data = json.loads(contents["manifest.json"])
    if fix_hashes:  # a forger recomputes the checksums: other checks must catch the change
        for name, entry in data["parts"].items():
            if name in contents:
                entry["bytes"] = len(contents[name])
                entry["sha256"] = hashlib.sha256(contents[name]).hexdigest()
    if manifest is not None:
        manifest(data)
    contents["manifest.json"] = json.dumps(data).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in contents.items():
            archive.writestr(name, content)
    return target


def _part_of_kind(path, kind):
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    for entry in manifest["ensemble"]["members"]:
        if entry["kind"] == kind:
            return entry["weights" if kind == "network" else "estimator"]
    raise AssertionError(f"no {kind} member")


def test_an_untrusted_type_in_a_skops_part_is_refused_and_never_built(
    iris_saved, tmp_path, nothing_runs
):
    part = _part_of_kind(iris_saved, "classical")
    payload = skops.io.dumps(_Payload())
    crafted = _rewrite(iris_saved, tmp_path / "crafted.skn", parts={part: payload})
    with pytest.raises(ModelFileError, match=rf"Part '{part}' holds types .*_Payload"):
        sknas.load(crafted)
    preprocessor = _rewrite(iris_saved, tmp_path / "p.skn", parts={"preprocessor.skops": payload})
    with pytest.raises(ModelFileError, match="Part 'preprocessor.skops' holds types"):
        sknas.load(preprocessor)


def test_the_crafted_payloads_do_run_code_when_trusted_or_unpickled():
    """What the refusal tests prevent: these payloads run code through skops or pickle."""
    SIDE_EFFECTS.clear()
    skops.io.loads(skops.io.dumps(_Payload()), trusted=[f"{__name__}._Payload"])
    pickle.loads(pickle.dumps(_PicklePayload()))
    assert SIDE_EFFECTS == ["setstate", "unpickled"]
    SIDE_EFFECTS.clear()


@pytest.mark.parametrize("kind", ["classical", "network"])
def test_a_pickle_in_place_of_a_part_is_never_unpickled(kind, iris_saved, tmp_path, nothing_runs):
    part = _part_of_kind(iris_saved, kind)
    crafted = _rewrite(
        iris_saved, tmp_path / "crafted.skn", parts={part: pickle.dumps(_PicklePayload())}
    )
    with pytest.raises(ModelFileError, match=rf"Part '{part}' is not (a )?valid"):
        sknas.load(crafted)


def test_a_pickled_model_is_not_a_model_file(iris_mixed, tmp_path, nothing_runs):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps([iris_mixed[0], _PicklePayload()]))
    with pytest.raises(ModelFileError, match="not a complete sknas model file.*pickle"):
        sknas.load(path)


def test_loading_a_good_file_unpickles_nothing(iris_saved, nothing_runs):
    sknas.load(iris_saved)


def test_a_tensor_of_another_shape_is_refused(iris_saved, tmp_path):
    part = _part_of_kind(iris_saved, "network")
    with zipfile.ZipFile(iris_saved) as archive:
        tensors = load_tensors(archive.read(part))
    name = next(k for k, v in tensors.items() if v.ndim == 2)
    tensors[name] = tensors[name][:, :-1].copy()
    crafted = _rewrite(iris_saved, tmp_path / "crafted.skn", parts={part: save_tensors(tensors)})
    with pytest.raises(ModelFileError, match=rf"Part '{part}' does not hold the weights of genome"):
        sknas.load(crafted)


def test_a_genome_that_does_not_match_its_weights_is_refused(iris_saved, tmp_path):
    def widen(manifest):
        entry = next(m for m in manifest["ensemble"]["members"] if m["kind"] == "network")
        entry["genome"]["layers"][0]["width"] += 1

    crafted = _rewrite(iris_saved, tmp_path / "crafted.skn", manifest=widen)
    with pytest.raises(ModelFileError, match="does not hold the weights of genome"):
        sknas.load(crafted)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_a_truncated_file_is_refused(keep, iris_saved, tmp_path):
    data = iris_saved.read_bytes()
    truncated = tmp_path / "truncated.skn"
    truncated.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match="is not a complete sknas model file"):
        sknas.load(truncated)


def test_a_corrupted_part_is_refused(iris_saved, tmp_path):
    part = _part_of_kind(iris_saved, "network")
    with zipfile.ZipFile(iris_saved) as archive:
        data = bytearray(archive.read(part))
    data[-1] ^= 0xFF
    crafted = _rewrite(iris_saved, tmp_path / "c.skn", parts={part: bytes(data)}, fix_hashes=False)
    with pytest.raises(ModelFileError, match=rf"Part '{part}' of .* is corrupted"):
        sknas.load(crafted)


def test_damaged_bytes_inside_the_archive_are_refused(iris_saved, tmp_path):
    data = bytearray(iris_saved.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.skn"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        sknas.load(damaged)


def test_a_missing_part_is_refused(iris_saved, tmp_path):
    part = _part_of_kind(iris_saved, "network")
    crafted = _rewrite(iris_saved, tmp_path / "crafted.skn", drop=[part])
    with pytest.raises(ModelFileError, match=rf"Part '{part}' is missing"):
        sknas.load(crafted)


def test_a_compressed_part_is_refused(iris_saved, tmp_path):
    """Parts are stored: a deflated one could expand far beyond the file's size."""
    crafted = tmp_path / "deflated.skn"
    with zipfile.ZipFile(iris_saved) as source, zipfile.ZipFile(crafted, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match=r"Part '.*' of .* is \d+ bytes, compressed"):
        sknas.load(crafted)


def test_malformed_member_entries_are_refused():
    with pytest.raises(ModelFileError, match="has kind 'alien'"):
        member_from_parts({"kind": "alien"}, {})
    with pytest.raises(ModelFileError, match="member entry of the manifest is malformed"):
        member_from_parts({"kind": "network", "weights": "w", "genome": {}}, {"w": b""})
    with pytest.raises(ModelFileError, match="Part 'w', which the manifest names, is missing"):
        member_from_parts({"kind": "classical", "estimator": "w"}, {})


def test_an_unlisted_part_is_refused(iris_saved, tmp_path):
    crafted = _rewrite(iris_saved, tmp_path / "crafted.skn", parts={"extra.bin": b"x"})
    with pytest.raises(ModelFileError, match=r"parts its manifest does not list: \['extra.bin'\]"):
        sknas.load(crafted)


def test_a_file_of_a_newer_format_version_is_refused(iris_saved, tmp_path):
    def newer(manifest):
        manifest["format_version"] = FORMAT_VERSION + 1
        manifest["versions"]["sknas"] = "9.0"

    crafted = _rewrite(iris_saved, tmp_path / "newer.skn", manifest=newer)
    with pytest.raises(
        ModelFileError,
        match=rf"format version {FORMAT_VERSION + 1}, written by sknas 9.0.*Upgrade sknas",
    ):
        sknas.load(crafted)


def test_a_manifest_cannot_set_arbitrary_attributes(iris_saved, tmp_path):
    def rogue(manifest):
        manifest["attributes"]["predict"] = "not a method"

    crafted = _rewrite(iris_saved, tmp_path / "rogue.skn", manifest=rogue)
    with pytest.raises(ModelFileError, match="sets 'predict', which is not a fitted attribute"):
        sknas.load(crafted)


def test_other_files_and_missing_files(tmp_path):
    not_ours = tmp_path / "other.zip"
    with zipfile.ZipFile(not_ours, "w") as archive:
        archive.writestr("data.csv", "a,b\n")
    with pytest.raises(ModelFileError, match="has no part 'manifest.json'"):
        sknas.load(not_ours)
    with pytest.raises(FileNotFoundError):
        sknas.load(tmp_path / "absent.skn")


def test_save_refuses_what_it_cannot_store(iris_mixed, tmp_path):
    est, _ = iris_mixed
    with pytest.raises(NotFittedError):
        save(NASClassifier(), tmp_path / "unfitted.skn")
    with pytest.raises(TypeError, match="not a LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        save(LogisticRegression(), tmp_path / "other.skn")
    for odd in (object(), np.ma.masked_array([1.0, 2.0], mask=[True, False])):
        est.odd_ = odd
        try:
            with pytest.raises(ModelFileError, match="fitted attribute 'odd_'"):
                save(est, tmp_path / "odd.skn")
        finally:
            del est.odd_
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file


def test_every_trusted_type_is_named_once():
    assert len(set(TRUSTED_TYPES)) == len(TRUSTED_TYPES)
    assert sorted(TRUSTED_TYPES) == list(TRUSTED_TYPES)
