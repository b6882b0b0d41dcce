"""Searched data augmentation, applied to training batches only (never when predicting)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

__all__ = ["Augmentation"]

_PREFIX = "aug__"


@dataclass(frozen=True)
class Augmentation:
    """Random changes to a training batch ``(X, y[, weight])`` of flat rows.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(C, H, W)`` of image rows, or ``(C, L)`` of sequence rows; the image and
        sequence operations need it.
    shift : int
        Images move by up to this many pixels in each direction, sequences by up to
        this many time steps (zero padded).
    flip : bool
        Half of the images are mirrored left to right.
    cutout : int
        A square of this side, at a random place, is blanked in every image.
    noise : float
        Gaussian noise of this standard deviation is added (rows are standardised).
    mixup : float
        Alpha of the Beta distribution of mixup's mixing weight (0: no mixup):
        rows, targets and weights are mixed with those of a shuffled copy.
    n_classes : int
        Number of classes for classification (mixup mixes one-hot targets), 0 for
        regression.
    jitter : float
        Sequences: gaussian noise of this standard deviation is added.
    scale : float
        Sequences: each series is multiplied by ``exp`` of a gaussian of this deviation.
    crop : float
        Sequences: a window this fraction shorter than the series, at a random place, is
        stretched back to the series' length (linear interpolation).

    Examples
    --------
    >>> aug = Augmentation.from_params({"aug__noise": 0.1, "lr": 0.01}, None, n_classes=2)
    >>> aug.noise, Augmentation.from_params({"aug__noise": 0.0}, None, n_classes=2)
    (0.1, None)
    """

    image_shape: tuple[int, ...] | None = None
    shift: int = 0
    flip: bool = False
    cutout: int = 0
    noise: float = 0.0
    mixup: float = 0.0
    n_classes: int = 0
    jitter: float = 0.0
    scale: float = 0.0
    crop: float = 0.0

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], image_shape: tuple[int, ...] | None, n_classes: int
    ) -> Augmentation | None:
        """The augmentation ``aug__*`` parameters ask for, or None when they ask for none."""
        settings = {k[len(_PREFIX) :]: v for k, v in params.items() if k.startswith(_PREFIX)}
        if not any(settings.values()):
            return None
        return cls(image_shape=image_shape, n_classes=n_classes, **settings)

    def __call__(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        X, y, *weight = batch
        sequences = self.image_shape is not None and len(self.image_shape) == 2
        if sequences and (self.crop or self.shift or self.scale or self.jitter):
            X = self._sequences(X.view(-1, *self.image_shape)).reshape(len(X), -1)
        if (
            not sequences
            and self.image_shape is not None
            and (self.shift or self.flip or self.cutout)
        ):
            images = X.view(-1, *self.image_shape)
            if self.shift:
                images = _shift(images, self.shift)
            if self.flip:
                flipped = torch.rand(len(images), device=X.device) < 0.5
                images = torch.where(flipped[:, None, None, None], images.flip(-1), images)
            if self.cutout:
                images = _cutout(images, self.cutout)
            X = images.reshape(len(X), -1)
        if self.noise:
            X = X + self.noise * torch.randn_like(X)
        if self.mixup:
            X, y, weight = self._mixup(X, y, weight)
        return (X, y, *weight)

    def _sequences(self, series: torch.Tensor) -> torch.Tensor:
        """Window crop, time shift, scaling and jitter of ``(n, C, L)`` series."""
        if self.crop:
            series = _window_crop(series, self.crop)
        if self.shift:
            series = _time_shift(series, self.shift)
        if self.scale:
            factors = torch.randn(len(series), 1, 1, device=series.device) * self.scale
            series = series * factors.exp()
        if self.jitter:
            series = series + self.jitter * torch.randn_like(series)
        return series

    def _mixup(
        self, X: torch.Tensor, y: torch.Tensor, weight: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        alpha = torch.tensor(float(self.mixup))
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        order = torch.randperm(len(X), device=X.device)
        if self.n_classes:  # soft targets: CrossEntropyLoss takes class probabilities
            y = F.one_hot(y, self.n_classes).to(X.dtype)
        mix = [lam * t + (1 - lam) * t[order] for t in (X, y, *weight)]
        return mix[0], mix[1], mix[2:]


def _shift(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """Move each image by its own random offset of up to ``pixels`` (zero padding)."""
    n, _, height, width = images.shape
    padded = F.pad(images, (pixels,) * 4)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), device=images.device)
    rows = torch.arange(height, device=images.device) + dy[:, None]
    cols = torch.arange(width, device=images.device) + dx[:, None]
    index = torch.arange(n, device=images.device)[:, None, None]
    shifted = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]
    return shifted.permute(0, 3, 1, 2)


def _cutout(images: torch.Tensor, size: int) -> torch.Tensor:
    """Blank one ``size`` x ``size`` square per image (it may overlap the border)."""
    n, _, height, width = images.shape
    device = images.device
    top = torch.randint(-(size // 2), height - size // 2, (n, 1), device=device)
    left = torch.randint(-(size // 2), width - size // 2, (n, 1), device=device)
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    inside_rows = (rows >= top) & (rows < top + size)
    inside_cols = (cols >= left) & (cols < left + size)
    blank = inside_rows[:, :, None] & inside_cols[:, None, :]
    return images * ~blank[:, None]


def _time_shift(series: torch.Tensor, steps: int) -> torch.Tensor:
    """Move each series by its own random offset of up to ``steps`` (zero padding)."""
    n, channels, length = series.shape
    padded = F.pad(series, (steps, steps))
    offsets = torch.randint(0, 2 * steps + 1, (n, 1), device=series.device)
    index = torch.arange(length, device=series.device) + offsets
    return padded.gather(2, index[:, None, :].expand(n, channels, length))


def _window_crop(series: torch.Tensor, fraction: float) -> torch.Tensor:
    """A window ``fraction`` shorter than each series, at its own random place, stretched
    back to the series' length."""
    n, channels, length = series.shape
    window = max(2, round(length * (1.0 - fraction)))
    if window >= length:
        return series
    starts = torch.randint(0, length - window + 1, (n, 1), device=series.device)
    index = torch.arange(window, device=series.device) + starts
    cropped = series.gather(2, index[:, None, :].expand(n, channels, window))
    return F.interpolate(cropped, size=length, mode="linear", align_corners=True)
