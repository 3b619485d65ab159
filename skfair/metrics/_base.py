"""Shared validation and vectorised group statistics for the fairness metrics.

Every metric of :mod:`skfair.metrics` reduces its inputs to a few counting
passes over the rows (:func:`numpy.bincount` on combined integer codes such as
``group * n_classes + class``); nothing loops over rows in Python. Loops, where
there are any, run over groups or classes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..utils import encode_sensitive_features

__all__ = ["UndefinedGroupWarning"]


class UndefinedGroupWarning(UserWarning):
    """A group (or a class within groups) was left out of a fairness metric.

    Raised as a warning when a group has no rows, or when the quantity a metric
    conditions on is empty in a group (e.g. a true positive rate for a group
    without positive rows). The message names the groups; the value returned
    is computed on the remaining ones, never a NaN or a silent zero.
    """


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------
def _to_numpy(values):
    """Plain ndarray from array-likes, pandas objects and torch tensors."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch tensor
        values = values.detach().cpu().numpy()
    if isinstance(values, pd.Series | pd.Index | pd.Categorical) and isinstance(
        values.dtype, pd.CategoricalDtype
    ):
        return np.asarray(values.astype(object))
    if isinstance(values, pd.DataFrame | pd.Series | pd.Index):
        return values.to_numpy()
    return np.asarray(values)


def _check_1d(values, name):
    """1-D ndarray; a column vector ``(n, 1)`` is flattened."""
    if values is None:
        raise ValueError(f"{name} is required, got None.")
    arr = _to_numpy(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row), got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one row is required.")
    return arr


def _check_no_missing(arr, name):
    """Raise on NaN/inf (numeric) or None/NaN (object) entries."""
    kind = arr.dtype.kind
    if kind in "fc":
        if not np.isfinite(arr).all():
            n_bad = int(np.size(arr) - np.isfinite(arr).sum())
            raise ValueError(
                f"{name} contains NaN or infinity ({n_bad} values); metrics need finite "
                "values. Drop or impute those rows first."
            )
    elif kind == "O":
        missing = pd.isna(arr)
        if missing.any():
            raise ValueError(
                f"{name} contains missing values (None/NaN) ({int(missing.sum())} values)."
            )


def _check_numeric(values, name):
    """Finite float64 1-D array (regression targets and predictions)."""
    arr = _check_1d(values, name)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numeric, got dtype {arr.dtype}."
            ) from None
    arr = arr.astype(np.float64, copy=False)
    _check_no_missing(arr, name)
    return arr


def _check_labels(values, name):
    """1-D array of class labels: finite, and not continuous scores."""
    arr = _check_1d(values, name)
    _check_no_missing(arr, name)
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must hold class labels, got complex numbers.")
    if arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr)):
        example = arr[np.flatnonzero(arr != np.floor(arr))[0]]
        raise ValueError(
            f"{name} looks continuous (non-integer values such as {example!r}); "
            "classification fairness metrics need class labels. Threshold scores or "
            "probabilities first (e.g. y_pred = proba[:, 1] >= 0.5), or use a "
            "regression metric such as mae_bias_score."
        )
    return arr


def _check_same_length(**arrays):
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"Inconsistent numbers of rows ({detail}); they must be equal.")


def _check_sample_weight(sample_weight, n_samples):
    if sample_weight is None:
        return None
    w = _check_numeric(sample_weight, "sample_weight")
    if len(w) != n_samples:
        raise ValueError(
            f"sample_weight has {len(w)} rows but y_true has {n_samples}; they must be equal."
        )
    if (w < 0).any():
        raise ValueError("sample_weight must be non-negative.")
    return w


# --------------------------------------------------------------------------
# class codes
# --------------------------------------------------------------------------
def _sorted_unique(values):
    try:
        return np.sort(values)
    except TypeError:  # mixed, unorderable labels: order by their text
        return np.array(sorted(values, key=lambda v: (type(v).__name__, str(v))), dtype=object)


_NUMBER_KINDS = {"integer", "floating", "mixed-integer-float", "boolean", "decimal"}


def _label_kind(labels):
    """``"number"``, ``"string"`` or ``"mixed"`` (both), else ``None`` (other objects)."""
    kind = labels.dtype.kind
    if kind in "biuf":
        return "number"
    if kind in "US":
        return "string"
    inferred = pd.api.types.infer_dtype(labels, skipna=True)
    if inferred in _NUMBER_KINDS:
        return "number"
    if inferred == "string":
        return "string"
    return "mixed" if inferred == "mixed-integer" else None


def _check_label_kinds(y_true, y_pred):
    """Strings and numbers never name the same class: mixing them is an error
    (as in scikit-learn), not a set of classes that never match."""
    kinds = {_label_kind(y_true), _label_kind(y_pred)}
    if "mixed" in kinds or {"number", "string"} <= kinds:
        raise ValueError(
            "Mix of label input types (string and number) in y_true / y_pred: a label "
            "'1' and a label 1 are different classes. Convert both to one type."
        )


def _class_codes(y_true, y_pred, labels=None):
    """Map both label arrays onto shared class indices ``0..K-1``.

    Returns ``classes, t, p`` with ``classes`` sorted (or ``labels`` in the
    given order). Integer (and integral float) labels take a counting fast
    path; other labels are hashed once.
    """
    if labels is not None:
        classes = np.asarray(labels)
        if classes.ndim != 1 or len(classes) == 0:
            raise ValueError("labels must be a non-empty 1-D list of class labels.")
        index = pd.Index(classes)
        if not index.is_unique:
            raise ValueError(f"labels has duplicates: {list(classes)}.")
        t, p = index.get_indexer(y_true), index.get_indexer(y_pred)
        for name, arr, codes in (("y_true", y_true, t), ("y_pred", y_pred, p)):
            if (codes < 0).any():
                unknown = pd.unique(arr[codes < 0])[:10]
                raise ValueError(
                    f"{name} has labels {list(unknown)} not in labels={list(classes)}."
                )
        return classes, t.astype(np.int64), p.astype(np.int64)
    kinds = {y_true.dtype.kind, y_pred.dtype.kind}
    if kinds <= set("biuf"):
        lo = int(min(y_true.min(), y_pred.min()))
        hi = int(max(y_true.max(), y_pred.max()))
        if hi - lo <= max(4 * (len(y_true) + len(y_pred)), 1 << 16):
            ts, ps = y_true.astype(np.int64, copy=False), y_pred.astype(np.int64, copy=False)
            if lo:
                ts, ps = ts - lo, ps - lo
            size = hi - lo + 1
            present = (np.bincount(ts, minlength=size) + np.bincount(ps, minlength=size)) > 0
            values = np.flatnonzero(present) + lo
            dtype = np.result_type(y_true.dtype, y_pred.dtype)
            if present.all():  # labels lo..hi all occur: the shift is the code
                return values.astype(dtype), ts, ps
            lookup = np.cumsum(present, dtype=np.int64) - 1
            return values.astype(dtype), lookup[ts], lookup[ps]
    _check_label_kinds(y_true, y_pred)
    both = np.concatenate([y_true.astype(object), y_pred.astype(object)]) if (
        y_true.dtype != y_pred.dtype
    ) else np.concatenate([y_true, y_pred])
    codes, uniques = pd.factorize(both)
    classes = _sorted_unique(np.asarray(uniques))
    remap = pd.Index(classes).get_indexer(uniques)
    codes = remap[codes]
    n = len(y_true)
    return classes, codes[:n].astype(np.int64), codes[n:].astype(np.int64)


