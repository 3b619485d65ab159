"""Differentiable fairness losses for PyTorch.

Pure functions take one mini-batch -- class probabilities (or per-label
probabilities, predictions, per-sample losses), targets and integer group
codes -- and return a differentiable scalar: plain PyTorch, vectorised (one-hot
matrix products, no Python loop over rows), differentiated by autograd, and
under ``torch.compile`` traced as one graph. They follow the empty-group rule:
a group or (class, group) cell absent from the batch drops out of that batch's
term and nothing becomes NaN. The ``nn.Module`` wrappers take logits with one
uniform call ``loss(input, y, groups, n_groups=...)`` and describe themselves
(``role``, ``task``, ``requires_y``) for the estimators, which train
``task loss + lam * fairness term``; see :func:`get_fairness_loss`.
"""

from ._adversarial import (
    AdversarialHead,
    GradientReversal,
    adversarial_loss,
    confusion_loss,
    grad_reverse,
)
from ._bias_amplification import bias_amplification_loss, cooccurrence_ratio
from ._fairness import demographic_parity_loss, equalized_odds_loss, iou_fairness_loss
from ._group_balanced import group_balanced_coefficients, group_balanced_loss
from ._modules import (
    AdversarialLoss,
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    FairnessLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
)
from ._registry import FAIRNESS_LOSSES, get_fairness_loss
from ._regression import group_mae_parity_loss, group_mean_parity_loss

__all__ = [
    "FAIRNESS_LOSSES", "AdversarialHead", "AdversarialLoss", "BiasAmplificationLoss",
    "DemographicParityLoss", "EqualizedOddsLoss", "FairnessLoss", "GradientReversal",
    "GroupBalancedLoss", "IoUFairnessLoss", "MAEParityLoss", "MeanParityLoss",
    "adversarial_loss", "bias_amplification_loss", "confusion_loss", "cooccurrence_ratio",
    "demographic_parity_loss", "equalized_odds_loss", "get_fairness_loss", "grad_reverse",
    "group_balanced_coefficients", "group_balanced_loss", "group_mae_parity_loss",
    "group_mean_parity_loss", "iou_fairness_loss",
]
