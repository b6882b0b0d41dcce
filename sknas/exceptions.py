"""Exceptions raised by sknas."""

__all__ = ["CheckpointError", "ModelFileError", "SearchFailedError"]


class SearchFailedError(RuntimeError):
    """No trial of a search completed, so there is no model to fit."""


class CheckpointError(ValueError):
    """A ``checkpoint_dir`` that cannot be resumed or written.

    It holds another search, damaged files or a newer format, or it is read-only; the
    message names the directory, the file and what to do.
    """


class ModelFileError(ValueError):
    """A model file that :func:`sknas.load` refuses, or an estimator that cannot be saved.

    The file is truncated or corrupted, lacks a part, holds a type that is never
    loaded or tensors its genome does not build, or is of a newer format version;
    the message names the file, the part and what to do.
    """
