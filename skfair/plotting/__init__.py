"""Plots of group metrics, accuracy-fairness fronts and bias amplification.

Point labels are placed by :func:`label_points`, so that they never overlap.

Every function draws with matplotlib (imported lazily, so any backend
including ``Agg`` works) and returns the ``Axes`` or ``Figure`` it drew on.
"""

from ._amplification import plot_bias_amplification
from ._heatmap import plot_group_heatmap
from ._labels import label_points
from ._pareto import plot_pareto_front

__all__ = ["label_points", "plot_bias_amplification", "plot_group_heatmap", "plot_pareto_front"]
