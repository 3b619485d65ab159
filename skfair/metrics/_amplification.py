"""Bias amplification for multi-label predictions (Zhao et al. 2017; Wang & Russakovsky 2021).

Two definitions, both computed from label-by-group co-occurrence counts
``c[g, o] = #{rows with group g and label o}`` (one sparse product, no loop
over rows):

* Zhao et al. (2017), :func:`bias_amplification`: with ``b(o, g) = c(o, g) /
  sum_g' c(o, g')``, the mean over labels of
  ``sum_g 1[b_train(o, g) > 1/|G|] (b_pred(o, g) - b_train(o, g))``.
* Wang & Russakovsky (2021), :func:`directional_bias_amplification`, which
  separates the two directions (group -> label and label -> group) and also
  counts negatively correlated pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..utils import check_sensitive_features, encode_sensitive_features
from ._base import _absent_cells, _safe_divide, _to_numpy, _warn_excluded

__all__ = ["bias_amplification", "directional_bias_amplification"]


def _indicators(named):
    """Indicator matrices ``(n, n_labels)`` sharing one label set.

    ``named`` is a list of ``(name, values)``; values are all 2-D binary
    indicator matrices (arrays or DataFrames, whose columns name the labels)
    or all 1-D class labels (one-hot encoded over the union of classes).
    """
    arrays, label_names, first = [], None, None
    for name, values in named:
        if sp.issparse(values):
            values = values.toarray()
        if isinstance(values, pd.DataFrame):
            columns = [str(c) for c in values.columns]
            if label_names is None:
                label_names, first = columns, name
            elif columns != label_names:
                # labels are matched by name: the same labels in another order are
                # reordered, other labels are an error
                if sorted(columns) != sorted(label_names) or len(set(columns)) != len(columns):
                    raise ValueError(
                        f"{name} has the label columns {columns[:10]}, {first} has "
                        f"{label_names[:10]}; the indicator matrices must name the same "
                        "labels."
                    )
                values = values.set_axis(columns, axis=1)[label_names]
        arrays.append((name, _to_numpy(values)))
    ndims = {a.ndim for _, a in arrays}
    if not ndims <= {1, 2} or len(ndims) != 1:
        raise ValueError(
            "The label inputs must all be 2-D indicator matrices (rows x labels) or all "
            f"1-D class labels; got {', '.join(f'{n}: {a.ndim}-D' for n, a in arrays)}."
        )
    if ndims == {1}:
        for name, a in arrays:
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise ValueError(f"{name} contains NaN or infinity.")
            if a.dtype.kind == "O" and pd.isna(a).any():
                raise ValueError(f"{name} contains missing values.")
        codes, uniques = pd.factorize(np.concatenate([a.astype(object) for _, a in arrays]))
        try:
            order = np.argsort(np.asarray(uniques), kind="stable")
        except TypeError:
            order = np.argsort([str(u) for u in uniques], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes = rank[codes]
        label_names = [str(uniques[i]) for i in order]
        out, start = [], 0
        for _, a in arrays:
            part = codes[start:start + len(a)]
            start += len(a)
            onehot = np.zeros((len(a), len(label_names)))
            onehot[np.arange(len(a)), part] = 1.0
            out.append(onehot)
        return out, label_names
    widths = {a.shape[1] for _, a in arrays}
    if len(widths) != 1:
        raise ValueError(
            "The indicator matrices have different numbers of labels: "
            + ", ".join(f"{n}: {a.shape[1]}" for n, a in arrays)
        )
    out = []
    for name, a in arrays:
        if a.dtype.kind == "b":
            a = a.astype(np.float64)
        if a.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be a 0/1 indicator matrix, got dtype {a.dtype}.")
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        if not np.isin(a, (0.0, 1.0)).all():
            raise ValueError(
                f"{name} must hold 0/1 indicators; got other values (scores or "
                "probabilities must be thresholded first)."
            )
        out.append(a)
    if label_names is None:
        label_names = [str(j) for j in range(out[0].shape[1])]
    return out, label_names


def _joint_groups(named, metric):
    """Encode several sensitive-feature inputs with one shared set of groups.

    ``named`` is a list of ``(name, sensitive_features, n_rows)``. Returns the
    encoding and the group codes of each input.
    """
    frames = []
    for name, sf, n in named:
        frame = check_sensitive_features(sf, n_samples=n, param=name)
        if frames:
            first = frames[0]
            if set(frame.columns) == set(first.columns):
                frame = frame[list(first.columns)]
            elif frame.shape[1] == first.shape[1]:
                frame.columns = list(first.columns)
            else:
                raise ValueError(
                    f"{name} has attributes {list(frame.columns)} but {named[0][0]} has "
                    f"{list(first.columns)}; they must describe the same groups."
                )
        frames.append(frame.astype(object))
    enc = encode_sensitive_features(pd.concat(frames, ignore_index=True))
    codes, start = [], 0
    for frame in frames:
        codes.append(enc.codes[start:start + len(frame)])
        start += len(frame)
    if enc.n_groups < 2:
        raise ValueError(
            f"{named[0][0]} holds a single group ({enc.labels()[0]!r}); bias amplification "
            "compares at least two groups."
        )
    _warn_excluded(_absent_cells(enc), "absent groups: no rows", metric=metric, stacklevel=4)
    return enc, codes


def _cooccurrence(codes, Y, n_groups):
    """``c[g, o]``: rows of group ``g`` carrying label ``o``."""
    n = len(codes)
    onehot = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))
    return np.asarray(onehot @ Y)


def _check_rows(Y, name, codes, a_name):
    if len(Y) != len(codes):
        raise ValueError(f"{name} has {len(Y)} rows but {a_name} has {len(codes)}.")


def bias_amplification(Y_train, A_train, Y_pred, A_pred, *, return_per_label=False):
    """Bias amplification of Zhao et al. (2017), per label and on average.

    With ``c(o, g)`` the number of rows that carry label ``o`` and belong to
    group ``g``, the bias of label ``o`` towards ``g`` is ``b(o, g) = c(o, g)
    / sum_g' c(o, g')``. A label's amplification is ``sum_g 1[b_train(o, g) >
    1/|G|] (b_pred(o, g) - b_train(o, g))``: how much further the predictions
    push the label towards the group it is already biased to in training. The
    score is the mean over labels; positive means amplified bias.

    Parameters
    ----------
    Y_train : array-like of shape (n_train, n_labels) or (n_train,)
        Training labels: a 0/1 indicator matrix (multi-label; DataFrame
        columns name the labels) or 1-D class labels (one-hot encoded).
    A_train : array-like, list of array-like, DataFrame or dict
        Group of every training row (several columns mean intersections).
    Y_pred : array-like of shape (n_test, n_labels) or (n_test,)
        Predicted labels on the evaluation set, in the format of ``Y_train``.
    A_pred : array-like, list of array-like, DataFrame or dict
        Group of every evaluation row: predicted (as in Zhao et al., where the
        agent's gender is predicted too) or true.
    return_per_label : bool, default=False
        Also return the per-label table.

    Returns
    -------
    amplification : float
        Mean over the labels kept (see Notes).
    per_label : pandas.DataFrame
        Only when ``return_per_label=True``. One row per label; columns
        ``n_train``, ``n_pred``, ``bias_train[g]`` and ``bias_pred[g]`` (a
        two-level column index: ``per_label["bias_train"]`` is labels x
        groups) and ``amplification``.

    Notes
    -----
    ``|G|`` is the number of groups seen in ``A_train`` or ``A_pred``. A label
    that never occurs in ``Y_train`` or is never predicted has no bias ratio;
    it is left out of the mean and of the table, with an
    :class:`~skfair.metrics.UndefinedGroupWarning` naming it.

    References
    ----------
    Zhao, Wang, Yatskar, Ordonez, Chang. "Men Also Like Shopping: Reducing
    Gender Bias Amplification using Corpus-level Constraints", EMNLP 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.metrics import bias_amplification
    >>> Y_train = np.array([[1, 0], [1, 0], [1, 1], [0, 1]])
    >>> A_train = ["man", "man", "woman", "woman"]
    >>> Y_pred = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    >>> A_pred = ["man", "man", "woman", "woman"]
    >>> round(bias_amplification(Y_train, A_train, Y_pred, A_pred), 4)
    0.1667
    """
    (Yt, Yp), labels = _indicators([("Y_train", Y_train), ("Y_pred", Y_pred)])
    enc, (gt, gp) = _joint_groups(
        [("A_train", A_train, len(Yt)), ("A_pred", A_pred, len(Yp))], "bias_amplification"
    )
    G = enc.n_groups
    c_train = _cooccurrence(gt, Yt, G)
    c_pred = _cooccurrence(gp, Yp, G)
    b_train, _ = _safe_divide(c_train, c_train.sum(axis=0))
    b_pred, _ = _safe_divide(c_pred, c_pred.sum(axis=0))
    n_train, n_pred = c_train.sum(axis=0), c_pred.sum(axis=0)
    metric = "bias_amplification"
    never_train = np.flatnonzero(n_train == 0)
    never_pred = np.flatnonzero((n_pred == 0) & (n_train > 0))
    _warn_excluded([labels[o] for o in never_train], "label absent from Y_train", metric=metric)
    _warn_excluded([labels[o] for o in never_pred], "label never predicted", metric=metric)
    keep = (n_train > 0) & (n_pred > 0)
    if not keep.any():
        raise ValueError("bias_amplification: no label occurs both in Y_train and in Y_pred.")
    per_label = ((b_train > 1.0 / G) * (b_pred - b_train)).sum(axis=0)
    value = float(per_label[keep].mean())
    if not return_per_label:
        return value
    groups = enc.labels()
    data = {("n_train", ""): n_train, ("n_pred", ""): n_pred}
    for g, name in enumerate(groups):
        data[("bias_train", name)] = b_train[g]
    for g, name in enumerate(groups):
        data[("bias_pred", name)] = b_pred[g]
    data[("amplification", "")] = per_label
    frame = pd.DataFrame(data, index=pd.Index(labels, name="label"))
    return value, frame[keep]


def directional_bias_amplification(Y_true, A_true, Y_pred=None, A_pred=None, *,
                                   direction="A->T", Y_train=None, A_train=None,
                                   return_per_label=False):
    """Directional bias amplification of Wang & Russakovsky (2021).

    With tasks (labels) ``t`` and groups ``a`` (one-hot group membership):

    .. math::

        \\mathrm{BiasAmp}_{\\to} = \\frac{1}{|A||T|} \\sum_{a, t}
            y_{at} \\Delta_{at}, \\quad
        y_{at} = \\operatorname{sign}\\big(P(A_a, T_t) - P(A_a) P(T_t)\\big)

    where ``Delta_at = P(T^_t = 1 | A_a = 1) - P(T_t = 1 | A_a = 1)`` for
    ``direction="A->T"`` (does the group change how often the label is
    predicted?) and ``Delta_at = P(A^_a = 1 | T_t = 1) - P(A_a = 1 | T_t =
    1)`` for ``"T->A"`` (does the label change how often the group is
    predicted?). Positive values mean amplified bias; a negative value means
    the predictions are less biased than the data. This follows the authors'
    reference implementation (``y_at`` is the sign, so exactly independent
    pairs count 0, and the mean runs over the pairs where ``Delta`` is
    defined).

    Parameters
    ----------
    Y_true : array-like of shape (n_samples, n_labels) or (n_samples,)
        True labels of the evaluation set: a 0/1 indicator matrix or 1-D
        class labels (one-hot encoded).
    A_true : array-like, list of array-like, DataFrame or dict
        True group of every evaluation row.
    Y_pred : array-like, default=None
        Predicted labels, like ``Y_true``; required for ``"A->T"``.
    A_pred : array-like, default=None
        Predicted groups; required for ``"T->A"``.
    direction : {"A->T", "T->A"}, default="A->T"
        Which influence to measure.
    Y_train, A_train : array-like, default=None
        When both are given, the sign ``y_at`` is taken from the training set
        (as the authors recommend); otherwise from ``Y_true, A_true``.
    return_per_label : bool, default=False
        Also return the per-label table.

    Returns
    -------
    amplification : float
    per_label : pandas.DataFrame
        Only when ``return_per_label=True``: one row per label, columns
        ``amplification`` (mean over groups) and, per group, ``value`` (``y_at
        * Delta_at``), ``delta`` and ``sign`` (two-level column index).

    Notes
    -----
    For ``"A->T"``, a group without evaluation rows has no ``Delta`` and is
    left out; for ``"T->A"``, a label without positive evaluation rows is left
    out; both with an :class:`~skfair.metrics.UndefinedGroupWarning`.

    References
    ----------
    Wang, Russakovsky. "Directional Bias Amplification", ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.metrics import directional_bias_amplification
    >>> Y_true = np.array([[1], [1], [0], [1], [0], [0]])
    >>> A = ["m", "m", "m", "w", "w", "w"]
    >>> Y_pred = np.array([[1], [1], [1], [0], [0], [0]])
    >>> round(directional_bias_amplification(Y_true, A, Y_pred, direction="A->T"), 4)
    0.3333
    """
    if direction not in ("A->T", "T->A"):
        raise ValueError(f"direction must be 'A->T' or 'T->A', got {direction!r}.")
    if (Y_train is None) != (A_train is None):
        raise ValueError("Give both Y_train and A_train (to set the sign y_at), or neither.")
    if direction == "A->T" and Y_pred is None:
        raise ValueError("direction='A->T' needs Y_pred (the predicted labels).")
    if direction == "T->A" and A_pred is None:
        raise ValueError("direction='T->A' needs A_pred (the predicted groups).")
    named_y = [("Y_true", Y_true)]
    if Y_pred is not None:
        named_y.append(("Y_pred", Y_pred))
    if Y_train is not None:
        named_y.append(("Y_train", Y_train))
    ys, labels = _indicators(named_y)
    Y = dict(zip([n for n, _ in named_y], ys, strict=True))
    named_a = [("A_true", A_true, len(Y["Y_true"]))]
    if A_pred is not None:
        named_a.append(("A_pred", A_pred, len(Y["Y_true"])))
    if A_train is not None:
        named_a.append(("A_train", A_train, len(Y["Y_train"])))
    enc, codes = _joint_groups(named_a, "directional_bias_amplification")
    A = dict(zip([n for n, *_ in named_a], codes, strict=True))
    if "Y_pred" in Y and len(Y["Y_pred"]) != len(Y["Y_true"]):
        raise ValueError(
            f"Y_pred has {len(Y['Y_pred'])} rows but Y_true has {len(Y['Y_true'])}."
        )
    G, metric = enc.n_groups, "directional_bias_amplification"
    groups = enc.labels()

    # sign of the correlation of each (group, label) pair
    ref_Y, ref_A = (Y["Y_train"], A["A_train"]) if "Y_train" in Y else (Y["Y_true"], A["A_true"])
    m = len(ref_Y)
    joint = _cooccurrence(ref_A, ref_Y, G) / m
    p_a = np.bincount(ref_A, minlength=G) / m
    p_t = ref_Y.sum(axis=0) / m
    sign = np.sign(joint - p_a[:, None] * p_t[None, :])

    T = Y["Y_true"]
    if direction == "A->T":
        n_a = np.bincount(A["A_true"], minlength=G).astype(np.float64)
        diff = _cooccurrence(A["A_true"], Y["Y_pred"], G) - _cooccurrence(A["A_true"], T, G)
        delta, ok = _safe_divide(diff, n_a[:, None])
        _warn_excluded([groups[g] for g in np.flatnonzero(n_a == 0)],
                       "group without evaluation rows", metric=metric)
    else:
        n_t = T.sum(axis=0)
        diff = _cooccurrence(A["A_pred"], T, G) - _cooccurrence(A["A_true"], T, G)
        delta, ok = _safe_divide(diff, n_t[None, :])
        _warn_excluded([labels[t] for t in np.flatnonzero(n_t == 0)],
                       "label without positive evaluation rows", metric=metric)
    ok = np.asarray(ok)
    if not ok.any():
        raise ValueError(f"{metric} is undefined: no (group, label) pair has a defined delta.")
    values = sign * delta
    value = float(values[ok].mean())
    if not return_per_label:
        return value
    keep_labels = ok.any(axis=0)
    keep_groups = ok.any(axis=1)
    counts = ok.sum(axis=0)
    per = np.where(ok, values, 0.0).sum(axis=0)
    amp = np.divide(per, counts, out=np.zeros_like(per), where=counts > 0)
    data = {("amplification", ""): amp}
    for key, arr in (("value", values), ("delta", delta), ("sign", sign)):
        for g in np.flatnonzero(keep_groups):
            data[(key, groups[g])] = arr[g]
    frame = pd.DataFrame(data, index=pd.Index(labels, name="label"))
    return value, frame[keep_labels]
