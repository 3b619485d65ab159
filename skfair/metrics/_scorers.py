"""scikit-learn scorers for the fairness metrics (metadata-routed).

A fairness metric needs the sensitive features of the rows being scored. Two
ways to hand them to a scorer inside ``GridSearchCV`` / ``cross_validate``:

* **metadata routing** (default): the scorer requests ``sensitive_features``
  (``scorer.set_score_request(sensitive_features=True)`` is done for you);
  enable routing with ``sklearn.set_config(enable_metadata_routing=True)`` and
  pass ``sensitive_features=`` to ``fit`` (scikit-learn slices them per fold);
* **columns of X**: ``sensitive_columns=SensitiveColumns("race", ...)`` reads
  them from the DataFrame ``X`` at scoring time (the estimator then receives
  ``X`` with those columns and must drop or use them itself), which needs no
  routing and also works where scikit-learn cannot route metadata.
"""

from __future__ import annotations

import copy
import inspect

from sklearn import get_config
from sklearn.metrics import get_scorer
from sklearn.utils.metadata_routing import MetadataRequest

from ..utils import SensitiveColumns, split_sensitive_from_X
from ._classification import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_score,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_error_spread,
    iou_fairness,
    statistical_parity_difference,
)
from ._regression import mae_bias_score

__all__ = ["FAIRNESS_METRICS", "make_fairness_scorer", "make_tradeoff_scorer"]


def group_error_std(y_true, y_pred, *, sensitive_features, sample_weight=None):
    """Standard deviation of the per-group error rates (see :func:`group_error_spread`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several columns mean intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    std : float

    Examples
    --------
    >>> from skfair.metrics._scorers import group_error_std
    >>> round(group_error_std([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=list("aabb")), 2)
    0.25
    """
    return group_error_spread(
        y_true, y_pred, sensitive_features=sensitive_features, sample_weight=sample_weight
    ).std


#: ``name -> (metric, greater_is_better)`` for :func:`make_fairness_scorer`.
FAIRNESS_METRICS = {
    "demographic_parity_difference": (demographic_parity_difference, False),
    "demographic_parity_ratio": (demographic_parity_ratio, True),
    "equalized_odds_difference": (equalized_odds_difference, False),
    "equalized_odds_ratio": (equalized_odds_ratio, True),
    "statistical_parity_difference": (statistical_parity_difference, False),
    "equal_opportunity_score": (equal_opportunity_score, True),
    "iou_fairness": (iou_fairness, False),
    "group_error_spread": (group_error_std, False),
    "mae_bias_score": (mae_bias_score, False),
}


def _resolve_metric(metric, greater_is_better):
    if isinstance(metric, str):
        if metric not in FAIRNESS_METRICS:
            raise ValueError(
                f"Unknown fairness metric {metric!r}; use one of {sorted(FAIRNESS_METRICS)} "
                "or a callable f(y_true, y_pred, *, sensitive_features, ...)."
            )
        func, default = FAIRNESS_METRICS[metric]
        return func, default if greater_is_better is None else bool(greater_is_better)
    if not callable(metric):
        raise TypeError(f"metric must be a str or a callable, got {type(metric).__name__}.")
    for func, default in FAIRNESS_METRICS.values():
        if metric is func:
            return func, default if greater_is_better is None else bool(greater_is_better)
    if greater_is_better is None:
        raise ValueError(
            "greater_is_better must be given (True or False) for a custom metric callable."
        )
    return metric, bool(greater_is_better)


def _resolve_columns(sensitive_columns):
    if sensitive_columns is None or isinstance(sensitive_columns, SensitiveColumns):
        return sensitive_columns
    if isinstance(sensitive_columns, str):
        return SensitiveColumns(sensitive_columns)
    if isinstance(sensitive_columns, list | tuple):
        return SensitiveColumns(*sensitive_columns)
    raise TypeError(
        "sensitive_columns must be None, a column name or a SensitiveColumns, got "
        f"{type(sensitive_columns).__name__}."
    )


