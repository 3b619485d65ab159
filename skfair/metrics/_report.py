"""Per-group, per-intersection and per-attribute reports as one tidy DataFrame."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._base import (
    UndefinedGroupWarning,
    _absent_cells,
    _check_1d,
    _check_labels,
    _check_no_missing,
    _check_numeric,
    _check_same_length,
    _check_sample_weight,
    _confusion,
    _encode,
    _resolve_pos_label,
)

__all__ = ["REPORT_METRICS", "group_report"]

ALL = "(all)"

# name -> (kind, needs the positive label)
_CLASSIFICATION = {
    "accuracy": False,
    "error_rate": False,
    "balanced_accuracy": False,
    "mean_iou": False,
    "selection_rate": True,
    "true_positive_rate": True,
    "false_positive_rate": True,
    "true_negative_rate": True,
    "false_negative_rate": True,
}
_REGRESSION = ("mae", "mse", "rmse", "mean_prediction", "mean_target")
_ALIASES = {
    "acc": "accuracy",
    "tpr": "true_positive_rate",
    "recall": "true_positive_rate",
    "fpr": "false_positive_rate",
    "tnr": "true_negative_rate",
    "fnr": "false_negative_rate",
    "selection": "selection_rate",
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
}

#: Names of the vectorised metrics :func:`group_report` computes itself.
REPORT_METRICS = tuple(_CLASSIFICATION) + _REGRESSION


def _resolve_metrics(metrics):
    """List of ``(column name, builtin name or callable)``."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    items = metrics.items() if isinstance(metrics, Mapping) else [
        (m if isinstance(m, str) else getattr(m, "__name__", repr(m)), m) for m in metrics
    ]
    out = []
    for name, spec in items:
        if isinstance(spec, str):
            key = _ALIASES.get(spec, spec)
            if key not in _CLASSIFICATION and key not in _REGRESSION:
                raise ValueError(
                    f"Unknown metric {spec!r}; use a callable (y_true, y_pred) -> float or "
                    f"one of {sorted(REPORT_METRICS) + sorted(_ALIASES)}."
                )
            out.append((str(name), key))
        elif callable(spec):
            out.append((str(name), spec))
        else:
            raise TypeError(f"metrics entries must be str or callable, got {type(spec).__name__}.")
    if not out:
        raise ValueError("metrics is empty; name at least one metric.")
    names = [n for n, _ in out]
    if len(set(names)) != len(names) or {"n", "level", "group"} & set(names):
        raise ValueError(f"metric names must be unique and not 'n'/'level'/'group': {names}.")
    return out


def _levels(enc, *, overall, marginals):
    """``[(level name, table of attribute values, map intersection -> row), ...]``."""
    levels = []
    names = enc.names
    if overall:
        table = pd.DataFrame({n: [ALL] for n in names}, dtype=object)
        table["group"] = ["overall"]
        levels.append(("overall", table, np.zeros(enc.n_groups, dtype=np.int64)))
    if marginals and enc.n_attributes > 1:
        for j, name in enumerate(names):
            cats = pd.Index(enc.categories[j])
            gcode = cats.get_indexer(enc.groups[name].astype(object))
            values, mapping = np.unique(gcode, return_inverse=True)
            table = pd.DataFrame({n: [ALL] * len(values) for n in names}, dtype=object)
            table[name] = list(cats[values])
            table["group"] = [f"{name}={v}" for v in cats[values]]
            levels.append((name, table, mapping.reshape(-1)))
    table = enc.groups.reset_index(drop=True).astype(object)
    table["group"] = enc.labels() if enc.n_attributes > 1 else [
        f"{names[0]}={v}" for v in table[names[0]]
    ]
    level = "intersection" if enc.n_attributes > 1 else names[0]
    levels.append((level, table, np.arange(enc.n_groups)))
    return levels


def _absent(enc, *, marginals):
    """``(level, group, "*", "no rows")`` for value combinations without rows."""
    out = []
    if enc.n_attributes == 1:
        name = enc.names[0]
        return [(name, f"{name}={cell}", "*", "no rows") for cell in _absent_cells(enc)]
    if marginals:
        for j, name in enumerate(enc.names):
            used = pd.Index(enc.categories[j]).get_indexer(enc.groups[name].astype(object))
            for k in np.setdiff1d(np.arange(len(enc.categories[j])), used):
                out.append((name, f"{name}={enc.categories[j][k]}", "*", "no rows"))
    out.extend(("intersection", cell, "*", "no rows") for cell in _absent_cells(enc))
    return out


def _aggregate(stats, mapping, n_rows):
    out = np.zeros((n_rows,) + stats.shape[1:])
    np.add.at(out, mapping, stats)
    return out


def _divide(num, den):
    out = np.zeros(np.broadcast(num, den).shape)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    return out, np.broadcast_to(ok, out.shape).copy()


