"""Fairness metrics, group reports and metadata-routed scorers.

Every function takes ``sensitive_features=`` with the convention of
:func:`skfair.utils.encode_sensitive_features` (several columns mean
intersectional groups) and computes group statistics with vectorised counting
passes. Groups for which a metric is undefined are left out with an
:class:`UndefinedGroupWarning` naming them; results are never NaN.
"""

from ._activation import activation_ratio
from ._amplification import bias_amplification, directional_bias_amplification
from ._base import UndefinedGroupWarning
from ._classification import (
    GroupErrorSpread,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_score,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_error_spread,
    iou_fairness,
    statistical_parity_difference,
)
from ._pareto import ParetoRefit, pareto_front, pareto_refit
from ._regression import AGE_GROUP_LABELS, age_groups, chalearn_bias, mae_bias_score
from ._report import REPORT_METRICS, group_report
from ._scorers import (
    FAIRNESS_METRICS,
    FairnessScorer,
    make_fairness_scorer,
    make_tradeoff_scorer,
)

__all__ = [
    "AGE_GROUP_LABELS",
    "FAIRNESS_METRICS",
    "REPORT_METRICS",
    "FairnessScorer",
    "GroupErrorSpread",
    "ParetoRefit",
    "UndefinedGroupWarning",
    "activation_ratio",
    "age_groups",
    "bias_amplification",
    "chalearn_bias",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "directional_bias_amplification",
    "equal_opportunity_score",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_error_spread",
    "group_report",
    "iou_fairness",
    "mae_bias_score",
    "make_fairness_scorer",
    "make_tradeoff_scorer",
    "pareto_front",
    "pareto_refit",
    "statistical_parity_difference",
]
