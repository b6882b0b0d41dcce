"""The only import site of scikit-learn private API (parameter and weight validation).

Kept in one place so that a scikit-learn release that moves them breaks one file.
"""

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = ["HasMethods", "Interval", "StrOptions", "check_sample_weight"]

check_sample_weight = _check_sample_weight
