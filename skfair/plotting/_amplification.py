"""Training bias versus predicted bias per label (the figures of Choi et al.)."""

from __future__ import annotations

import numpy as np

from ._labels import label_points

__all__ = ["plot_bias_amplification"]


def plot_bias_amplification(per_label, *, group=None, annotate=True, ax=None, title=None):
    """Scatter each label's training bias against its predicted bias.

    Points above the diagonal are labels whose predictions lean further
    towards ``group`` than the training data does (amplified bias).

    Parameters
    ----------
    per_label : pandas.DataFrame
        The table returned by :func:`skfair.metrics.bias_amplification` with
        ``return_per_label=True``.
    group : str, default=None
        The group whose bias ``b(o, group)`` is plotted; default: the first.
    annotate : bool, default=True
        Write each label's name next to its point (placed by
        :func:`label_points`, never overlapping).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when omitted.
    title : str, default=None
        Axes title; by default the mean amplification over the labels shown.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skfair.metrics import bias_amplification
    >>> from skfair.plotting import plot_bias_amplification
    >>> Y = np.array([[1, 0], [1, 0], [1, 1], [0, 1]])
    >>> A = ["man", "man", "woman", "woman"]
    >>> _, table = bias_amplification(Y, A, Y, A, return_per_label=True)
    >>> ax = plot_bias_amplification(table, group="man")
    >>> ax.get_xlabel()
    'training bias towards man'
    """
    import matplotlib.pyplot as plt

    try:
        train, pred = per_label["bias_train"], per_label["bias_pred"]
    except KeyError:
        raise ValueError(
            "per_label must be the table of bias_amplification(..., return_per_label=True)."
        ) from None
    groups = list(train.columns)
    group = groups[0] if group is None else str(group)
    if group not in groups:
        raise ValueError(f"group {group!r} is not one of {groups}.")
    x = train[group].to_numpy(dtype=np.float64)
    y = pred[group].to_numpy(dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="no amplification", zorder=1)
    ax.scatter(x, y, zorder=2, color=np.where(y > x, "tab:red", "tab:blue"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    if annotate:
        ax.apply_aspect()
        label_points(ax, x, y, [str(v) for v in per_label.index], fontsize=8)
    ax.set_xlabel(f"training bias towards {group}")
    ax.set_ylabel(f"predicted bias towards {group}")
    if title is None and "amplification" in per_label:
        title = f"mean bias amplification {per_label['amplification'].mean():+.3f}"
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax
