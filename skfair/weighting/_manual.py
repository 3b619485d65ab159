"""Manual per-value weight tables (Dieguez & Valverde's custom loss 3)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..utils import check_sensitive_features
from ._base import DEFAULT_TARGET_BINS, BaseWeighting, check_weights
from ._support import _join_target

__all__ = ["ManualWeighting", "manual_weights"]

# the name check_sensitive_features gives a single attribute that has none
UNNAMED = "sensitive_feature_0"


def _check_table(table):
    if not isinstance(table, Mapping) or not table:
        raise TypeError(
            "table must be a non-empty dict {attribute: {value: weight}}, got "
            f"{type(table).__name__}."
        )
    for attr, values in table.items():
        if not isinstance(values, Mapping) or not values:
            raise TypeError(
                f"table[{attr!r}] must be a non-empty dict {{value: weight}}, got "
                f"{type(values).__name__}."
            )
        for value, w in values.items():
            ok = isinstance(w, int | float | np.integer | np.floating) and not isinstance(w, bool)
            if not ok or not np.isfinite(w) or w <= 0:
                raise ValueError(
                    f"table[{attr!r}][{value!r}] must be a finite weight > 0, got {w!r}."
                )


def manual_weights(sensitive_features, table):
    """Per-row product of user-chosen per-value weights (Dieguez & Valverde, loss 3).

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, Series, DataFrame or dict
        One value per row. Attributes are matched to ``table`` by name; a
        single unnamed attribute matches a single-entry table whatever its key.
        Attributes absent from ``table`` do not change the weights.
    table : dict of {attribute: {value: weight}}
        Finite, strictly positive weights. Every value met in the data must be
        in the table.

    Returns
    -------
    weights : ndarray of shape (n_samples,), float64

    Raises
    ------
    ValueError
        When the data hold a value missing from the table (the message lists
        them), when a table attribute is not among the sensitive features, or
        when a weight is not finite and positive.

    Examples
    --------
    >>> from skfair.weighting import manual_weights
    >>> S = {"sex": ["M", "F", "M"], "expr": ["happy", "neutral", "neutral"]}
    >>> table = {"sex": {"M": 0.35, "F": 0.5}, "expr": {"happy": 2.0, "neutral": 1.0}}
    >>> manual_weights(S, table)
    array([0.7 , 0.5 , 0.35])
    """
    _check_table(table)
    frame = check_sensitive_features(sensitive_features)
    names = list(frame.columns)
    keys = list(table)
    if names == [UNNAMED] and len(keys) == 1:  # a single unnamed attribute: any key
        pairs = [(names[0], keys[0])]
    else:
        missing = [k for k in keys if str(k) not in names]
        if missing:
            raise ValueError(
                f"table has attributes {missing} that are not among the sensitive features "
                f"{names}."
            )
        pairs = [(str(k), k) for k in keys]
    w = np.ones(len(frame), dtype=np.float64)
    for col, key in pairs:
        values = frame[col]
        mapping = pd.Series(table[key], dtype=np.float64)
        lookup = pd.Index(mapping.index)
        idx = lookup.get_indexer(pd.Index(values.to_numpy(dtype=object)))
        if (idx < 0).any():
            unseen = pd.unique(values.to_numpy(dtype=object)[idx < 0])
            raise ValueError(
                f"manual weight table: attribute {col!r} has values with no weight "
                f"{list(unseen[:10])}; the table lists {list(lookup[:20])}."
            )
        w *= mapping.to_numpy()[idx]
    return check_weights(w, where="manual_weights")


class ManualWeighting(BaseWeighting):
    """User-chosen per-value weights, multiplied across attributes (Dieguez & Valverde, loss 3).

    Parameters
    ----------
    table : dict of {attribute: {value: weight}}
        See :func:`manual_weights`. With ``target`` set, the table may weight the
        target attribute under the key ``"target"``.
    target : {None, "year", "binned", "label"}, default=None
        Join the target as the attribute ``"target"`` (see
        :func:`target_attribute`; with ``"binned"`` its values are labelled
        ``"0-20"``, ``"20-40"``, ``"40-60"``, ``"60+"``).
    target_bins : sequence of float, default=(20, 40, 60)
        Inner bin edges for ``target="binned"``.

    Examples
    --------
    >>> from skfair.weighting import ManualWeighting
    >>> table = {"sex": {"M": 0.35, "F": 0.5}, "target": {"0-20": 0.8, "20-40": 0.3,
    ...          "40-60": 1.5, "60+": 10.0}}
    >>> ManualWeighting(table, target="binned").get_weights({"sex": ["M", "F"]}, [25, 70])
    array([0.105, 5.   ])
    """

    def __init__(self, table, target=None, target_bins=DEFAULT_TARGET_BINS):
        self.table = table
        self.target = target
        self.target_bins = target_bins

    @property
    def _requires_sensitive(self):
        return self.target is None

    @property
    def _requires_y(self):
        return self.target is not None

    def _get_weights(self, sensitive_features, y):
        sf = _join_target(sensitive_features, y, self.target, self.target_bins)
        return manual_weights(sf, self.table)
