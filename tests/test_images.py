"""Image inputs: shapes, the CNN family, and augmentation that only touches training."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from helpers import ScriptedStrategy
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from sknas import NASClassifier
from sknas.evaluation import TensorBatchIterator
from sknas.evaluation.augmentation import Augmentation
from sknas.preprocessing import ChannelStandardizer, input_rows
from sknas.space import default_search_space
from sknas.space.genome import max_pools
from sknas.space.modules import GenomeNet
from sknas.space.mutations import mutate


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, train_size=600, test_size=300, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def digits_cnn(digits):
    X_train, _, y_train, _ = digits
    # Both trials augment, so whichever the ensemble keeps (it differs between CPU and
    # GPU) trained with random shifts.
    # Small networks (8 and 16 channels) keep the test fast.
    small = {"arch__channels": 8, "arch__n_stages": 2}
    augmented = ScriptedStrategy(
        [("cnn", {"aug__shift": 1, "aug__cutout": 2} | small), ("cnn", {"aug__shift": 1} | small)]
    )
    clf = NASClassifier(
        image_shape=(1, 8, 8),
        families=["cnn"],
        strategy=augmented,
        n_trials=2,
        max_epochs=15,
        portfolio=False,
        random_state=0,
    )
    return clf.fit(X_train, y_train)


def test_image_arrays_become_rows_with_their_shape():
    rows, shape = input_rows(np.zeros((4, 3, 5, 6)), None)
    assert rows.shape == (4, 90) and shape == (3, 5, 6)
    rows, shape = input_rows(np.zeros((4, 64)), [1, 8, 8])
    assert rows.shape == (4, 64) and shape == (1, 8, 8)
    assert input_rows(np.zeros((4, 7)), None) == (pytest.approx(np.zeros((4, 7))), None)


@pytest.mark.parametrize(
    ("X", "image_shape", "match"),
    [
        (np.zeros((4, 1, 8, 8)), (1, 8, 9), r"images of shape \(1, 8, 8\), but image_shape"),
        (np.zeros((4, 8, 8)), (1, 8, 8), r"read as sequences .* channel axis, X\[:, None\]"),
        (np.zeros((4, 64)), (8, 8), "image_shape must be"),
        (np.zeros((4, 64)), (1, -8, 8), "image_shape must be"),
        (np.zeros((2, 1, 1, 8, 8)), None, "X has 5 dimensions"),
        # Channels-last arrays (PIL, matplotlib, TensorFlow) were read as 8 or 32
        # channels of 8 x 1 or 32 x 3 pixels, silently.
        (np.zeros((4, 8, 8, 1)), None, r"look channels-last .* X.transpose\(0, 3, 1, 2\)"),
        (np.zeros((4, 32, 32, 3)), None, r"32 channels of 32 x 3 pixels\. They look"),
        (np.zeros((4, 8, 8, 1)), (1, 8, 8), r"but image_shape is \(1, 8, 8\)\. They look"),
        # Sequences laid out (n, L, C) were read as L channels of C steps.
        (np.zeros((4, 150, 3)), None, r"150 channels of length 3\. .* X.transpose\(0, 2, 1\)"),
    ],
)
def test_image_shape_errors_say_what_to_fix(X, image_shape, match):
    with pytest.raises(ValueError, match=match):
        input_rows(X, image_shape)


def test_image_shape_confirms_an_array_that_looks_channels_last():
    rows, shape = input_rows(np.zeros((4, 8, 8, 3)), (8, 8, 3))  # 8 channels of 8 x 3
    assert rows.shape == (4, 192) and shape == (8, 8, 3)
    rows, shape = input_rows(np.zeros((4, 150, 3)), None, (150, 3))
    assert rows.shape == (4, 450) and shape == (150, 3)


def test_a_wrong_image_shape_for_flat_rows_is_a_clear_error(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="holds 72 values per row, but X has 64 features"):
        NASClassifier(image_shape=(1, 8, 9), n_trials=1).fit(X_train, y_train)


def test_the_cnn_family_needs_images(iris):
    with pytest.raises(ValueError, match="'cnn' family needs image inputs"):
        NASClassifier(families=["cnn"], n_trials=1).fit(*iris)


def test_channels_are_standardised_over_all_their_pixels(rng):
    X = np.concatenate([rng.normal(5, 2, (50, 16)), rng.normal(-3, 0.5, (50, 16))], axis=1)
    Z = ChannelStandardizer((2, 4, 4)).fit_transform(X).reshape(50, 2, 16)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-4)


@pytest.mark.slow  # a CNN search (~10 s)
def test_a_cnn_search_on_digits_learns_and_serves(digits, digits_cnn):
    _, X_test, _, y_test = digits
    assert set(digits_cnn.leaderboard_["family"]) == {"cnn"}
    assert digits_cnn.image_shape_ == (1, 8, 8) and digits_cnn.n_features_in_ == 64
    assert digits_cnn.score(X_test, y_test) > 0.9
    as_images = digits_cnn.predict_proba(X_test.reshape(-1, 1, 8, 8))
    np.testing.assert_array_equal(as_images, digits_cnn.predict_proba(X_test))
    served = pickle.loads(pickle.dumps(digits_cnn))
    np.testing.assert_array_equal(served.predict_proba(X_test), as_images)
    with pytest.raises(ValueError, match="images of shape"):
        digits_cnn.predict(X_test.reshape(-1, 8, 4, 2))


@pytest.mark.slow  # shares the CNN search above
def test_predictions_do_not_depend_on_augmentation_randomness(digits, digits_cnn):
    # The searched CNN trains with shifts; prediction must not draw random numbers.
    _, X_test, _, _ = digits
    board = digits_cnn.leaderboard_.set_index("trial_id")
    for member in digits_cnn.ensemble_.trial_ids_:
        assert board.loc[member, "params"]["aug__shift"] == 1
    torch.manual_seed(1)
    first = digits_cnn.predict_proba(X_test)
    torch.manual_seed(2)
    np.testing.assert_array_equal(digits_cnn.predict_proba(X_test), first)


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (3, 32, 32), (1, 5, 9)])
def test_cnn_genomes_never_pool_an_image_below_one_pixel(image_shape):
    family = default_search_space("classification", max_epochs=5, image_shape=image_shape)["cnn"]
    rng = np.random.default_rng(0)
    genomes = []
    for _ in range(100):
        params, genome = family.decode(family.sample_point(rng))
        for _ in range(5):
            genome, params, _ = mutate(genome, params, family, rng)
        assert genome.fits(image_shape), genome.key()
        assert genome.n_pools <= max_pools(image_shape)
        genomes.append(genome)
    for genome in genomes[:10]:
        net = GenomeNet(genome, int(np.prod(image_shape)), 3, image_shape)
        assert net(torch.zeros(2, int(np.prod(image_shape)))).shape == (2, 3)


def test_cnn_mutations_touch_every_gene():
    family = default_search_space("classification", max_epochs=5, image_shape=(1, 16, 16))["cnn"]
    params, genome = family.decode(family.default_point())
    names = {mutate(genome, params, family, np.random.default_rng(s))[2] for s in range(300)}
    assert {"change_kernel", "toggle_pool", "toggle_skip", "resize_layer", "add_layer"} <= names
    assert {"remove_layer", "change_norm", "change_activation", "change_dropout"} <= names


def _batches(augmentation, n=8):
    X = torch.arange(n * 16, dtype=torch.float32).reshape(n, 16) + 1
    y = torch.arange(n) % 2
    iterator = TensorBatchIterator(TensorDataset(X, y), n, augmentation=augmentation)
    return X, y, next(iter(iterator))


def test_image_augmentations_move_flip_and_blank_pixels():
    X, y, (shifted, y_out) = _batches(Augmentation((1, 4, 4), shift=1))
    torch.testing.assert_close(y_out, y)
    kept = [(set(a.tolist()) - {0.0}) <= set(b.tolist()) for a, b in zip(shifted, X, strict=True)]
    assert all(kept) and not torch.equal(shifted, X)
    _, _, (flipped, _) = _batches(Augmentation((1, 4, 4), flip=True), n=64)
    X64 = torch.arange(64 * 16, dtype=torch.float32).reshape(64, 16) + 1
    mirrored = (flipped.view(64, 4, 4) == X64.view(64, 4, 4).flip(-1)).all(dim=(1, 2))
    assert 10 < int(mirrored.sum()) < 54
    _, _, (blanked, _) = _batches(Augmentation((1, 4, 4), cutout=2))
    zeros = (blanked == 0).sum(dim=1)
    assert ((zeros >= 1) & (zeros <= 4)).all()


def test_tabular_augmentations_add_noise_and_mix_rows():
    X, y, (noisy, y_noisy) = _batches(Augmentation(noise=0.5))
    assert not torch.equal(noisy, X) and torch.equal(y_noisy, y)
    assert float((noisy - X).std()) == pytest.approx(0.5, rel=0.3)
    _, _, (mixed, soft) = _batches(Augmentation(mixup=0.4, n_classes=2))
    assert soft.shape == (8, 2) and torch.allclose(soft.sum(dim=1), torch.ones(8))


def test_augmentation_is_searched_off_by_default_for_tables_and_on_for_images():
    tabular = default_search_space("classification", max_epochs=5)["mlp"]
    assert {"aug__noise", "aug__mixup"} <= set(tabular.dimensions)
    assert Augmentation.from_params(tabular.default_point(), None, n_classes=2) is None
    images = default_search_space("classification", max_epochs=5, image_shape=(1, 8, 8))
    assert images.family_names == ("cnn",)
    point = images["cnn"].default_point()
    assert {"aug__shift", "aug__flip", "aug__cutout"} <= set(point)
    shifted = Augmentation.from_params(point, (1, 8, 8), n_classes=2)
    assert shifted.shift == 1 and not shifted.flip and shifted.image_shape == (1, 8, 8)
    large = default_search_space("classification", max_epochs=5, image_shape=(3, 32, 32))
    assert Augmentation.from_params(large["cnn"].default_point(), (3, 32, 32), 2).shift == 2
    assert Augmentation.from_params(point | {"aug__shift": 0}, (1, 8, 8), n_classes=2) is None
