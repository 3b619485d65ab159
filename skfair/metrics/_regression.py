"""Fairness metrics for regressors (age estimation): the ChaLearn bias score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils import check_sensitive_features
from ._base import (
    _check_numeric,
    _check_same_length,
    _check_sample_weight,
    _encode,
    _group_labels,
    _safe_divide,
    _warn_excluded,
)

__all__ = ["AGE_GROUP_LABELS", "age_groups", "chalearn_bias", "mae_bias_score"]

#: Names of the age groups of :func:`age_groups` (the ChaLearn fair age estimation bins).
AGE_GROUP_LABELS = ("<20", "20-40", "40-60", ">=60")


def age_groups(ages, *, bins=(20, 40, 60), labels=None):
    """Bin ages into ``<20, 20-40, 40-60, >=60`` (ChaLearn's age groups).

    Bins are closed on the left: 20 falls in ``"20-40"``, 60 in ``">=60"``.
    Bin by the *ground-truth* age when the groups serve a bias score.

    Parameters
    ----------
    ages : array-like of shape (n_samples,)
        Ages (years), finite and non-negative.
    bins : sequence of float, default=(20, 40, 60)
        Increasing inner bin edges.
    labels : sequence of str, default=None
        One label per bin (``len(bins) + 1``); by default ``"<20"``,
        ``"20-40"``, ``"40-60"``, ``">=60"`` built from ``bins``.

    Returns
    -------
    groups : pandas.Categorical
        Ordered categorical with every bin as a category.

    Examples
    --------
    >>> from skfair.metrics import age_groups
    >>> list(age_groups([3, 20, 39.9, 40, 75]))
    ['<20', '20-40', '20-40', '40-60', '>=60']
    """
    a = _check_numeric(ages, "ages")
    if (a < 0).any():
        raise ValueError(f"ages must be non-negative, got a minimum of {a.min()!r}.")
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or len(edges) == 0 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be a non-empty increasing sequence, got {bins!r}.")
    if labels is None:
        fmt = [f"{e:g}" for e in edges]
        labels = [f"<{fmt[0]}"] + [f"{lo}-{hi}" for lo, hi in zip(fmt[:-1], fmt[1:],
                                                                    strict=True)]
        labels.append(f">={fmt[-1]}")
    labels = list(labels)
    if len(labels) != len(edges) + 1:
        raise ValueError(
            f"labels needs {len(edges) + 1} entries (one per bin), got {len(labels)}."
        )
    codes = np.searchsorted(edges, a, side="right")
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def mae_bias_score(y_true, y_pred, *, sensitive_features, sample_weight=None,
                   return_per_group=False):
    """ChaLearn's per-attribute bias: mean over group pairs of ``|MAE_i - MAE_j|``.

    Each group's mean absolute error is computed, then the mean over all
    unordered pairs of groups of the absolute difference of their MAEs (the
    bias score of the ChaLearn fair age estimation challenge). 0 means every
    group is estimated equally well.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True values (e.g. ages).
    y_pred : array-like of shape (n_samples,)
        Predicted values.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups. The
        challenge scores one attribute at a time (gender, ethnicity,
        expression, and age groups from :func:`age_groups` of ``y_true``):
        call the function once per attribute for its table.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights for the per-group MAE.
    return_per_group : bool, default=False
        Also return a DataFrame of group sizes and MAEs.

    Returns
    -------
    score : float
    per_group : pandas.DataFrame
        Only when ``return_per_group=True``.

    Examples
    --------
    >>> from skfair.metrics import mae_bias_score
    >>> y_true = [20, 30, 40, 50]
    >>> y_pred = [21, 31, 44, 46]
    >>> mae_bias_score(y_true, y_pred, sensitive_features=["m", "m", "f", "f"])
    3.0
    """
    t = _check_numeric(y_true, "y_true")
    p = _check_numeric(y_pred, "y_pred")
    _check_same_length(y_true=t, y_pred=p)
    enc = _encode(sensitive_features, len(t), metric="mae_bias_score")
    w = _check_sample_weight(sample_weight, len(t))
    err = np.abs(p - t)
    total = np.bincount(enc.codes, weights=w, minlength=enc.n_groups)
    mae, valid = _safe_divide(
        np.bincount(enc.codes, weights=err if w is None else err * w, minlength=enc.n_groups),
        total,
    )
    if not valid.all():
        _warn_excluded(_group_labels(enc, np.flatnonzero(~valid)), "zero total weight",
                       metric="mae_bias_score")
    m = np.sort(mae[valid])
    g = len(m)
    if g < 2:
        raise ValueError("mae_bias_score needs at least two groups with rows.")
    # sum_{i<j} (m_j - m_i) for sorted m, in O(G)
    pair_sum = float(np.sum(m * (2 * np.arange(g) - g + 1)))
    score = pair_sum / (g * (g - 1) / 2)
    if not return_per_group:
        return score
    frame = enc.groups.reset_index(drop=True).copy()
    frame["n"] = enc.counts.astype(np.int64)
    frame["mae"] = mae
    return score, frame[valid].reset_index(drop=True)


def chalearn_bias(y_true, y_pred, *, sensitive_features=None, age_bins=(20, 40, 60),
                  sample_weight=None):
    """The ChaLearn fair age estimation bias: one score per attribute, and their mean.

    The challenge scores each attribute on its own (gender, ethnicity,
    expression, and the age group of the true age), never their
    intersections, with :func:`mae_bias_score` (the mean over group pairs of
    ``|MAE_i - MAE_j|``), and ranks entries by the mean of those per-attribute
    scores (the "Avg bias" of the ChaLearn fair age estimation entry).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True ages.
    y_pred : array-like of shape (n_samples,)
        Predicted ages.
    sensitive_features : array-like, list of array-like, DataFrame or dict, default=None
        The attributes, one column each (e.g. gender and race); each is
        scored separately. None scores the age groups alone.
    age_bins : sequence of float or None, default=(20, 40, 60)
        Inner edges of the age groups of ``y_true`` (see :func:`age_groups`),
        scored as the attribute ``"age_group"``; None leaves them out.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights for the per-group MAE.

    Returns
    -------
    bias : pandas.Series
        One score per attribute (in the given order, then ``"age_group"``)
        and their mean under ``"mean"``.

    Raises
    ------
    ValueError
        When an attribute is named ``"age_group"`` or ``"mean"`` while that
        entry is computed here, when nothing is left to score, or when an
        attribute holds fewer than two groups (the message names it).

    See Also
    --------
    mae_bias_score : the score of one attribute (or of intersections).

    Examples
    --------
    >>> from skfair.metrics import chalearn_bias
    >>> y_true = [10, 30, 50, 70]
    >>> y_pred = [11, 32, 53, 74]
    >>> chalearn_bias(y_true, y_pred, sensitive_features={"gender": list("mfmf")}).round(3)
    gender       1.000
    age_group    1.667
    mean         1.333
    dtype: float64
    """
    t = _check_numeric(y_true, "y_true")
    frame = (pd.DataFrame(index=range(len(t))) if sensitive_features is None
             else check_sensitive_features(sensitive_features, n_samples=len(t)))
    reserved = {"mean"} | ({"age_group"} if age_bins is not None else set())
    clash = [c for c in frame.columns if c in reserved]
    if clash:
        raise ValueError(
            f"chalearn_bias: sensitive_features has attribute(s) {clash}, a name the result "
            "uses for an entry computed here; rename or drop them (the age groups come from "
            "y_true)."
        )
    if age_bins is not None:
        frame["age_group"] = age_groups(t, bins=age_bins)
    if frame.shape[1] == 0:
        raise ValueError("chalearn_bias: nothing to score: give sensitive_features or "
                         "age_bins.")
    scores = {}
    for name in frame.columns:
        try:
            scores[name] = mae_bias_score(y_true, y_pred, sensitive_features=frame[name],
                                          sample_weight=sample_weight)
        except ValueError as exc:
            raise ValueError(f"chalearn_bias, attribute {name!r}: {exc}") from exc
    out = pd.Series(scores, dtype=np.float64)
    out["mean"] = float(out.mean())
    return out
