"""Logging for ``verbose`` estimators (library code never prints)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["logger", "verbose_logging"]

logger = logging.getLogger("sknas")


@contextmanager
def verbose_logging(verbose: int) -> Iterator[None]:
    """While active, send sknas's INFO messages to stderr when ``verbose > 0``.

    Does nothing when ``verbose`` is 0 or the application configured the
    ``sknas`` logger itself (it has handlers).
    """
    if not verbose or logger.handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[sknas] %(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
