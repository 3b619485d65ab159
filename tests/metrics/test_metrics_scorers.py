import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from skfair.metrics import (
    demographic_parity_difference,
    equal_opportunity_score,
    equalized_odds_difference,
    make_fairness_scorer,
    make_tradeoff_scorer,
    pareto_front,
    pareto_refit,
)
from skfair.utils import SensitiveColumns


@pytest.fixture(scope="module")
def biased():
    rng = np.random.RandomState(0)
    n = 240
    s = rng.choice(["a", "b", "c"], n)
    X = np.c_[rng.normal(size=(n, 2)), (s == "a").astype(float)]
    y = ((X[:, 0] + 1.5 * X[:, 2] + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    return X, y, s


def test_gridsearch_multimetric_with_routed_sensitive_features_and_pareto_refit(biased):
    X, y, s = biased
    refit = pareto_refit(["acc", "eo"])
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            LogisticRegression(), {"C": [1e-3, 1e-2, 1e-1, 1.0, 10.0]}, cv=3,
            scoring={"acc": "accuracy",
                     "eo": make_fairness_scorer("equalized_odds_difference")},
            refit=refit,
        )
        search.fit(X, y, sensitive_features=s)
    res = search.cv_results_
    assert np.all(res["mean_test_eo"] <= 0)  # negated differences
    front = pareto_front(res, ["acc", "eo"])
    assert search.best_index_ in front.index
    assert search.best_index_ == refit(res)
    assert hasattr(search, "best_estimator_")
    # the routed scores are the metric on each test fold
    with sklearn.config_context(enable_metadata_routing=True):
        cv = cross_validate(LogisticRegression(C=1.0), X, y, cv=3,
                            scoring={"eo": make_fairness_scorer("equalized_odds_difference")},
                            params={"sensitive_features": s}, return_indices=True,
                            return_estimator=True)
    for k in range(3):
        test = cv["indices"]["test"][k]
        pred = cv["estimator"][k].predict(X[test])
        expected = equalized_odds_difference(y[test], pred, sensitive_features=s[test])
        assert cv["test_eo"][k] == pytest.approx(-expected)


def test_scorer_without_routing_explains_how_to_fix(biased):
    X, y, s = biased
    scorer = make_fairness_scorer("demographic_parity_difference")
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2, scoring=scorer,
                          error_score="raise")
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        search.fit(X, y)


def test_sensitive_columns_read_from_X():
    rng = np.random.RandomState(1)
    X = pd.DataFrame({"x0": rng.normal(size=120), "x1": rng.normal(size=120),
                      "race": rng.choice(["a", "b"], 120)})
    y = (X["x0"] + (X["race"] == "a") > 0.3).astype(int).to_numpy()
    model = make_pipeline(
        ColumnTransformer([("num", "passthrough", ["x0", "x1"])]), LogisticRegression()
    )
    scorer = make_fairness_scorer("demographic_parity_difference",
                                  sensitive_columns=SensitiveColumns("race"))
    search = GridSearchCV(model, {"logisticregression__C": [0.1, 1.0]}, cv=3,
                          scoring={"acc": "accuracy", "dp": scorer},
                          refit=pareto_refit(["acc", "dp"]))
    search.fit(X, y)  # no routing needed
    fitted = model.set_params(logisticregression__C=1.0).fit(X, y)
    direct = scorer(fitted, X, y)
    expected = demographic_parity_difference(y, fitted.predict(X),
                                             sensitive_features=X["race"])
    assert direct == pytest.approx(-expected)
    with pytest.raises(ValueError, match="do not also route"):
        scorer(fitted, X, y, sensitive_features=X["race"])


def test_direct_call_and_greater_is_better(biased):
    X, y, s = biased
    clf = LogisticRegression().fit(X, y)
    pred = clf.predict(X)
    f_scorer = make_fairness_scorer("equal_opportunity_score")
    assert f_scorer(clf, X, y, sensitive_features=s) == pytest.approx(
        equal_opportunity_score(y, pred, sensitive_features=s))
    custom = make_fairness_scorer(equal_opportunity_score, greater_is_better=False)
    assert custom(clf, X, y, sensitive_features=s) == pytest.approx(
        -equal_opportunity_score(y, pred, sensitive_features=s))
    with pytest.raises(ValueError, match="greater_is_better"):
        make_fairness_scorer(lambda t, p, sensitive_features: 0.0)
    with pytest.raises(ValueError, match="Unknown fairness metric"):
        make_fairness_scorer("fairest")
    assert "greater_is_better=False" in repr(make_fairness_scorer("iou_fairness"))


