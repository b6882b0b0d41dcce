"""The only import site of scikit-learn private API (parameter validation).

Kept in one place so that a scikit-learn release that moves them breaks one file.
"""

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = ["HasMethods", "Interval", "StrOptions"]
