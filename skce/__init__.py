"""skce: a scikit-learn MLP classifier with a selectable cost and solver.

Its forward pass, backpropagation and optimizer steps are compiled with
Numba; see :class:`MLPCostClassifier` and :mod:`skce.costs`.
"""

from ._display import LossCurveDisplay
from ._estimator import MLPCostClassifier
from ._params import InvalidParameterError

__version__ = "0.1.0"

__all__ = [
    "InvalidParameterError",
    "LossCurveDisplay",
    "MLPCostClassifier",
    "__version__",
]