def _resolve_pos_label(classes, pos_label):
    """Index of the positive class for binary rates (fairlearn's convention).

    ``None`` when the default positive label (``1``, for labels within
    ``{0, 1}`` or ``{-1, 1}``) is absent from the data, e.g. a small fold with
    negatives only (the callers add it as an empty class). A ``ValueError``
    when a given ``pos_label`` occurs in neither ``y_true`` nor ``y_pred``
    (every rate of it would be zero or undefined: a typo would look fair),
    or cannot be one of these labels (a string against numbers, or the
    reverse).
    """
    given = pos_label is not None
    if pos_label is None:
        values = set(classes.tolist())
        if values <= {0, 1} or values <= {-1, 1}:
            pos_label = 1
        else:
            raise ValueError(
                f"pos_label must be given: the labels {sorted(map(str, values))} are not "
                "a subset of {0, 1} or {-1, 1}."
            )
    matches = np.flatnonzero(classes == pos_label) if len(classes) else np.array([])
    if len(matches):
        return int(matches[0])
    kinds = {_label_kind(np.asarray(classes)), _label_kind(np.asarray([pos_label]))}
    if {"number", "string"} <= kinds:
        # '1' against labels 0 / 1 (or 1 against '0' / '1') never matches: padding an
        # empty positive class would report a silent zero
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels "
            f"{[c.item() if hasattr(c, 'item') else c for c in classes[:10]]}: a string "
            "and a number never name the same class."
        )
    if given:
        shown = [c.item() if hasattr(c, "item") else c for c in classes[:10]]
        raise ValueError(
            f"pos_label={pos_label!r} occurs in neither y_true nor y_pred (labels {shown}); "
            "its rates would all be zero or undefined. Pass one of the labels."
        )
    return None  # the default positive class is absent from these rows (a small fold)


# --------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------
def _encode(sensitive_features, n_samples, *, min_groups=2, metric=None,
            param="sensitive_features"):
    """Encode sensitive features; at least ``min_groups`` groups are required.

    With ``metric`` given, value combinations that have no row (unused
    categories, empty intersection cells) are named in an
    :class:`UndefinedGroupWarning`: they are absent groups, left out.
    """
    if sensitive_features is None:
        raise ValueError(
            f"{param} is required: pass one value per row (several columns mean "
            "intersectional groups)."
        )
    enc = encode_sensitive_features(sensitive_features, n_samples=n_samples, param=param)
    if enc.n_groups < min_groups:
        raise ValueError(
            f"{param} holds a single group ({enc.labels()[0]!r}); a fairness metric "
            "compares at least two groups."
        )
    if metric is not None:
        _warn_excluded(_absent_cells(enc), "absent groups: no rows", metric=metric,
                       stacklevel=4)
    return enc


def _group_labels(enc, index=None):
    labels = enc.labels()
    return labels if index is None else [labels[i] for i in np.asarray(index)]


def _absent_cells(enc, max_cells=10_000):
    """Cells of the cross product of the attributes' values with no row.

    Returns a list of readable labels (empty when the product exceeds
    ``max_cells``; then only observed groups are reported).
    """
    dims = [max(n, 1) for n in enc.n_values]
    total = int(np.prod(dims, dtype=np.float64))
    if total > max_cells or total == enc.n_groups:
        return []
    observed = np.zeros(total, dtype=bool)
    flat = np.ravel_multi_index(
        tuple(
            pd.Index(enc.categories[j]).get_indexer(enc.groups.iloc[:, j].astype(object))
            for j in range(enc.n_attributes)
        ),
        dims,
    ) if enc.n_attributes > 1 else pd.Index(enc.categories[0]).get_indexer(
        enc.groups.iloc[:, 0].astype(object)
    )
    observed[flat] = True
    missing = np.flatnonzero(~observed)
    cells = np.unravel_index(missing, dims)
    out = []
    for k in range(len(missing)):
        values = [enc.categories[j][cells[j][k]] for j in range(enc.n_attributes)]
        if enc.n_attributes == 1:
            out.append(str(values[0]))
        else:
            out.append(", ".join(f"{n}={v}" for n, v in zip(enc.names, values, strict=True)))
    return out


def _warn_excluded(labels, reason, *, metric, stacklevel=3):
    """Warn that ``labels`` (groups or classes) were left out of ``metric``."""
    labels = list(labels)
    if not labels:
        return
    shown = ", ".join(repr(lab) for lab in labels[:10])
    more = f" and {len(labels) - 10} more" if len(labels) > 10 else ""
    warnings.warn(
        f"{metric}: left out {shown}{more} ({reason}); the value is computed on the rest.",
        UndefinedGroupWarning,
        stacklevel=stacklevel,
    )


def _group_sums(codes, n_groups, weights=None):
    """Per-group sums of ``weights`` (or counts)."""
    return np.bincount(codes, weights=weights, minlength=n_groups)


