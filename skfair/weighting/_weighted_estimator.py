"""Meta-estimator: fit any scikit-learn estimator with fairness sample weights."""

from __future__ import annotations

from copy import deepcopy

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    has_fit_parameter,
)

from ..utils import encode_sensitive_features
from ..utils._signature import takes_keyword
from ._base import prepare_weighting

__all__ = ["WeightedEstimator"]

_DELEGATED = ("predict", "predict_proba", "predict_log_proba", "decision_function",
              "transform", "score")


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


class WeightedEstimator(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator with sample weights computed from sensitive features.

    At ``fit``, ``weighting.get_weights(sensitive_features, y)`` gives one
    weight per row (multiplied by a user-passed ``sample_weight``); a clone of
    ``estimator`` is fitted with ``sample_weight=weights``. This makes the
    weightings of :mod:`skfair.weighting` usable with any estimator that accepts ``sample_weight``
    (``LogisticRegression``, ``Ridge``, gradient boosting, skorch nets...), and
    the weighting's parameters grid-search as ``weighting__<param>``.

    ``sensitive_features`` is requested by default for ``fit`` under metadata
    routing (no ``set_fit_request`` needed); ``sample_weight`` follows
    scikit-learn's default (call ``set_fit_request(sample_weight=True)``).
    Other routed metadata go to the inner estimator as it requests them; when
    routing is disabled, extra ``fit`` keywords go to the inner ``fit``, and
    ``sensitive_features`` too when its ``fit`` has such a parameter.

    Parameters
    ----------
    estimator : estimator
        Must accept ``sample_weight`` in ``fit``.
    weighting : weighting object
        E.g. :class:`SupportWeighting`, :class:`ManualWeighting`,
        :class:`ClassBalancedWeighting`, :class:`AffirmativeActionWeighting`,
        :class:`ProductWeighting`. A weighting that must be fitted first (an
        :class:`AffirmativeActionWeighting` with ``k`` and no subgroups) is
        cloned and fitted on the training data, with ``estimator`` as the
        default baseline; an already fitted one is used as is.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    weighting_ : weighting object
        The weighting used.
    sample_weight_ : ndarray of shape (n_samples,)
        The weights the estimator was fitted with.
    classes_ : ndarray
        From ``estimator_`` (classifiers).
    n_features_in_ : int
        From ``estimator_``.

    See Also
    --------
    SupportWeighting, support_weights

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfair.weighting import SupportWeighting, WeightedEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
    >>> S = np.where(rng.rand(40) < 0.8, "a", "b")
    >>> clf = WeightedEstimator(LogisticRegression(), SupportWeighting())
    >>> clf.fit(X, y, sensitive_features=S).predict(X[:3])
    array([1, 1, 1])
    >>> bool(np.allclose(clf.sample_weight_,
    ...                  SupportWeighting().get_weights(S)))
    True
    """

    __metadata_request__fit = {"sensitive_features": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "weighting": [HasMethods(["get_weights"])],
    }

    def __init__(self, estimator, weighting):
        self.estimator = estimator
        self.weighting = weighting

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Compute the weights and fit the estimator with them.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sensitive_features : array-like, DataFrame, dict, ..., optional
            One value per row; needed by weightings based on groups.
        sample_weight : array-like of shape (n_samples,), optional
            Multiplied with the fairness weights.
        **fit_params : dict
            Metadata for the inner estimator (routed when metadata routing is
            enabled).

        Returns
        -------
        self : object
        """
        if y is None and get_tags(self).target_tags.required:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if not has_fit_parameter(self.estimator, "sample_weight"):
            raise ValueError(
                f"estimator {type(self.estimator).__name__} does not accept sample_weight in "
                "fit; WeightedEstimator needs an estimator that does."
            )
        if _routing_enabled():
            # sample_weight is consumed here (and replaced by the product of weights);
            # the rest, sensitive_features included, reach the estimator if it asks.
            params = dict(fit_params)
            if sensitive_features is not None:
                params["sensitive_features"] = sensitive_features
            inner_params = dict(process_routing(self, "fit", **params).estimator.fit)
        else:
            inner_params = dict(fit_params)
            if sensitive_features is not None and takes_keyword(self.estimator.fit,
                                                                "sensitive_features"):
                inner_params["sensitive_features"] = sensitive_features
        inner_params.pop("sample_weight", None)

        n_samples = _num_samples(X)
        if sensitive_features is not None:
            # validate early: NaN, length mismatch (the weighting encodes again)
            encode_sensitive_features(sensitive_features, n_samples=n_samples)
        weighting = prepare_weighting(self.weighting, X, y,
                                      sensitive_features=sensitive_features,
                                      baseline=self.estimator)
        w = np.asarray(weighting.get_weights(sensitive_features=sensitive_features, y=y),
                       dtype=np.float64)
        if w.shape != (n_samples,):
            raise ValueError(
                f"{type(weighting).__name__}.get_weights returned shape {w.shape}; expected "
                f"({n_samples},)."
            )
        if sample_weight is not None:
            w = w * _check_sample_weight(sample_weight, np.empty((n_samples, 0)),
                                         ensure_non_negative=True)
        self.weighting_ = weighting
        self.sample_weight_ = w
        self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=w, **inner_params)
        return self

    # ---- delegation --------------------------------------------------------------
    def _delegate(self, method, X, params):
        check_is_fitted(self)
        if _routing_enabled():
            params = process_routing(self, method, **params).estimator[method]
        return getattr(self.estimator_, method)(X, **params)

    @available_if(_estimator_has("predict"))
    def predict(self, X, **params):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **params : dict
            Passed (routed) to the inner ``predict``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._delegate("predict", X, params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X, **params):
        """Class probabilities of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **params : dict
            Passed (routed) to the inner ``predict_proba``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_proba", X, params)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """Log class probabilities of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **params : dict
            Passed (routed) to the inner ``predict_log_proba``.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_log_proba", X, params)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X, **params):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **params : dict
            Passed (routed) to the inner ``decision_function``.

        Returns
        -------
        scores : ndarray
        """
        return self._delegate("decision_function", X, params)

    @available_if(_estimator_has("transform"))
    def transform(self, X, **params):
        """Transform with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **params : dict
            Passed (routed) to the inner ``transform``.

        Returns
        -------
        Xt : array-like
        """
        return self._delegate("transform", X, params)

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None, **params):
        """The inner estimator's ``score`` (accuracy, R^2, ...).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        **params : dict
            Other metadata for the inner ``score``.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        if _routing_enabled():
            params = process_routing(self, "score", **params).estimator.score
        return self.estimator_.score(X, y, **params)

    @property
    def classes_(self):
        """Class labels of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen by the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names seen by the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.feature_names_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.transformer_tags = deepcopy(inner.transformer_tags)
        tags.target_tags = deepcopy(inner.target_tags)
        tags.input_tags = deepcopy(inner.input_tags)
        return tags

    def get_metadata_routing(self):
        """Routing: ``sensitive_features``/``sample_weight`` consumed here, the rest
        routed to ``estimator``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        mapping = MethodMapping().add(caller="fit", callee="fit")
        for method in _DELEGATED:
            mapping.add(caller=method, callee=method)
        return MetadataRouter(owner=self).add_self_request(self).add(
            estimator=self.estimator, method_mapping=mapping
        )
