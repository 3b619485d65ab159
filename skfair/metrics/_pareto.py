"""Pareto fronts of multi-metric searches and a ``refit`` picker for them."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["ParetoRefit", "pareto_front", "pareto_refit"]

_SELECT = ("utopia",)


def _parse_objectives(objectives):
    """``[(name, direction)]``; a bare name or list means maximise."""
    if isinstance(objectives, str):
        objectives = [objectives]
    if isinstance(objectives, Mapping):
        items = list(objectives.items())
    else:
        items = [(o, "max") for o in objectives]
    if len(items) < 1:
        raise ValueError("objectives must name at least one score.")
    for name, direction in items:
        if direction not in ("max", "min"):
            raise ValueError(
                f"objective {name!r}: direction must be 'max' or 'min', got {direction!r}."
            )
    return items


def _column(cv_results, name):
    for key in (name, f"mean_test_{name}"):
        if key in cv_results:
            return key
    available = sorted(k[len("mean_test_"):] for k in cv_results if k.startswith("mean_test_"))
    raise ValueError(
        f"objective {name!r} is not in cv_results_; available scores: {available} "
        "(or give a full column name)."
    )


def _oriented(cv_results, objectives):
    """Matrix ``(n_candidates, n_objectives)``, larger is better, plus columns."""
    items = _parse_objectives(objectives)
    cols = [_column(cv_results, name) for name, _ in items]
    values = np.column_stack(
        [np.asarray(cv_results[c], dtype=np.float64) for c in cols]
    )
    signs = np.array([1.0 if d == "max" else -1.0 for _, d in items])
    return values * signs, values, cols, items


def _nondominated(M):
    """Mask of rows of ``M`` (larger is better) that no other row dominates."""
    m = len(M)
    dominated = np.zeros(m, dtype=bool)
    step = max(1, 2_000_000 // max(m * M.shape[1], 1))
    for start in range(0, m, step):  # chunks of candidates, all-vs-chunk at once
        block = M[start:start + step]
        ge = (M[:, None, :] >= block[None, :, :]).all(axis=2)
        gt = (M[:, None, :] > block[None, :, :]).any(axis=2)
        dominated[start:start + step] = (ge & gt).any(axis=0)
    return ~dominated


def pareto_front(cv_results, objectives):
    """The non-dominated candidates of a multi-metric search.

    A candidate is on the front when no other candidate is at least as good
    on every objective and strictly better on one. Use it to read the
    accuracy-fairness trade-off of a ``GridSearchCV`` over a fairness strength
    (``lambda``) or sample weights.

    Parameters
    ----------
    cv_results : dict or DataFrame
        ``GridSearchCV.cv_results_`` (or any table with the score columns).
    objectives : str, list of str or dict
        Score names (``"acc"`` reads ``mean_test_acc``; full column names work
        too). A list means maximise each, as scikit-learn scores are
        greater-is-better (fairness scorers of differences are negated); a dict
        ``name -> "max" | "min"`` sets directions.

    Returns
    -------
    front : pandas.DataFrame
        The front's rows of ``cv_results`` (index = candidate index), with the
        objective columns first and ``params``, sorted by the first objective,
        best first. Candidates with a NaN score (failed fits) are left out with
        a warning.

    See Also
    --------
    pareto_refit : pick one front point as ``GridSearchCV(refit=...)``.

    Examples
    --------
    >>> from skfair.metrics import pareto_front
    >>> cv_results = {"params": [{"C": 1}, {"C": 2}, {"C": 3}],
    ...               "mean_test_acc": [0.90, 0.85, 0.80],
    ...               "mean_test_eo": [-0.20, -0.25, -0.05]}
    >>> pareto_front(cv_results, ["acc", "eo"])[["mean_test_acc", "mean_test_eo"]]
       mean_test_acc  mean_test_eo
    0            0.9         -0.20
    2            0.8         -0.05
    """
    M, _, cols, _ = _oriented(cv_results, objectives)
    finite = np.isfinite(M).all(axis=1)
    if not finite.all():
        warnings.warn(
            f"pareto_front: {int((~finite).sum())} candidates with NaN/inf scores "
            f"(failed fits?) are left out: {np.flatnonzero(~finite).tolist()[:10]}.",
            UserWarning,
            stacklevel=2,
        )
    if not finite.any():
        raise ValueError("pareto_front: no candidate has finite scores.")
    idx = np.flatnonzero(finite)
    on_front = idx[_nondominated(M[idx])]
    table = (cv_results if isinstance(cv_results, pd.DataFrame)
             else pd.DataFrame(dict(cv_results))).reset_index(drop=True)
    front = table.iloc[on_front]
    order = np.lexsort(tuple(-M[on_front, j] for j in range(M.shape[1] - 1, -1, -1)))
    front = front.iloc[order]
    rest = [c for c in front.columns if c not in cols]
    return front[cols + rest]


class ParetoRefit:
    """Pick one Pareto-optimal candidate; a ``GridSearchCV`` ``refit`` callable.

    Build it with :func:`pareto_refit`; calling it on ``cv_results_`` returns
    the index of the chosen candidate.

    Parameters
    ----------
    objectives : str, list of str or dict
        See :func:`pareto_front`.
    select : "utopia" or str, default="utopia"
        ``"utopia"``: the front point closest (Euclidean) to the ideal point
        after scaling each objective to ``[0, 1]`` over the front; or an
        objective name: the front point best on that objective.
    constraints : dict, default=None
        ``name -> threshold``: only points at least this good on ``name``
        (``>=`` for maximised, ``<=`` for minimised objectives, in the units of
        ``cv_results_``) are eligible. If no front point meets them a warning
        is raised and they are ignored.
    """

    def __init__(self, objectives, *, select="utopia", constraints=None):
        self.objectives = objectives
        self.select = select
        self.constraints = constraints

    def __repr__(self):
        return (
            f"pareto_refit({self.objectives!r}, select={self.select!r}, "
            f"constraints={self.constraints!r})"
        )

    def __call__(self, cv_results):
        """Index of the chosen candidate in ``cv_results``.

        Parameters
        ----------
        cv_results : dict or DataFrame
            ``GridSearchCV.cv_results_``.

        Returns
        -------
        index : int
        """
        items = _parse_objectives(self.objectives)
        names = [n for n, _ in items]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            front = pareto_front(cv_results, self.objectives)
        M, raw, cols, _ = _oriented(cv_results, self.objectives)
        idx = front.index.to_numpy()
        eligible = np.ones(len(idx), dtype=bool)
        for name, threshold in (self.constraints or {}).items():
            if name not in names:
                raise ValueError(f"constraint on {name!r}, which is not an objective {names}.")
            j = names.index(name)
            sign = 1.0 if items[j][1] == "max" else -1.0
            eligible &= M[idx, j] >= sign * float(threshold)
        if not eligible.any():
            warnings.warn(
                f"pareto_refit: no Pareto-optimal candidate meets {self.constraints}; "
                "ignoring the constraints.",
                UserWarning,
                stacklevel=2,
            )
            eligible[:] = True
        idx, F = idx[eligible], M[idx[eligible]]
        if self.select == "utopia":
            lo, hi = F.min(axis=0), F.max(axis=0)
            span = np.where(hi > lo, hi - lo, 1.0)
            scaled = (F - lo) / span
            dist = np.sqrt(((1.0 - scaled) ** 2).sum(axis=1))
            return int(idx[np.argmin(dist)])
        if self.select in names:
            j = names.index(self.select)
            return int(idx[np.argmax(F[:, j])])
        raise ValueError(
            f"select must be 'utopia' or one of the objectives {names}, got {self.select!r}."
        )


def pareto_refit(objectives, *, select="utopia", constraints=None):
    """A ``refit=`` callable for ``GridSearchCV`` that picks a Pareto-optimal point.

    Parameters
    ----------
    objectives : str, list of str or dict
        Score names of the multi-metric search (see :func:`pareto_front`).
    select : "utopia" or str, default="utopia"
        How to choose among the front (see :class:`ParetoRefit`).
    constraints : dict, default=None
        Minimum quality per objective, e.g. ``{"eo": -0.05}`` (an equalized
        odds difference of at most 0.05, as the scorer negates it).

    Returns
    -------
    refit : ParetoRefit

    Examples
    --------
    >>> from skfair.metrics import pareto_refit
    >>> cv_results = {"params": [{"C": 1}, {"C": 2}, {"C": 3}],
    ...               "mean_test_acc": [0.90, 0.85, 0.80],
    ...               "mean_test_eo": [-0.20, -0.25, -0.05]}
    >>> pareto_refit(["acc", "eo"], select="acc", constraints={"eo": -0.1})(cv_results)
    2
    """
    return ParetoRefit(objectives, select=select, constraints=constraints)