class FairnessScorer:
    """A scikit-learn scorer whose metric needs ``sensitive_features``.

    Build it with :func:`make_fairness_scorer` or :func:`make_tradeoff_scorer`.
    It is a plain callable ``scorer(estimator, X, y, **kwargs)``, which is
    all ``GridSearchCV`` and ``cross_validate`` need, with the metadata
    requests of scikit-learn's public routing API (``get_metadata_routing``,
    ``set_score_request``). Without ``sensitive_columns`` it requests
    ``sensitive_features`` for scoring; with them, it reads the attributes
    from ``X``.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, *, sensitive_features, **kwargs)``.
    sign : {1, -1}
        ``-1`` when lower values of ``score_func`` are better.
    kwargs : dict
        Fixed keyword arguments of ``score_func``.
    response_method : str or list of str, default="predict"
        Estimator method giving the predictions (the first one the estimator
        has, for a list).
    sensitive_columns : SensitiveColumns, default=None
        Columns of ``X`` holding the sensitive attributes.
    """

    def __init__(self, score_func, sign, kwargs, response_method="predict",
                 sensitive_columns=None):
        self._score_func = score_func
        self._sign = sign
        self._kwargs = dict(kwargs)
        self._response_method = response_method
        self._sensitive_columns = sensitive_columns
        self._metadata_request = MetadataRequest(owner=self)
        if sensitive_columns is None:
            self._metadata_request.score.add_request(param="sensitive_features", alias=True)

    def __call__(self, estimator, X, y_true, *, sample_weight=None, **kwargs):
        """Score ``estimator`` on ``X``; ``sensitive_features=`` may be passed directly.

        Parameters
        ----------
        estimator : object
            Fitted estimator.
        X : array-like or DataFrame
            Data to predict.
        y_true : array-like
            True targets.
        sample_weight : array-like, default=None
            Row weights, when the metric takes them.
        **kwargs
            ``sensitive_features=`` (unless the scorer reads them from ``X``)
            and other metric arguments. Unlike plain scikit-learn scorers this
            works without enabling metadata routing.

        Returns
        -------
        score : float
        """
        kwargs = self._with_sensitive(X, kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        y_pred = self._predict(estimator, X)
        return self._sign * self._score_func(y_true, y_pred, **self._kwargs, **kwargs)

    def _with_sensitive(self, X, kwargs):
        """``kwargs`` with the sensitive features: read from ``X``'s columns or routed."""
        kwargs = dict(kwargs)
        if self._sensitive_columns is not None:
            if kwargs.get("sensitive_features") is not None:
                raise ValueError(
                    "This scorer reads the sensitive features from the columns "
                    f"{list(self._sensitive_columns.names)} of X; do not also route "
                    "sensitive_features to it."
                )
            _, kwargs["sensitive_features"] = split_sensitive_from_X(
                X, self._sensitive_columns, param="sensitive_columns"
            )
        elif kwargs.get("sensitive_features") is None:
            raise ValueError(
                f"{self._name()} needs sensitive_features, but none reached the scorer. "
                "Enable metadata routing (sklearn.set_config(enable_metadata_routing=True) "
                "or sklearn.config_context) and pass sensitive_features=... to fit / "
                "cross_validate, or build the scorer with sensitive_columns=... to read "
                "them from the columns of X."
            )
        return kwargs

    def _predict(self, estimator, X):
        methods = ([self._response_method] if isinstance(self._response_method, str)
                   else list(self._response_method))
        for method in methods:
            if hasattr(estimator, method):
                return getattr(estimator, method)(X)
        raise AttributeError(
            f"{type(estimator).__name__} has none of the methods {methods} this scorer "
            "predicts with (response_method)."
        )

    def get_metadata_routing(self):
        """The scorer's metadata requests (scikit-learn's routing API).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
            ``sensitive_features`` requested for ``score`` (unless read from
            ``X``), plus whatever :meth:`set_score_request` added.
        """
        return copy.deepcopy(self._metadata_request)

    def set_score_request(self, **kwargs):
        """Set requested metadata; ``sensitive_features`` stays requested.

        Parameters
        ----------
        **kwargs : dict
            ``param=alias`` as in scikit-learn (``True``, ``False``, ``None`` or
            a str alias). Routing must be enabled.

        Returns
        -------
        self : FairnessScorer
        """
        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled "
                "(sklearn.set_config(enable_metadata_routing=True))."
            )
        if self._sensitive_columns is None:
            kwargs.setdefault("sensitive_features", True)
        for param, alias in kwargs.items():
            self._metadata_request.score.add_request(param=param, alias=alias)
        return self

    def _name(self):
        func = self._score_func
        return getattr(func, "__name__", type(func).__name__)

    def __repr__(self):
        parts = [self._name()]
        if self._sign < 0:
            parts.append("greater_is_better=False")
        if self._sensitive_columns is not None:
            parts.append(f"sensitive_columns={self._sensitive_columns!r}")
        parts += [f"{k}={v!r}" for k, v in self._kwargs.items()]
        return f"make_fairness_scorer({', '.join(parts)})"


