"""Fairness sample weights.

Pure functions (arrays in, weights out), small grid-searchable weighting
objects with ``get_weights(sensitive_features=None, y=None)``, and
:class:`WeightedEstimator`, which fits any scikit-learn estimator that accepts
``sample_weight`` with them.
"""

from ._affirmative import (
    AffirmativeActionWeighting,
    affirmative_action_weights,
    select_worst_subgroups,
)
from ._base import BaseWeighting, target_attribute
from ._class_balanced import ClassBalancedWeighting, class_balanced_weights
from ._manual import ManualWeighting, manual_weights
from ._product import ProductWeighting
from ._support import SupportWeighting, support_weights
from ._weighted_estimator import WeightedEstimator

__all__ = [
    "AffirmativeActionWeighting",
    "BaseWeighting",
    "ClassBalancedWeighting",
    "ManualWeighting",
    "ProductWeighting",
    "SupportWeighting",
    "WeightedEstimator",
    "affirmative_action_weights",
    "class_balanced_weights",
    "manual_weights",
    "select_worst_subgroups",
    "support_weights",
    "target_attribute",
]
