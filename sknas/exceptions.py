"""Exceptions raised by sknas."""

__all__ = ["SearchFailedError"]


class SearchFailedError(RuntimeError):
    """No trial of a search completed, so there is no model to fit."""
