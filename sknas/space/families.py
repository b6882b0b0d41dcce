"""Model families and the search space that holds them.

A :class:`FamilySpace` names the dimensions of one model family and turns a
sampled point into what a trial needs: ``params`` and, for the neural families,
a :class:`~sknas.space.Genome`. Neural ``params`` are skorch ``set_params`` paths
(``lr``, ``optimizer__weight_decay``); architecture dimensions carry the prefix
``arch__``. The classical families (scikit-learn baselines) have no genome: their
``params`` are the estimator's constructor arguments.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from numbers import Real
from typing import Any

from ..utils._logging import logger
from .genome import ACTIVATIONS, KERNELS, Genome, LayerGene, max_pools
from .params import Categorical, Dimension, Float, Int

__all__ = [
    "ARCH_PREFIX",
    "CLASSICAL_FAMILIES",
    "CNN_EPOCHS",
    "CNN_EPOCH_PIXELS",
    "CNN_STEPS",
    "FamilySpace",
    "DENSE_ONLY_FAMILIES",
    "FIRST_LAYER_WEIGHTS",
    "IMAGE_FAMILIES",
    "MAX_CNN_WIDTH",
    "SearchSpace",
    "TABULAR_FAMILIES",
    "TABULAR_NEURAL_FAMILIES",
    "default_search_space",
    "widest_layer",
]

ARCH_PREFIX = "arch__"
TABULAR_NEURAL_FAMILIES = ("mlp", "resnet_mlp")
CLASSICAL_FAMILIES = ("hist_gbdt", "linear", "random_forest")
#: The default for tabular data; each family's default configuration is tried in this order.
TABULAR_FAMILIES = ("mlp", "hist_gbdt", "resnet_mlp", "linear", "random_forest")
#: The default for images: convolution networks only. Plain MLPs (and the classical
#: families, never searched on images) cannot win there and take the budget the CNNs
#: need: in issue 17's 120 s search on digits28 three portfolio MLPs ran first and the
#: best reached 0.9375 validation accuracy, where the default CNN now passes 0.99 after
#: 4 epochs. ``families=["cnn", "mlp"]`` brings the MLP back.
IMAGE_FAMILIES = ("cnn",)
#: Families that cannot fit sparse ``X`` (scikit-learn's HistGradientBoosting refuses
#: it): left out of the search on sparse input.
DENSE_ONLY_FAMILIES = ("hist_gbdt",)
#: Most weights of a tabular network's first layer (16 MiB in float32): on wide inputs
#: (a 50,000-term TF-IDF matrix, say) the width is bounded so that one trial's weights,
#: gradients and optimizer state, and the trained members the search keeps, stay within
#: a few hundred MiB.
FIRST_LAYER_WEIGHTS = 2**22
AUGMENT_PREFIX = "aug__"
Image = tuple[int, int, int] | None


@dataclass(frozen=True)
class FamilySpace:
    """The dimensions of one model family.

    Parameters
    ----------
    name : str
        Family name, e.g. ``"mlp"``.
    dimensions : mapping of str to Dimension
        Training parameters (skorch paths) and ``arch__*`` architecture choices.
    build_genome : callable or None
        Maps the ``arch__*`` values (prefix removed) to a :class:`Genome`;
        None for families without one.
    image_shape : tuple of int or None
        ``(C, H, W)`` of image inputs; genomes must fit it (see :meth:`accepts`).
    describe_genome : callable or None
        The inverse of ``build_genome``: the ``arch__*`` values (prefix removed) a
        genome was built from (:meth:`encode` checks the round trip).
    """

    name: str
    dimensions: Mapping[str, Dimension]
    build_genome: Callable[[dict[str, Any]], Genome] | None = field(default=None, compare=False)
    image_shape: Image = None
    describe_genome: Callable[[Genome], dict[str, Any]] | None = field(default=None, compare=False)

    def accepts(self, genome: Genome | None) -> bool:
        """Whether ``genome`` can be a candidate of this family (it fits the inputs)."""
        return genome is None or genome.fits(self.image_shape)

    @property
    def is_neural(self) -> bool:
        """Whether the family is a network described by a genome."""
        return self.build_genome is not None

    def default_point(self) -> dict[str, Any]:
        """The family's default configuration: a known-good first trial."""
        return {name: dim.default_value for name, dim in self.dimensions.items()}

    def sample_point(self, rng: Any) -> dict[str, Any]:
        """Draw every dimension independently."""
        return {name: dim.sample(rng) for name, dim in self.dimensions.items()}

    def decode(self, point: Mapping[str, Any]) -> tuple[dict[str, Any], Genome | None]:
        """Split a point into training ``params`` and an architecture genome."""
        missing = set(self.dimensions) - set(point)
        if missing:
            raise ValueError(f"Point for family {self.name!r} lacks {sorted(missing)}.")
        params = {k: v for k, v in point.items() if not k.startswith(ARCH_PREFIX)}
        arch = {k[len(ARCH_PREFIX) :]: v for k, v in point.items() if k.startswith(ARCH_PREFIX)}
        genome = self.build_genome(arch) if self.build_genome is not None else None
        return params, genome

    def adapt(
        self, params: Mapping[str, Any], genome: Genome | None
    ) -> tuple[dict[str, Any], Genome | None] | None:
        """A configuration from elsewhere (another search, the portfolio) made valid here.

        Numbers outside a dimension are clipped into it, missing or unknown choices
        take the dimension's default and parameters this family does not have are
        dropped. None when the genome cannot be used (another family's, or one that
        does not fit these inputs).

        Examples
        --------
        >>> family = default_search_space("regression", max_epochs=10)["mlp"]
        >>> params, genome = family.decode(family.default_point())
        >>> adapted, _ = family.adapt({**params, "max_epochs": 50, "class_weight": None}, genome)
        >>> adapted["max_epochs"], "class_weight" in adapted
        (10, False)
        """
        if self.is_neural != (genome is not None):
            return None
        if genome is not None and (genome.family != self.name or not self.accepts(genome)):
            return None
        adapted = {}
        for name, dim in self.dimensions.items():
            if name.startswith(ARCH_PREFIX):
                continue
            value = params.get(name)
            if not dim.contains(value):
                numeric = isinstance(value, Real) and not isinstance(value, bool)
                is_number_dim = not isinstance(dim, Categorical)
                value = dim.clip(value) if numeric and is_number_dim else dim.default_value
            adapted[name] = value
        return adapted, genome

    def encode(self, params: Mapping[str, Any], genome: Genome | None) -> dict[str, Any] | None:
        """The point that decodes to ``params`` and ``genome``, or None when there is none
        (an evolved genome that no point of this family builds).

        Examples
        --------
        >>> family = default_search_space("regression", max_epochs=10)["resnet_mlp"]
        >>> point = family.default_point()
        >>> family.encode(*family.decode(point)) == point
        True
        """
        point = dict(params)
        if genome is not None:
            if self.describe_genome is None:
                return None
            try:
                arch = self.describe_genome(genome)
            except (IndexError, ValueError):
                return None
            point |= {ARCH_PREFIX + name: value for name, value in arch.items()}
        if set(point) != set(self.dimensions) or not all(
            dim.contains(point[name]) for name, dim in self.dimensions.items()
        ):
            return None
        return point if self.decode(point) == (dict(params), genome) else None


