"""The ensemble of experts (seed 000): stacking meta-estimators whose experts
each carry their own fairness weighting, with seed 000's three training stages."""

from ._classifier import ExpertEnsembleClassifier
from ._regressor import ExpertEnsembleRegressor

__all__ = ["ExpertEnsembleClassifier", "ExpertEnsembleRegressor"]
