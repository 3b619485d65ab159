"""How much of a measured fairness gap is sampling noise.

Two diagnostics for the report, both vectorised over resamples (one matrix
product each, no Python loop over resamples):

* :func:`bootstrap_intervals`: percentile intervals of accuracy (MAE) and of
  the equalized-odds difference (MAE bias score) of every method's test
  predictions, resampling the test rows;
* :func:`noise_floor`: the gap the baseline's predictions show when the
  sensitive labels are shuffled across test rows, i.e. what a classifier whose
  errors do not depend on the group would measure at this test size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["bootstrap_intervals", "gap_statistic", "noise_floor"]


def _onehot(codes, n_groups):
    out = np.zeros((codes.size, n_groups))
    out[np.arange(codes.size), codes] = 1.0
    return out


def _range(values):
    """max - min over the last axis, ignoring NaN (undefined groups)."""
    with np.errstate(invalid="ignore"):
        hi = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=-1)
        lo = np.nanmin(np.where(np.isnan(values), np.inf, values), axis=-1)
    out = hi - lo
    return np.where(np.isfinite(out), out, 0.0)


def _ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def gap_statistic(kind, y, pred, onehot, weights):
    """Equalized-odds difference (classification) or MAE bias score (regression)
    for every row of ``weights``.

    Parameters
    ----------
    kind : {"binary", "multiclass", "regression"}
    y, pred : ndarray of shape (n,)
    onehot : ndarray of shape (n, n_groups) or (B, n, n_groups)
        Group membership (per resample when 3-D).
    weights : ndarray of shape (B, n)
        Row counts of each resample.

    Returns
    -------
    gap : ndarray of shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.benchmark._stats import gap_statistic
    >>> y, p = np.array([1, 1, 0, 0, 1, 1, 0, 0]), np.array([1, 1, 0, 0, 1, 0, 1, 0])
    >>> onehot = np.repeat(np.eye(2), 4, axis=0)
    >>> gap_statistic("binary", y, p, onehot, np.ones((1, 8)))
    array([0.5])
    """
    def per_group(mask):
        if onehot.ndim == 3:
            return np.einsum("bn,bng->bg", weights * mask, onehot)
        return (weights * mask) @ onehot

    if kind == "regression":
        err = np.abs(pred.astype(float) - y.astype(float))
        mae = _ratio(per_group(err), per_group(np.ones_like(err)))
        g = mae.shape[1]
        diffs = [np.abs(mae[:, i] - mae[:, j]) for i in range(g) for j in range(i + 1, g)]
        stacked = np.stack(diffs, axis=1) if diffs else np.zeros((mae.shape[0], 1))
        return np.nanmean(np.where(np.isnan(stacked), np.nan, stacked), axis=1)
    classes = [1] if kind == "binary" else np.unique(y)
    gaps = []
    for c in classes:
        pos, hit = (y == c).astype(float), (pred == c).astype(float)
        tpr = _ratio(per_group(pos * hit), per_group(pos))
        fpr = _ratio(per_group((1 - pos) * hit), per_group(1 - pos))
        gaps.append(np.maximum(_range(tpr), _range(fpr)))
    return np.max(np.stack(gaps, axis=1), axis=1)


def _score(kind, y, pred, weights):
    if kind == "regression":
        return (weights @ np.abs(pred.astype(float) - y.astype(float))) / weights.sum(axis=1)
    return (weights @ (pred == y).astype(float)) / weights.sum(axis=1)


def bootstrap_intervals(kind, y, predictions, codes, *, n_boot=200, level=0.95,
                        random_state=0):
    """Percentile bootstrap intervals of every method's score and fairness gap.

    The same resamples are used for every method, so intervals compare.

    Parameters
    ----------
    kind : {"binary", "multiclass", "regression"}
    y : ndarray of shape (n,)
        True test targets.
    predictions : dict of str -> ndarray of shape (n,)
    codes : ndarray of shape (n,), int
        Group codes (``encode_sensitive_features(S).codes``).
    n_boot : int, default=200
    level : float, default=0.95
    random_state : int, default=0

    Returns
    -------
    intervals : pandas.DataFrame
        Index: method; columns ``score_low``, ``score_high``, ``gap_low``,
        ``gap_high`` (score = accuracy or MAE, gap = EO difference or MAE
        bias score).

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.benchmark._stats import bootstrap_intervals
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400); codes = rng.integers(0, 2, 400)
    >>> ci = bootstrap_intervals("binary", y, {"m": y.copy()}, codes, n_boot=50)
    >>> float(ci.loc["m", "score_low"]), float(ci.loc["m", "gap_high"])
    (1.0, 0.0)
    """
    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    n = y.size
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    onehot = _onehot(np.asarray(codes), int(np.max(codes)) + 1)
    alpha = (1 - level) / 2
    rows = {}
    for name, pred in predictions.items():
        pred = np.asarray(pred)
        score = _score(kind, y, pred, weights)
        gap = gap_statistic(kind, y, pred, onehot, weights)
        rows[name] = {
            "score_low": float(np.quantile(score, alpha)),
            "score_high": float(np.quantile(score, 1 - alpha)),
            "gap_low": float(np.quantile(gap, alpha)),
            "gap_high": float(np.quantile(gap, 1 - alpha)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _onehot_rows(perms, g):
    """``(k, n)`` group codes -> ``(k, n, g)`` one-hot floats."""
    onehot = np.zeros((*perms.shape, g))
    k, n = perms.shape
    onehot[np.arange(k)[:, None], np.arange(n)[None, :], perms] = 1.0
    return onehot


def noise_floor(kind, y, pred, codes, *, n_perm=200, random_state=0):
    """The fairness gap of ``pred`` when the group labels are shuffled.

    Shuffling the group codes across rows (within each true class for
    classification) keeps the group sizes, each group's class mix and the
    predictions' error rates per class, but removes any link between group
    and error: the gaps it measures are sampling noise only.

    Parameters
    ----------
    kind : {"binary", "multiclass", "regression"}
    y, pred : ndarray of shape (n,)
    codes : ndarray of shape (n,), int
    n_perm : int, default=200
    random_state : int, default=0

    Returns
    -------
    floor : dict
        ``mean``, ``q95`` (95th percentile) and ``observed`` (the unshuffled
        gap).

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.benchmark._stats import noise_floor
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000); pred = np.where(rng.random(2000) < 0.8, y, 1 - y)
    >>> floor = noise_floor("binary", y, pred, rng.integers(0, 4, 2000), n_perm=50)
    >>> 0 < floor["mean"] < 0.1
    True
    """
    rng = np.random.default_rng(random_state)
    codes = np.asarray(codes)
    g = int(codes.max()) + 1
    y, pred = np.asarray(y), np.asarray(pred)
    if kind == "regression":
        perms = np.stack([rng.permutation(codes) for _ in range(n_perm)])
    else:
        # within each true class: the group's class mix is kept, and errors
        # become independent of the group given the class (equalized odds' null)
        perms = np.tile(codes, (n_perm, 1))
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            perms[:, idx] = rng.permuted(np.tile(codes[idx], (n_perm, 1)), axis=1)
    # the permutations' one-hot groups, a few at a time: all at once they take
    # n_perm x n x g floats (GBs for a large test split with many intersections)
    step = max(1, int(2**22 // max(1, codes.size * g)))
    gaps = np.concatenate([
        gap_statistic(kind, y, pred, _onehot_rows(chunk, g), np.ones(chunk.shape))
        for chunk in np.array_split(perms, range(step, n_perm, step))
    ])
    observed = gap_statistic(kind, y, pred, _onehot(codes, g), np.ones((1, codes.size)))[0]
    return {"mean": float(gaps.mean()), "q95": float(np.quantile(gaps, 0.95)),
            "observed": float(observed)}