def test_set_score_request_keeps_sensitive_features_and_pickles():
    scorer = make_fairness_scorer("demographic_parity_difference")
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sample_weight=True)
        requests = scorer.get_metadata_routing().score.requests
    assert requests["sensitive_features"] is True
    assert requests["sample_weight"] is True
    clone = pickle.loads(pickle.dumps(make_tradeoff_scorer(alpha=0.3)))
    assert repr(clone) == "make_tradeoff_scorer('accuracy', 'equalized_odds_difference', alpha=0.3)"
    with pytest.raises(RuntimeError, match="metadata routing is enabled"):
        scorer.set_score_request(sample_weight=True)  # routing off, as scikit-learn's


def test_fairness_scorer_uses_public_scikit_learn_api_only():
    from sklearn.metrics._scorer import _BaseScorer

    # a plain callable with metadata requests, not a subclass of scikit-learn's private
    # scorer classes
    for scorer in (make_fairness_scorer("equalized_odds_difference"), make_tradeoff_scorer()):
        assert not isinstance(scorer, _BaseScorer)
        assert scorer.get_metadata_routing().score.requests == {"sensitive_features": True}
    columns = make_fairness_scorer("equalized_odds_difference", sensitive_columns="race")
    assert columns.get_metadata_routing().score.requests == {}


def test_tradeoff_scorer_value():
    X, y = np.zeros((6, 1)), np.array([0, 1, 1, 0, 1, 1])
    s = np.array(list("aaabbb"))
    clf = DummyClassifier(strategy="constant", constant=1).fit(X, y)
    pred = clf.predict(X)
    acc = np.mean(pred == y)
    eo = equalized_odds_difference(y, pred, sensitive_features=s)
    scorer = make_tradeoff_scorer("accuracy", "equalized_odds_difference", alpha=2.0)
    assert scorer(clf, X, y, sensitive_features=s) == pytest.approx(acc - 2 * eo)
    ratio = make_tradeoff_scorer("balanced_accuracy", "equal_opportunity_score", alpha=1.0)
    f = equal_opportunity_score(y, pred, sensitive_features=s)
    assert ratio(clf, X, y, sensitive_features=s) == pytest.approx(0.5 - (1 - f))
    # any scikit-learn scorer, probability-based ones too (it predicts by itself)
    logreg = LogisticRegression().fit(np.c_[np.arange(6.0)], y)
    auc = make_tradeoff_scorer("roc_auc", "equalized_odds_difference", alpha=0.5)
    expected = roc_auc_score(y, logreg.predict_proba(np.c_[np.arange(6.0)])[:, 1]) - 0.5 * (
        equalized_odds_difference(y, logreg.predict(np.c_[np.arange(6.0)]),
                                  sensitive_features=s))
    assert auc(logreg, np.c_[np.arange(6.0)], y, sensitive_features=s) == pytest.approx(expected)



def test_tradeoff_scorer_callable_performance_and_sample_weight():
    X, y = np.zeros((6, 1)), np.array([0, 1, 1, 0, 1, 1])
    s = np.array(list("aaabbb"))
    w = np.array([1.0, 2, 1, 1, 2, 1])
    clf = DummyClassifier(strategy="constant", constant=1).fit(X, y)

    def weighted_acc(y_true, y_pred, sample_weight=None):
        return np.average(y_true == y_pred, weights=sample_weight)

    scorer = make_tradeoff_scorer(weighted_acc, "equalized_odds_difference", alpha=0.0)
    assert scorer(clf, X, y, sensitive_features=s, sample_weight=w) == pytest.approx(
        weighted_acc(y, clf.predict(X), w))
    unweighted = make_tradeoff_scorer(lambda t, p: np.mean(t == p), alpha=0.0)
    assert unweighted(clf, X, y, sensitive_features=s) == pytest.approx(4 / 6)
    with pytest.raises(TypeError, match="performance=.* takes no sample_weight"):
        unweighted(clf, X, y, sensitive_features=s, sample_weight=w)

    def gap(y_true, y_pred, *, sensitive_features):  # a disparity without weights
        return 0.0

    custom = make_tradeoff_scorer("accuracy", gap, alpha=1.0)
    assert custom(clf, X, y, sensitive_features=s) == pytest.approx(4 / 6)
    with pytest.raises(TypeError, match="fairness='gap' takes no sample_weight"):
        custom(clf, X, y, sensitive_features=s, sample_weight=w)
