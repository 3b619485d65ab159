"""Plots of group metrics, accuracy-fairness fronts and bias amplification.

Every function draws with matplotlib (imported lazily, so any backend
including ``Agg`` works) and returns the ``Axes`` or ``Figure`` it drew on.
"""

from ._amplification import plot_bias_amplification
from ._heatmap import plot_group_heatmap
from ._pareto import plot_pareto_front

__all__ = ["plot_bias_amplification", "plot_group_heatmap", "plot_pareto_front"]