def _group_confusion(codes, t, p, n_groups, n_classes, sample_weight=None):
    """Per-group confusion matrices ``cm[g, true, pred]`` in one bincount pass."""
    k = n_classes
    key = codes * k  # (codes * k + t) * k + p, without temporaries
    key += t
    key *= k
    key += p
    cm = np.bincount(key, weights=sample_weight, minlength=n_groups * k * k)
    return cm.reshape(n_groups, k, k)


def _confusion(codes, y_true, y_pred, n_groups, labels=None, sample_weight=None):
    """``(classes, cm)``: per-group confusion counts ``cm[g, true, pred]``.

    Small-range integer labels are counted straight from their values in one
    bincount pass (classes that never occur are then dropped from the
    matrix); other labels are mapped to class indices first.
    """
    kinds = {y_true.dtype.kind, y_pred.dtype.kind}
    if labels is None and kinds <= set("biu"):
        lo = int(min(y_true.min(), y_pred.min()))
        hi = int(max(y_true.max(), y_pred.max()))
        r = hi - lo + 1
        if n_groups * r * r <= max(2 * len(y_true), 1 << 16):
            t = y_true.astype(np.int64, copy=False)
            p = y_pred.astype(np.int64, copy=False)
            if lo:
                t, p = t - lo, p - lo
            key = codes * r  # (codes * r + t) * r + p, in place
            key += t
            key *= r
            key += p
            if sample_weight is None:
                cm = np.bincount(key, minlength=n_groups * r * r).reshape(n_groups, r, r)
                present = (cm.sum(axis=(0, 2)) + cm.sum(axis=(0, 1))) > 0
            else:  # a zero-weight row still makes its classes present
                cm = np.bincount(key, weights=sample_weight, minlength=n_groups * r * r)
                cm = cm.reshape(n_groups, r, r)
                present = (np.bincount(t, minlength=r) + np.bincount(p, minlength=r)) > 0
            values = (np.arange(r) + lo)[present]
            if not present.all():
                cm = cm[:, present][:, :, present]
            dtype = np.result_type(y_true.dtype, y_pred.dtype)
            return values.astype(dtype), cm
    classes, t, p = _class_codes(y_true, y_pred, labels)
    return classes, _group_confusion(codes, t, p, n_groups, len(classes), sample_weight)


def _safe_divide(num, den):
    """``num / den`` with a mask of where ``den > 0`` (other entries set to 0)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ok = den > 0
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=ok)
    return out, np.broadcast_to(ok, out.shape)


def _spread(values, valid, *, method="between_groups", overall=None, kind="difference"):
    """Difference (max - min) or ratio (min / max) of per-group ``values``.

    ``values`` and ``valid`` have shape ``(n_groups, n_items)``; the result has
    one entry per item and a mask of items with at least two valid groups
    (``method="between_groups"``) or one (``"to_overall"``).
    """
    values = np.asarray(values, dtype=np.float64)
    big = np.where(valid, values, -np.inf).max(axis=0)
    small = np.where(valid, values, np.inf).min(axis=0)
    n_valid = valid.sum(axis=0)
    if method == "between_groups":
        ok = n_valid >= 2
        if kind == "difference":
            out = np.where(ok, big - small, 0.0)
        else:
            out = np.ones_like(big)
            pos = ok & (big > 0)
            np.divide(small, big, out=out, where=pos)
            out = np.where(ok, out, 1.0)
        return out, ok
    if method == "to_overall":
        ok = n_valid >= 1
        overall = np.asarray(overall, dtype=np.float64)
        if kind == "difference":
            dev = np.where(valid, np.abs(values - overall), -np.inf).max(axis=0)
            return np.where(ok, dev, 0.0), ok
        ratio = np.ones_like(values)
        lo = np.minimum(values, overall)
        hi = np.maximum(values, overall)
        np.divide(lo, hi, out=ratio, where=hi > 0)
        out = np.where(valid, ratio, np.inf).min(axis=0)
        return np.where(ok, out, 1.0), ok
    raise ValueError(
        f"method must be 'between_groups' or 'to_overall', got {method!r}."
    )
