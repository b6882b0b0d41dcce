"""Successive halving: rungs, promotion rule, pruning inside training."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sknas.evaluation import Evaluator, make_split
from sknas.fidelity import Fidelity, SuccessiveHalving
from sknas.scoring import get_prediction_scorer
from sknas.space import default_search_space
from sknas.trial import Candidate, TrialResult, TrialState


@pytest.mark.parametrize(
    ("budget", "rungs"), [(50, (6, 17, 50)), (9, (1, 3, 9)), (3, (1, 3)), (1, (1,))]
)
def test_rungs_grow_by_the_reduction_factor(budget, rungs):
    assert SuccessiveHalving(3, 3).rungs_for(budget) == rungs


def test_only_the_top_third_continues():
    rule = Fidelity((3, 9, 27), ((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), (0.9, 0.8)), 3)
    # 9 scores with ours: the top 3 continue.
    assert rule.should_continue(0, 0.75)
    assert not rule.should_continue(0, 0.55)
    assert rule.should_continue(1, 0.0)  # the first 3 trials at a rung always continue
    assert not rule.should_continue(2, 1.0)  # the last rung ends training


def _candidate(trial_id, budget, lr=2e-3):
    space = default_search_space("classification", max_epochs=budget)
    params, genome = space["mlp"].decode(space["mlp"].default_point() | {"lr": lr})
    return Candidate(trial_id, "mlp", params, genome, 7, budget, "test")


def test_table_records_rung_scores_and_hands_them_to_later_trials():
    halving = SuccessiveHalving(3, 3)
    first = _candidate(0, 27)
    first = first.__class__(**{**first.__dict__, "fidelity": halving.fidelity_for(first)})
    halving.record(TrialResult(first, TrialState.COMPLETE, score=0.9, rung_scores=(0.5, 0.7)))
    short = _candidate(1, 3)  # two rungs (1, 3): maps onto the table's top rungs
    assert halving.fidelity_for(short).competitors == ((0.7,),)
    assert halving.fidelity_for(_candidate(2, 27)).competitors == ((0.5,), (0.7,))


@pytest.fixture(scope="module")
def evaluator():
    X, y = make_classification(n_samples=600, n_features=10, n_informative=6, random_state=0)
    split = make_split(X, y, task="classification", validation_fraction=0.25, seed=0)
    return Evaluator(split, get_prediction_scorer(None, "classification"), patience=100)


def test_a_weak_trial_is_pruned_at_its_first_rung(evaluator):
    candidate = _candidate(0, 18)
    strong = (1.0,) * 8
    fidelity = Fidelity((2, 6, 18), (strong, ()), 3)
    result = evaluator(candidate.__class__(**{**candidate.__dict__, "fidelity": fidelity}))
    assert result.state is TrialState.PRUNED
    assert result.n_epochs == 2 and len(result.rung_scores) == 1
    assert np.isfinite(result.score) and result.member is not None


def test_a_promoted_trial_keeps_training_the_same_network(evaluator):
    plain = evaluator(_candidate(0, 18))
    candidate = _candidate(0, 18)
    weak = (0.0,) * 8
    fidelity = Fidelity((2, 6, 18), (weak, weak), 3)
    promoted = evaluator(candidate.__class__(**{**candidate.__dict__, "fidelity": fidelity}))
    assert promoted.state is TrialState.COMPLETE and len(promoted.rung_scores) == 2
    assert promoted.n_epochs == plain.n_epochs == 18  # continued, not restarted
    np.testing.assert_array_equal(promoted.valid_pred, plain.valid_pred)
