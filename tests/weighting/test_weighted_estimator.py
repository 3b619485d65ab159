"""WeightedEstimator: weights from routed sensitive features, any sklearn estimator."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier, is_regressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.svm import LinearSVC

from skfair.weighting import (
    AffirmativeActionWeighting,
    ClassBalancedWeighting,
    SupportWeighting,
    WeightedEstimator,
)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    S = np.where(rng.rand(n) < 0.8, "a", "b")
    return X, y, S


def test_fit_equals_estimator_fitted_with_the_weights():
    X, y, S = _data()
    we = WeightedEstimator(LogisticRegression(), SupportWeighting(smoothing=2))
    we.fit(X, y, sensitive_features=S)
    w = SupportWeighting(smoothing=2).get_weights(S)
    ref = LogisticRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(we.estimator_.coef_, ref.coef_)
    np.testing.assert_allclose(we.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(we.predict(X), ref.predict(X))
    np.testing.assert_allclose(we.decision_function(X), ref.decision_function(X))
    assert we.score(X, y) == ref.score(X, y)
    np.testing.assert_array_equal(we.classes_, [0, 1])
    assert we.n_features_in_ == 3
    assert is_classifier(we) and not is_classifier(WeightedEstimator(Ridge(), None))
    # weights actually matter: unweighted fit differs
    assert not np.allclose(LogisticRegression().fit(X, y).coef_, ref.coef_)


def test_user_sample_weight_is_multiplied(routing):
    X, y, S = _data()
    sw = np.linspace(0.5, 2, len(y))
    we = WeightedEstimator(LogisticRegression(), SupportWeighting()).set_fit_request(
        sample_weight=True
    )
    we.fit(X, y, sensitive_features=S, sample_weight=sw)
    np.testing.assert_allclose(we.sample_weight_, sw * SupportWeighting().get_weights(S))


def test_regressor_and_target_weighting():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 2))
    ages = rng.uniform(0, 90, 80)
    S = np.where(rng.rand(80) < 0.7, "M", "F")
    we = WeightedEstimator(Ridge(), SupportWeighting(target="binned")).fit(
        X, ages, sensitive_features=S
    )
    assert is_regressor(we)
    np.testing.assert_allclose(
        we.sample_weight_, SupportWeighting(target="binned").get_weights(S, ages)
    )
    assert we.predict(X).shape == (80,)


def test_class_balanced_needs_no_sensitive_features():
    X, y, _ = _data()
    we = WeightedEstimator(LogisticRegression(), ClassBalancedWeighting()).fit(X, y)
    assert we.sample_weight_[y == 1].sum() == pytest.approx(we.sample_weight_[y == 0].sum())


def test_clear_errors():
    X, y, S = _data()
    with pytest.raises(ValueError, match="needs sensitive_features"):
        WeightedEstimator(LogisticRegression(), SupportWeighting()).fit(X, y)
    with pytest.raises(ValueError, match="same length|rows"):
        WeightedEstimator(LogisticRegression(), SupportWeighting()).fit(
            X, y, sensitive_features=S[:5]
        )

    class NoWeights(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            return self

    with pytest.raises(ValueError, match="does not accept sample_weight"):
        WeightedEstimator(NoWeights(), SupportWeighting()).fit(X, y, sensitive_features=S)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        WeightedEstimator(LogisticRegression(), SupportWeighting()).predict(X)
    assert not hasattr(WeightedEstimator(LinearSVC(), SupportWeighting()), "predict_proba")


def _gap_scorer():
    def neg_accuracy_gap(y_true, y_pred, *, sensitive_features):
        accs = [np.mean(y_true[sensitive_features == g] == y_pred[sensitive_features == g])
                for g in np.unique(sensitive_features)]
        return -(max(accs) - min(accs))

    return make_scorer(neg_accuracy_gap).set_score_request(sensitive_features=True)


def test_grid_search_over_weighting_params_with_routing(routing):
    X, y, S = _data(200)
    gs = GridSearchCV(
        WeightedEstimator(LogisticRegression(), SupportWeighting()),
        {"weighting__smoothing": [0, 5, 100], "weighting__scheme": ["marginal"]},
        scoring=_gap_scorer(), cv=3,
    )
    gs.fit(X, y, sensitive_features=S)
    assert set(gs.cv_results_["param_weighting__smoothing"]) == {0, 5, 100}
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    assert gs.best_estimator_.weighting.smoothing in (0, 5, 100)


def test_sensitive_features_reach_an_inner_estimator_that_requests_them(routing):
    class Spy(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None, sensitive_features=None):
            self.seen_ = (sample_weight, sensitive_features)
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.full(len(X), self.classes_[0])

    X, y, S = _data(30)
    we = WeightedEstimator(Spy().set_fit_request(sensitive_features=True), SupportWeighting())
    we.fit(X, y, sensitive_features=S)
    sw, sf = we.estimator_.seen_
    np.testing.assert_array_equal(sf, S)
    np.testing.assert_allclose(sw, SupportWeighting().get_weights(S))


def test_affirmative_action_picked_inside_fit_and_clone_is_unfitted():
    rng = np.random.RandomState(1)
    n = 300
    S = np.where(rng.rand(n) < 0.85, "a", "b")
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    y[S == "b"] = 1 - y[S == "b"]
    aa = AffirmativeActionWeighting(k=1, random_state=0)
    we = WeightedEstimator(LogisticRegression(), aa).fit(X, y, sensitive_features=S)
    assert we.weighting_.subgroups_ == [{"sensitive_feature_0": "b"}]
    assert not hasattr(aa, "subgroups_")  # the parameter object is left untouched
    np.testing.assert_allclose(we.sample_weight_, np.where(S == "b", 10.0, 1.0))
    assert not hasattr(clone(we), "estimator_")


def test_without_routing_sensitive_features_reach_an_inner_fit_that_takes_them():
    class Takes(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None, sensitive_features=None):
            self.sf_ = sensitive_features
            self.classes_ = np.unique(y)
            return self

    X, y, S = _data(20)
    we = WeightedEstimator(Takes(), SupportWeighting()).fit(X, y, sensitive_features=S)
    np.testing.assert_array_equal(we.estimator_.sf_, S)
    we = WeightedEstimator(LogisticRegression(), SupportWeighting()).fit(
        X, y, sensitive_features=S
    )  # LogisticRegression.fit has no such parameter: not passed
    assert we.estimator_.n_features_in_ == 3


def test_negative_sample_weight_is_an_error():
    from sklearn.linear_model import LogisticRegression

    from skfair.weighting import ClassBalancedWeighting, WeightedEstimator

    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        WeightedEstimator(LogisticRegression(), ClassBalancedWeighting()).fit(
            X, y, sample_weight=np.r_[-1.0, np.ones(19)])
