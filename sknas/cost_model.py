"""What a trial will cost before it starts: predicted seconds from the data and the candidate.

A trial's time is its *work* times the seconds one unit of work takes on this machine.

- Networks: multiply-adds. Each epoch trains on ``rows_per_epoch`` rows (forward and
  backward: three times a forward pass) and validates on every validation row, and each
  optimizer step adds a fixed overhead.
- ``hist_gbdt``: trees (one per boosting iteration, one per class and iteration on more
  than two classes) x (a fixed cost per tree + rows x features), scaled by the leaves a
  tree grows (:func:`_leaves_factor`), and on weighted rows the binning every fit repeats
  (:data:`SECONDS_PER_WEIGHTED_BIN_UNIT`). ``random_forest`` and ``extra_trees``: trees x
  rows x log2(rows) x features tried per split. ``linear``:
  rows x stored features x outputs (logistic regression's iterations; ridge on dense
  rows solves one system in a pass over them, at its own constant). ``minirocket``: the
  transform, rows x values x kernels, and its head: a ridge, rows x rows x kernels (its
  leave-one-out solve on fewer rows than features), or a logistic regression, rows x
  classes x square root of the kernels (its iterations), which calibrate as two kinds.

The seconds per unit start from constants measured on this project's 2-core machine and
are corrected, kind by kind (convolution networks, other networks, each classical
estimator), by the median ratio of actual to predicted time of the last
:data:`CALIBRATION_WINDOW` trials of that kind, so a GPU or a faster CPU calibrates
itself after one trial; a kind without trials yet borrows the ratios of the other kinds
of its group (networks, or classical estimators). On this project's slower AMD machine
every kind took 2-3 times its prediction; the linear baseline then predicts from the
boosting's ratio instead of being 2-3 times off too. Networks borrow only from networks,
which may train on a GPU; the first dense network of a tabular search took 3.5-4.8 times
its prediction there, so such a search first times two small networks on its device and
prices dense networks from them (:meth:`CostModel.measure_networks`). The search uses
the predictions to plan: a network's epochs shrink to what fits in the time left, no
tabular trial takes more than a quarter of the search (:data:`MAX_TRIAL_SHARE`), a
queued boosted or bagged ensemble that would grow under half its stages in that time
waits for the queued candidates that fit (:meth:`CostModel.cut_short`), and a candidate
whose least useful part (a network's first successive-halving rung, a boosted or bagged
ensemble's first tenth of stages, a whole fold of a linear model or MiniRocket) would
not finish in the time left is skipped — before its kind is calibrated only when the
guess is :data:`UNCALIBRATED_MARGIN` times too slow, while what nothing stops once
started (:data:`FITTED_WHOLE`) needs that many times its guess.
Torch-free.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .space.genome import Genome, LayerGene, inception_kernels
from .trial import Candidate, TrialResult, TrialState

__all__ = [
    "CALIBRATION_WINDOW",
    "CostModel",
    "DataSize",
    "FITTED_WHOLE",
    "MAX_TRIAL_SHARE",
    "MIN_GROWN_SHARE",
    "SECONDS_PER_TREE",
    "SECONDS_PER_UNIT",
    "SPEED_PROBES",
    "network_macs",
]

#: Finished trials per kind whose actual/predicted ratios calibrate the model.
CALIBRATION_WINDOW = 20
#: The kinds of trials that train networks (the others are classical estimators).
NETWORK_KINDS = ("cnn", "network")
# The constants below were fitted to trials on 80,000 rows x 20 features (3 classes) on
# this project's 2-core Xeon, float32: MLPs of widths 64-1024, depths 1-4 and batches of
# 32-512 came within a factor 1.4 of them; the classical defaults within 1.3.
#: Seconds per multiply-add of a network ...
SECONDS_PER_MAC = 8e-12
#: ... times this on sequences: 1-d convolutions ran at 33-76 x 10^9 multiply-adds a
#: second for 64-128 channels on the 2-core Xeon (2-d ones of images at 68-78), the
#: inception blocks of the default ``cnn1d`` (three branches of a quarter of its
#: channels, kernels up to 39) at 12-13 x 10^9: its first trial on OSULeaf was predicted
#: at 14.5 s and took 85 s ...
CONV1D_MAC_FACTOR = {"conv": 3.0, "inception": 8.0}
#: ... per optimizer step (skorch, the optimizer, batch slicing) ...
SECONDS_PER_STEP = 3e-4
#: ... and per layer and step (small batches cost more than their multiply-adds).
SECONDS_PER_LAYER_STEP = 1e-4
#: Dense networks a tabular search trains for a few steps before its first trial
#: (:meth:`CostModel.measure_networks`): (hidden width of two layers, batch size, timed
#: steps). The first costs mostly its optimizer steps, the second its multiply-adds; on
#: the 2-core AMD machine the two took 1.8 and 4.0-5.4 times the Xeon's constants below
#: (0.05 and 0.1 s).
SPEED_PROBES = ((64, 32, 40), (512, 256, 10))
#: Most inputs of the probes' networks: what they measure is the device, and a first
#: layer over a wide sparse input (50,000 columns) would take seconds a step.
SPEED_PROBE_MAX_FEATURES = 1_000
#: Seconds per unit of work of the classical estimators (see the module docstring).
SECONDS_PER_UNIT = {
    # Gradient boosting per row x feature of a tree of 31 leaves: 4.2-5.9e-9 on 2,000-
    # 160,000 rows of 9-30 features on the 2-core AMD machine, with the fixed
    # :data:`SECONDS_PER_TREE`.
    "hist_gbdt": 6e-9,
    "random_forest": 3.8e-8,
    "extra_trees": 1.1e-8,
    "linear": 9e-8,
    # Ridge on dense rows (Cholesky): 6-7e-9 s per row x feature on 20,000-180,000 rows
    # of 20-300 features; the logistic regression's constant made a ridge on 180,000
    # rows predict 1.35 s for 0.10 s.
    "ridge": 7e-9,
    # MiniRocket's transform per row x value x kernel (1.3-2.8e-10 on aeon's OSULeaf,
    # ACSF1 and GunPoint, 2,500-10,000 kernels), its ridge head per row x row x kernel
    # (0.6-2.2e-9 with the temperature's 5 folds) and its logistic head per row x class
    # x square root of the kernels (0.3-2.9e-4 on those and JapaneseVowels at 2,500 and
    # 10,000 kernels: lbfgs runs more of its up to 1,000 iterations on fewer; OSULeaf's
    # logistic head took 12 s, its ridge 0.35 s).
    "minirocket": 2e-10,
    "minirocket_ridge": 1.5e-9,
    "minirocket_logistic": 1e-4,
}
#: Seconds of one gradient boosting tree of 31 leaves beyond its rows: 3.0-4.0 ms on 2,000
#: and 10,000 rows (2-core AMD; 0.3 s of a 100-iteration fit the rows alone priced at
#: 0.014 s). Unmodelled, a default boosting on 40,000 rows took three times its prediction.
SECONDS_PER_TREE = 3e-3
#: The classical families fitted whole on every fold: nothing stops one once it started.
FITTED_WHOLE = ("linear", "minirocket")
#: Seconds per unit of gradient boosting's binning of weighted rows (``class_weight`` or
#: ``sample_weight``), per column: 254 thresholds x rows x log2(rows). On at most
#: :data:`WEIGHTED_BINNING_ROWS` rows scikit-learn 1.9 finds every threshold with a
#: weighted percentile that sorts the column again (scikit-learn issue #34304, fixed after
#: 1.9): on 180,000 rows x 30 columns one iteration with ``class_weight="balanced"`` took
#: 13-14 s (0.6 s without). Every fit bins again, and a boosting fits up to
#: :data:`GROWN_FITS` times. Unmodelled, a boosting predicted at 0.8 s started with 0.8 s
#: left and ended 15 s past the deadline.
SECONDS_PER_WEIGHTED_BIN_UNIT = 6e-10
#: Rows above which scikit-learn draws its binning sample by the weights and bins it unweighted.
WEIGHTED_BINNING_ROWS = 200_000
#: Fits of a boosted or bagged ensemble grown to a deadline: the probe's two steps, the rest.
GROWN_FITS = 3
#: The boosted and bagged ensembles, which grow the stages that fit in their time.
GROWN_KINDS = ("hist_gbdt", "random_forest", "extra_trees")
#: Share of a boosted or bagged ensemble's stages fitted first to time the rest
#: (:data:`sknas.evaluation.classical.PROBE_SHARE`).
PROBE_SHARE = 0.1
#: Share of a network's epochs it needs to be worth starting, without a pruner.
MIN_EPOCH_SHARE = 1 / 9
#: Share of its stages a queued boosted or bagged ensemble must be predicted to grow in
#: its time, or it waits until the queued candidates that fit have run
#: (:meth:`CostModel.cut_short`).
MIN_GROWN_SHARE = 0.5
#: Share of the search's time one tabular trial may take: a network's epochs shrink to fit
#: it (planned from the prediction, and again after every epoch from its pace, should the
#: prediction be far off); a boosted or bagged ensemble grows the stages that fit in it.
#: On 225,000 rows the portfolio's first MLP took 80 of 120 s and a random forest the 33 s
#: left, and the search ran six trials. Convolution networks are exempt: the image recipe
#: (issue 17) was measured with trials that take most of a short budget, and their
#: schedule follows the deadline. So are the baselines (``proposer="baseline"``): a
#: default gradient boosting is the model the search must at least match (on 1,000,000
#: rows its default took 25 s; cut to 15 s of a 60 s search it scored 0.78 where the
#: default scores 0.91).
MAX_TRIAL_SHARE = 0.25
#: How far off an uncalibrated prediction may be, either way (:meth:`CostModel.required_seconds`).
UNCALIBRATED_MARGIN = 3.0


@dataclass(frozen=True)
class DataSize:
    """The shape of what one trial trains on.

    Parameters
    ----------
    n_train, n_valid : int
        Training and validation rows of one fit (one fold under cross-validation).
    n_features, n_outputs : int
        Model inputs (after preprocessing) and outputs (classes, or 1).
    n_fits : int, default=1
        Fits per complete trial: the folds of a cross-validated search (a network's
        first fold trains twice there, see :meth:`CostModel.fits`).
    rows_per_epoch : int or None, default=None
        Rows a network trains on per epoch (None: all of ``n_train``).
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` of image rows.
    batch_size_for : callable or None, default=None
        ``batch_size_for(searched_batch_size)``: the batch size a network actually
        trains with (None: the searched one).
    linear_rows : int or None, default=None
        Most rows a linear model fits on (a sample of them on more; None: all).
    boosting_features : int or None, default=None
        Inputs of gradient boosting, which splits on category codes instead of one-hot
        columns (None: ``n_features``).
    regression : bool, default=False
        Whether the linear family is ridge regression (else logistic regression).
    density : float, default=1.0
        Share of the inputs' values that are stored (below 1 for a sparse matrix):
        linear models read only those; networks densify their batches, and
        scikit-learn's sparse tree splitter is no faster than the dense one (one tree
        of a forest on 80,000 x 50,000 rows at 0.1 % did not finish in 150 s), so
        both cost as on dense rows.
    weighted : bool, default=False
        Whether the rows carry sample weights (gradient boosting then bins them slowly:
        :data:`SECONDS_PER_WEIGHTED_BIN_UNIT`).
    """

    n_train: int
    n_valid: int
    n_features: int
    n_outputs: int
    n_fits: int = 1
    rows_per_epoch: int | None = None
    image_shape: tuple[int, ...] | None = None
    batch_size_for: Callable[[int], int] | None = None
    linear_rows: int | None = None
    boosting_features: int | None = None
    regression: bool = False
    density: float = 1.0
    weighted: bool = False

    @property
    def epoch_rows(self) -> int:
        """Rows one epoch of a network trains on."""
        return min(self.n_train, self.rows_per_epoch or self.n_train)


def network_macs(
    genome: Genome, n_features: int, n_outputs: int, image_shape: tuple[int, ...] | None
) -> int:
    """Multiply-adds of one row's forward pass through ``genome``'s network.

    Examples
    --------
    >>> from sknas.space import LayerGene
    >>> network_macs(Genome("mlp", (LayerGene("dense", 8),)), 4, 3, None)
    56
    >>> cnn = Genome("cnn", (LayerGene("conv", 8, pool=True), LayerGene("dense", 16)))
    >>> network_macs(cnn, 64, 10, (1, 8, 8))  # 9*1*8*64 + 8*16 + 16*10
    4896
    >>> conv1d = Genome("cnn1d", (LayerGene("conv", 8, kernel=7, dilation=2),))
    >>> network_macs(conv1d, 20, 2, (1, 20))  # 7*1*8*20 + 8*2
    1136
    """
    width = image_shape[0] if image_shape and any(g.is_conv for g in genome.layers) else n_features
    spatial = len(image_shape) - 1 if image_shape else 0  # 1: sequences, 2: images
    pixels = math.prod(image_shape[1:]) if image_shape else 1
    macs = 0
    for gene in genome.layers:
        if gene.kind == "inception":  # bottleneck, three convolutions, pooled 1x1 branch
            branch = gene.width // 4
            inner = branch if width > 1 else width
            bottleneck = width * branch if width > 1 else 0
            convs = sum(inception_kernels(gene.kernel)) * inner * branch
            macs += pixels * (bottleneck + convs + width * (gene.width - 3 * branch))
        elif gene.is_conv:
            kernel = gene.kernel**spatial * pixels
            macs += kernel * width * gene.width
            if gene.kind == "residual_conv":
                macs += kernel * gene.width * width
        else:
            macs += width * gene.width * (2 if gene.kind == "residual" else 1)
        if gene.is_conv and gene.pool:
            pixels = max(1, pixels // 2**spatial)
        if gene.kind in ("dense", "conv", "inception"):
            width = gene.width
    return macs + width * n_outputs


class CostModel:
    """Predicts trial times for one search and learns from the trials that finish.

    Parameters
    ----------
    size : DataSize
    search_seconds : float or None, default=None
        The search's time budget; a tabular trial plans at most :data:`MAX_TRIAL_SHARE`
        of it.

    Examples
    --------
    >>> from sknas.space import LayerGene
    >>> model = CostModel(DataSize(n_train=100_000, n_valid=25_000, n_features=20, n_outputs=2))
    >>> mlp = Genome("mlp", (LayerGene("dense", 256), LayerGene("dense", 256)))
    >>> trial = Candidate(0, "mlp", {"batch_size": 256}, mlp, 0, 20, "tpe")
    >>> round(model.predict(trial), 1)  # seconds, before any trial calibrated it
    8.8
    """

    def __init__(self, size: DataSize, search_seconds: float | None = None) -> None:
        self.size = size
        self.search_seconds = search_seconds
        self._log_ratios: dict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=CALIBRATION_WINDOW)
        )
        # Dense networks' seconds per multiply-add and per step on this device, relative
        # to the constants (measure_networks).
        self._mac_scale = self._step_scale = 1.0

    def measure_networks(self, time_steps: Callable[..., float]) -> None:
        """Price dense networks on this device from :data:`SPEED_PROBES`, timed by
        ``time_steps(genome, n_features=, batch_size=, steps=)`` (seconds).

        Two scales are solved for, one on :data:`SECONDS_PER_MAC` and one on the
        per-step constants; where the two timings do not give two positive scales (a
        noisy machine), both become the ratio of their total time to the constants'.
        Networks with convolutions keep their constants (their own speeds are measured
        per layer kind, :data:`CONV1D_MAC_FACTOR`).

        Examples
        --------
        >>> model = CostModel(DataSize(n_train=1000, n_valid=200, n_features=10, n_outputs=2))
        >>> def four_times(genome, n_features, batch_size, steps):  # a slower device
        ...     probe = CostModel(DataSize(batch_size * steps, 0, n_features, 2))
        ...     return 4 * probe._raw(Candidate(0, "mlp", {"batch_size": batch_size},
        ...                                     genome, 0, 1, "tpe"), 1)
        >>> model.measure_networks(four_times)
        >>> round(model._mac_scale, 2), round(model._step_scale, 2)
        (4.0, 4.0)
        """
        n_features = min(self.size.n_features, SPEED_PROBE_MAX_FEATURES)
        probe_model = CostModel(replace(self.size, n_features=n_features))
        mac_seconds, step_seconds, seconds = [], [], []
        for width, batch_size, steps in SPEED_PROBES:
            genome = Genome("mlp", (LayerGene("dense", width),) * 2)
            macs, per_step = probe_model._network_terms(genome, batch_size * steps, 0, batch_size)
            mac_seconds.append(macs)
            step_seconds.append(per_step)
            seconds.append(
                time_steps(genome, n_features=n_features, batch_size=batch_size, steps=steps)
            )
        try:
            scales = np.linalg.solve(np.column_stack([mac_seconds, step_seconds]), seconds)
        except np.linalg.LinAlgError:
            scales = np.zeros(2)
        if not np.all(scales > 0):
            scales = np.full(2, sum(seconds) / (sum(mac_seconds) + sum(step_seconds)))
        self._mac_scale, self._step_scale = (float(s) for s in scales)

    @staticmethod
    def kind(candidate: Candidate) -> str:
        """What calibrates together: ``"cnn"``, ``"network"`` or the classical estimator."""
        if candidate.genome is not None:
            return "cnn" if any(g.is_conv for g in candidate.genome.layers) else "network"
        if candidate.family == "minirocket" and candidate.params.get("head") == "logistic":
            return "minirocket_logistic"  # 20-50 times its ridge's time
        return str(candidate.params.get("estimator", candidate.family))

    def fits(self, candidate: Candidate) -> int:
        """Fits of a complete trial of ``candidate``: every fold, and with several a
        network's first fold again, without early stopping
        (:class:`~sknas.evaluation.crossval.CrossValEvaluator`)."""
        folds = self.size.n_fits
        return folds + 1 if folds > 1 and candidate.genome is not None else folds

    def calibrated(self, candidate: Candidate) -> bool:
        """Whether a trial of ``candidate``'s kind has finished, so its scale is known."""
        return bool(self._log_ratios.get(self.kind(candidate)))

    def predict(
        self, candidate: Candidate, epochs: float | None = None, fits: int | None = None
    ) -> float:
        """Seconds ``candidate`` takes to train and validate (a network: ``epochs``,
        default its budget; ``fits``: default every fold)."""
        fits = self.fits(candidate) if fits is None else fits
        raw = self._raw(candidate, epochs) + GROWN_FITS * self._binning(candidate)
        return fits * raw * self._correction(candidate)

    def min_seconds(self, candidate: Candidate) -> float:
        """Seconds of the least of ``candidate`` worth starting: a network's first rung
        on one fold, a boosted or bagged ensemble's probe, one fold of what is fitted
        whole (:data:`FITTED_WHOLE`)."""
        if candidate.genome is not None:
            if candidate.fidelity is not None:
                first = candidate.fidelity.rungs[0]
            else:
                first = max(1, math.ceil(candidate.budget_epochs * MIN_EPOCH_SHARE))
            return self.predict(candidate, epochs=first, fits=1)
        if candidate.family in FITTED_WHOLE:
            return self.predict(candidate, fits=1)
        probe = PROBE_SHARE * self._raw(candidate, None) + self._binning(candidate)
        return probe * self._correction(candidate)  # its first step bins the rows

    def fit_to(self, candidate: Candidate, seconds: float | None) -> Candidate:
        """``candidate`` planned: its predicted time set, a network's epochs cut to what
        fits in ``seconds`` (once calibrated), and a tabular trial's ``time_limit`` and
        epochs kept within :data:`MAX_TRIAL_SHARE` of the search (not a baseline's).

        A boosted or bagged ensemble grows the stages that fit before its time limit or
        the deadline (:func:`~sknas.evaluation.classical.fit_before`), so its predicted
        time is at most those seconds: a forest predicted at 117 s for all its trees,
        planned to stop at 30 s, took 25 s.
        """
        time_left = seconds
        if not self.calibrated(candidate):
            seconds = None
        capped = self.kind(candidate) != "cnn" and candidate.proposer != "baseline"
        if self.search_seconds is not None and capped:
            share = MAX_TRIAL_SHARE * self.search_seconds
            seconds = share if seconds is None else min(seconds, share)
            candidate = replace(candidate, time_limit=share)
        if seconds is not None and candidate.genome is not None:
            per_epoch = self.predict(candidate, epochs=1)
            fitting = max(1, int(seconds / per_epoch))
            if fitting < candidate.budget_epochs:
                candidate = replace(candidate, budget_epochs=fitting)
        predicted = self.predict(candidate)
        if self.kind(candidate) in GROWN_KINDS:
            predicted = min(predicted, candidate.time_limit or math.inf, time_left or math.inf)
        return replace(candidate, predicted_time=predicted)

    def cut_short(self, candidate: Candidate) -> bool:
        """Whether planned ``candidate`` (:meth:`fit_to`) is a boosted or bagged ensemble
        predicted to grow under :data:`MIN_GROWN_SHARE` of its stages before its time
        limit or the deadline.

        The study runs such a queued candidate after the queued ones that fit: on
        300,000 rows the portfolio's two forests, each cut by its 30 s limit to 10-21 of
        52-100 trees, took 51-59 s of a 120 s search, and some of the portfolio's
        networks never ran.
        """
        if self.kind(candidate) not in GROWN_KINDS:
            return False
        return candidate.predicted_time < MIN_GROWN_SHARE * self.predict(candidate)

    def required_seconds(self, candidate: Candidate) -> float:
        """Seconds ``candidate`` must have left to start: its least useful part
        (:meth:`min_seconds`); before its kind is calibrated, that divided by
        :data:`UNCALIBRATED_MARGIN`, or multiplied by it when nothing stops it once started
        (:data:`FITTED_WHOLE`: on 1,000,000 rows a linear model predicted to take 4.2 s
        started with 4 s left and took 11.7 s; on ACSF1 a MiniRocket with a logistic head,
        the first of its kind, predicted at about 8 s, started 17 s before the deadline and
        took 23.8 s)."""
        needed = self.min_seconds(candidate)
        if self.calibrated(candidate):
            return needed
        if candidate.family in FITTED_WHOLE:
            return UNCALIBRATED_MARGIN * needed
        return needed / UNCALIBRATED_MARGIN

    def refuses(self, candidate: Candidate, seconds: float) -> bool:
        """Whether ``candidate`` should not start with ``seconds`` left
        (:meth:`required_seconds`)."""
        return self.required_seconds(candidate) > seconds

    def predict_done(self, result: TrialResult) -> float:
        """Seconds the work ``result`` did takes by the model as it stands (its epochs,
        or the share of its stages an ensemble grew before its deadline or early
        stopping, ``work_done``; the first fold only when pruned there); NaN for a
        failed trial.

        ``predicted_time`` prices the plan; a network that early stopping or successive
        halving ended after 6 of 44 epochs did a seventh of it. Called before
        :meth:`record` learns from the trial, this is a prediction, not a fit to its time.
        """
        if result.state is TrialState.FAIL:
            return float("nan")
        return self._raw_done(result) * self._correction(result.candidate)

    def record(self, result: TrialResult) -> None:
        """Learn from a finished trial: the ratio of its time to the prediction for the
        work it did (:meth:`predict_done`, uncalibrated). Failed trials teach nothing."""
        if result.state is TrialState.FAIL or result.fit_time <= 0:
            return
        raw = self._raw_done(result)
        if raw > 0:
            self._log_ratios[self.kind(result.candidate)].append(math.log(result.fit_time / raw))

    def _raw_done(self, result: TrialResult) -> float:
        """Uncalibrated seconds of the work ``result`` did (:meth:`predict_done`)."""
        candidate = result.candidate
        fits = 1 if result.state is TrialState.PRUNED else self.fits(candidate)
        epochs = max(1, result.n_epochs) if candidate.genome is not None else None
        binning = GROWN_FITS * self._binning(candidate)
        return fits * (self._raw(candidate, epochs) * result.work_done + binning)

    def _correction(self, candidate: Candidate) -> float:
        """The median actual/predicted ratio of ``candidate``'s kind; before it has one,
        that of the other kinds of its group (networks, which train on the device;
        classical estimators, which fit on the CPU): how fast this machine is, from
        whichever kind finished first."""
        kind = self.kind(candidate)
        ratios = self._log_ratios.get(kind)
        if not ratios:
            network = kind in NETWORK_KINDS
            ratios = [
                ratio
                for other, kept in self._log_ratios.items()
                if (other in NETWORK_KINDS) == network
                for ratio in kept
            ]
        return float(np.exp(np.median(ratios))) if ratios else 1.0

    def _binning(self, candidate: Candidate) -> float:
        """Uncalibrated seconds of one binning of weighted rows by a gradient boosting
        (:data:`SECONDS_PER_WEIGHTED_BIN_UNIT`); 0 for anything else."""
        size = self.size
        weighted = size.weighted or candidate.params.get("class_weight") is not None
        rows = size.n_train
        if self.kind(candidate) != "hist_gbdt" or not weighted or rows > WEIGHTED_BINNING_ROWS:
            return 0.0
        columns = size.boosting_features or size.n_features
        return columns * 254 * rows * math.log2(max(rows, 2)) * SECONDS_PER_WEIGHTED_BIN_UNIT

    def _raw(self, candidate: Candidate, epochs: float | None) -> float:
        """Uncalibrated seconds of one fit."""
        size = self.size
        params = candidate.params
        if candidate.genome is not None:
            epochs = candidate.budget_epochs if epochs is None else epochs
            batch = int(params.get("batch_size", 128))
            if size.batch_size_for is not None:
                batch = size.batch_size_for(batch)
            work, steps = self._network_terms(
                candidate.genome, size.epoch_rows, size.n_valid, batch
            )
            convs = {gene.kind for gene in candidate.genome.layers if gene.is_conv}
            if convs and size.image_shape is not None and len(size.image_shape) == 2:
                work *= CONV1D_MAC_FACTOR["inception" if "inception" in convs else "conv"]
            if not convs:
                work, steps = work * self._mac_scale, steps * self._step_scale
            return epochs * (work + steps)
        kind = self.kind(candidate)
        rows, features, stored = size.n_train, size.n_features, size.density
        if candidate.family == "minirocket":
            return self._minirocket(kind, int(params.get("n_kernels", 10_000)))
        if kind == "hist_gbdt":  # every feature's histogram, whatever max_features
            features = size.boosting_features or features
            trees = int(params.get("max_iter", 100)) * _trees_per_iteration(size)
            per_tree = SECONDS_PER_TREE + rows * features * SECONDS_PER_UNIT[kind]
            return trees * per_tree * _leaves_factor(int(params.get("max_leaf_nodes", 31)))
        if kind in ("random_forest", "extra_trees"):
            tried = _features_tried(params.get("max_features", "sqrt"), features)
            units = int(params.get("n_estimators", 100)) * rows * math.log2(max(rows, 2)) * tried
        else:
            units = min(rows, size.linear_rows or rows) * features * stored * size.n_outputs
            if size.regression and stored == 1.0:
                kind = "ridge"
        return units * SECONDS_PER_UNIT.get(kind, SECONDS_PER_UNIT["linear"])

    def _network_terms(
        self, genome: Genome, train_rows: int, valid_rows: int, batch: int
    ) -> tuple[float, float]:
        """Uncalibrated seconds of one epoch of ``genome``'s network on ``train_rows``
        rows validated on ``valid_rows``, in batches of ``batch``: its multiply-adds
        (a training row's three passes, a validation row's one), and its steps."""
        size = self.size
        macs = network_macs(genome, size.n_features, size.n_outputs, size.image_shape)
        work = macs * (3 * train_rows + valid_rows) * SECONDS_PER_MAC
        steps = math.ceil(train_rows / max(1, batch))
        steps += math.ceil(valid_rows / max(1, batch)) / 3  # forward passes only
        per_step = SECONDS_PER_STEP + SECONDS_PER_LAYER_STEP * (len(genome.layers) + 1)
        return work, steps * per_step

    def _minirocket(self, kind: str, kernels: int) -> float:
        """Uncalibrated seconds of one MiniRocket fit: the transform of the training rows
        and validation rows, and its head (``kind``)."""
        size = self.size
        rows = size.n_train
        transform = (rows + size.n_valid) * size.n_features * kernels
        if kind == "minirocket_logistic":
            head = rows * math.sqrt(kernels) * max(2, size.n_outputs) * SECONDS_PER_UNIT[kind]
        else:
            head = rows * rows * kernels * SECONDS_PER_UNIT["minirocket_ridge"]
        return transform * SECONDS_PER_UNIT["minirocket"] + head


def _trees_per_iteration(size: DataSize) -> int:
    """Trees a gradient boosting grows per iteration: one per class on more than two
    classes (on 100,000-300,000 rows x 30 columns a 3-class fit took 2.2-2.3 times a
    binary one's time, a 5-class fit 3.5-3.7 times), else one."""
    return size.n_outputs if size.n_outputs > 2 else 1


def _leaves_factor(max_leaf_nodes: int) -> float:
    """A boosting tree's time relative to one of 31 leaves (scikit-learn's default): on
    80,000 x 20 and 200,000 x 12 rows, 8 leaves took 0.64 times as long, 16 0.79, 64 1.36-1.39
    and 128 1.95-2.1; the share of features a split may use (``max_features``) changed
    nothing (0.3-1.0 within 6 %), as every histogram is still built."""
    return 0.5 + 0.5 * (max_leaf_nodes / 31) ** 0.8


def _features_tried(max_features: object, n_features: int) -> float:
    """Features a tree tries per split (scikit-learn's ``max_features``)."""
    if max_features in ("sqrt", "log2"):
        return max(1.0, (math.sqrt if max_features == "sqrt" else math.log2)(n_features))
    if max_features is None:
        return float(n_features)
    if isinstance(max_features, int) and not isinstance(max_features, bool):
        return float(max_features)
    return max(1.0, float(max_features) * n_features)
