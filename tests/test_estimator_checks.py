"""scikit-learn's own estimator check suite, on both estimators, with a tiny budget."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknas import NASClassifier, NASRegressor

ESTIMATORS = [
    NASClassifier(n_trials=2, max_epochs=20),
    NASRegressor(n_trials=2, max_epochs=20),
]

#: The one check not expected to pass, and why. scikit-learn marks it so for its own
#: HistGradientBoosting*, RandomForest* and MLP* estimators too.
#: ``check_sample_weight_equivalence_on_dense_data`` demands that integer weights give
#: the same predictions (to 1e-7) as repeated rows. The search holds out a random
#: validation split row by row, so repeated rows are split differently (copies of a
#: training row land in the validation part), and networks see other mini-batches.
#: Weights do act as repeats in distribution: tests/test_sample_weight.py checks that on
#: one split, weighted and repeated rows train and score alike for each family, and that
#: zero weights are exactly removed rows.
_WEIGHT_EQUIVALENCE = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the validation split and mini-batches differ for repeated rows; "
        "equivalence in distribution is tested in tests/test_sample_weight.py"
    )
}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda _: _WEIGHT_EQUIVALENCE)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