def _classification_values(key, cm, pos):
    """Values and definedness of a builtin classification metric per row."""
    n = cm.sum(axis=(1, 2))
    hit = np.diagonal(cm, axis1=1, axis2=2)
    true, pred = cm.sum(axis=2), cm.sum(axis=1)
    if key in ("accuracy", "error_rate"):
        acc, ok = _divide(hit.sum(axis=1), n)
        return (acc if key == "accuracy" else 1.0 - acc), ok, "no rows"
    if key == "balanced_accuracy":
        recall, present = _divide(hit, true)
        k = present.sum(axis=1)
        vals, ok = _divide(np.where(present, recall, 0.0).sum(axis=1), k)
        return vals, ok, "no rows"
    if key == "mean_iou":
        iou, present = _divide(hit, true + pred - hit)
        k = present.sum(axis=1)
        vals, ok = _divide(np.where(present, iou, 0.0).sum(axis=1), k)
        return vals, ok, "no rows"
    tp, t_pos, p_pos = hit[:, pos], true[:, pos], pred[:, pos]
    if key == "selection_rate":
        vals, ok = _divide(p_pos, n)
        return vals, ok, "no rows"
    if key in ("true_positive_rate", "false_negative_rate"):
        vals, ok = _divide(tp, t_pos)
        return (vals if key == "true_positive_rate" else 1.0 - vals), ok, "no positive rows"
    vals, ok = _divide(p_pos - tp, n - t_pos)  # false positive rate
    return (vals if key == "false_positive_rate" else 1.0 - vals), ok, "no negative rows"


def _regression_values(key, sums):
    w, s_abs, s_sq, s_pred, s_true = sums.T
    if key == "mae":
        vals, ok = _divide(s_abs, w)
    elif key in ("mse", "rmse"):
        vals, ok = _divide(s_sq, w)
        vals = np.sqrt(vals) if key == "rmse" else vals
    elif key == "mean_prediction":
        vals, ok = _divide(s_pred, w)
    else:
        vals, ok = _divide(s_true, w)
    return vals, ok, "zero total weight"


