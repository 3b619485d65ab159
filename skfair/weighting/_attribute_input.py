"""Baselines whose predictions take the sensitive attributes as an input.

Affirmative action scores a baseline per subgroup. Most baselines predict from
``X`` alone, but some take the attributes beside it, as
``predict(X, sensitive_features=S)``: an attribute-aware network given them as
``sensitive_features=`` (:class:`~skfair.estimators.AttributeAwareClassifier`
with ``sensitive_columns=None``), or fairlearn's ``ThresholdOptimizer``. Such a
baseline must be fitted and scored with the attributes, or it is not the model
it claims to be (an attribute-aware network fitted without them is a plain one)
or it cannot predict at all.
"""

from __future__ import annotations

from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if

from ..utils._signature import takes_keyword

__all__: list[str] = []


def reads_sensitive_features(estimator):
    """Whether ``estimator`` predicts from the attributes passed beside ``X``.

    True when its ``predict`` names a ``sensitive_features`` parameter and it
    does not read them from columns of ``X`` instead (a set
    ``sensitive_columns``, skfair's convention). A meta-estimator forwarding
    ``**params`` (a ``Pipeline``) does not name it and is not detected.
    """
    if getattr(estimator, "sensitive_columns", None) is not None:
        return False
    return takes_keyword(getattr(estimator, "predict", None), "sensitive_features")


def fit_kwargs_with_sensitive(estimator, sensitive_features):
    """``{"sensitive_features": S}`` when ``estimator`` reads them and its ``fit``
    takes them, else ``{}``."""
    if reads_sensitive_features(estimator) and takes_keyword(
            getattr(estimator, "fit", None), "sensitive_features"):
        return {"sensitive_features": sensitive_features}
    return {}


def _wrapped_has(name):
    return lambda self: hasattr(self.estimator, name)


class WithSensitiveFeatures:
    """A fitted estimator bound to the attributes of the rows it is asked about.

    ``predict(X)`` is ``estimator.predict(X, sensitive_features=S)``, and so for
    ``predict_proba``, ``decision_function`` and ``score``: what a scikit-learn
    scorer, which passes no metadata to the predictions, needs in order to
    score an estimator that reads the attributes. ``X`` must hold the rows of
    ``sensitive_features``, in order.

    Parameters
    ----------
    estimator : fitted estimator
        One for which :func:`reads_sensitive_features` holds.
    sensitive_features : DataFrame
        The attributes of the rows that will be predicted.
    """

    def __init__(self, estimator, sensitive_features):
        self.estimator = estimator
        self.sensitive_features = sensitive_features

    def _call(self, method, X, *args):
        n = len(self.sensitive_features)
        if len(X) != n:
            raise ValueError(
                f"{type(self).__name__} holds the attributes of {n} rows; got X with "
                f"{len(X)} rows."
            )
        return getattr(self.estimator, method)(X, *args,
                                               sensitive_features=self.sensitive_features)

    def __sklearn_tags__(self):
        return get_tags(self.estimator)

    @property
    def classes_(self):
        return self.estimator.classes_

    def predict(self, X):
        return self._call("predict", X)

    @available_if(_wrapped_has("predict_proba"))
    def predict_proba(self, X):
        return self._call("predict_proba", X)

    @available_if(_wrapped_has("decision_function"))
    def decision_function(self, X):
        return self._call("decision_function", X)

    @available_if(_wrapped_has("score"))
    def score(self, X, y):
        if not takes_keyword(self.estimator.score, "sensitive_features"):
            raise TypeError(
                f"{type(self.estimator).__name__} predicts from sensitive_features, but its "
                "score does not take them; pass scoring= (a scorer name or callable)."
            )
        return self._call("score", X, y)
