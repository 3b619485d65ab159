"""Accuracy-versus-fairness scatter with its Pareto front."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import pareto_front
from ._labels import label_points

__all__ = ["plot_pareto_front"]


def _values(table, name):
    """Column for ``name`` (``"acc"`` -> ``mean_test_acc``); ``"-name"`` negates."""
    sign = 1.0
    if name.startswith("-") and name not in table and f"mean_test_{name}" not in table:
        sign, name = -1.0, name[1:]
    for key in (name, f"mean_test_{name}"):
        if key in table:
            return sign * np.asarray(table[key], dtype=np.float64), key, sign
    raise ValueError(f"{name!r} is not a column of cv_results (nor mean_test_{name}).")


def plot_pareto_front(cv_results, x, y, *, extra_points=None, annotate=None, ax=None,
                      xlabel=None, ylabel=None):
    """Scatter every candidate of a search and draw its Pareto front.

    Parameters
    ----------
    cv_results : dict or DataFrame
        ``GridSearchCV.cv_results_``.
    x, y : str
        Scores on the axes (``"acc"`` reads ``mean_test_acc``). A leading
        ``"-"`` plots the negated score, e.g. ``"-eo"`` shows the equalized
        odds *difference* that a fairness scorer stores negated. The front is
        computed with both scores maximised, as scikit-learn stores them.
    extra_points : dict or DataFrame, default=None
        Labelled reference points in the plotted units, e.g. fairlearn's
        mitigators: ``{"ExponentiatedGradient": (0.05, 0.84)}`` or a DataFrame
        with columns ``label``, ``x``, ``y``.
    annotate : str, default=None
        A parameter name (e.g. ``"lambda"`` or ``"estimator__lambda"``) whose
        value labels each front point (labels placed by :func:`label_points`,
        never overlapping).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when omitted.
    xlabel, ylabel : str, default=None
        Axis labels (default: the score names).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfair.plotting import plot_pareto_front
    >>> cv = {"params": [{"C": 1}, {"C": 2}, {"C": 3}],
    ...       "mean_test_acc": [0.90, 0.85, 0.80], "mean_test_eo": [-0.20, -0.25, -0.05]}
    >>> ax = plot_pareto_front(cv, "-eo", "acc", extra_points={"fairlearn": (0.1, 0.8)})
    >>> ax.get_xlabel()
    'eo (negated)'
    """
    import matplotlib.pyplot as plt

    table = (cv_results if isinstance(cv_results, pd.DataFrame)
             else pd.DataFrame(dict(cv_results))).reset_index(drop=True)
    xs, xkey, xsign = _values(table, x)
    ys, ykey, ysign = _values(table, y)
    front = pareto_front(table, [xkey, ykey])
    idx = front.index.to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(xs, ys, color="lightgrey", edgecolor="grey", label="candidates", zorder=2)
    order = idx[np.argsort(xs[idx])]
    ax.plot(xs[order], ys[order], "o-", color="tab:blue", label="Pareto front", zorder=3)
    if extra_points is not None:
        if isinstance(extra_points, pd.DataFrame):
            points = list(zip(extra_points["label"], extra_points["x"], extra_points["y"],
                              strict=True))
        else:
            points = [(label, px, py) for label, (px, py) in extra_points.items()]
        markers = ["s", "^", "D", "v", "P", "X", "*"]
        for k, (label, px, py) in enumerate(points):
            ax.scatter([px], [py], marker=markers[k % len(markers)], s=60, zorder=4,
                       label=str(label))
    if annotate is not None:
        params = table["params"] if "params" in table else [{}] * len(table)
        keep = [k for k in order if annotate in params[k]]
        texts = [f"{annotate}={params[k][annotate]:g}" if isinstance(
            params[k][annotate], int | float) else f"{annotate}={params[k][annotate]}"
            for k in keep]
        label_points(ax, xs[keep], ys[keep], texts, fontsize=8)
    def _label(key, sign):
        name = key[len("mean_test_"):] if key.startswith("mean_test_") else key
        return f"{name} (negated)" if sign < 0 else name

    ax.set_xlabel(xlabel or _label(xkey, xsign))
    ax.set_ylabel(ylabel or _label(ykey, ysign))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax
