"""Group-fairness metrics for classifiers, from per-group confusion counts.

All metrics here build one array ``cm[g, true, pred]`` of per-group confusion
counts with a single :func:`numpy.bincount` pass and derive every rate from it.

Conventions shared by the functions of this module:

* **Binary targets** (at most two labels in ``y_true`` and ``y_pred``) use the
  positive label ``pos_label`` (default ``1`` when the labels are a subset of
  ``{0, 1}`` or ``{-1, 1}``, as in fairlearn); the results equal fairlearn's.
* **Multi-class targets** (more than two labels) are treated one-vs-rest: the
  rate is computed for every class and the *worst* class is returned (largest
  difference, smallest ratio). Passing ``pos_label`` restricts the metric to
  that one class.
* **Undefined rates** (a group without the rows a rate conditions on, e.g. no
  ``y_true == c`` rows for a true positive rate) are left out of that
  comparison with an :class:`UndefinedGroupWarning` naming the groups; a value
  is never NaN. Fewer than two groups raises ``ValueError``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._base import (
    _check_labels,
    _check_same_length,
    _check_sample_weight,
    _confusion,
    _encode,
    _group_labels,
    _resolve_pos_label,
    _safe_divide,
    _spread,
    _warn_excluded,
)

__all__ = [
    "GroupErrorSpread",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_score",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_error_spread",
    "iou_fairness",
    "statistical_parity_difference",
]


class _ConfusionStats:
    """Per-group confusion counts ``cm[g, true, pred]`` and the rates they give."""

    def __init__(self, enc, classes, cm, counts):
        self.enc = enc
        self.classes = classes
        self.cm = cm
        self.counts = counts  # unweighted rows per group

    @property
    def n(self):
        return self.cm.sum(axis=(1, 2))

    @property
    def true(self):
        return self.cm.sum(axis=2)

    @property
    def pred(self):
        return self.cm.sum(axis=1)

    @property
    def hit(self):
        return np.diagonal(self.cm, axis1=1, axis2=2)

    def pad_class(self, label):
        """Add a class with no row (a positive label absent from the data)."""
        cm = np.pad(self.cm, ((0, 0), (0, 1), (0, 1)))
        classes = np.append(self.classes.astype(object), label)
        return _ConfusionStats(self.enc, classes, cm, self.counts)

    def selection_rate(self, overall=False):
        if overall:
            return _safe_divide(self.pred.sum(0), self.n.sum())
        return _safe_divide(self.pred, self.n[:, None])

    def true_positive_rate(self, overall=False):
        hit, true = self.hit, self.true
        if overall:
            return _safe_divide(hit.sum(0), true.sum(0))
        return _safe_divide(hit, true)

    def false_positive_rate(self, overall=False):
        fp, neg = self.pred - self.hit, self.n[:, None] - self.true
        if overall:
            return _safe_divide(fp.sum(0), neg.sum(0))
        return _safe_divide(fp, neg)


def _confusion_stats(y_true, y_pred, sensitive_features, sample_weight=None, labels=None, *,
                     metric):
    y_true = _check_labels(y_true, "y_true")
    y_pred = _check_labels(y_pred, "y_pred")
    _check_same_length(y_true=y_true, y_pred=y_pred)
    enc = _encode(sensitive_features, len(y_true), metric=metric)
    w = _check_sample_weight(sample_weight, len(y_true))
    classes, cm = _confusion(enc.codes, y_true, y_pred, enc.n_groups, labels, w)
    return _ConfusionStats(enc, classes, cm, enc.counts)


def _target_classes(stats, pos_label):
    """``(stats, class indices)`` a one-vs-rest metric is computed for."""
    if pos_label is None and len(stats.classes) > 2:
        return stats, np.arange(len(stats.classes))
    idx = _resolve_pos_label(stats.classes, pos_label)
    if idx is None:
        label = 1 if pos_label is None else pos_label
        stats = stats.pad_class(label)
        idx = len(stats.classes) - 1
    return stats, np.array([idx])


def _class_text(stats, c):
    return repr(stats.classes[c].item() if hasattr(stats.classes[c], "item") else stats.classes[c])


def _warn_invalid(stats, valid, cls, what, metric):
    """Warn about (group, class) rates left out of ``metric``."""
    labels = _group_labels(stats.enc)
    for j, c in enumerate(cls):
        bad = np.flatnonzero(~valid[:, j])
        if len(bad):
            _warn_excluded(
                [labels[g] for g in bad],
                f"{what} undefined for class {_class_text(stats, c)}",
                metric=metric,
                stacklevel=4,
            )


def _worst(values, ok, *, kind, metric):
    if not ok.any():
        raise ValueError(
            f"{metric} is undefined: fewer than two groups have the rows it needs "
            "(see the warnings above)."
        )
    return float(values[ok].max() if kind == "difference" else values[ok].min())


def _parity(y_true, y_pred, sensitive_features, *, kind, method, pos_label, sample_weight,
            metric):
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, metric=metric)
    stats, cls = _target_classes(stats, pos_label)
    rate, valid = stats.selection_rate()
    overall, _ = stats.selection_rate(overall=True)
    valid = valid[:, cls]
    _warn_invalid(stats, valid, cls, "selection rate (zero total weight)", metric)
    values, ok = _spread(rate[:, cls], valid, method=method, overall=overall[cls], kind=kind)
    return _worst(values, ok, kind=kind, metric=metric)


def demographic_parity_difference(y_true, y_pred, *, sensitive_features,
                                  method="between_groups", pos_label=None,
                                  sample_weight=None):
    """Largest gap in selection rate ``P(y_pred = c | group)`` between groups.

    For binary targets this is fairlearn's ``demographic_parity_difference``
    (selection rate of ``pos_label``); for multi-class targets the largest gap
    over the classes, one-vs-rest (equal to
    :func:`statistical_parity_difference` then).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (only checked; the selection rate ignores them).
    y_pred : array-like of shape (n_samples,)
        Predicted labels. Continuous scores raise ``ValueError``.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        ``max - min`` over groups, or the largest ``|group - overall|``.
    pos_label : scalar, default=None
        Positive label. ``None``: ``1`` for binary ``{0, 1}``/``{-1, 1}``
        labels; every class (worst one) for multi-class targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    difference : float
        In ``[0, 1]``; 0 means equal selection rates.

    See Also
    --------
    demographic_parity_ratio, statistical_parity_difference

    Examples
    --------
    >>> from skfair.metrics import demographic_parity_difference
    >>> y_true = [0, 1, 0, 1, 0, 1]
    >>> y_pred = [1, 1, 0, 1, 0, 0]
    >>> demographic_parity_difference(y_true, y_pred,
    ...                               sensitive_features=["a", "a", "a", "b", "b", "b"])
    0.333...
    """
    return _parity(y_true, y_pred, sensitive_features, kind="difference", method=method,
                   pos_label=pos_label, sample_weight=sample_weight,
                   metric="demographic_parity_difference")


def demographic_parity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups",
                             pos_label=None, sample_weight=None):
    """Smallest ratio of selection rates between groups (``min / max``).

    Equal to fairlearn's ``demographic_parity_ratio`` on binary targets; for
    multi-class targets the smallest ratio over the classes, one-vs-rest. When
    every group's rate is 0 the rates are equal and the ratio is 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (only checked).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        ``min / max`` over groups, or the smallest ``min(group, overall) /
        max(group, overall)``.
    pos_label : scalar, default=None
        See :func:`demographic_parity_difference`.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    ratio : float
        In ``[0, 1]``; 1 means equal selection rates.

    Examples
    --------
    >>> from skfair.metrics import demographic_parity_ratio
    >>> demographic_parity_ratio([0, 1, 0, 1], [1, 1, 1, 0],
    ...                          sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _parity(y_true, y_pred, sensitive_features, kind="ratio", method=method,
                   pos_label=pos_label, sample_weight=sample_weight,
                   metric="demographic_parity_ratio")


def _odds(y_true, y_pred, sensitive_features, *, kind, method, pos_label, sample_weight, agg,
          metric):
    if agg not in ("worst_case", "mean"):
        raise ValueError(f"agg must be 'worst_case' or 'mean', got {agg!r}.")
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, metric=metric)
    stats, cls = _target_classes(stats, pos_label)
    parts = []
    for name, rates in (("true positive rate", stats.true_positive_rate),
                        ("false positive rate", stats.false_positive_rate)):
        rate, valid = rates()
        overall, overall_ok = rates(overall=True)
        valid = valid[:, cls]
        _warn_invalid(stats, valid, cls, name, metric)
        values, ok = _spread(rate[:, cls], valid, method=method, overall=overall[cls],
                             kind=kind)
        parts.append((values, ok & overall_ok[cls] if method == "to_overall" else ok))
    (tpr, tpr_ok), (fpr, fpr_ok) = parts
    if agg == "mean":
        values = (tpr + fpr) / 2
        ok = tpr_ok & fpr_ok
    else:
        pick = np.maximum if kind == "difference" else np.minimum
        neutral = -np.inf if kind == "difference" else np.inf
        values = pick(np.where(tpr_ok, tpr, neutral), np.where(fpr_ok, fpr, neutral))
        ok = tpr_ok | fpr_ok
    return _worst(values, ok, kind=kind, metric=metric)


def equalized_odds_difference(y_true, y_pred, *, sensitive_features, method="between_groups",
                              pos_label=None, sample_weight=None, agg="worst_case"):
    """Largest gap in true- or false-positive rate between groups.

    On binary targets this equals fairlearn's ``equalized_odds_difference``:
    ``max(TPR difference, FPR difference)`` (``agg="worst_case"``) or their
    mean (``agg="mean"``). Multi-class targets: the same for every class
    one-vs-rest (``TPR_c = P(y_pred = c | y_true = c)``, ``FPR_c = P(y_pred =
    c | y_true != c)``), worst class returned.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels. Continuous scores raise ``ValueError``.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        As in fairlearn.
    pos_label : scalar, default=None
        See :func:`demographic_parity_difference`.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        How the TPR and FPR differences are combined.

    Returns
    -------
    difference : float
        In ``[0, 1]``; 0 means equalized odds hold.

    Notes
    -----
    A group without positive (negative) rows for a class has no TPR (FPR) for
    it; it is left out of that comparison with an
    :class:`~skfair.metrics.UndefinedGroupWarning`. fairlearn instead counts
    such a rate as 0 (scikit-learn's normalised confusion matrix turns 0/0 into
    0), so the two agree exactly whenever every group has positive and
    negative rows, and differ only where fairlearn's 0 is not a real rate.

    Examples
    --------
    >>> from skfair.metrics import equalized_odds_difference
    >>> y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 1, 0, 0, 1, 0, 1, 0]
    >>> equalized_odds_difference(y_true, y_pred, sensitive_features=list("aaaabbbb"))
    0.5
    """
    return _odds(y_true, y_pred, sensitive_features, kind="difference", method=method,
                 pos_label=pos_label, sample_weight=sample_weight, agg=agg,
                 metric="equalized_odds_difference")


def equalized_odds_ratio(y_true, y_pred, *, sensitive_features, method="between_groups",
                         pos_label=None, sample_weight=None, agg="worst_case"):
    """Smallest ratio of true- or false-positive rates between groups.

    On binary targets this equals fairlearn's ``equalized_odds_ratio``:
    ``min(TPR ratio, FPR ratio)`` (or their mean with ``agg="mean"``); for
    multi-class targets the smallest over the classes, one-vs-rest. Rates that
    are all 0 are equal: their ratio is 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        As in fairlearn.
    pos_label : scalar, default=None
        See :func:`demographic_parity_difference`.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        How the TPR and FPR ratios are combined.

    Returns
    -------
    ratio : float
        In ``[0, 1]``; 1 means equalized odds hold.

    Examples
    --------
    >>> from skfair.metrics import equalized_odds_ratio
    >>> y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 1, 1, 0, 1, 0, 1, 0]
    >>> equalized_odds_ratio(y_true, y_pred, sensitive_features=list("aaaabbbb"))
    0.5
    """
    return _odds(y_true, y_pred, sensitive_features, kind="ratio", method=method,
                 pos_label=pos_label, sample_weight=sample_weight, agg=agg,
                 metric="equalized_odds_ratio")


def statistical_parity_difference(y_true, y_pred, *, sensitive_features, sample_weight=None):
    """``max_k (max_s P(y_pred = k | s) - min_s P(y_pred = k | s))``.

    The multi-class statistical-parity gap used by Venkatesh et al. ("Frowning
    upon Bias"); on binary targets
    it equals :func:`demographic_parity_difference`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (their classes join the class set; a class never
        predicted has rate 0 in every group).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    difference : float
        In ``[0, 1]``.

    Examples
    --------
    >>> from skfair.metrics import statistical_parity_difference
    >>> statistical_parity_difference([0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 0, 0],
    ...                               sensitive_features=list("aaabbb"))
    0.666...
    """
    metric = "statistical_parity_difference"
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, metric=metric)
    rate, valid = stats.selection_rate()
    cls = np.arange(len(stats.classes))
    _warn_invalid(stats, valid, cls[:1], "selection rate (zero total weight)", metric)
    values, ok = _spread(rate, valid, kind="difference")
    return _worst(values, ok, kind="difference", metric=metric)


def _consistent_classes(stats, defined, metric, what):
    """Groups and classes a per-class metric is summed over.

    ``defined`` is ``(n_groups, n_classes)``. A group where no class is
    defined (every row of zero weight) is left out with a warning, like the
    other metrics' empty groups. Among the remaining groups, a class undefined
    in some groups (but not all) is dropped from *every* group's sum with a
    warning; classes undefined in every group (never in ``y_true``) are
    dropped silently.

    Returns
    -------
    groups : ndarray of bool, shape (n_groups,)
    keep : ndarray of bool, shape (n_classes,)
    """
    labels = _group_labels(stats.enc)
    groups = defined.any(axis=1)
    _warn_excluded([labels[g] for g in np.flatnonzero(~groups)],
                   f"no class has {what} in the group (zero total weight)", metric=metric,
                   stacklevel=4)
    if groups.sum() < 2:
        raise ValueError(
            f"{metric} is undefined: fewer than two groups have {what} (see the warnings "
            "above)."
        )
    defined = defined[groups]
    present = defined.any(axis=0)
    keep = defined.all(axis=0)
    dropped = np.flatnonzero(present & ~keep)
    if len(dropped):
        kept_labels = [labels[g] for g in np.flatnonzero(groups)]
        detail = "; ".join(
            f"class {_class_text(stats, c)} missing in "
            + ", ".join(repr(kept_labels[g]) for g in np.flatnonzero(~defined[:, c])[:5])
            for c in dropped[:5]
        )
        _warn_excluded(
            [stats.classes[c] for c in dropped],
            f"{what} undefined in some groups, so the class is dropped for every group: "
            f"{detail}",
            metric=metric,
            stacklevel=4,
        )
    if not keep.any():
        raise ValueError(
            f"{metric} is undefined: no class has {what} defined in every group."
        )
    return groups, keep


def _over_groups(values, groups):
    """``values`` for the groups kept, NaN for the groups left out (per-group tables)."""
    out = np.full(len(groups), np.nan)
    out[groups] = values
    return out


def _per_group_frame(stats, **columns):
    frame = stats.enc.groups.reset_index(drop=True).copy()
    frame["n"] = stats.counts.astype(np.int64)
    for name, values in columns.items():
        frame[name] = values
    return frame


def equal_opportunity_score(y_true, y_pred, *, sensitive_features, sample_weight=None,
                            labels=None, return_per_group=False):
    """Xu et al.'s multi-class equal-opportunity fairness ``F``.

    For every group ``k``, ``S_k = sum_c P(y_pred = c | y_true = c, s = k)``
    (the sum of the group's per-class recalls) and ``F = min_k S_k / max_k
    S_k``. ``F`` lies in ``[0, 1]``; 1 means every group has the same summed
    recall.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels.
    y_pred : array-like of shape (n_samples,)
        Predicted class labels. Continuous scores raise ``ValueError``.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    labels : array-like, default=None
        The classes; by default those found in ``y_true`` and ``y_pred``.
    return_per_group : bool, default=False
        Also return a DataFrame with each group's size, ``S_k``
        (``"opportunity"``) and per-class recalls (``"recall[c]"``).

    Returns
    -------
    score : float
    per_group : pandas.DataFrame
        Only when ``return_per_group=True``.

    Notes
    -----
    **A class absent from a group.** A recall ``P(y_pred = c | y_true = c, s
    = k)`` is undefined when group ``k`` has no row of class ``c``. Such a
    class is excluded from *every* group's sum (so all ``S_k`` run over the
    same classes) and an :class:`~skfair.metrics.UndefinedGroupWarning` names
    it and the groups that lack it. Classes that never occur in ``y_true``
    have no recall anywhere and are ignored. When every ``S_k`` is 0 the
    groups are equal and ``F = 1``.

    References
    ----------
    Xu, White, Kalkan, Gunes. "Investigating Bias and Fairness in Facial
    Expression Recognition", ECCV Workshops 2020.

    Examples
    --------
    >>> from skfair.metrics import equal_opportunity_score
    >>> y_true = [0, 1, 2, 0, 1, 2]
    >>> y_pred = [0, 1, 2, 0, 1, 0]
    >>> equal_opportunity_score(y_true, y_pred, sensitive_features=list("aaabbb"))
    0.666...
    """
    metric = "equal_opportunity_score"
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, labels,
                             metric=metric)
    recall, defined = stats.true_positive_rate()
    groups, keep = _consistent_classes(stats, defined, metric, "a recall (rows of the class)")
    opportunity = recall[groups][:, keep].sum(axis=1)
    top = opportunity.max()
    score = float(opportunity.min() / top) if top > 0 else 1.0
    if not return_per_group:
        return score
    cols = {"opportunity": _over_groups(opportunity, groups)}
    for c in np.flatnonzero(keep):
        cols[f"recall[{stats.classes[c]}]"] = _over_groups(recall[groups, c], groups)
    return score, _per_group_frame(stats, **cols)


def iou_fairness(y_true, y_pred, *, sensitive_features, sample_weight=None, labels=None,
                 return_per_group=False):
    """Standard deviation over groups of the per-group mean IoU (Hänel et al. 2022).

    For group ``b`` and class ``a``, ``IoU(a, b) = |y_pred = a and y_true = a|
    / |y_pred = a or y_true = a|`` within the group; a group's IoU is the mean
    over classes, and the score is the (population, ``ddof=0``) standard
    deviation of the group IoUs: 0 means equal performance.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels.
    y_pred : array-like of shape (n_samples,)
        Predicted class labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    labels : array-like, default=None
        The classes; by default those found in ``y_true`` and ``y_pred``.
    return_per_group : bool, default=False
        Also return a DataFrame with each group's size and mean IoU.

    Returns
    -------
    std : float
    per_group : pandas.DataFrame
        Only when ``return_per_group=True``.

    Notes
    -----
    A class neither true nor predicted in a group has no IoU there; such a
    class is dropped from every group's mean, with a warning (the rule of
    :func:`equal_opportunity_score`).

    Examples
    --------
    >>> from skfair.metrics import iou_fairness
    >>> y_true = [0, 1, 0, 1, 0, 1, 0, 1]
    >>> y_pred = [0, 1, 0, 1, 0, 1, 1, 1]
    >>> round(iou_fairness(y_true, y_pred, sensitive_features=list("aaaabbbb")), 4)
    0.2083
    """
    metric = "iou_fairness"
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, labels,
                             metric=metric)
    union = stats.true + stats.pred - stats.hit
    iou, defined = _safe_divide(stats.hit, union)
    groups, keep = _consistent_classes(stats, defined, metric,
                                       "an IoU (rows true or predicted)")
    group_iou = iou[groups][:, keep].mean(axis=1)
    std = float(np.std(group_iou))
    if not return_per_group:
        return std
    return std, _per_group_frame(stats, iou=_over_groups(group_iou, groups))


class GroupErrorSpread(NamedTuple):
    """Result of :func:`group_error_spread`."""

    mean: float
    """Unweighted mean of the per-group error rates."""
    std: float
    """Population standard deviation (``ddof=0``) of the per-group error rates."""
    per_group: pd.DataFrame
    """Group attributes, sizes ``n`` and ``error_rate``."""


def group_error_spread(y_true, y_pred, *, sensitive_features, sample_weight=None):
    """Per-group error rates, their mean and standard deviation (Serna et al. 2022).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels.
    y_pred : array-like of shape (n_samples,)
        Predicted class labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    result : GroupErrorSpread
        ``(mean, std, per_group)``; ``std`` is the spread to minimise.

    Examples
    --------
    >>> from skfair.metrics import group_error_spread
    >>> res = group_error_spread([0, 1, 0, 1, 0, 1], [0, 1, 1, 1, 0, 0],
    ...                          sensitive_features=["a", "a", "b", "b", "c", "c"])
    >>> res.per_group["error_rate"].tolist()
    [0.0, 0.5, 0.5]
    >>> round(res.mean, 4), round(res.std, 4)
    (0.3333, 0.2357)
    """
    metric = "group_error_spread"
    stats = _confusion_stats(y_true, y_pred, sensitive_features, sample_weight, metric=metric)
    err, valid = _safe_divide(stats.n - stats.hit.sum(axis=1), stats.n)
    if not valid.all():
        labels = _group_labels(stats.enc)
        _warn_excluded([labels[g] for g in np.flatnonzero(~valid)], "zero total weight",
                       metric=metric)
    if valid.sum() < 2:
        raise ValueError("group_error_spread needs at least two groups with rows.")
    per_group = _per_group_frame(stats, error_rate=err)[valid].reset_index(drop=True)
    return GroupErrorSpread(float(err[valid].mean()), float(err[valid].std()), per_group)
