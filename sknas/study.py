"""The owner of a search's trials: ids, seeds, the queue, the records and the journal.

As in Optuna, the study mints each trial's id and seed, proposes the queued
configurations (``init_from``, the baselines, the portfolio, each family's default, a
gradient boosting still improving at its last iteration with more of them) before
asking the strategy, hands every trial its fidelity from the pruner, and
records every finished trial in the history, the pruner, the strategy and the
journal. Resuming from a journal happens here too. The loop that runs trials
(:func:`sknas._search.run_search`) keeps only the clock, Ctrl-C, callbacks and the
choice of executor. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .artifacts import ArtifactStore
from .checkpoint import MemoryJournal, SearchJournal
from .cost_model import CostModel
from .history import SearchHistory
from .space import SearchSpace
from .strategies.base import Configuration, Proposal, Strategy
from .trial import SKIPPED, Candidate, TrialResult

__all__ = ["LONGER_BOOSTING", "Study"]

#: A gradient boosting that grew all its iterations with its validation score still
#: improving (:attr:`TrialResult.improving <sknas.trial.TrialResult.improving>`) is tried
#: next with this many times its iterations (at most the search space's bound), unless
#: the cost model predicts it cut short (:meth:`CostModel.cut_short
#: <sknas.cost_model.CostModel.cut_short>`). On large tables the default boosting's 100
#: iterations are often too few: on the 280,000 training rows of ``mosaicData``'s
#: ``Birthdays`` its longer version scored 0.9810 on validation (the default 0.9785), and
#: a 120 s search's test R² rose from 0.9767 to 0.9798 (mean of 3 seeds).
LONGER_BOOSTING = 5

Starts = Sequence[tuple[Sequence[Configuration], str]]


class Study:
    """One search's trials, from the first proposal to the journal.

    Parameters
    ----------
    strategy : Strategy
        Proposes what the queue does not; :meth:`~Strategy.reset` here with ``space``.
        Used as given (the caller copies what the user passed).
    space : SearchSpace
    seed : int
        Seeds the strategy's generator and the trials' seeds.
    starts : sequence of (configurations, proposer), default=()
        Configurations to try first, in order, recorded as proposed by ``proposer``;
        each family's default configuration follows when the strategy's
        ``start_with_defaults`` is true (not for families already queued).
    pruner : object or None, default=None
        Hands each trial its fidelity (:mod:`sknas.fidelity`); None: no pruning.
    journal : SearchJournal, MemoryJournal or None, default=None
        Where every finished trial and the state after it are recorded; a journal
        that holds trials is resumed from.
    artifacts : ArtifactStore or None, default=None
        Where the history keeps the best trials' members and validation predictions
        (:class:`~sknas.history.SearchHistory`); None: an unbounded store.
    weight_inheritance : bool, default=False
        A candidate whose parent's trained network the history still holds carries
        it (``parent_model``), to start from its weights.
    cost_model : CostModel or None, default=None
        Predicts each trial's time, fits networks' epochs to the time left and tells
        which candidates cannot finish (:meth:`too_slow`); learns from every trial.

    Examples
    --------
    >>> from sknas.space import default_search_space
    >>> from sknas.strategies import RandomStrategy
    >>> study = Study(RandomStrategy(), default_search_space("regression", max_epochs=5), 0,
    ...               starts=[([Configuration("linear", {})], "baseline")])
    >>> [(c.trial_id, c.proposer) for c in (study.ask(), study.ask())]
    [(0, 'baseline'), (1, 'random')]
    """

    def __init__(
        self,
        strategy: Strategy,
        space: SearchSpace,
        seed: int,
        *,
        starts: Starts = (),
        pruner: Any = None,
        journal: SearchJournal | MemoryJournal | None = None,
        artifacts: ArtifactStore | None = None,
        weight_inheritance: bool = False,
        cost_model: CostModel | None = None,
    ) -> None:
        strategy_seed, trial_seed = np.random.SeedSequence(seed).spawn(2)
        strategy.reset(space, np.random.default_rng(strategy_seed))
        self.strategy = strategy
        self.space = space
        self.pruner = pruner
        self.journal = journal
        self.weight_inheritance = weight_inheritance
        self.cost_model = cost_model
        self.history = SearchHistory(artifacts=ArtifactStore() if artifacts is None else artifacts)
        self._rng = np.random.default_rng(trial_seed)
        self._next_trial_id = 0
        self._queue: list[tuple[Configuration, str]] = []
        for configurations, proposer in starts:
            self.enqueue(configurations, proposer)
        if getattr(strategy, "start_with_defaults", True):
            queued = {configuration.family for configuration, _ in self._queue}
            defaults = [
                Configuration(family.name, *family.decode(family.default_point()))
                for family in space.families
                if family.name not in queued
            ]
            self.enqueue(defaults, "default")
        if journal is not None:
            self._resume(journal)

    def enqueue(
        self, configurations: Sequence[Configuration], proposer: str, *, first: bool = False
    ) -> int:
        """Try ``configurations`` before the strategy's proposals, in order (with
        ``first``, before what is queued already).

        Each is adapted to the search space (:meth:`FamilySpace.adapt
        <sknas.space.FamilySpace.adapt>`); those of families outside the space, those
        whose genome does not fit the inputs and duplicates are left out.

        Returns
        -------
        n_queued : int
            How many of ``configurations`` were queued.
        """
        queued = {configuration.key() for configuration, _ in self._queue}
        added = []
        for configuration in configurations:
            if configuration.family not in self.space:
                continue
            adapted = self.space[configuration.family].adapt(
                configuration.params, configuration.genome
            )
            if adapted is None:
                continue
            configuration = Configuration(configuration.family, *adapted)
            if configuration.key() in queued:
                continue
            queued.add(configuration.key())
            added.append((configuration, proposer))
        self._queue = added + self._queue if first else self._queue + added
        return len(added)

    def ask(self, time_left: float | None = None) -> Candidate:
        """The next trial: a queued configuration (the first the cost model does not
        predict to be cut short, :meth:`_next_queued`), or else the strategy's proposal,
        with its id, seed, epoch budget (a network's cut to what the cost model says
        fits in ``time_left`` seconds), predicted time, fidelity and (under weight
        inheritance) the parent's trained network."""
        trial_id = self._next_trial_id
        seed = int(self._rng.integers(2**31 - 1))
        if self._queue:
            candidate = self._next_queued(trial_id, seed, time_left)
        else:
            proposal = self.strategy.propose(trial_id)
            candidate = self._planned(proposal, trial_id, seed, time_left)
        self._next_trial_id += 1
        if self.pruner is not None:
            candidate = replace(candidate, fidelity=self.pruner.fidelity_for(candidate))
        if self.weight_inheritance and candidate.parent_id is not None:
            candidate = replace(candidate, parent_model=self._trained_network(candidate.parent_id))
        return candidate

    def _planned(
        self, proposal: Proposal, trial_id: int, seed: int, time_left: float | None
    ) -> Candidate:
        """``proposal`` as trial ``trial_id``, planned by the cost model."""
        candidate = Candidate(
            trial_id=trial_id,
            family=proposal.family,
            params=dict(proposal.params),
            genome=proposal.genome,
            seed=seed,
            budget_epochs=int(proposal.params.get("max_epochs", 1)),  # 1: classical
            proposer=proposal.proposer,
            parent_id=proposal.parent_id,
        )
        if self.cost_model is not None:
            candidate = self.cost_model.fit_to(candidate, time_left)
        return candidate

    def _next_queued(self, trial_id: int, seed: int, time_left: float | None) -> Candidate:
        """The first queued configuration, planned, that the cost model does not
        predict to be cut short (:meth:`CostModel.cut_short
        <sknas.cost_model.CostModel.cut_short>`; a baseline always goes first), or else
        the first; taken off the queue."""
        model = self.cost_model
        first = None
        for position, (configuration, proposer) in enumerate(self._queue):
            proposal = Proposal(
                configuration.family, configuration.params, configuration.genome, proposer
            )
            candidate = self._planned(proposal, trial_id, seed, time_left)
            if model is None or proposer == "baseline" or not model.cut_short(candidate):
                del self._queue[position]
                return candidate
            first = candidate if first is None else first
        del self._queue[0]
        return first

    def too_slow(self, candidate: Candidate, time_left: float | None) -> str | None:
        """Why ``candidate`` should not start with ``time_left`` seconds to go (its least
        useful part would not finish: :meth:`CostModel.refuses
        <sknas.cost_model.CostModel.refuses>`), or None."""
        model = self.cost_model
        if model is None or time_left is None or not model.refuses(candidate, time_left):
            return None
        needed = model.required_seconds(candidate)
        return f"{SKIPPED}predicted to need {needed:.1f} s to be of use, {time_left:.1f} s left"

    def tell(self, result: TrialResult, *, finished_at: float, journal: bool = True) -> TrialResult:
        """Record a finished trial in the history, pruner, strategy and journal.

        Parameters
        ----------
        result : TrialResult
        finished_at : float
            Seconds from the start of the search to the end of the trial.
        journal : bool, default=True
            False leaves the journal alone (a search the user interrupted: a trial cut
            short must not be resumed from).

        Returns
        -------
        TrialResult
            As recorded: ``finished_at`` and ``predicted_done_time`` set, without the
            parent's network, its member and its predictions (those went to the
            history's artifact store, and with the rest to the journal).
        """
        result = replace(
            result,
            candidate=replace(result.candidate, parent_model=None),  # kept once, by the parent
            finished_at=finished_at,
        )
        if self.pruner is not None:
            self.pruner.record(result)
        if self.cost_model is not None:
            done = self.cost_model.predict_done(result)
            result = replace(result, predicted_done_time=done)
            self.cost_model.record(result)
        record = self.history.add(result)
        self.strategy.observe([record])
        if record.ok and record.improving:
            self._queue_longer(record.candidate)
        if self.journal is not None and journal:
            self.journal.record(len(self.history.results) - 1, result, self.state_dict())
        return record

    def _queue_longer(self, candidate: Candidate) -> None:
        """Queue ``candidate``, a gradient boosting still improving at its last
        iteration, first with :data:`LONGER_BOOSTING` times its iterations (the search
        space's bound at most); not when that is no more, or would be cut short."""
        family = self.space[candidate.family]
        iterations = int(candidate.params["max_iter"])
        longer = {**candidate.params, "max_iter": LONGER_BOOSTING * iterations}
        params, _ = family.adapt(longer, None)
        if params["max_iter"] <= iterations:
            return
        planned = self._planned(  # a plan to judge it by, not a trial yet
            Proposal(candidate.family, params, None, "longer"), -1, candidate.seed, None
        )
        if self.cost_model is not None and self.cost_model.cut_short(planned):
            return
        self.enqueue([Configuration(candidate.family, params)], "longer", first=True)

    def state_dict(self) -> dict[str, Any]:
        """What continues the search after the last recorded trial (plain data)."""
        return {
            "strategy": self.strategy.state_dict(),
            "pruner": None if self.pruner is None else self.pruner.state_dict(),
            "rng": self._rng.bit_generator.state,
            "next_trial_id": self._next_trial_id,
            "queue": [[c.to_dict(), proposer] for c, proposer in self._queue],
        }

    def _resume(self, journal: SearchJournal | MemoryJournal) -> None:
        results, state = journal.resume()
        for result in results:
            self.history.add(result)
            if self.cost_model is not None:
                self.cost_model.record(result)
        if state is None:
            return
        self.strategy.load_state_dict(state["strategy"])
        if self.pruner is not None:
            self.pruner.load_state_dict(state["pruner"])
        self._rng.bit_generator.state = state["rng"]
        self._next_trial_id = int(state["next_trial_id"])
        self._queue = [(Configuration.from_dict(c), p) for c, p in state["queue"]]

    def _trained_network(self, trial_id: int) -> object | None:
        """The trained network of trial ``trial_id``, if the history still holds one."""
        kept = self.history.artifacts.get(trial_id)
        member = None if kept is None else kept.member
        return member if getattr(member, "genome", None) is not None else None
