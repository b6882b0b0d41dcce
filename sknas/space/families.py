"""Model families and the search space that holds them.

A :class:`FamilySpace` names the dimensions of one model family and turns a
sampled point into what a trial needs: ``params`` and, for the neural families,
a :class:`~sknas.space.Genome`. Neural ``params`` are skorch ``set_params`` paths
(``lr``, ``optimizer__weight_decay``); architecture dimensions carry the prefix
``arch__``. The classical families (scikit-learn baselines) have no genome: their
``params`` are the estimator's constructor arguments.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from numbers import Real
from typing import Any

from ..utils._logging import logger
from .genome import ACTIVATIONS, KERNELS, SEQUENCE_KERNELS, Genome, LayerGene, max_pools
from .params import Categorical, Dimension, Float, Int

__all__ = [
    "ARCH_PREFIX",
    "CLASSICAL_FAMILIES",
    "CNN_EPOCHS",
    "CNN_EPOCHS_BUDGET",
    "CNN_EPOCH_PIXELS",
    "CNN_STEPS",
    "FamilySpace",
    "DENSE_ONLY_FAMILIES",
    "FIRST_LAYER_WEIGHTS",
    "IMAGE_FAMILIES",
    "LONG_SEQUENCE",
    "MAX_CNN_WIDTH",
    "SEQUENCE_FAMILIES",
    "SearchSpace",
    "TABULAR_FAMILIES",
    "TABULAR_NEURAL_FAMILIES",
    "aeon_available",
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
#: The default for sequences ``(C, L)``, and the families a sequence search needs one of:
#: MiniRocket features with a linear head (fast and strong on small problems, when aeon
#: is installed) and 1-d convolution networks.
SEQUENCE_FAMILIES = ("minirocket", "cnn1d")
#: Families that cannot fit sparse ``X`` (scikit-learn's HistGradientBoosting refuses
#: it): left out of the search on sparse input.
DENSE_ONLY_FAMILIES = ("hist_gbdt",)
#: Most weights of a tabular network's first layer (16 MiB in float32): on wide inputs
#: (a 50,000-term TF-IDF matrix, say) the width is bounded so that one trial's weights,
#: gradients and optimizer state, and the trained members the search keeps, stay within
#: a few hundred MiB.
FIRST_LAYER_WEIGHTS = 2**22
AUGMENT_PREFIX = "aug__"
#: The shape of one input: ``(C, H, W)`` images, ``(C, L)`` sequences, None for tables.
Image = tuple[int, ...] | None


def _is_sequence(shape: Image) -> bool:
    return shape is not None and len(shape) == 2


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
    mirror image does not always keep its class (digits).

    Sequences ``(C, L)``: jitter (gaussian noise, in standard deviations), scaling (each
    series times ``exp`` of a gaussian of this deviation), time shifts of up to
    ``shift`` steps (zero padded) and window crops (a window ``crop`` shorter than the
    series, stretched back to its length); all off by default."""
    if image_shape is None:
        dims = {"noise": Float(0.0, 0.3, default=0.0), "mixup": Float(0.0, 0.4, default=0.0)}
    elif _is_sequence(image_shape):
        dims = {
            "jitter": Float(0.0, 0.2, default=0.0),
            "scale": Float(0.0, 0.3, default=0.0),
            "shift": Int(0, max(1, image_shape[1] // 10), default=0),
            "crop": Float(0.0, 0.3, default=0.0),
        }
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
    return _with_head("cnn", layers, arch)


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
#: Seconds of ``time_budget`` that :data:`CNN_EPOCHS` suits: a longer budget lengthens a
#: 2-d CNN's default epochs in proportion (up to ``max_epochs``). On digits28 at 240 s,
#: 24 epochs scored 0.9978 and 0.9985 (seeds 1, 2), 12 epochs 0.9963 and 0.9963: with 12,
#: a doubled budget bought more short trials, not better networks. Twice as many epochs
#: at 120 s as well did not help (digits: 0.9956 against 0.9978, 3 seeds).
CNN_EPOCHS_BUDGET = 120.0
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
    """``space`` (a CNN family, 2-d or 1-d) with a default epoch count that gives a trial on
    ``n_rows`` rows about :data:`CNN_STEPS` steps at the default batch size, where that
    costs at most :data:`CNN_EPOCHS` epochs of :data:`CNN_EPOCH_PIXELS` (values, for
    sequences). On few rows a 2-d CNN trains at most 2.5 x :data:`CNN_EPOCHS` epochs, a
    1-d CNN up to ``max_epochs``: on GunPoint's 40 training series (3 steps an epoch) the
    default FCN-like network reached 0.75 test accuracy after 30 epochs, 0.96 after 50."""
    epochs = space.dimensions.get("max_epochs")
    if space.name not in ("cnn", "cnn1d") or epochs is None or image_shape is None:
        return space
    batch = space.dimensions["batch_size"].default_value
    batch = min(batch, max(16, n_rows // 8))  # as the networks cap it (8 steps an epoch)
    pixels = max(1, n_rows) * math.prod(image_shape)
    longest = epochs.high if space.name == "cnn1d" else int(2.5 * CNN_EPOCHS)
    wanted = min(
        math.ceil(CNN_STEPS / math.ceil(n_rows / batch)),
        longest,
        CNN_EPOCHS * CNN_EPOCH_PIXELS // pixels,
    )
    default = min(epochs.high, max(epochs.default_value, wanted))
    return replace(
        space, dimensions={**space.dimensions, "max_epochs": replace(epochs, default=default)}
    )


def _cnn_epochs_for_budget(space: FamilySpace, time_budget: float) -> FamilySpace:
    """``space`` with its default epochs scaled by ``time_budget / CNN_EPOCHS_BUDGET``
    when it is a 2-d CNN family and the budget is longer than that."""
    epochs = space.dimensions.get("max_epochs")
    if space.name != "cnn" or epochs is None or time_budget <= CNN_EPOCHS_BUDGET:
        return space
    default = min(epochs.high, round(epochs.default_value * time_budget / CNN_EPOCHS_BUDGET))
    return replace(
        space, dimensions={**space.dimensions, "max_epochs": replace(epochs, default=default)}
    )


def _cnn_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    if image_shape is None or _is_sequence(image_shape):
        raise ValueError(
            "The 'cnn' family needs image inputs: X of shape (n, C, H, W), or flat rows "
            "with image_shape=(C, H, W). 3-d arrays are sequences (n, C, L), searched by "
            "'cnn1d'; give grayscale images their channel axis: X[:, None]."
        )
    dimensions = _cnn_training_dimensions(task, max_epochs, image_shape) | _arch(
        n_stages=Int(1, 4, default=max(1, min(3, max_pools(image_shape)))),
        convs_per_stage=Int(1, 3, default=2),
        channels=Int(8, 64, log=True, default=32),
        kernel=Categorical(KERNELS, default=3),
        residual=Categorical((False, True), default=False),
        **_conv_head_dimensions(),
    )
    return FamilySpace(
        "cnn",
        dimensions,
        partial(_cnn_genome, image_shape=image_shape),
        describe_genome=_describe_cnn,
    )


#: Steps above which the default ``cnn1d`` halves the length after every block: its three
#: unpooled blocks (kernels up to 39) see at most 115 steps at a time, pooled about 270,
#: and unpooled cost 2-3 times as much (on OSULeaf's 427 steps the unpooled default's
#: 5-fold trial took 90 of a 120 s search). On PickupGestureWiimoteZ (up to 361 steps,
#: not a benchmark problem of issue 21; 60 s searches, seeds 0 and 1) the pooled default
#: scored 0.72 and 0.66 out of fold in 17.6 and 12.5 s, the unpooled 0.52 and 0.50 in
#: 24.7 and 27.2 s.
LONG_SEQUENCE = 256


def _cnn1d_genome(arch: dict[str, Any], sequence_shape: tuple[int, int]) -> Genome:
    """``n_blocks`` 1-d convolution blocks of ``channels`` channels, then global average
    pooling and, if ``head_width``, a dense layer.

    ``block`` chooses plain convolutions (kernels shrinking by 2 a block, down to 3, as
    in FCN), residual blocks after a plain first convolution (ResNet-1D), or inception
    blocks (InceptionTime, every block with the kernels
    :func:`~sknas.space.genome.inception_kernels` of ``kernel``). ``dilated``: block
    ``i`` dilates by ``2**i`` (at most 8); ``pool``: every block halves the length,
    while it is at least 2 steps.

    The default point is InceptionTime-like: three inception blocks of 64 channels
    (16 from each of kernels 9, 19 and 39 and from the pooled branch), batch norm, ReLU
    and global average pooling. Trained by the default recipe for at most 50 epochs with
    5-fold cross-validation, it scored 0.993, 0.972, 0.714 and 1.0 test accuracy on
    GunPoint, ItalyPowerDemand, ArrowHead and BasicMotions, where an FCN-like network
    (three plain convolutions of 7, 5 and 3 steps, 128 channels) scored 0.96, 0.965,
    0.594 and 1.0. On series longer than :data:`LONG_SEQUENCE` steps its blocks pool
    by default (``pool``), see there.
    """
    layers = []
    pools_left = max_pools(sequence_shape)
    kind = {"conv": "conv", "residual": "residual_conv", "inception": "inception"}[arch["block"]]
    for index in range(int(arch["n_blocks"])):
        kernel = int(arch["kernel"])
        if kind != "inception":
            kernel = max(3, kernel - 2 * index)
        pool = bool(arch["pool"]) and pools_left > 0
        layers.append(
            LayerGene(
                "conv" if kind == "residual_conv" and index == 0 else kind,
                int(arch["channels"]),
                arch["activation"],
                0.0,
                arch["norm"],
                kernel,
                pool,
                min(8, 2**index) if arch["dilated"] else 1,
            )
        )
        pools_left -= pool
    return _with_head("cnn1d", layers, arch)


def _conv_head_dimensions() -> dict[str, Any]:
    """The dimensions every convolution family shares: activation, norm and dense head."""
    return {
        "activation": Categorical(ACTIVATIONS, default="relu"),
        "norm": Categorical(("batch", "none", "layer"), default="batch"),
        "head_width": Categorical((0, 64, 128, 256), default=0),
        "dropout": Float(0.0, 0.5, default=0.0),  # of the dense layer (head_width > 0)
    }


def _with_head(family: str, convs: list[LayerGene], arch: dict[str, Any]) -> Genome:
    """The genome of ``convs`` followed by ``arch``'s dense head (if it has one)."""
    layers = list(convs)
    if int(arch["head_width"]):
        layers.append(
            LayerGene("dense", int(arch["head_width"]), arch["activation"], arch["dropout"])
        )
    return Genome(family, tuple(layers))


def _describe_cnn1d(genome: Genome) -> dict[str, Any]:
    convs = [layer for layer in genome.layers if layer.is_conv]
    dense = [layer for layer in genome.layers if not layer.is_conv]
    kinds = {layer.kind for layer in convs}
    block = "inception" if "inception" in kinds else "residual" if len(kinds) > 1 else "conv"
    first, head = convs[0], (dense[0] if dense else None)
    return {
        "block": block,
        "n_blocks": len(convs),
        "channels": first.width,
        "kernel": first.kernel,
        "dilated": len(convs) > 1 and convs[1].dilation > 1,
        "pool": first.pool,
        "activation": first.activation,
        "norm": first.norm,
        "head_width": head.width if head else 0,
        "dropout": head.dropout if head else 0.0,
    }


def _cnn1d_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    if not _is_sequence(image_shape):
        raise ValueError(
            "The 'cnn1d' family needs sequences: X of shape (n, C, L), or flat rows with "
            "sequence_shape=(C, L)."
        )
    dimensions = _cnn_training_dimensions(task, max_epochs, image_shape) | _arch(
        block=Categorical(("inception", "conv", "residual"), default="inception"),
        n_blocks=Int(1, 6, default=3),
        channels=Int(16, 256, log=True, default=64),
        kernel=Categorical(SEQUENCE_KERNELS, default=9),
        dilated=Categorical((False, True), default=False),
        pool=Categorical((False, True), default=image_shape[1] > LONG_SEQUENCE),
        **_conv_head_dimensions(),
    )
    return FamilySpace(
        "cnn1d",
        dimensions,
        partial(_cnn1d_genome, sequence_shape=image_shape),
        describe_genome=_describe_cnn1d,
    )


def _minirocket_family(task: str, max_epochs: int, image_shape: Image) -> FamilySpace:
    """MiniRocket features and a linear head (:mod:`sknas.evaluation.rocket`).

    ``n_channels`` is not searched (one choice): it tells the estimator how its flat
    rows hold the series. The default is MiniRocket's own recipe: 10,000 features and
    a ridge classifier whose penalty leave-one-out cross-validation chooses (a ridge
    regression for regression).
    """
    if not _is_sequence(image_shape):
        raise ValueError(
            "The 'minirocket' family needs sequences: X of shape (n, C, L), or flat rows "
            "with sequence_shape=(C, L)."
        )
    channels = int(image_shape[0])
    dimensions: dict[str, Dimension] = {
        "n_channels": Categorical((channels,), default=channels),
        "n_kernels": Categorical((2_500, 5_000, 10_000), default=10_000),
    }
    if task == "classification":
        dimensions["head"] = Categorical(("ridge", "logistic"), default="ridge")
    return FamilySpace("minirocket", dimensions | _class_weight(task))


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
    "cnn1d": _cnn1d_family,
    "minirocket": _minirocket_family,
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


def aeon_available() -> bool:
    """Whether aeon (the ``sequences`` extra), which the ``minirocket`` family needs, is
    installed."""
    return importlib.util.find_spec("aeon") is not None


def _sequence_capable(
    names: Sequence[str], sequence_shape: tuple[int, ...], *, requested: bool
) -> tuple[str, ...]:
    """``names`` for a search on sequences: one of :data:`SEQUENCE_FAMILIES` is needed,
    and ``minirocket`` is left out (saying so) when aeon is missing."""
    if not set(names) & set(SEQUENCE_FAMILIES):
        raise ValueError(
            f"X holds sequences of shape {tuple(sequence_shape)} (n, C, L), but "
            f"families={list(names)} has no sequence family: add 'cnn1d' or 'minirocket' "
            "(tabular families may join them, seeing the flattened series). To search X "
            "as a table, pass X.reshape(len(X), -1); grayscale images (n, H, W) need a "
            "channel axis: X[:, None]."
        )
    if "minirocket" not in names or aeon_available():
        return tuple(names)
    kept = tuple(name for name in names if name != "minirocket")
    message = (
        "The 'minirocket' family needs aeon, which is not installed (pip install "
        "'sknas[sequences]')"
    )
    if not set(kept) & set(SEQUENCE_FAMILIES):
        raise ValueError(f"{message}; or search families=['cnn1d'].")
    if requested:
        warnings.warn(f"{message}: left out of the search.", UserWarning, stacklevel=3)
    else:
        logger.info("%s: left out of the search.", message)
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
    time_budget: float | None = None,
) -> SearchSpace:
    """The default space for a task and input kind.

    Parameters
    ----------
    task : {"classification", "regression"}
        Classification adds ``class_weight`` and uses classifiers.
    max_epochs : int
        Upper bound of the searched epoch count of the neural families.
    families : "auto" or sequence of str
        Family names to include; ``"auto"`` is :data:`TABULAR_FAMILIES`,
        :data:`IMAGE_FAMILIES` for images, or :data:`SEQUENCE_FAMILIES` for sequences.
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when the input rows are images, ``(C, L)`` when they are
        sequences: a sequence search needs one of :data:`SEQUENCE_FAMILIES`, and
        leaves ``minirocket`` out when aeon is missing (logged for ``"auto"``, with a
        warning when ``families`` names it).
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
    time_budget : float or None, default=None
        Seconds of the search: past :data:`CNN_EPOCHS_BUDGET` a 2-d CNN's default
        epochs grow in proportion; None leaves them as they are.

    Returns
    -------
    SearchSpace

    Raises
    ------
    ValueError
        When ``families`` is empty or unknown, names only families that cannot fit
        sparse input, or no sequence family for sequences.
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if isinstance(families, str):
        auto = TABULAR_FAMILIES if image_shape is None else IMAGE_FAMILIES
        auto = SEQUENCE_FAMILIES if _is_sequence(image_shape) else auto
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
    if _is_sequence(image_shape):
        names = _sequence_capable(names, image_shape, requested=families != "auto")
    spaces = [_FAMILY_FACTORIES[name](task, max_epochs, image_shape) for name in names]
    if n_rows is not None or n_features is not None:
        widest = widest_layer(1024 if n_rows is None else n_rows, n_features)
        spaces = [_bounded_width(space, widest) for space in spaces]
    if n_rows is not None:
        spaces = [_cnn_epochs_for_rows(space, n_rows, image_shape) for space in spaces]
    if time_budget is not None:
        spaces = [_cnn_epochs_for_budget(space, time_budget) for space in spaces]
    return SearchSpace(tuple(replace(space, image_shape=image_shape) for space in spaces))
