"""Generative models of feature vectors.

:class:`DescriptiveModel` is Choi et al.'s descriptive (energy-based) model of
embeddings, learned by contrastive divergence and sampled with Langevin
dynamics; its samples estimate expectations over the feature distribution
(the bias-amplification loss of
:class:`skfair.estimators.FairNetMultiLabelClassifier`).
"""

from ._descriptive import DescriptiveModel

__all__ = ["DescriptiveModel"]
