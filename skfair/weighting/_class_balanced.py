"""Class-balanced weights (the class-weighted cross-entropy of "Frowning upon Bias")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import BaseWeighting, check_weights

__all__ = ["ClassBalancedWeighting", "class_balanced_weights"]


def class_balanced_weights(y):
    """Class-balanced sample weights ``w_c = n / (n_classes * N_c)``.

    Proportional to ``1 / N_c``; normalised as scikit-learn's
    ``class_weight="balanced"`` so that the weights average to 1 and every
    class carries the same total weight ``n / n_classes``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (no missing value).

    Returns
    -------
    weights : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from skfair.weighting import class_balanced_weights
    >>> class_balanced_weights(["a", "a", "a", "b"])
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    """
    if y is None:
        raise ValueError("class-balanced weights need y (class labels); got None.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinite values; they are not classes.")
    if y.dtype.kind == "O" and pd.isna(pd.Series(y)).any():
        raise ValueError("y contains missing values (None / NaN); they are not classes.")
    try:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise ValueError("y holds labels of mixed, unorderable types.") from exc
    w = y.size / (len(counts) * counts[inverse.reshape(-1)].astype(np.float64))
    return check_weights(w, where="class_balanced_weights")


class ClassBalancedWeighting(BaseWeighting):
    """Class-balanced weights ``w_c ∝ 1 / N_c``, as a parameter object.

    Normalised as :func:`class_balanced_weights` (``n / (n_classes * N_c)``,
    mean weight 1). Needs ``y`` only; ``sensitive_features`` are ignored.

    Examples
    --------
    >>> from skfair.weighting import ClassBalancedWeighting
    >>> ClassBalancedWeighting().get_weights(y=[0, 0, 0, 1])
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    """

    _requires_sensitive = False
    _requires_y = True

    def __init__(self):
        pass

    def _get_weights(self, sensitive_features, y):
        return class_balanced_weights(y)
