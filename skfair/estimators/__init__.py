"""Fairness-aware neural estimators (skorch-based, scikit-learn contract).

The estimators are scikit-learn estimators whose ``fit`` trains a private
skorch network with the loss ``task + lam * fairness`` (see
:mod:`skfair.estimators._base` for the design and the hooks that subclasses
override). Networks: :class:`MLP` (default), :class:`SmallCNN`,
:class:`TorchvisionBackbone`.
"""

from ._attribute_aware import AttributeAwareClassifier, AttributeAwareRegressor
from ._base import FairNetBase
from ._classifier import FairNetClassifier
from ._cnn import SmallCNN
from ._mlp import MLP
from ._multilabel import FairNetMultiLabelClassifier
from ._regressor import FairNetRegressor
from ._sampler import GroupBalancedBatchSampler
from ._torchvision import TorchvisionBackbone

__all__ = [
    "MLP",
    "AttributeAwareClassifier",
    "AttributeAwareRegressor",
    "FairNetBase",
    "FairNetClassifier",
    "FairNetMultiLabelClassifier",
    "FairNetRegressor",
    "GroupBalancedBatchSampler",
    "SmallCNN",
    "TorchvisionBackbone",
]
