"""Per-subgroup metric heatmaps (as Venkatesh et al.'s: race rows, age columns, gender panels)."""

from __future__ import annotations

import numpy as np

from ..metrics import group_report
from ..utils import check_sensitive_features, encode_sensitive_features

__all__ = ["plot_group_heatmap"]


def plot_group_heatmap(y_true, y_pred, *, sensitive_features, rows, columns, panels=None,
                       metric="accuracy", pos_label=None, annotate=True, fmt=".2f",
                       cmap="viridis", vmin=None, vmax=None, min_n=30, axes=None,
                       figsize=None):
    """Heatmap of a metric for every intersection of two or three attributes.

    One panel per value of ``panels`` (e.g. gender), each a grid with one row
    per value of ``rows`` (e.g. race) and one column per value of ``columns``
    (e.g. age group), as the per-subgroup accuracy tables of Venkatesh et al.'s "Frowning upon
    Bias". Each
    cell shows its value and its number of rows ``n``; cells with fewer than
    ``min_n`` rows are faded and hatched (their value is mostly noise), cells
    without rows (or where the metric is undefined) are grey and marked
    ``"n/a"``; all panels share one colour scale. A new figure shares the row
    labels and the column title between panels (constrained layout).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels (or values, for a regression metric).
    sensitive_features : DataFrame or dict
        The attributes, one column each; ``rows``, ``columns`` and ``panels``
        name three of them (or two, without ``panels``).
    rows, columns : str
        Attributes on the vertical and horizontal axes.
    panels : str, default=None
        Attribute splitting the figure into panels.
    metric : str or callable, default="accuracy"
        Any metric of :func:`skfair.metrics.group_report`.
    pos_label : scalar, default=None
        Positive label for binary-rate metrics.
    annotate : bool, default=True
        Write each cell's value (and group size ``n``).
    fmt : str, default=".2f"
        Format of the annotations.
    cmap : str or Colormap, default="viridis"
        Colour map.
    vmin, vmax : float, default=None
        Colour scale limits; by default the range of all cells.
    min_n : int or None, default=30
        Cells with fewer rows are drawn faded and hatched (``None`` or 0:
        none).
    axes : sequence of matplotlib Axes, default=None
        One Axes per panel; a new figure is made when omitted.
    figsize : tuple, default=None
        Size of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfair.plotting import plot_group_heatmap
    >>> sf = {"race": list("aabbaabb"), "age": list("xyxyxyxy"), "sex": list("FFFFMMMM")}
    >>> fig = plot_group_heatmap([1, 0, 1, 0, 1, 1, 0, 0], [1, 0, 0, 0, 1, 1, 1, 0],
    ...                          sensitive_features=sf, rows="race", columns="age",
    ...                          panels="sex")
    >>> len(fig.axes)  # two panels and the colour bar
    3
    >>> fig.axes[0].texts[0].get_text().split()  # race=a, age=x, sex=F: value and rows
    ['1.00', 'n=1']
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int | np.integer)
                              or min_n < 0):
        raise ValueError(f"min_n must be a non-negative integer or None; got {min_n!r}.")
    frame = check_sensitive_features(sensitive_features, n_samples=len(y_true))
    attrs = [rows, columns] + ([panels] if panels is not None else [])
    missing = [a for a in attrs if a not in frame.columns]
    if missing or len(set(attrs)) != len(attrs):
        raise ValueError(
            f"rows/columns/panels must name distinct attributes of sensitive_features "
            f"{list(frame.columns)}; got {attrs}."
        )
    sub = frame[attrs]
    enc = encode_sensitive_features(sub)
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    report = group_report(y_true, y_pred, sensitive_features=enc, metrics={name: metric},
                          pos_label=pos_label, marginals=False, overall=False)
    cats = dict(zip(enc.names, enc.categories, strict=True))
    panel_values = list(cats[panels]) if panels is not None else [None]
    r_index = {v: i for i, v in enumerate(cats[rows])}
    c_index = {v: i for i, v in enumerate(cats[columns])}
    grids, counts = [], []
    values = report[name].to_numpy(dtype=np.float64, na_value=np.nan)
    for pv in panel_values:
        grid = np.full((len(r_index), len(c_index)), np.nan)
        ns = np.zeros_like(grid, dtype=np.int64)
        sel = np.ones(len(report), dtype=bool) if pv is None else (
            report[panels].to_numpy() == pv
        )
        for k in np.flatnonzero(sel):
            i, j = r_index[report[rows].iloc[k]], c_index[report[columns].iloc[k]]
            grid[i, j] = values[k]
            ns[i, j] = report["n"].iloc[k]
        grids.append(grid)
        counts.append(ns)
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
    hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
    created = axes is None
    if created:
        width = 1.2 + 0.9 * len(c_index)
        fig, axes = plt.subplots(
            1, len(panel_values), squeeze=False, sharey=True, layout="constrained",
            figsize=figsize or (width * len(panel_values) + 1.5, 1.2 + 0.6 * len(r_index)),
        )
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) != len(panel_values):
            raise ValueError(f"axes needs {len(panel_values)} Axes (one per panel).")
        fig = axes[0].figure
    colormap = plt.get_cmap(cmap).with_extremes(bad="lightgrey")
    image, any_few = None, False
    shared = created and len(axes) > 1
    for k, (ax, pv, grid, ns) in enumerate(zip(axes, panel_values, grids, counts,
                                               strict=True)):
        few = (ns < min_n) & np.isfinite(grid) if min_n else np.zeros(grid.shape, bool)
        any_few |= bool(few.any())
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=colormap, vmin=lo, vmax=hi,
                          aspect="auto", alpha=np.where(few, 0.35, 1.0))
        for i, j in zip(*np.nonzero(few), strict=True):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                   edgecolor="grey", linewidth=0, gid="few rows"))
        ax.set_xticks(range(len(c_index)), [str(v) for v in c_index])
        ax.set_yticks(range(len(r_index)), [str(v) for v in r_index])
        if not shared:
            ax.set_xlabel(columns)
        if not shared or k == 0:
            ax.set_ylabel(rows)
        if pv is not None:
            ax.set_title(f"{panels}={pv}")
        if annotate:
            mid = (lo + hi) / 2
            for i in range(grid.shape[0]):
                for j in range(grid.shape[1]):
                    if np.isfinite(grid[i, j]):
                        text = f"{grid[i, j]:{fmt}}\nn={ns[i, j]}"
                        color = ("black" if few[i, j] or grid[i, j] >= mid else "white")
                    else:
                        text, color = "n/a", "dimgrey"
                    ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    if shared:
        fig.supxlabel(columns, fontsize=10)
    label = name + (f"\n(faded, hatched: n < {min_n})" if any_few else "")
    fig.colorbar(image, ax=axes, label=label)
    return fig
