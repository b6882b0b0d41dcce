"""scikit-learn's own estimator check suite, on both estimators, with a tiny budget."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknas import NASClassifier, NASRegressor

ESTIMATORS = [
    NASClassifier(n_trials=2, max_epochs=20),
    NASRegressor(n_trials=2, max_epochs=20),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
