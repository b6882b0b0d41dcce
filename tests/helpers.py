"""Test helpers: a strategy that proposes scripted configurations."""

from __future__ import annotations

from typing import Any

from sknas.strategies import Strategy
from sknas.trial import Candidate


class ScriptedStrategy(Strategy):
    """Proposes the given (family, overrides) in order, then repeats the last one.

    ``overrides`` replace entries of the family's default point (``arch__*`` names
    included), so a test can make one candidate diverge or crash on purpose.
    """

    name = "scripted"

    def __init__(self, script: list[tuple[str, dict[str, Any]]]) -> None:
        self.script = script

    def _propose(self) -> Candidate:
        family, overrides = self.script[min(self.next_trial_id_, len(self.script) - 1)]
        point = self.space_[family].default_point() | overrides
        return self._make_candidate(family, point)
