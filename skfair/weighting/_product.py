"""Product of several weightings."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import _name_estimators

from ._base import BaseWeighting, check_weights

__all__ = ["ProductWeighting"]


class ProductWeighting(BaseWeighting):
    """Multiply the weights of several weightings.

    The experts of Dieguez & Valverde's ensemble combine an attribute weighting
    with age weights; Venkatesh et al. ("Frowning upon Bias") combine
    class-balanced weights with affirmative action.

    Parameters
    ----------
    weightings : list of weighting or list of (str, weighting)
        The factors. Unnamed ones are named after their class in lower case
        (as :func:`sklearn.pipeline.make_pipeline` does), so their parameters
        grid-search as ``<name>__<param>``, e.g. ``supportweighting__smoothing``.

    Examples
    --------
    >>> from skfair.weighting import (ClassBalancedWeighting, ProductWeighting,
    ...                               SupportWeighting)
    >>> pw = ProductWeighting([SupportWeighting(smoothing=0), ClassBalancedWeighting()])
    >>> pw.get_weights({"sex": ["F", "M", "M", "M"]}, y=[0, 0, 0, 1])
    array([1.33333333, 0.44444444, 0.44444444, 1.33333333])
    >>> pw.set_params(supportweighting__smoothing=5).weightings[0].smoothing
    5
    """

    def __init__(self, weightings):
        self.weightings = weightings

    def _named(self):
        items = list(self.weightings) if self.weightings is not None else []
        if not items:
            raise ValueError("ProductWeighting needs a non-empty list of weightings.")
        if all(isinstance(w, tuple) and len(w) == 2 and isinstance(w[0], str) for w in items):
            named = items
        elif any(isinstance(w, tuple) for w in items):
            raise TypeError(
                "weightings must be all weighting objects or all (name, weighting) pairs."
            )
        else:
            named = _name_estimators(items)
        names = [n for n, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"weightings have duplicate names {names}.")
        for name, w in named:
            if not hasattr(w, "get_weights"):
                raise TypeError(
                    f"weighting {name!r} ({type(w).__name__}) has no get_weights method."
                )
        return named

    def get_params(self, deep=True):
        """Parameters, with each factor's under ``<name>__`` when ``deep``."""
        params = super().get_params(deep=False)
        if not deep:
            return params
        try:
            named = self._named()
        except (TypeError, ValueError):
            return params
        for name, w in named:
            params[name] = w
            if hasattr(w, "get_params"):
                for key, value in w.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters; ``<name>=weighting`` replaces the factor of that name.

        A replaced factor keeps its name: the factors are then stored as
        ``(name, weighting)`` pairs, so ``<name>__<param>`` still reaches it.
        ``<name>__<param>`` sets a parameter of a factor, the others are this
        object's own.

        Returns
        -------
        self : object
        """
        try:
            named = self._named()
        except (TypeError, ValueError):
            named = []
        replaced = {name: params.pop(name) for name, _ in named if name in params}
        if "weightings" in params:
            if replaced:
                raise ValueError(
                    f"set weightings or replace the factors {sorted(replaced)}, not both."
                )
        elif replaced:
            self.weightings = [(name, replaced.get(name, w)) for name, w in named]
        return super().set_params(**params)

    @property
    def _requires_sensitive(self):
        return any(w._requires_sensitive for _, w in self._named()
                   if isinstance(w, BaseWeighting))

    @property
    def _requires_y(self):
        return any(w._requires_y for _, w in self._named() if isinstance(w, BaseWeighting))

    def _needs_fit(self):
        return any(getattr(w, "_needs_fit", lambda: False)() for _, w in self._named())

    def fit(self, X=None, y=None, *, sensitive_features=None, **fit_params):
        """Fit the factors that need it (e.g. affirmative action picking subgroups).

        Parameters
        ----------
        X, y : array-like
        sensitive_features : array-like, DataFrame, dict, ...
        **fit_params : dict
            Passed to each factor's ``fit``.

        Returns
        -------
        self : object
        """
        for _, w in self._named():
            if getattr(w, "_needs_fit", lambda: False)():
                w.fit(X, y, sensitive_features=sensitive_features, **fit_params)
        return self

    def _get_weights(self, sensitive_features, y):
        w = None
        for _, weighting in self._named():
            wi = weighting.get_weights(sensitive_features=sensitive_features, y=y)
            w = wi if w is None else w * wi
        return check_weights(np.asarray(w), where="ProductWeighting")