def group_report(y_true, y_pred, *, sensitive_features,
                 metrics=("accuracy", "selection_rate", "true_positive_rate"),
                 pos_label=None, sample_weight=None, marginals=True, overall=True):
    """Metrics per group, per intersection and per attribute, as a tidy DataFrame.

    The built-in metrics are computed from per-intersection sufficient
    statistics gathered in one :func:`numpy.bincount` pass, then summed up to
    each attribute's marginal groups and to the overall row, so a report on a
    million rows takes milliseconds. Arbitrary callables ``f(y_true, y_pred)
    -> float`` (any scikit-learn metric) are applied to each group's rows, as
    fairlearn's ``MetricFrame`` does.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (or values, for regression metrics).
    y_pred : array-like of shape (n_samples,)
        Predicted labels (or values).
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    metrics : str, callable, list or dict, default=("accuracy", "selection_rate", \
"true_positive_rate")
        Built-in names (see ``REPORT_METRICS``: ``accuracy``, ``error_rate``,
        ``balanced_accuracy``, ``mean_iou``, ``selection_rate``,
        ``true_positive_rate``, ``false_positive_rate``, ``true_negative_rate``,
        ``false_negative_rate``, and for regression ``mae``, ``mse``,
        ``rmse``, ``mean_prediction``, ``mean_target``; aliases ``tpr``,
        ``fpr``, ...), callables, or a dict ``column name -> metric``.
    pos_label : scalar, default=None
        Positive label of the binary rates (``1`` by default for ``{0, 1}`` or
        ``{-1, 1}`` labels; required otherwise).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the built-in metrics (``n`` stays a row count).
    marginals : bool, default=True
        With several attributes, also report each attribute on its own.
    overall : bool, default=True
        Include an ``"overall"`` row.

    Returns
    -------
    report : pandas.DataFrame
        One row per group: ``level`` (``"overall"``, an attribute name for
        marginal rows, ``"intersection"``), one column per attribute (``"(all)"``
        where the row aggregates over it), ``group`` (readable label), ``n``
        (rows) and one column per metric. A metric undefined for a group
        (e.g. a true positive rate without positive rows) is ``<NA>`` in a
        nullable ``Float64`` column, never a silent NaN or 0.
        ``report.attrs["excluded"]`` lists those cells and the intersection
        cells of the attributes' values that have no rows at all (``metric``
        ``"*"``), with the reason; a :class:`~skfair.metrics.UndefinedGroupWarning`
        names them too.

    See Also
    --------
    fairlearn.metrics.MetricFrame : the row-by-group equivalent.

    Examples
    --------
    >>> from skfair.metrics import group_report
    >>> y_true = [1, 0, 1, 0, 1, 1]
    >>> y_pred = [1, 0, 0, 0, 1, 1]
    >>> group_report(y_true, y_pred, sensitive_features={"sex": list("FFFMMM")})
         level  sex    group  n  accuracy  selection_rate  true_positive_rate
    0  overall  (all)  overall  6  0.833333             0.5                0.75
    1      sex      F    sex=F  3  0.666667        0.333333                 0.5
    2      sex      M    sex=M  3       1.0        0.666667                 1.0
    """
    resolved = _resolve_metrics(metrics)
    y_true_raw = _check_1d(y_true, "y_true")
    y_pred_raw = _check_1d(y_pred, "y_pred")
    _check_same_length(y_true=y_true_raw, y_pred=y_pred_raw)
    n_samples = len(y_true_raw)
    enc = _encode(sensitive_features, n_samples, min_groups=1)
    w = _check_sample_weight(sample_weight, n_samples)
    keys = {spec for _, spec in resolved if isinstance(spec, str)}
    cls_keys = keys & set(_CLASSIFICATION)
    reg_keys = keys & set(_REGRESSION)

    group_stats = {}
    pos = None
    if cls_keys:
        t = _check_labels(y_true_raw, "y_true")
        p = _check_labels(y_pred_raw, "y_pred")
        classes, cm = _confusion(enc.codes, t, p, enc.n_groups, sample_weight=w)
        if any(_CLASSIFICATION[k] for k in cls_keys):
            if pos_label is None and len(classes) > 2:
                raise ValueError(
                    "group_report: the binary rates (selection_rate, true_positive_rate, "
                    "...) need pos_label for multi-class targets."
                )
            pos = _resolve_pos_label(classes, pos_label)
            if pos is None:  # positive label absent from the data: a zero class
                cm = np.pad(cm, ((0, 0), (0, 1), (0, 1)))
                pos = cm.shape[1] - 1
        group_stats["cm"] = cm
    if reg_keys:
        tv = _check_numeric(y_true_raw, "y_true")
        pv = _check_numeric(y_pred_raw, "y_pred")
        err = pv - tv
        cols = [None, np.abs(err), err * err, pv, tv]
        ww = np.ones(n_samples) if w is None else w
        group_stats["sums"] = np.stack(
            [np.bincount(enc.codes, weights=ww if c is None else c * ww,
                         minlength=enc.n_groups) for c in cols],
            axis=1,
        )
    if any(not isinstance(spec, str) for _, spec in resolved):
        _check_no_missing(y_true_raw, "y_true")
        _check_no_missing(y_pred_raw, "y_pred")

    frames, excluded = [], []
    for level, table, mapping in _levels(enc, overall=overall, marginals=marginals):
        n_rows = len(table)
        frame = table.copy()
        frame.insert(0, "level", level)
        frame["n"] = np.bincount(mapping, weights=enc.counts, minlength=n_rows).astype(np.int64)
        agg = {k: _aggregate(v, mapping, n_rows) for k, v in group_stats.items()}
        row_codes = None
        for name, spec in resolved:
            if isinstance(spec, str) and spec in _CLASSIFICATION:
                vals, ok, reason = _classification_values(spec, agg["cm"], pos)
            elif isinstance(spec, str):
                vals, ok, reason = _regression_values(spec, agg["sums"])
            else:
                if row_codes is None:
                    row_codes = mapping[enc.codes]
                    order = np.argsort(row_codes, kind="stable")
                    bounds = np.cumsum(np.bincount(row_codes, minlength=n_rows))[:-1]
                    parts = np.split(order, bounds)
                vals = np.array([float(spec(y_true_raw[ix], y_pred_raw[ix])) for ix in parts])
                ok = np.isfinite(vals)
                reason = "the metric returned NaN/inf"
            frame[name] = pd.arrays.FloatingArray(
                np.where(ok, vals, 0.0).astype(np.float64), ~ok
            )
            for r in np.flatnonzero(~ok):
                excluded.append((level, table["group"].iloc[r], name, reason))
        frames.append(frame)
    report = pd.concat(frames, ignore_index=True)
    excluded.extend(_absent(enc, marginals=marginals))
    report.attrs["excluded"] = pd.DataFrame(
        excluded, columns=["level", "group", "metric", "reason"]
    )
    if excluded:
        shown = "; ".join(f"{g} [{m}]: {r}" for _, g, m, r in excluded[:8])
        more = f"; and {len(excluded) - 8} more" if len(excluded) > 8 else ""
        warnings.warn(
            f"group_report: {len(excluded)} group/metric cells are undefined or empty "
            f"(listed in report.attrs['excluded']): {shown}{more}.",
            UndefinedGroupWarning,
            stacklevel=2,
        )
    return report
