"""Shared machinery of the weighting objects: validation and the target attribute."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..utils._signature import takes_keyword

__all__ = ["BaseWeighting", "target_attribute"]

#: default age-bin edges of Dieguez & Valverde's custom loss 1b: 0-20, 20-40, 40-60, 60+.
DEFAULT_TARGET_BINS = (20, 40, 60)
#: ages per year (custom loss 1a): rounded, clipped to 0..99, so ``n = 100``.
N_YEARS = 100


def _bin_labels(edges):
    edges = [0, *edges]
    labels = [f"{_fmt(a)}-{_fmt(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [*labels, f"{_fmt(edges[-1])}+"]


def _fmt(v):
    return str(int(v)) if float(v).is_integer() else str(v)


def target_attribute(y, target, *, bins=DEFAULT_TARGET_BINS, param="target"):
    """Turn the target into a sensitive attribute (Dieguez & Valverde, losses 1a/1b).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Target values (ages for ``"year"`` / ``"binned"``, any labels for
        ``"label"``).
    target : {"year", "binned", "label"}
        ``"year"``: ages rounded to whole years and clipped to ``0..99``; the
        attribute has 100 possible values whether observed or not (Dieguez &
        Valverde's loss 1a, ``n = 100``). ``"binned"``: ages cut at ``bins`` (default
        ``0-20, 20-40, 40-60, 60+``, left-closed), every bin counted as a
        possible value (loss 1b, ``n = 4``). ``"label"``: the target values as
        they are (class labels), the observed labels being the possible values.
    bins : sequence of float, default=(20, 40, 60)
        Increasing inner bin edges for ``"binned"``.
    param : str, default="target"
        Name used in error messages.

    Returns
    -------
    attribute : pandas.Series
        Named ``"target"``; categorical (with every possible value listed as a
        category) for ``"year"`` and ``"binned"``.

    Examples
    --------
    >>> from skfair.weighting import target_attribute
    >>> list(target_attribute([3.4, 25.0, 61.0, 44.9], "binned"))
    ['0-20', '20-40', '60+', '40-60']
    >>> list(target_attribute([3.4, 25.6, 120.0], "year"))
    [3, 26, 99]
    """
    if y is None:
        raise ValueError(f"{param}={target!r} makes the target an attribute, so y is required.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{param}={target!r} needs a 1-D y, got shape {y.shape}.")
    if target == "label":
        if pd.isna(pd.Series(y)).any():
            raise ValueError(f"{param}='label': y contains missing values.")
        return pd.Series(y, name="target")
    if target not in ("year", "binned"):
        raise ValueError(
            f"{param} must be None, 'year', 'binned' or 'label', got {target!r}."
        )
    try:
        ages = y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{param}={target!r} needs a numeric y (ages).") from exc
    if not np.isfinite(ages).all():
        raise ValueError(f"{param}={target!r}: y contains NaN or infinite values.")
    if target == "year":
        years = np.clip(np.rint(ages), 0, N_YEARS - 1).astype(np.int64)
        return pd.Series(
            pd.Categorical(years, categories=np.arange(N_YEARS)), name="target"
        )
    edges = np.asarray(bins, dtype=np.float64).ravel()
    if edges.size == 0 or not np.all(np.diff(edges) > 0) or not np.isfinite(edges).all():
        raise ValueError(
            f"target_bins must be a non-empty increasing sequence of finite edges, got {bins!r}."
        )
    labels = _bin_labels(edges)
    idx = np.searchsorted(edges, ages, side="right")
    return pd.Series(
        pd.Categorical.from_codes(idx, categories=labels), name="target"
    )


def check_weights(w, *, where):
    """Assert the invariant of every weighting: float64, finite, strictly positive."""
    w = np.asarray(w, dtype=np.float64)
    # Impossible by construction; a failure here is a bug in skfair, not bad input.
    assert np.isfinite(w).all() and (w > 0).all(), (
        f"{where} produced non-finite or non-positive weights; please report this bug."
    )
    return w


def check_positive_real(value, name, *, allow_zero=False):
    """Validate a positive finite real (``smoothing``, ``boost``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite real number {bound}, got {value!r}.")
    return float(value)


def check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    return int(value)


class BaseWeighting(BaseEstimator):
    """Base class of the weighting objects.

    A weighting is a small parameter object (a scikit-learn ``BaseEstimator``
    so that ``get_params``/``set_params``/``clone`` and grid searches over
    ``weighting__<param>`` work) that turns sensitive features and/or the
    target into per-row sample weights with :meth:`get_weights`.

    Subclasses implement ``_get_weights(sensitive_features, y)``; the public
    method checks the result: float64, finite and strictly positive.
    """

    #: whether :meth:`get_weights` needs ``sensitive_features``.
    _requires_sensitive = True
    #: whether :meth:`get_weights` needs ``y``.
    _requires_y = False

    def fit(self, X=None, y=None, *, sensitive_features=None, **fit_params):
        """Nothing to learn for most weightings; returns ``self``.

        Parameters
        ----------
        X, y : ignored
        sensitive_features : ignored
        **fit_params : ignored

        Returns
        -------
        self : object
        """
        return self

    def get_weights(self, sensitive_features=None, y=None):
        """Per-row sample weights.

        Parameters
        ----------
        sensitive_features : array-like, list of array-like, Series, DataFrame or dict
            One value per row (several attributes allowed), see
            :func:`skfair.utils.encode_sensitive_features`.
        y : array-like of shape (n_samples,), optional
            Target, used by weightings that need it.

        Returns
        -------
        weights : ndarray of shape (n_samples,), float64
            Finite, strictly positive.
        """
        name = type(self).__name__
        if self._requires_sensitive and sensitive_features is None:
            raise ValueError(
                f"{name}.get_weights needs sensitive_features (one value per row); got None. "
                "Inside a Pipeline/GridSearchCV, pass sensitive_features=... to fit with "
                "metadata routing enabled."
            )
        if self._requires_y and y is None:
            raise ValueError(f"{name}.get_weights needs y; got None.")
        return check_weights(self._get_weights(sensitive_features, y), where=name)

    def _get_weights(self, sensitive_features, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _needs_fit(self):
        return False


def prepare_weighting(weighting, X, y, *, sensitive_features=None, baseline=None):
    """The weighting ready for ``get_weights``: fitted on ``X, y`` if it must be.

    A weighting that must be fitted first (``_needs_fit()``: affirmative action
    picking its subgroups with ``k=``) is cloned and fitted, with ``baseline`` as
    its baseline estimator unless it has its own; any other weighting (stateless,
    or fitted already) is returned as it is.

    Parameters
    ----------
    weighting : weighting object
    X, y : array-like
        The rows the weighting is fitted on.
    sensitive_features : array-like, optional
    baseline : estimator, optional
        Default baseline of a weighting whose ``fit`` takes one.

    Returns
    -------
    weighting : weighting object
    """
    if not needs_fit(weighting):
        return weighting
    weighting = clone(weighting)
    fit_kw = {"sensitive_features": sensitive_features}
    if baseline is not None and takes_keyword(weighting.fit, "baseline"):
        fit_kw["baseline"] = baseline
    return weighting.fit(X, y, **fit_kw)


def needs_fit(weighting):
    """Whether :func:`prepare_weighting` fits ``weighting`` (on ``X, y``)."""
    return bool(getattr(weighting, "_needs_fit", lambda: False)())
