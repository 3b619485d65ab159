"""The ensemble of experts (Dieguez & Valverde's ChaLearn fair age estimation
entry): stacking meta-estimators whose experts each carry their own fairness
weighting, trained in that entry's three stages."""

from ._classifier import ExpertEnsembleClassifier
from ._regressor import ExpertEnsembleRegressor

__all__ = ["ExpertEnsembleClassifier", "ExpertEnsembleRegressor"]
