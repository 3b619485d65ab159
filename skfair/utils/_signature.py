"""Whether a callable names a keyword: the one signature test the package uses."""

from __future__ import annotations

import inspect

__all__: list[str] = []


def takes_keyword(func, name):
    """Whether ``func`` (a callable, or None) names a parameter ``name``.

    A ``**kwargs`` catch-all does not count: it names nothing. Builtins without
    a readable signature count as not taking it.

    Examples
    --------
    >>> from skfair.utils._signature import takes_keyword
    >>> takes_keyword(lambda X, y, *, sample_weight=None: None, "sample_weight")
    True
    >>> takes_keyword(lambda X, **params: None, "sample_weight")
    False
    """
    if func is None:
        return False
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
