"""Exceptions raised by sknas."""

__all__ = ["CheckpointError", "SearchFailedError"]


class SearchFailedError(RuntimeError):
    """No trial of a search completed, so there is no model to fit."""


class CheckpointError(ValueError):
    """A ``checkpoint_dir`` that cannot be resumed or written.

    It holds another search, damaged files or a newer format, or it is read-only; the
    message names the directory, the file and what to do.
    """