def make_fairness_scorer(metric, *, greater_is_better=None, sensitive_columns=None,
                         response_method="predict", **kwargs):
    """Make a scikit-learn scorer from a fairness metric.

    Parameters
    ----------
    metric : str or callable
        A name of ``FAIRNESS_METRICS`` (``"equalized_odds_difference"``,
        ``"demographic_parity_difference"``, ``"equal_opportunity_score"``,
        ``"iou_fairness"``, ``"mae_bias_score"``, ...) or a callable
        ``f(y_true, y_pred, *, sensitive_features, **kwargs) -> float``.
    greater_is_better : bool, default=None
        Whether higher metric values are better. Known metrics know it
        (differences: ``False``, so the scorer returns the *negated*
        difference, as scikit-learn's ``neg_*`` scorers do; ratios and ``F``:
        ``True``); required for a custom callable.
    sensitive_columns : str, list of str or SensitiveColumns, default=None
        Read the sensitive attributes from these columns (or index levels) of
        the DataFrame ``X`` at scoring time instead of requesting them through
        metadata routing.
    response_method : str, default="predict"
        Estimator method giving the predictions.
    **kwargs
        Fixed keyword arguments of the metric (e.g. ``pos_label=1``).

    Returns
    -------
    scorer : FairnessScorer
        Callable ``scorer(estimator, X, y, sensitive_features=...)``; usable
        in ``GridSearchCV(scoring=...)``, alone or in a multi-metric dict.

    See Also
    --------
    make_tradeoff_scorer : one number trading accuracy against fairness.
    pareto_refit : choose a grid point on the accuracy-fairness front.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_validate
    >>> from skfair.metrics import make_fairness_scorer
    >>> rng = np.random.RandomState(0)
    >>> X, s = rng.normal(size=(60, 2)), rng.randint(0, 2, 60)
    >>> y = (X[:, 0] + s > 0.5).astype(int)
    >>> scorer = make_fairness_scorer("demographic_parity_difference")
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     res = cross_validate(LogisticRegression(), X, y, cv=3,
    ...                          scoring={"acc": "accuracy", "dp": scorer},
    ...                          params={"sensitive_features": s})
    >>> bool(np.all(res["test_dp"] <= 0))
    True
    """
    func, gib = _resolve_metric(metric, greater_is_better)
    return FairnessScorer(
        func, 1 if gib else -1, kwargs, response_method,
        sensitive_columns=_resolve_columns(sensitive_columns),
    )


