"""Point labels that do not overlap one another."""

from __future__ import annotations

import numpy as np

__all__ = ["label_points"]

# offsets tried around a point, nearest first (points): eight directions per ring
_RADII = (5, 9, 14, 20, 28, 38, 50, 65, 85)
_ANGLES = np.deg2rad([30, -30, 150, -150, 90, -90, 0, 180])


def _alignment(dx, dy):
    ha = "left" if dx > 1e-9 else ("right" if dx < -1e-9 else "center")
    va = "bottom" if dy > 1e-9 else ("top" if dy < -1e-9 else "center")
    return ha, va


def _merge(xy, labels, within):
    """Groups of points closer than ``within`` (display units) with their labels joined."""
    groups = []
    for k, p in enumerate(xy):
        for g in groups:
            if np.hypot(*(xy[g[0]] - p)) <= within:
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def label_points(ax, x, y, labels, *, colors=None, fontsize=7, merge_within=3.0,
                 marker_size=4.0, **text_kw):
    """Write a label next to each point so that no two labels overlap.

    Each label goes to the nearest free spot around its point (eight
    directions on growing rings), avoiding the other labels, the points and
    the edges of the axes; a label placed far from its point gets a thin
    leader line. Points closer together than ``merge_within`` share one label
    (their labels joined by commas), so identical results read ``"1, 4"``.
    Call it once the axes' limits and size are final (after plotting every
    point and fixing the layout): the placement is computed on screen.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : array-like of shape (n_points,)
        Data coordinates; non-finite points are not labelled.
    labels : sequence of str
    colors : sequence of colours, default=None
        One per point (the first of a merged group is used); default black.
    fontsize : float, default=7
    merge_within : float, default=3.0
        Distance in points below which points share a label.
    marker_size : float, default=4.0
        Half the side (points) of the box each point occupies.
    **text_kw
        Passed to :meth:`~matplotlib.axes.Axes.annotate` (e.g. ``fontweight``).

    Returns
    -------
    annotations : list of matplotlib.text.Annotation

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skfair.plotting import label_points
    >>> fig, ax = plt.subplots()
    >>> _ = ax.scatter([0, 0, 0.001, 1], [0, 0.05, 0, 1])
    >>> [a.get_text() for a in label_points(ax, [0, 0, 0.001, 1], [0, 0.05, 0, 1],
    ...                                      ["a", "b", "c", "d"])]
    ['a, c', 'b', 'd']
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    labels = [str(v) for v in labels]
    if not (len(x) == len(y) == len(labels)):
        raise ValueError(f"x, y and labels need one entry per point; got {len(x)}, {len(y)} "
                         f"and {len(labels)}.")
    colors = ["black"] * len(labels) if colors is None else list(colors)
    if len(colors) != len(labels):
        raise ValueError(f"colors needs one entry per point; got {len(colors)} for "
                         f"{len(labels)} points.")
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not finite.size:
        return []
    ax.get_xlim(), ax.get_ylim()  # settle pending autoscaling before reading positions
    fig = ax.figure
    pt = fig.dpi / 72.0  # display units per point
    xy = ax.transData.transform(np.column_stack([x[finite], y[finite]]))
    groups = _merge(xy, labels, merge_within * pt)
    half = marker_size * pt
    from matplotlib.transforms import Bbox

    obstacles = [Bbox.from_extents(px - half, py - half, px + half, py + half)
                 for px, py in xy]
    frame = ax.get_window_extent()
    placed, out = [], []
    for g in groups:
        k = finite[g[0]]
        text = ", ".join(labels[finite[i]] for i in g)
        ann = ax.annotate(text, (x[k], y[k]), textcoords="offset points", xytext=(0, 0),
                          fontsize=fontsize, color=colors[k], annotation_clip=False,
                          **text_kw)
        ann.set_in_layout(False)
        best, best_cost = None, np.inf
        for r in _RADII:
            for a in _ANGLES:
                dx, dy = r * np.cos(a), r * np.sin(a)
                ha, va = _alignment(round(dx, 6), round(dy, 6))
                ann.xyann = (dx, dy)
                ann.set_ha(ha)
                ann.set_va(va)
                box = ann.get_window_extent().padded(1.0 * pt)
                inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                          and box.y1 <= frame.y1)
                cost = sum(_overlap(box, o) for o in placed + obstacles)
                cost += 0.0 if inside else 1e6
                if cost < best_cost:
                    best, best_cost = (dx, dy, ha, va, box), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        ann.remove()
        dx, dy, ha, va, box = best
        leader = ({"arrowstyle": "-", "color": colors[k], "lw": 0.5, "alpha": 0.7,
                   "shrinkA": 0, "shrinkB": 2} if np.hypot(dx, dy) > 12 else None)
        ann = ax.annotate(text, (x[k], y[k]), textcoords="offset points", xytext=(dx, dy),
                          ha=ha, va=va, fontsize=fontsize, color=colors[k],
                          annotation_clip=False, arrowprops=leader, **text_kw)
        ann.set_in_layout(False)
        placed.append(box)
        out.append(ann)
    return out


def _overlap(a, b):
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0

