"""Affirmative-action weights (Venkatesh et al.): boost the worst-served subgroups."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ..utils import check_sensitive_features, encode_sensitive_features
from ._attribute_input import (
    WithSensitiveFeatures,
    fit_kwargs_with_sensitive,
    reads_sensitive_features,
)
from ._base import BaseWeighting, check_positive_real, check_weights

__all__ = [
    "AffirmativeActionWeighting",
    "affirmative_action_weights",
    "select_worst_subgroups",
]


def _same_value(a, b):
    """Whether a parameter value is unchanged (identity, or equal scalars / strings)."""
    if a is b:
        return True
    scalar = (str, bytes, int, float, np.number, type(None))
    return isinstance(a, scalar) and isinstance(b, scalar) and type(a) is type(b) and a == b


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _normalise_subgroups(subgroups, names):
    """List of ``{attribute: value}`` dicts from the accepted spellings."""
    if isinstance(subgroups, Mapping):
        subgroups = [subgroups]
    if isinstance(subgroups, str) or not hasattr(subgroups, "__iter__"):
        raise TypeError(
            "subgroups must be a dict {attribute: value}, a list of such dicts, or a list of "
            f"tuples of values (one per attribute), got {subgroups!r}."
        )
    out = []
    for sub in subgroups:
        if isinstance(sub, Mapping):
            spec = {str(k): v for k, v in sub.items()}
        elif isinstance(sub, tuple | list):
            if len(sub) != len(names):
                raise ValueError(
                    f"subgroup {sub!r} gives {len(sub)} values but there are {len(names)} "
                    f"attributes {names}; use a dict to name a partial subgroup."
                )
            spec = dict(zip(names, sub, strict=True))
        elif len(names) == 1:
            spec = {names[0]: sub}
        else:
            raise TypeError(f"cannot read subgroup {sub!r}; use a dict {{attribute: value}}.")
        if not spec:
            raise ValueError("an empty subgroup {} would select every row; name an attribute.")
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(
                f"subgroup {sub!r} names attributes {unknown} that are not among the "
                f"sensitive features {names}."
            )
        out.append(spec)
    if not out:
        raise ValueError("subgroups is empty; give at least one subgroup.")
    return out


def _membership(frame, subgroups):
    member = np.zeros(len(frame), dtype=bool)
    for spec in subgroups:
        mask = np.ones(len(frame), dtype=bool)
        for attr, value in spec.items():
            mask &= (frame[attr].to_numpy(dtype=object) == value)
        if not mask.any():
            warnings.warn(
                f"affirmative action: subgroup {spec} has no row in these data; it is not "
                "boosted.",
                UserWarning,
            )
        member |= mask
    return member


def affirmative_action_weights(sensitive_features, subgroups, *, boost=10):
    """``alpha = (boost - 1) * 1[row in a subgroup] + 1`` (Venkatesh et al.).

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, Series, DataFrame or dict
        One value per row.
    subgroups : dict, list of dict or list of tuple
        The subgroups to boost: ``{attribute: value}`` dicts (a dict may name
        only some attributes, e.g. ``{"race": "Asian"}``), or tuples giving one
        value per attribute in order. A row in several subgroups is boosted once.
    boost : float > 0, default=10
        Weight of the boosted rows; the others weigh 1.

    Returns
    -------
    weights : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from skfair.weighting import affirmative_action_weights
    >>> S = {"race": ["A", "B", "A"], "sex": ["F", "F", "M"]}
    >>> affirmative_action_weights(S, [{"race": "A", "sex": "F"}])
    array([10.,  1.,  1.])
    """
    boost = check_positive_real(boost, "boost")
    frame = check_sensitive_features(sensitive_features)
    subs = _normalise_subgroups(subgroups, list(frame.columns))
    member = _membership(frame, subs)
    w = (boost - 1.0) * member + 1.0
    return check_weights(w, where="affirmative_action_weights")


def select_worst_subgroups(estimator, X, y, sensitive_features, k=2, scoring=None, *,
                           min_size=1, return_scores=False):
    """The ``k`` subgroups on which a fitted estimator scores worst.

    Venkatesh et al. ("Frowning upon Bias") boost the two subgroups (race x
    gender x age cells) where the baseline's accuracy is lowest. Scores are computed per observed
    intersection cell of ``sensitive_features`` on the given (validation) data.
    An estimator whose ``predict`` takes ``sensitive_features`` (an
    attribute-aware network fitted with ``sensitive_features=``, fairlearn's
    ``ThresholdOptimizer``) predicts each cell with that cell's attributes;
    one with a set ``sensitive_columns`` reads them from ``X``.

    Parameters
    ----------
    estimator : fitted estimator
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    sensitive_features : array-like, DataFrame, dict, ...
        One value per row; several attributes mean intersection cells.
    k : int, default=2
        Number of subgroups to return (fewer if fewer groups qualify).
    scoring : str or callable, optional
        A scikit-learn scorer name or ``scorer(estimator, X, y)``; greater is
        better. Default: the estimator's ``score`` (accuracy for classifiers).
    min_size : int, default=1
        Cells with fewer rows are not scored (a warning gives their count).
    return_scores : bool, default=False
        Also return the table of per-cell scores.

    Returns
    -------
    subgroups : list of dict
        ``{attribute: value}`` per chosen cell, worst first.
    scores : pandas.DataFrame
        Only with ``return_scores``: one row per scored cell, the attributes,
        ``n`` and ``score``, sorted worst first.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> X = np.zeros((6, 1)); y = np.array([0, 0, 0, 0, 1, 1])
    >>> S = ["a", "a", "b", "b", "c", "c"]
    >>> clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    >>> select_worst_subgroups(clf, X, y, sensitive_features=S, k=1)
    [{'sensitive_feature_0': 'c'}]
    """
    if not isinstance(k, Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}.")
    if not isinstance(min_size, Integral) or min_size < 1:
        raise ValueError(f"min_size must be an int >= 1, got {min_size!r}.")
    y = np.asarray(y)
    enc = encode_sensitive_features(sensitive_features, n_samples=len(y))
    scorer = check_scoring(estimator, scoring=scoring)
    frame = (check_sensitive_features(sensitive_features, n_samples=len(y))
             if reads_sensitive_features(estimator) else None)
    rows = []
    small = 0
    for g in range(enc.n_groups):
        idx = np.flatnonzero(enc.codes == g)
        if idx.size < min_size:
            small += 1
            continue
        scored = estimator if frame is None else WithSensitiveFeatures(
            estimator, frame.iloc[idx].reset_index(drop=True))
        score = float(scorer(scored, _safe_indexing(X, idx), y[idx]))
        rows.append({**{n: _plain(v) for n, v in enc.groups.iloc[g].items()},
                     "n": int(idx.size), "score": score})
    if small:
        warnings.warn(
            f"select_worst_subgroups: {small} subgroup(s) with fewer than min_size={min_size} "
            "rows were not scored.",
            UserWarning,
        )
    if not rows:
        raise ValueError("no subgroup has min_size rows; nothing to select.")
    scores = pd.DataFrame(rows).sort_values("score", kind="stable").reset_index(drop=True)
    chosen = [
        {n: _plain(r[n]) for n in enc.names} for _, r in scores.head(k).iterrows()
    ]
    return (chosen, scores) if return_scores else chosen


class AffirmativeActionWeighting(BaseWeighting):
    """Boost chosen subgroups: ``alpha = (boost - 1) * 1[row in subgroup] + 1``.

    The subgroups are given (``subgroups``), or picked by :meth:`fit` as the
    ``k`` worst-scoring intersection cells of a baseline: a fitted ``baseline``
    is scored on the data given to ``fit`` (validation data); an unfitted one
    is fitted on a ``1 - validation_size`` split of them and scored on the rest.
    A baseline whose ``predict`` takes ``sensitive_features`` is fitted and
    scored with them (see :func:`select_worst_subgroups`). Inside
    :class:`WeightedEstimator`, an unset ``baseline`` defaults to the wrapped
    estimator. For grid searches, prefer explicit ``subgroups`` (e.g.
    from :func:`select_worst_subgroups`): cloning drops fitted state.

    Parameters
    ----------
    subgroups : dict, list of dict or list of tuple, optional
        See :func:`affirmative_action_weights`.
    boost : float > 0, default=10
        Weight of boosted rows (Venkatesh et al. use 10: ``alpha = 9 * 1[...] + 1``).
    k : int, optional
        Number of worst subgroups to pick when ``subgroups`` is None.
    baseline : estimator, optional
        Fitted or unfitted baseline used to pick the subgroups.
    scoring : str or callable, optional
        Per-subgroup score, greater is better (default: the baseline's ``score``).
    validation_size : float in (0, 1), default=0.3
        Held-out share when an unfitted baseline is fitted by :meth:`fit`.
    min_size : int, default=1
        Smallest subgroup that is scored.
    random_state : int, RandomState or None, default=None
        Controls the split for an unfitted baseline.

    Attributes
    ----------
    subgroups_ : list of dict
        The boosted subgroups (set by :meth:`fit`).
    subgroup_scores_ : pandas.DataFrame
        Per-subgroup baseline scores, worst first (only when picked by ``fit``).

    Examples
    --------
    >>> from skfair.weighting import AffirmativeActionWeighting
    >>> aa = AffirmativeActionWeighting(subgroups={"race": "B"}, boost=4)
    >>> aa.get_weights({"race": ["A", "B", "B"]})
    array([1., 4., 4.])
    """

    def __init__(self, subgroups=None, boost=10, k=None, *, baseline=None, scoring=None,
                 validation_size=0.3, min_size=1, random_state=None):
        self.subgroups = subgroups
        self.boost = boost
        self.k = k
        self.baseline = baseline
        self.scoring = scoring
        self.validation_size = validation_size
        self.min_size = min_size
        self.random_state = random_state

    #: the parameters that decide which subgroups ``fit`` picks
    _selection_params = ("subgroups", "k", "baseline", "scoring", "validation_size",
                         "min_size", "random_state")

    def _needs_fit(self):
        return self.subgroups is None and not hasattr(self, "subgroups_")

    def set_params(self, **params):
        """Set the parameters; a change to one that picks the subgroups (``k``,
        ``baseline``, ...) forgets the subgroups picked by an earlier :meth:`fit`,
        which would no longer match them (``boost`` keeps them).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
        """
        stale = False
        for key, value in params.items():
            name, nested, _ = key.partition("__")
            if name in self._selection_params and (
                    nested or not _same_value(value, getattr(self, name))):
                stale = True
        super().set_params(**params)
        if stale:
            for attr in ("subgroups_", "subgroup_scores_"):
                self.__dict__.pop(attr, None)
        return self

    def fit(self, X=None, y=None, *, sensitive_features=None, baseline=None, **fit_params):
        """Pick the subgroups to boost (or take ``subgroups`` as given).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Validation data for a fitted baseline; training data to split for
            an unfitted one.
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, DataFrame, dict, ...
        baseline : estimator, optional
            Used when the ``baseline`` parameter is None.
        **fit_params : dict
            Passed to the baseline's ``fit`` when it is fitted here (with the
            training part's ``sensitive_features`` when its ``predict`` and
            ``fit`` take them).

        Returns
        -------
        self : object
        """
        if self.subgroups is not None:
            names = list(check_sensitive_features(sensitive_features).columns) if (
                sensitive_features is not None) else None
            self.subgroups_ = (
                _normalise_subgroups(self.subgroups, names) if names else self.subgroups
            )
            return self
        if self.k is None:
            raise ValueError(
                "AffirmativeActionWeighting needs subgroups=... or k=... (number of worst "
                "subgroups of a baseline to boost)."
            )
        est = self.baseline if self.baseline is not None else baseline
        if est is None:
            raise ValueError(
                "AffirmativeActionWeighting(k=...) needs a baseline estimator to score the "
                "subgroups; pass baseline=... ."
            )
        if X is None or y is None or sensitive_features is None:
            raise ValueError(
                "AffirmativeActionWeighting.fit needs X, y and sensitive_features to pick "
                "the worst subgroups."
            )
        y = np.asarray(y)
        try:
            check_is_fitted(est)
            fitted, X_val, y_val, S_val = est, X, y, sensitive_features
        except NotFittedError:
            if not 0 < self.validation_size < 1:
                raise ValueError(
                    f"validation_size must be in (0, 1), got {self.validation_size!r}."
                ) from None
            frame = check_sensitive_features(sensitive_features, n_samples=len(y))
            idx_tr, idx_val = train_test_split(
                np.arange(len(y)), test_size=self.validation_size,
                random_state=self.random_state,
            )
            S_tr = frame.iloc[idx_tr].reset_index(drop=True)
            fitted = clone(est).fit(_safe_indexing(X, idx_tr), y[idx_tr],
                                    **fit_kwargs_with_sensitive(est, S_tr), **fit_params)
            X_val, y_val = _safe_indexing(X, idx_val), y[idx_val]
            S_val = frame.iloc[idx_val].reset_index(drop=True)
        self.subgroups_, self.subgroup_scores_ = select_worst_subgroups(
            fitted, X_val, y_val, sensitive_features=S_val, k=self.k, scoring=self.scoring,
            min_size=self.min_size, return_scores=True,
        )
        return self

    def _get_weights(self, sensitive_features, y):
        subgroups = self.subgroups
        if subgroups is None:
            subgroups = getattr(self, "subgroups_", None)
        if subgroups is None:
            raise ValueError(
                "AffirmativeActionWeighting has no subgroups: pass subgroups=... or call "
                "fit(X_val, y_val, sensitive_features=..., baseline=...) first."
            )
        return affirmative_action_weights(sensitive_features, subgroups, boost=self.boost)