def _takes_sample_weight(func):
    """Whether ``func`` accepts a ``sample_weight`` keyword (or any keyword)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # builtins: let the call itself tell
        return True
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in params)


class _TradeoffScorer(FairnessScorer):
    """``performance - alpha * disparity`` as one scorer.

    ``performance`` is a scikit-learn scorer (``scorer(estimator, X, y)``: it
    predicts by itself, so any scorer works, probability-based ones included)
    or a callable ``f(y_true, y_pred)`` on the predicted labels or values.
    """

    def __init__(self, performance, performance_name, fairness, fairness_gib,
                 fairness_kwargs, alpha, *, performance_is_scorer, sensitive_columns=None):
        super().__init__(fairness, 1, fairness_kwargs, "predict",
                         sensitive_columns=sensitive_columns)
        self.performance = performance
        self.performance_name = performance_name
        self.performance_is_scorer = performance_is_scorer
        self.fairness_gib = fairness_gib
        self.alpha = alpha

    def __call__(self, estimator, X, y_true, *, sample_weight=None, **kwargs):
        kwargs = self._with_sensitive(X, kwargs)
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        if extra:
            for role, func, name in (("performance", self.performance, self.performance_name),
                                     ("fairness", self._score_func, self._name())):
                if not _takes_sample_weight(func):
                    raise TypeError(
                        f"{role}={name!r} takes no sample_weight, but sample weights "
                        "reached the scorer; give the callable a sample_weight parameter, "
                        "or stop routing sample_weight to it."
                    )
        y_pred = self._predict(estimator, X)
        if self.performance_is_scorer:
            perf = self.performance(estimator, X, y_true, **extra)
        else:
            perf = self.performance(y_true, y_pred, **extra)
        fair = self._score_func(y_true, y_pred, **self._kwargs, **kwargs, **extra)
        disparity = 1.0 - fair if self.fairness_gib else fair
        return float(perf - self.alpha * disparity)

    def __repr__(self):
        return (f"make_tradeoff_scorer({self.performance_name!r}, {self._name()!r}, "
                f"alpha={self.alpha!r})")


def make_tradeoff_scorer(performance="accuracy", fairness="equalized_odds_difference", *,
                         alpha=1.0, sensitive_columns=None, fairness_kwargs=None):
    """One scorer trading predictive performance against unfairness.

    ``score = performance - alpha * disparity``, where ``disparity`` is the
    fairness metric itself when lower is better (differences, spreads) and
    ``1 - value`` when higher is better (ratios, ``F``), so that a higher
    score is always better. Use it as the single ``scoring`` (and ``refit``)
    of a search over mitigation strengths.

    Parameters
    ----------
    performance : str or callable, default="accuracy"
        A scikit-learn scorer name (``"accuracy"``, ``"balanced_accuracy"``,
        ``"f1_macro"``, ``"roc_auc"``, ``"neg_mean_absolute_error"``, ...;
        :func:`sklearn.metrics.get_scorer`) or a callable
        ``f(y_true, y_pred)`` of the predicted labels or values where higher
        is better (with a ``sample_weight`` parameter if sample weights are
        routed to the scorer).
    fairness : str or callable, default="equalized_odds_difference"
        As ``metric`` of :func:`make_fairness_scorer` (a callable is taken as
        lower-is-better).
    alpha : float, default=1.0
        Weight of the disparity.
    sensitive_columns : str, list of str or SensitiveColumns, default=None
        See :func:`make_fairness_scorer`.
    fairness_kwargs : dict, default=None
        Fixed keyword arguments of the fairness metric.

    Returns
    -------
    scorer : FairnessScorer

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.metrics import make_tradeoff_scorer
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    >>> clf = DummyClassifier(strategy="constant", constant=1).fit(X, y)
    >>> scorer = make_tradeoff_scorer("accuracy", "demographic_parity_difference", alpha=2.0)
    >>> scorer(clf, X, y, sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    if isinstance(performance, str):
        perf, perf_name, is_scorer = get_scorer(performance), performance, True
    elif callable(performance):
        perf, is_scorer = performance, False
        perf_name = getattr(performance, "__name__", "performance")
    else:
        raise TypeError(f"performance must be a str or callable, got {type(performance)}.")
    if isinstance(fairness, str) or fairness in [f for f, _ in FAIRNESS_METRICS.values()]:
        fair, gib = _resolve_metric(fairness, None)
    else:
        fair, gib = _resolve_metric(fairness, False)
    return _TradeoffScorer(perf, perf_name, fair, gib, dict(fairness_kwargs or {}),
                           float(alpha), performance_is_scorer=is_scorer,
                           sensitive_columns=_resolve_columns(sensitive_columns))
