"""Post-processing: group-aware decision rules fitted on held-out (validation) rows.

:class:`FairThresholdClassifier` keeps a fitted classifier's scores and
chooses, per sensitive group, thresholds (binary) or class-score offsets
(multi-class) that maximise accuracy under demographic parity, equal
opportunity, equalized odds or a worst-group floor, within a tolerance.
:class:`FairRegressionCorrector` does the same for regression with a per-group
affine correction and levelling offsets. Both work with the sensitive groups given at predict time
or inferred by a group classifier; :func:`bake_rule` folds a rule with an
inferred group head into a skfair network's output layer.
"""

from ._bake import EmbeddingGroupClassifier, GroupOffsetHead, bake_rule
from ._regression import FairRegressionCorrector
from ._threshold import FairThresholdClassifier

__all__ = [
    "EmbeddingGroupClassifier",
    "FairRegressionCorrector",
    "FairThresholdClassifier",
    "GroupOffsetHead",
    "bake_rule",
]
