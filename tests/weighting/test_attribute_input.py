"""Baselines that predict from the sensitive attributes: fitted and scored with them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, make_scorer

from skfair.estimators import AttributeAwareClassifier, FairNetClassifier
from skfair.utils import check_sensitive_features
from skfair.weighting import AffirmativeActionWeighting, select_worst_subgroups
from skfair.weighting._attribute_input import (
    WithSensitiveFeatures,
    fit_kwargs_with_sensitive,
    reads_sensitive_features,
)


class GroupLabel(ClassifierMixin, BaseEstimator):
    """Predicts each group's majority training label: it needs the attributes at fit
    and at predict, and ignores ``X``."""

    def fit(self, X, y, sensitive_features=None):
        self.fit_rows_ = None if sensitive_features is None else len(sensitive_features)
        s = check_sensitive_features(sensitive_features).iloc[:, 0].to_numpy()
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.label_ = {g: np.bincount(y[s == g]).argmax() for g in np.unique(s)}
        return self

    def predict(self, X, sensitive_features=None):
        if sensitive_features is None:
            raise ValueError("GroupLabel needs sensitive_features to predict")
        s = check_sensitive_features(sensitive_features).iloc[:, 0].to_numpy()
        return np.array([self.label_[g] for g in s])

    def predict_proba(self, X, sensitive_features=None):
        pred = self.predict(X, sensitive_features=sensitive_features)
        return (pred[:, None] == self.classes_[None, :]).astype(float)

    def score(self, X, y, sensitive_features=None):
        return float(np.mean(self.predict(X, sensitive_features=sensitive_features) == y))


class NoScoreAttributes(GroupLabel):
    """Reads the attributes at predict, but its ``score`` does not take them."""

    def score(self, X, y):
        return super().score(X, y)


def _data():
    """Group "a": always label 0. Group "b": label 1 on 7 rows of 10 (what a per-group
    majority gets right: 1.0 on "a", 0.7 on "b")."""
    S = np.array(["a"] * 20 + ["b"] * 20)
    y = np.array([0] * 20 + [1, 1, 1, 1, 1, 1, 1, 0, 0, 0] * 2)
    return np.zeros((40, 1)), y, S


def test_reads_sensitive_features_by_the_predict_signature():
    assert reads_sensitive_features(GroupLabel())
    assert reads_sensitive_features(AttributeAwareClassifier())
    # with sensitive_columns the attributes come from X's columns
    assert not reads_sensitive_features(AttributeAwareClassifier(sensitive_columns="sex"))
    assert not reads_sensitive_features(FairNetClassifier())
    assert not reads_sensitive_features(LogisticRegression())
    S = ["a", "b"]
    assert fit_kwargs_with_sensitive(GroupLabel(), S) == {"sensitive_features": S}
    assert fit_kwargs_with_sensitive(LogisticRegression(), S) == {}


# a scorer on predict_proba (labels given: a subgroup may hold one class)
LOG_LOSS = make_scorer(log_loss, response_method="predict_proba", labels=[0, 1],
                       greater_is_better=False)


@pytest.mark.parametrize("scoring", [None, "accuracy", LOG_LOSS], ids=["score", "accuracy",
                                                                       "log_loss"])
def test_each_subgroup_is_scored_with_its_own_attributes(scoring):
    X, y, S = _data()
    est = GroupLabel().fit(X, y, sensitive_features=S)
    chosen, scores = select_worst_subgroups(est, X, y, sensitive_features=S, k=1,
                                            scoring=scoring, return_scores=True)
    assert chosen == [{"sensitive_feature_0": "b"}]
    if scoring is not LOG_LOSS:  # accuracy: the rows got their own group's label
        assert scores.set_index("sensitive_feature_0")["score"].to_dict() == {
            "b": 0.7, "a": 1.0}


def test_unfitted_baseline_is_fitted_with_the_training_rows_attributes():
    X, y, S = _data()
    aa = AffirmativeActionWeighting(k=1, baseline=GroupLabel(), validation_size=0.5,
                                    random_state=0).fit(X, y, sensitive_features=S)
    assert aa.subgroups_ == [{"sensitive_feature_0": "b"}]
    assert aa.subgroup_scores_["n"].sum() == 20  # scored on the validation half
    # a fitted baseline is used as it is, scored with the attributes
    fitted = GroupLabel().fit(X, y, sensitive_features=S)
    aa = AffirmativeActionWeighting(k=1, baseline=fitted).fit(X, y, sensitive_features=S)
    assert fitted.fit_rows_ == 40
    assert aa.subgroups_ == [{"sensitive_feature_0": "b"}]


def test_bound_estimator_checks_rows_and_delegates():
    X, y, S = _data()
    est = GroupLabel().fit(X, y, sensitive_features=S)
    frame = pd.DataFrame({"sensitive_feature_0": S[18:23]})
    bound = WithSensitiveFeatures(est, frame)
    np.testing.assert_array_equal(bound.predict(X[18:23]), [0, 0, 1, 1, 1])
    assert bound.predict_proba(X[18:23]).shape == (5, 2)
    assert not hasattr(bound, "decision_function")
    np.testing.assert_array_equal(bound.classes_, [0, 1])
    with pytest.raises(ValueError, match="holds the attributes of 5 rows; got X with 4"):
        bound.predict(X[:4])
    no_score = NoScoreAttributes().fit(X, y, sensitive_features=S)
    with pytest.raises(TypeError, match="score does not take them; pass scoring="):
        select_worst_subgroups(no_score, X, y, sensitive_features=S)
    # with a scorer it is scored through its predictions
    assert select_worst_subgroups(no_score, X, y, sensitive_features=S, k=1,
                                  scoring="accuracy") == [{"sensitive_feature_0": "b"}]
