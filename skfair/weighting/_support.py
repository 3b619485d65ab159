"""Support-based fairness weights (Dieguez & Valverde's custom losses 1 and 2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
import pandas as pd

from ..utils import check_sensitive_features, encode_sensitive_features
from ._base import (
    DEFAULT_TARGET_BINS,
    BaseWeighting,
    check_positive_real,
    check_weights,
    target_attribute,
)

__all__ = ["SupportWeighting", "support_weights"]


def _resolve_n_values(n_values, encoding):
    """Per-attribute number of possible values (default: ``encoding.n_values``)."""
    default = list(encoding.n_values)
    names = list(encoding.names)
    if n_values is None:
        resolved = default
    elif isinstance(n_values, Integral) and not isinstance(n_values, bool):
        if len(names) != 1:
            raise ValueError(
                f"n_values={n_values!r} is a single int but there are {len(names)} attributes "
                f"{names}; pass a dict {{attribute: n}} or one int per attribute."
            )
        resolved = [n_values]
    elif isinstance(n_values, Mapping):
        unknown = [k for k in n_values if str(k) not in names]
        if unknown:
            raise ValueError(
                f"n_values names unknown attributes {unknown}; the attributes are {names}."
            )
        given = {str(k): v for k, v in n_values.items()}
        resolved = [given.get(name, d) for name, d in zip(names, default, strict=True)]
    elif isinstance(n_values, Sequence | np.ndarray) and not isinstance(n_values, str):
        if len(n_values) != len(names):
            raise ValueError(
                f"n_values has {len(n_values)} entries but there are {len(names)} "
                f"attributes {names}."
            )
        resolved = list(n_values)
    else:
        raise TypeError(
            "n_values must be None, an int, a dict {attribute: int} or a sequence of ints, "
            f"got {type(n_values).__name__}."
        )
    out = []
    for name, n, seen in zip(names, resolved, default, strict=True):
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_values[{name!r}] must be an int >= 1, got {n!r}.")
        if n < seen:
            raise ValueError(
                f"n_values[{name!r}]={n} is smaller than the {seen} values attribute "
                f"{name!r} takes."
            )
        out.append(int(n))
    return out


def _support_formula(support, n, total, smoothing):
    return (smoothing + total) / (smoothing + n * support)


def support_weights(sensitive_features, *, scheme="marginal", smoothing=5, n_values=None):
    """Support-based sample weights ``w = (k + total) / (k + n * support)``.

    The weighting of Dieguez & Valverde's custom losses 1 (``"marginal"``) and 2
    (``"intersectional"``): rare groups get large weights, frequent ones small
    weights, and with ``k = 0`` every value of an attribute ends up with the
    same total weight ``total / n``.

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, Series, DataFrame, dict \
            or SensitiveEncoding
        One value per row; several attributes allowed.
    scheme : {"marginal", "intersectional"}, default="marginal"
        ``"marginal"``: for each attribute, ``support`` is the number of rows
        sharing the row's value and ``n`` that attribute's number of possible
        values; the row's weight is the product over attributes.
        ``"intersectional"``: the formula applied once to the cell of all
        attributes, ``support`` the cell's row count and ``n`` the number of
        possible cells (product of the attributes' ``n``).
    smoothing : float >= 0, default=5
        ``k``; keeps the weights bounded (``k = 5`` in Dieguez & Valverde's entry).
    n_values : int, dict or sequence of int, optional
        Number of possible values per attribute. Default: the number of
        categories of each attribute (observed values, or the categories of a
        categorical). A dict may override some attributes only.

    Returns
    -------
    weights : ndarray of shape (n_samples,), float64
        Finite and strictly positive (every row's own cell has ``support >= 1``).

    See Also
    --------
    SupportWeighting : the same as a grid-searchable parameter object.

    Examples
    --------
    >>> from skfair.weighting import support_weights
    >>> S = {"sex": ["F", "M", "M", "M"], "race": ["a", "a", "b", "b"]}
    >>> support_weights(S, smoothing=0)          # (4 / (2 * s_sex)) * (4 / (2 * s_race))
    array([2.        , 0.66666667, 0.66666667, 0.66666667])
    >>> support_weights(S, scheme="intersectional", smoothing=0)  # 4 / (4 * s_cell)
    array([1. , 1. , 0.5, 0.5])
    """
    if scheme not in ("marginal", "intersectional"):
        raise ValueError(
            f"scheme must be 'marginal' or 'intersectional', got {scheme!r}."
        )
    k = check_positive_real(smoothing, "smoothing", allow_zero=True)
    enc = encode_sensitive_features(sensitive_features)
    n_per_attr = _resolve_n_values(n_values, enc)
    total = float(len(enc.codes))
    if scheme == "intersectional":
        support = enc.counts[enc.codes].astype(np.float64)
        n_cells = float(np.prod(np.asarray(n_per_attr, dtype=np.float64)))
        w = _support_formula(support, n_cells, total, k)
    else:
        w = np.ones(len(enc.codes), dtype=np.float64)
        for j, n in enumerate(n_per_attr):
            col = enc.attribute_codes[:, j]
            counts = np.bincount(col, minlength=len(enc.categories[j]))
            w *= _support_formula(counts[col].astype(np.float64), float(n), total, k)
    return check_weights(w, where="support_weights")


def select_attributes(sensitive_features, attributes, *, param="attributes"):
    """The named attributes of ``sensitive_features`` as a DataFrame (categories kept)."""
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{param} must be a str or a non-empty list of str, got {attributes!r}.")
    frame = check_sensitive_features(sensitive_features)
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise ValueError(
            f"{param}={attributes!r}: {unknown} not among the sensitive attributes "
            f"{list(frame.columns)}."
        )
    return frame[names]


def _join_target(sensitive_features, y, target, bins):
    """Sensitive features (possibly None) plus the target as a ``"target"`` attribute."""
    if target is None:
        return sensitive_features
    attr = target_attribute(y, target, bins=bins)
    if sensitive_features is None:
        return pd.DataFrame({"target": attr})
    frame = check_sensitive_features(sensitive_features)
    if len(frame) != len(attr):
        raise ValueError(
            f"sensitive_features has {len(frame)} rows but y has {len(attr)}."
        )
    if "target" in frame.columns:
        raise ValueError(
            "sensitive_features already has an attribute named 'target'; rename it to "
            "join the target as an attribute."
        )
    frame["target"] = attr.array  # keeps the categorical (all possible values)
    return frame


class SupportWeighting(BaseWeighting):
    """Support-based weights as a grid-searchable parameter object.

    ``w = (k + total) / (k + n * support)``, marginal (product over attributes,
    Dieguez & Valverde's loss 1) or intersectional (on the cell of all attributes, loss 2).
    The target can join as an attribute named ``"target"``: ages per year
    (loss 1a, ``n = 100``) or binned (loss 1b, ``n = 4``).

    Parameters
    ----------
    scheme : {"marginal", "intersectional"}, default="marginal"
        See :func:`support_weights`.
    smoothing : float >= 0, default=5
        ``k`` in the formula.
    n_values : int, dict or sequence of int, optional
        Number of possible values per attribute (the target included, under
        the name ``"target"``); default: the number of categories.
    target : {None, "year", "binned", "label"}, default=None
        Join the target as an attribute: ``"year"`` rounds ages (half to even)
        and clips them to ``0..99`` (100 possible values), ``"binned"`` cuts
        them at ``target_bins``, ``"label"`` uses the class labels as they are.
        See :func:`target_attribute`.
    target_bins : sequence of float, default=(20, 40, 60)
        Inner bin edges for ``target="binned"``.
    attributes : str or list of str, optional
        Use only these sensitive attributes (by name); default: all of them.
        Dieguez & Valverde's experts each weight one attribute (plus the age), e.g.
        ``SupportWeighting(attributes="gender", target="binned")``; an empty
        list with ``target`` set weights by the target alone.

    See Also
    --------
    support_weights : the pure function.

    Examples
    --------
    >>> from skfair.weighting import SupportWeighting
    >>> S = {"sex": ["F", "M", "M", "M"]}
    >>> SupportWeighting(smoothing=0).get_weights(S)
    array([2.        , 0.66666667, 0.66666667, 0.66666667])
    >>> ages = [10.0, 30.0, 35.0, 70.0]
    >>> SupportWeighting(smoothing=0, target="binned").get_weights(S, ages).round(3)
    array([2.   , 0.333, 0.333, 0.667])
    >>> S2 = {"sex": ["F", "M", "M", "M"], "race": ["a", "a", "b", "b"]}
    >>> SupportWeighting(smoothing=0, attributes="sex").get_weights(S2)
    array([2.        , 0.66666667, 0.66666667, 0.66666667])
    """

    def __init__(self, scheme="marginal", smoothing=5, n_values=None, target=None,
                 target_bins=DEFAULT_TARGET_BINS, attributes=None):
        self.scheme = scheme
        self.smoothing = smoothing
        self.n_values = n_values
        self.target = target
        self.target_bins = target_bins
        self.attributes = attributes

    def _no_attribute(self):
        """``attributes=[]``: weight by the target alone."""
        attributes = self.attributes
        return attributes is not None and not isinstance(attributes, str) and not len(attributes)

    @property
    def _requires_sensitive(self):
        # naming attributes needs them, even with a target joined
        return self.target is None or (self.attributes is not None and not self._no_attribute())

    @property
    def _requires_y(self):
        return self.target is not None

    def _get_weights(self, sensitive_features, y):
        if self._no_attribute():
            if self.target is None:
                raise ValueError("attributes=[] leaves nothing to weight unless target is set.")
            sensitive_features = None
        elif self.attributes is not None and sensitive_features is not None:
            sensitive_features = select_attributes(sensitive_features, self.attributes)
        sf = _join_target(sensitive_features, y, self.target, self.target_bins)
        return support_weights(
            sf, scheme=self.scheme, smoothing=self.smoothing, n_values=self.n_values
        )
