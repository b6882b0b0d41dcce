"""The contract every strategy inherits, plus what is specific to each.

Strategies are driven as the search drives them: through a :class:`~sknas.study.Study`,
which numbers the trials, draws their seeds, proposes its queue first and tells every
result to the strategy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hyperopt import space_eval, tpe

from sknas.checkpoint import MemoryJournal
from sknas.space import ARCH_PREFIX, TABULAR_FAMILIES, Genome, LayerGene, default_search_space
from sknas.strategies import (
    Configuration,
    FusedStrategy,
    HyperoptStrategy,
    RandomStrategy,
    RegularizedEvolutionStrategy,
)
from sknas.strategies.base import candidate_key
from sknas.strategies.evolution import ScoredConfiguration
from sknas.strategies.hyperopt import PRUNED_LOSS_OFFSET
from sknas.study import Study
from sknas.trial import TrialResult, TrialState


def _space():
    return default_search_space("classification", max_epochs=12)


def _fake_score(candidate):
    """A deterministic, configuration-dependent score (networks near lr=1e-3 are best)."""
    if "lr" not in candidate.params:  # a classical family: middling
        return -1.5
    return -abs(np.log10(candidate.params["lr"]) + 3.0)


def _study(strategy, seed, queue=(), proposer="portfolio", journal=None):
    starts = [(queue, proposer)] if queue else []
    return Study(strategy, _space(), seed, starts=starts, journal=journal)


def _steps(study, n, fail_every=0, fail_at=()):
    """Ask and tell ``n`` trials (every ``fail_every``-th and those at ``fail_at`` fail)."""
    candidates = []
    for i in range(n):
        candidate = study.ask()
        failed = (fail_every and i % fail_every == 0) or i in fail_at
        state = TrialState.FAIL if failed else TrialState.COMPLETE
        score = float("nan") if failed else _fake_score(candidate)
        error = "boom" if failed else None
        study.tell(TrialResult(candidate, state, score=score, error=error), finished_at=float(i))
        candidates.append(candidate)
    return candidates


def _run(strategy, n, seed, fail_every=0):
    return _steps(_study(strategy, seed), n, fail_every)


def _assert_in_space(candidates):
    space = _space()
    for candidate in candidates:
        family = space[candidate.family]
        for name, value in candidate.params.items():
            assert family.dimensions[name].contains(value), (name, value)
        assert not any(name.startswith(ARCH_PREFIX) for name in candidate.params)
        if family.is_neural:
            assert candidate.genome.family == candidate.family
            assert candidate.budget_epochs == candidate.params["max_epochs"]
        else:
            assert candidate.genome is None and candidate.budget_epochs == 1
            assert set(candidate.params) == set(family.dimensions)


class StrategyContract:
    """Inherit and define ``make()`` to run the contract on a strategy."""

    def make(self):
        raise NotImplementedError

    def test_proposals_lie_in_the_space(self):
        _assert_in_space(_run(self.make(), 25, seed=0))

    def test_trial_ids_count_up_and_seeds_differ(self):
        candidates = _run(self.make(), 10, seed=0)
        assert [c.trial_id for c in candidates] == list(range(10))
        assert len({c.seed for c in candidates}) == 10

    def test_failures_can_be_told(self):
        # every other trial fails (NaN score): the search goes on with valid proposals,
        # and failures never make a proposer repeat the failed configuration at once
        candidates = _run(self.make(), 15, seed=1, fail_every=2)
        assert [c.trial_id for c in candidates] == list(range(15))
        _assert_in_space(candidates)
        keys = [candidate_key(c.family, c.params, c.genome) for c in candidates]
        assert all(keys[i] != keys[i + 1] for i in range(0, 14, 2))

    def test_same_seed_same_proposals(self):
        first = _run(self.make(), 15, seed=3)
        second = _run(self.make(), 15, seed=3)
        other = _run(self.make(), 15, seed=4)
        assert first == second
        assert first != other

    def test_a_resumed_study_proposes_what_the_original_proposes(self):
        journal = MemoryJournal("key", {})
        original = _study(self.make(), 5, journal=journal)
        _steps(original, 8)
        twin = _study(self.make(), 999, journal=journal)  # resumed: seeds and all from state
        assert [twin.ask() for _ in range(3)] == [original.ask() for _ in range(3)]

    def test_queued_configurations_come_first_adapted_to_the_space(self):
        study = _study(self.make(), 0, _QUEUE)
        candidates = [study.ask() for _ in range(5)]
        assert [c.proposer for c in candidates[:3]] == ["portfolio"] * 3
        assert [c.family for c in candidates[:3]] == ["mlp", "linear", "resnet_mlp"]
        mlp, linear = candidates[0], candidates[1]
        assert mlp.genome == _QUEUE[0].genome
        assert mlp.params["max_epochs"] == 12 and mlp.budget_epochs == 12  # clipped
        assert mlp.params["lr"] == 0.005 and "unknown" not in mlp.params
        assert linear.params == {"C": 1.0, "class_weight": "balanced"}  # regression's alpha
        assert all(c.proposer != "portfolio" for c in candidates[3:])

    def test_queued_trials_are_observed_like_any_other(self):
        journal = MemoryJournal("key", {})
        study = _study(self.make(), 1, _QUEUE, "init_from", journal=journal)
        candidates = _steps(study, 12, fail_at=(1,))  # a queued trial fails
        assert [c.trial_id for c in candidates] == list(range(12))
        assert len({c.seed for c in candidates}) == 12
        # the queue is spent once, failure included: nothing is proposed from it again
        assert [c.proposer for c in candidates[:3]] == ["init_from"] * 3
        assert all(c.proposer != "init_from" for c in candidates[3:])
        # and the same seed gives the same search
        assert _steps(_study(self.make(), 1, _QUEUE, "init_from"), 12, fail_at=(1,)) == candidates

    def test_pruned_trials_are_observed_without_error(self):
        study = _study(self.make(), 0)
        for i in range(10):
            candidate = study.ask()
            state = TrialState.PRUNED if i % 2 else TrialState.COMPLETE
            result = TrialResult(candidate, state, score=_fake_score(candidate))
            study.tell(result, finished_at=float(i))
        _assert_in_space([study.ask() for _ in range(5)])


_MLP = Genome("mlp", (LayerGene("dense", 64, "gelu", 0.1), LayerGene("dense", 64, "gelu", 0.1)))
_CNN = Genome("cnn", (LayerGene("conv", 8, pool=True), LayerGene("dense", 16)))
#: What an earlier search or a portfolio may hold: a network with a parameter out of range
#: and one this space lacks, a regression family's parameters, a family this space does
#: not have, a duplicate and an evolved residual network.
_QUEUE = [
    Configuration("mlp", {"lr": 0.005, "max_epochs": 50, "unknown": 1}, _MLP),
    Configuration("linear", {"alpha": 3.0, "class_weight": "balanced"}),
    Configuration("cnn", {"lr": 0.001}, _CNN),
    Configuration("mlp", {"lr": 0.005, "max_epochs": 50}, _MLP),
    Configuration(
        "resnet_mlp",
        {"lr": 0.001},
        Genome("resnet_mlp", (LayerGene("dense", 32), LayerGene("residual", 48, "silu"))),
    ),
]


class TestRandomStrategy(StrategyContract):
    def make(self):
        return RandomStrategy()


class TestHyperoptStrategy(StrategyContract):
    def make(self):
        return HyperoptStrategy(n_startup_trials=5)

    def test_starts_with_family_defaults_then_startup_then_tpe(self):
        candidates = _run(self.make(), 9, seed=0)
        proposers = [c.proposer for c in candidates]
        assert [c.family for c in candidates[:5]] == list(TABULAR_FAMILIES)
        assert proposers[:5] == ["default"] * 5  # the defaults count as start-up trials
        assert proposers[5:] == ["tpe"] * 4

    def test_queued_configurations_that_a_point_builds_become_observations(self):
        strategy = self.make()
        study = _study(strategy, 0, _QUEUE, "init_from")
        for i in range(3):
            study.tell(TrialResult(study.ask(), TrialState.COMPLETE, score=-0.5), finished_at=i)
        # the mlp and linear configurations are points of the space; the evolved residual
        # network (hidden size 1.5 x its width) is not, so TPE does not see it
        assert [doc["result"]["loss"] for doc in strategy.trials_.trials] == [0.5, 0.5]
        # families that started from a queued configuration skip their default
        assert [(c.proposer, c.family) for c in (study.ask(), study.ask())] == [
            ("default", "hist_gbdt"),
            ("default", "random_forest"),
        ]

    def test_pruned_trials_rank_below_every_completed_trial(self):
        strategy = self.make()
        study = _study(strategy, 0)
        outcomes = [
            (TrialState.COMPLETE, -0.9),
            (TrialState.PRUNED, -0.1),
            (TrialState.PRUNED, -0.2),
        ]
        for i, (state, score) in enumerate(outcomes):
            study.tell(TrialResult(study.ask(), state, score=score), finished_at=i)
        losses = [doc["result"]["loss"] for doc in strategy.trials_.trials]
        assert losses == [0.9, PRUNED_LOSS_OFFSET + 0.1, PRUNED_LOSS_OFFSET + 0.2]

    @pytest.mark.slow  # hundreds of TPE proposals
    def test_tpe_concentrates_on_the_good_region(self):
        # _fake_score peaks at lr = 1e-3: TPE should end up sampling nearer to it than random.
        def distance(candidates):
            return np.mean([-_fake_score(c) for c in candidates[-30:]])

        ratios = [
            distance(_run(HyperoptStrategy(n_startup_trials=10), 60, seed))
            / distance(_run(RandomStrategy(), 60, seed))
            for seed in range(3)
        ]
        assert np.mean(ratios) < 0.9, ratios

    @pytest.mark.slow  # hundreds of TPE proposals, twice
    def test_proposes_exactly_what_hyperopt_tpe_suggest_proposes(self):
        # The strategy caches hyperopt's posterior graph and observations; the points
        # (and their decoding) must be those of tpe.suggest and space_eval themselves.
        strategy = HyperoptStrategy(n_startup_trials=5)
        study = _study(strategy, 0)
        for i in range(40):
            tid = strategy.trials_.new_trial_ids(1)[0]
            ours = strategy._tpe.suggest(tid, strategy.trials_, seed=i)
            reference = tpe.suggest(
                [tid], strategy.domain_, strategy.trials_, i, n_startup_jobs=0, verbose=False
            )[0]
            assert ours["misc"]["vals"] == reference["misc"]["vals"]
            family, point = strategy._decode(ours)
            assignment = {k: v[0] for k, v in ours["misc"]["vals"].items() if v}
            expected = space_eval(strategy.expr_, assignment)
            assert family == expected["family"]
            assert point == pytest.approx(expected["point"])
            _steps(study, 1, fail_at=(0,) if i % 6 == 0 else ())


class TestRegularizedEvolutionStrategy(StrategyContract):
    def make(self):
        return RegularizedEvolutionStrategy(population_size=6, sample_size=3)

    def test_children_are_one_mutation_of_a_population_member_and_never_repeat(self):
        candidates = _run(self.make(), 40, seed=0)
        by_id = {c.trial_id: c for c in candidates}
        children = [c for c in candidates if c.proposer == "evolution"]
        assert len(children) >= 30
        for child in children:
            parent = by_id[child.parent_id]
            assert parent.trial_id < child.trial_id and parent.family == child.family
            changed_params = {k for k in child.params if child.params[k] != parent.params[k]}
            assert (child.genome != parent.genome) + len(changed_params) == 1
        keys = [candidate_key(c.family, c.params, c.genome) for c in candidates]
        assert len(set(keys)) == len(keys)

    def test_population_ages_out_its_oldest_member(self):
        strategy = self.make()
        _run(strategy, 20, seed=0)
        ids = [m.trial_id for m in strategy.population_]
        assert len(ids) == 6 and ids == sorted(ids) and ids[-1] == 19

    def test_evolution_improves_on_its_initial_population(self):
        candidates = _run(RegularizedEvolutionStrategy(), 80, seed=0)
        scores = [_fake_score(c) for c in candidates]
        assert np.mean(scores[-20:]) > np.mean(scores[:10])

    def test_queued_networks_join_the_population(self):
        strategy = self.make()
        study = _study(strategy, 0, _QUEUE, "init_from")
        for i in range(3):
            study.tell(TrialResult(study.ask(), TrialState.COMPLETE, score=-0.5), finished_at=i)
        assert [m.trial_id for m in strategy.population_] == [0, 2]

    def test_a_pruned_member_loses_every_tournament_against_a_completed_one(self):
        strategy = RegularizedEvolutionStrategy(population_size=2, sample_size=2)
        study = _study(strategy, 0, _QUEUE[:1] + _QUEUE[4:], "init_from")
        # the pruned mlp scored higher at its rung than the completed residual network
        for i, (state, score) in enumerate(
            [(TrialState.PRUNED, -0.1), (TrialState.COMPLETE, -0.9)]
        ):
            study.tell(TrialResult(study.ask(), state, score=score), finished_at=i)
        children = [c for c in _steps(study, 8) if c.proposer == "evolution"]
        assert children and all(c.parent_id == 1 for c in children[:1])


def _seeded(strategy, n_members, seed=0):
    """``strategy`` reset and seeded with ``n_members`` scored default networks."""
    space = _space()
    strategy.reset(space, np.random.default_rng(seed))
    params, genome = space["mlp"].decode(space["mlp"].default_point())
    members = [
        ScoredConfiguration(i, "mlp", params | {"lr": 10.0 ** -(i + 2)}, genome, -float(i))
        for i in range(n_members)
    ]
    strategy.seed_population(members)
    return strategy


def test_a_seeded_population_mutates_at_once_even_below_the_tournament_size():
    strategy = _seeded(RegularizedEvolutionStrategy(sample_size=4), 2)
    proposals = [strategy.propose(10 + i) for i in range(5)]
    assert {p.proposer for p in proposals} == {"evolution"}
    assert {p.parent_id for p in proposals} <= {0, 1}
    resumed = RegularizedEvolutionStrategy(sample_size=4)
    resumed.reset(_space(), np.random.default_rng(0))
    resumed.load_state_dict(strategy.state_dict())
    assert resumed.seeded_ and resumed.propose(20).proposer == "evolution"
    # without seeding, two members are too few: random networks until a tournament fills
    unseeded = RegularizedEvolutionStrategy(sample_size=4)
    unseeded.reset(_space(), np.random.default_rng(0))
    for member in _seeded(RegularizedEvolutionStrategy(), 2).population_:
        unseeded._join(member)
    assert unseeded.propose(10).proposer == "evolution:init"


class TestFusedStrategy(StrategyContract):
    def make(self):
        return FusedStrategy(n_tpe_trials=6, n_startup_trials=4)

    def test_tpe_observes_queued_configurations(self):
        strategy = self.make()
        study = _study(strategy, 0, _QUEUE)
        for i in range(3):
            study.tell(TrialResult(study.ask(), TrialState.COMPLETE, score=-0.5), finished_at=i)
        assert len(strategy.tpe_.trials_.trials) == 2
        assert [m.trial_id for m in strategy.scored_] == [0, 1, 2]

    def test_tpe_phase_then_both_proposers_with_parents_recorded(self):
        candidates = _run(self.make(), 40, seed=0)
        assert all(not c.proposer.startswith("evolution") for c in candidates[:6])
        later = [c.proposer for c in candidates[6:]]
        assert "evolution" in later and "tpe" in later
        assert all(c.parent_id is not None for c in candidates if c.proposer == "evolution")

    def test_evolution_is_seeded_with_the_best_tpe_trials(self):
        strategy = self.make()
        study = _study(strategy, 1)
        candidates = _steps(study, 7)
        best = sorted(candidates[:6], key=_fake_score)[-1]
        parents = [c.parent_id for c in _steps(study, 10) if c.parent_id is not None]
        assert parents and best.trial_id in {m.trial_id for m in strategy.evolution_.population_}

    def test_evolution_starts_after_as_few_trials_as_asked(self):
        candidates = _run(FusedStrategy(n_tpe_trials=3), 12, seed=0)
        assert all(not c.proposer.startswith("evolution") for c in candidates[:3])
        children = [c for c in candidates[3:] if c.proposer == "evolution"]
        assert children and all(c.parent_id < c.trial_id for c in children)

    def test_evolution_alone_until_tpe_is_past_its_random_start_up(self):
        strategy = FusedStrategy(n_tpe_trials=3, n_startup_trials=8)
        proposers = [c.proposer for c in _run(strategy, 30, seed=0)]
        assert proposers[:5] == ["default"] * 5  # the study's queue, then evolution at once
        assert proposers[5] == "evolution" and "tpe:startup" not in proposers
        # every scored trial that a point encodes counts towards TPE's start-up; once
        # past it, TPE takes its share again
        assert not strategy.tpe_.in_startup and "tpe" in proposers

    def test_a_pruned_trial_is_never_a_success_of_its_proposer(self):
        strategy = self.make()
        study = _study(strategy, 0)
        strategy.evolving_ = True
        for i, state in enumerate([TrialState.COMPLETE, TrialState.PRUNED]):
            study.tell(TrialResult(study.ask(), state, score=-0.5 + i), finished_at=i)
        assert list(strategy.outcomes_["tpe"]) == [True, False]

    def test_share_moves_towards_the_proposer_that_succeeds(self):
        strategy = self.make()
        _study(strategy, 0)  # resets it
        strategy.evolving_ = True
        strategy.outcomes_["evolution"].extend([True] * 12)
        strategy.outcomes_["tpe"].extend([False] * 12)
        assert strategy.tpe_share == strategy.tpe_share_bounds[0]
        strategy.outcomes_["evolution"].extend([False] * 12)
        strategy.outcomes_["tpe"].extend([True] * 12)
        assert strategy.tpe_share == strategy.tpe_share_bounds[1]