@dataclass(frozen=True)
class SearchSpace:
    """The families a search chooses from.

    Examples
    --------
    >>> space = default_search_space("classification", max_epochs=20)
    >>> space.family_names
    ('mlp', 'hist_gbdt', 'resnet_mlp', 'linear', 'random_forest')
    """

    families: tuple[FamilySpace, ...]

    def __post_init__(self) -> None:
        names = [family.name for family in self.families]
        if not names:
            raise ValueError("A SearchSpace needs at least one family.")
        if len(set(names)) != len(names):
            raise ValueError(f"Family names must be unique, got {names}.")

    @property
    def family_names(self) -> tuple[str, ...]:
        """Names of the families, in order."""
        return tuple(family.name for family in self.families)

    def __contains__(self, name: object) -> bool:
        return name in self.family_names

    def __getitem__(self, name: str) -> FamilySpace:
        for family in self.families:
            if family.name == name:
                return family
        raise KeyError(f"No family {name!r} in this space; it has {self.family_names}.")


def _class_weight(task: str) -> dict[str, Dimension]:
    """``class_weight`` ("balanced" reweights rows inversely to class frequency)."""
    if task != "classification":
        return {}
    return {"class_weight": Categorical((None, "balanced"), default=None)}


def _augmentation(image_shape: Image) -> dict[str, Dimension]:
    """Searched training-batch augmentation: image shifts, flips and cutout, or, for
    tabular rows, gaussian noise (in standard deviations) and mixup (its Beta alpha).

    Tabular rows are not augmented by default; images are shifted by up to 2 pixels
    (1 under 16 pixels, where 2 would move an 8x8 digit by a quarter; none under 8), as
    the hand-written CNN of ``benchmarks/images.py`` is. Flips stay off by default: a
    mirror image does not always keep its class (digits)."""
    if image_shape is None:
        dims = {"noise": Float(0.0, 0.3, default=0.0), "mixup": Float(0.0, 0.4, default=0.0)}
    else:
        side = min(image_shape[1:])
        default_shift = 0 if side < 8 else 1 if side < 16 else 2
        dims = {
            "shift": Int(0, max(1, side // 8), default=default_shift),
            "flip": Categorical((False, True), default=False),
            "cutout": Int(0, side // 2, default=0),
        }
    return {AUGMENT_PREFIX + name: dim for name, dim in dims.items()}


def _training_dimensions(task: str, max_epochs: int, image_shape: Image) -> dict[str, Dimension]:
    return (
        {
            "lr": Float(1e-4, 3e-2, log=True, default=2e-3),
            "batch_size": Categorical((32, 64, 128, 256, 512), default=64),
            "optimizer": Categorical(("adamw", "adam", "sgd"), default="adamw"),
            "optimizer__weight_decay": Float(1e-6, 1e-2, log=True, default=1e-4),
            "lr_schedule": Categorical(("cosine", "constant"), default="cosine"),
            "max_epochs": Int(max(1, math.ceil(max_epochs / 3)), max_epochs, default=max_epochs),
        }
        | _class_weight(task)
        | _augmentation(image_shape)
    )


def _mlp_genome(arch: dict[str, Any]) -> Genome:
    """``n_layers`` dense layers, constant width or halving towards the output."""
    layers = []
    for depth in range(int(arch["n_layers"])):
        shrink = 2**depth if arch["shape"] == "funnel" else 1
        width = max(8, int(arch["width"]) // shrink)
        layers.append(LayerGene("dense", width, arch["activation"], arch["dropout"], arch["norm"]))
    return Genome("mlp", tuple(layers))


def _describe_mlp(genome: Genome) -> dict[str, Any]:
    first = genome.layers[0]
    constant = all(layer.width == first.width for layer in genome.layers)
    return {
        "n_layers": len(genome.layers),
        "width": first.width,
        "shape": "constant" if constant else "funnel",
        "activation": first.activation,
        "dropout": first.dropout,
        "norm": first.norm,
    }


def _resnet_mlp_genome(arch: dict[str, Any]) -> Genome:
    """A dense stem of size ``width`` followed by ``n_blocks`` residual blocks."""
    width = int(arch["width"])
    stem = LayerGene("dense", width, arch["activation"], 0.0, "none")
    block = LayerGene(
        "residual",
        width * int(arch["hidden_factor"]),
        arch["activation"],
        arch["dropout"],
        arch["norm"],
    )
    return Genome("resnet_mlp", (stem,) + (block,) * int(arch["n_blocks"]))


def _describe_resnet_mlp(genome: Genome) -> dict[str, Any]:
    stem, block = genome.layers[0], genome.layers[1]
    return {
        "width": stem.width,
        "n_blocks": len(genome.layers) - 1,
        "hidden_factor": block.width // stem.width,
        "activation": block.activation,
        "dropout": block.dropout,
        "norm": block.norm,
    }


def _arch(**dimensions: Dimension) -> dict[str, Dimension]:
    return {ARCH_PREFIX + name: dim for name, dim in dimensions.items()}


#: Widest convolution stage a CNN point builds (stage widths double from ``channels``).
MAX_CNN_WIDTH = 256


def _cnn_genome(arch: dict[str, Any], image_shape: tuple[int, int, int]) -> Genome:
    """``n_stages`` stages of ``convs_per_stage`` convolutions, each stage ending in a 2x2
    max-pool and twice as wide as the one before (``channels`` first, at most
    :data:`MAX_CNN_WIDTH`); then global average pooling and, if ``head_width``, a dense
    layer. With ``residual`` a stage's convolutions after its first are residual blocks.
    Stages stop where the image would shrink below one pixel.

    The default point is the hand-written CNN of ``benchmarks/images.py``: stages of two
    3x3 convolutions with batch norm, 32, 64 and 128 channels, global average pooling.
    """
    layers = []
    n_stages = max(1, min(int(arch["n_stages"]), max_pools(image_shape)))
    pools_left = max_pools(image_shape)
    for stage in range(n_stages):
        width = min(int(arch["channels"]) * 2**stage, MAX_CNN_WIDTH)
        n_convs = int(arch["convs_per_stage"])
        for index in range(n_convs):
            kind = "residual_conv" if arch["residual"] and index > 0 else "conv"
            pool = index == n_convs - 1 and pools_left > 0
            layers.append(
                LayerGene(kind, width, arch["activation"], 0.0, arch["norm"], arch["kernel"], pool)
            )
            pools_left -= pool
    if int(arch["head_width"]):
        layers.append(
            LayerGene("dense", int(arch["head_width"]), arch["activation"], arch["dropout"])
        )
    return Genome("cnn", tuple(layers))


def _describe_cnn(genome: Genome) -> dict[str, Any]:
    convs = [layer for layer in genome.layers if layer.is_conv]
    dense = [layer for layer in genome.layers if not layer.is_conv]
    n_stages = max(1, sum(layer.pool for layer in convs))
    first, head = convs[0], (dense[0] if dense else None)
    return {
        "n_stages": n_stages,
        "convs_per_stage": len(convs) // n_stages,
        "channels": first.width,
        "kernel": first.kernel,
        "residual": any(layer.kind == "residual_conv" for layer in convs),
        "activation": first.activation,
        "norm": first.norm,
        "head_width": head.width if head else 0,
        "dropout": head.dropout if head else 0.0,
    }


def _cnn_training_dimensions(
    task: str, max_epochs: int, image_shape: tuple[int, int, int]
) -> dict[str, Dimension]:
    """Training of the CNN family; the defaults are the hand-written CNN's recipe
    (AdamW at 3e-3 with weight decay 5e-2, batches of 128, warm-up then cosine decay,
    label smoothing 0.1, shifts of up to 2 pixels, 1 under 16 pixels)."""
    smoothing = {}
    if task == "classification":
        smoothing = {"criterion__label_smoothing": Float(0.0, 0.2, default=0.1)}
    return (
        {
            "lr": Float(3e-4, 1e-2, log=True, default=3e-3),
            "batch_size": Categorical((32, 64, 128, 256), default=128),
            "optimizer": Categorical(("adamw", "adam", "sgd"), default="adamw"),
            "optimizer__weight_decay": Float(1e-5, 1e-1, log=True, default=5e-2),
            "lr_schedule": Categorical(("cosine", "constant"), default="cosine"),
            "max_epochs": _cnn_epochs(max_epochs),
        }
        | smoothing
        | _class_weight(task)
        | _augmentation(image_shape)
    )


#: Epochs a CNN trial trains by default (at most ``max_epochs``): the hand CNN on the
#: 3,233 training images of digits28 (26 steps an epoch) reached 0.99 validation accuracy
#: after 4 of 12 epochs and 1.0 after 9; more would take most of a 2-minute budget on a CPU.
CNN_EPOCHS = 12
#: Optimizer steps the default CNN trial takes at least, where an epoch costs no more
#: than one of :data:`CNN_EPOCH_PIXELS`: on few small images its epochs grow (to at most
#: 2.5 x :data:`CNN_EPOCHS`), since an epoch of 1,077 8x8 digits is only 9 steps.
CNN_STEPS = 300
#: Pixels of an epoch of the digits28 training part (3,233 images of 28 x 28).
CNN_EPOCH_PIXELS = 3233 * 28 * 28


def _cnn_epochs(max_epochs: int) -> Int:
    low = max(1, min(math.ceil(max_epochs / 3), CNN_EPOCHS // 2))
    return Int(low, max_epochs, default=min(CNN_EPOCHS, max_epochs))


def _cnn_epochs_for_rows(space: FamilySpace, n_rows: int, image_shape: Image) -> FamilySpace:
    """``space`` (the CNN family) with a default epoch count that gives a trial on
    ``n_rows`` rows about :data:`CNN_STEPS` steps at the default batch size, where that
    costs at most :data:`CNN_EPOCHS` epochs of :data:`CNN_EPOCH_PIXELS`."""
    epochs = space.dimensions.get("max_epochs")
    if space.name != "cnn" or epochs is None or image_shape is None:
        return space
    batch = space.dimensions["batch_size"].default_value
    batch = min(batch, max(16, n_rows // 8))  # as the networks cap it (8 steps an epoch)
    pixels = max(1, n_rows) * math.prod(image_shape)
    wanted = min(
        math.ceil(CNN_STEPS / math.ceil(n_rows / batch)),
        int(2.5 * CNN_EPOCHS),
        CNN_EPOCHS * CNN_EPOCH_PIXELS // pixels,
    )
    default = min(epochs.high, max(epochs.default_value, wanted))
    return replace(
        space, dimensions={**space.dimensions, "max_epochs": replace(epochs, default=default)}
    )


def _cnn_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    if image_shape is None:
        raise ValueError(
            "The 'cnn' family needs image inputs: X of shape (n, H, W) or (n, C, H, W), "
            "or flat rows with image_shape=(C, H, W)."
        )
    dimensions = _cnn_training_dimensions(task, max_epochs, image_shape) | _arch(
        n_stages=Int(1, 4, default=max(1, min(3, max_pools(image_shape)))),
        convs_per_stage=Int(1, 3, default=2),
        channels=Int(8, 64, log=True, default=32),
        kernel=Categorical(KERNELS, default=3),
        residual=Categorical((False, True), default=False),
        activation=Categorical(ACTIVATIONS, default="relu"),
        norm=Categorical(("batch", "none", "layer"), default="batch"),
        head_width=Categorical((0, 64, 128, 256), default=0),
        dropout=Float(0.0, 0.5, default=0.0),  # of the dense layer (head_width > 0)
    )
    return FamilySpace(
        "cnn",
        dimensions,
        partial(_cnn_genome, image_shape=image_shape),
        describe_genome=_describe_cnn,
    )


def _mlp_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    dimensions = _training_dimensions(task, max_epochs, image_shape) | _arch(
        n_layers=Int(1, 4, default=2),
        width=Int(16, 1024, log=True, default=256),
        shape=Categorical(("constant", "funnel"), default="constant"),
        activation=Categorical(ACTIVATIONS, default="relu"),
        dropout=Float(0.0, 0.5, default=0.1),
        norm=Categorical(("none", "batch", "layer"), default="none"),
    )
    return FamilySpace("mlp", dimensions, _mlp_genome, describe_genome=_describe_mlp)


def _resnet_mlp_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    dimensions = _training_dimensions(task, max_epochs, image_shape) | _arch(
        width=Int(16, 512, log=True, default=128),
        n_blocks=Int(1, 4, default=2),
        hidden_factor=Categorical((1, 2, 4), default=2),
        activation=Categorical(ACTIVATIONS, default="relu"),
        dropout=Float(0.0, 0.5, default=0.1),
        norm=Categorical(("layer", "batch", "none"), default="layer"),
    )
    return FamilySpace(
        "resnet_mlp", dimensions, _resnet_mlp_genome, describe_genome=_describe_resnet_mlp
    )


def _hist_gbdt_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    dimensions = {
        "learning_rate": Float(0.01, 0.3, log=True, default=0.1),
        "max_iter": Int(50, 500, log=True, default=100),
        "max_leaf_nodes": Int(8, 128, log=True, default=31),
        "min_samples_leaf": Int(2, 100, log=True, default=20),
        "l2_regularization": Float(1e-6, 10.0, log=True, default=1e-6),
        "max_features": Float(0.3, 1.0, default=1.0),
    } | _class_weight(task)
    return FamilySpace("hist_gbdt", dimensions)


def _linear_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    if task == "classification":  # logistic regression
        dimensions = {"C": Float(1e-3, 1e3, log=True, default=1.0)} | _class_weight(task)
    else:  # ridge
        dimensions = {"alpha": Float(1e-3, 1e3, log=True, default=1.0)}
    return FamilySpace("linear", dimensions)


def _random_forest_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    dimensions = {
        "estimator": Categorical(("random_forest", "extra_trees"), default="random_forest"),
        "n_estimators": Int(50, 300, log=True, default=100),
        "max_features": Categorical(
            ("sqrt", 0.5, 1.0), default="sqrt" if task == "classification" else 1.0
        ),
        "min_samples_leaf": Int(1, 20, log=True, default=1),
    } | _class_weight(task)
    return FamilySpace("random_forest", dimensions)


def widest_layer(n_rows: int, n_features: int | None = None) -> int:
    """The widest dense layer searched on ``n_rows`` training rows of ``n_features``: the
    power of two nearest ``n_rows``, between 32 and 1024 (a network of millions of
    parameters for a hundred rows is not a sensible candidate; on wine's 106 rows one such
    network was the lucky pick of 264 trials and then failed to refit), and for wide inputs
    at most the power of two that keeps the first layer within
    :data:`FIRST_LAYER_WEIGHTS` (but not below 32).

    Examples
    --------
    >>> widest_layer(106), widest_layer(455), widest_layer(10), widest_layer(50_000)
    (128, 512, 32, 1024)
    >>> widest_layer(80_000, n_features=50_000)  # TF-IDF vocabularies, one-hot codes
    64
    """
    widest = min(1024, max(32, 2 ** round(math.log2(max(n_rows, 1)))))
    if n_features is not None and n_features * widest > FIRST_LAYER_WEIGHTS:
        widest = max(32, 2 ** int(math.log2(max(1, FIRST_LAYER_WEIGHTS // n_features))))
    return int(widest)


def _bounded_width(space: FamilySpace, widest: int) -> FamilySpace:
    """``space`` with its dense width bounded by ``widest`` (tabular networks only; the
    residual blocks' hidden size is the width times ``hidden_factor``)."""
    name = ARCH_PREFIX + "width"
    width = space.dimensions.get(name)
    if space.name not in TABULAR_NEURAL_FAMILIES or width is None or width.high <= widest:
        return space
    bounded = replace(width, high=widest, default=min(width.default, widest))
    return replace(space, dimensions={**space.dimensions, name: bounded})


_FAMILY_FACTORIES: dict[str, Callable[[str, int, Image], FamilySpace]] = {
    "cnn": _cnn_family,
    "mlp": _mlp_family,
    "resnet_mlp": _resnet_mlp_family,
    "hist_gbdt": _hist_gbdt_family,
    "linear": _linear_family,
    "random_forest": _random_forest_family,
}


def _sparse_capable(names: Sequence[str], *, requested: bool) -> tuple[str, ...]:
    """``names`` without the families that cannot fit sparse input, saying which left."""
    left_out = [name for name in names if name in DENSE_ONLY_FAMILIES]
    kept = tuple(name for name in names if name not in DENSE_ONLY_FAMILIES)
    if not kept:
        raise ValueError(
            f"families={list(names)} cannot fit sparse X (scikit-learn's "
            "HistGradientBoosting refuses it). Add a family that can (mlp, resnet_mlp, "
            "linear, random_forest), or pass dense X (X.toarray()) if it fits in memory."
        )
    if left_out:
        message = (
            f"Sparse X: {', '.join(left_out)} left out of the search (HistGradientBoosting "
            "does not accept sparse input)."
        )
        if requested:
            warnings.warn(message, UserWarning, stacklevel=3)
        else:
            logger.info(message)
    return kept


def default_search_space(
    task: str,
    *,
    max_epochs: int,
    families: Sequence[str] | str = "auto",
    image_shape: Image = None,
    n_rows: int | None = None,
    sparse: bool = False,
    n_features: int | None = None,
) -> SearchSpace:
    """The default space for a task and input kind.

    Parameters
    ----------
    task : {"classification", "regression"}
        Classification adds ``class_weight`` and uses classifiers.
    max_epochs : int
        Upper bound of the searched epoch count of the neural families.
    families : "auto" or sequence of str
        Family names to include; ``"auto"`` is :data:`TABULAR_FAMILIES`, or
        :data:`IMAGE_FAMILIES` for images.
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when the input rows are images.
    n_rows : int or None, default=None
        Rows a trial trains on: bounds the tabular networks' width
        (:func:`widest_layer`) and lengthens a CNN's default epochs on few rows
        (:data:`CNN_STEPS`); None leaves the widths unbounded.
    sparse : bool, default=False
        Whether the input rows are a sparse matrix: the families of
        :data:`DENSE_ONLY_FAMILIES` are then left out (logged for ``"auto"``, with a
        warning when ``families`` names them).
    n_features : int or None, default=None
        Columns of the rows the networks read: bounds the tabular networks' width on
        wide inputs (:func:`widest_layer`).

    Returns
    -------
    SearchSpace

    Raises
    ------
    ValueError
        When ``families`` is empty or unknown, or names only families that cannot fit
        sparse input.
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if isinstance(families, str):
        auto = TABULAR_FAMILIES if image_shape is None else IMAGE_FAMILIES
        names = auto if families == "auto" else (families,)
    else:
        names = tuple(families)
    unknown = [name for name in names if name not in _FAMILY_FACTORIES]
    if unknown or not names:
        raise ValueError(
            f"families must be 'auto' or a non-empty list of {sorted(_FAMILY_FACTORIES)}, "
            f"got {list(names)}."
        )
    if sparse:
        names = _sparse_capable(names, requested=families != "auto")
    spaces = [_FAMILY_FACTORIES[name](task, max_epochs, image_shape) for name in names]
    if n_rows is not None or n_features is not None:
        widest = widest_layer(1024 if n_rows is None else n_rows, n_features)
        spaces = [_bounded_width(space, widest) for space in spaces]
    if n_rows is not None:
        spaces = [_cnn_epochs_for_rows(space, n_rows, image_shape) for space in spaces]
    return SearchSpace(tuple(replace(space, image_shape=image_shape) for space in spaces))
