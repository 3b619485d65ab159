"""FairNetClassifier inside GridSearchCV and Pipeline with metadata routing."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfair.estimators import FairNetClassifier
from skfair.metrics import make_fairness_scorer, pareto_refit
from skfair.weighting import SupportWeighting


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_grid_search_over_lam_and_weighting_with_pareto_refit(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(fairness="eo_l2", weighting=SupportWeighting(),
                            **{**fast, "max_epochs": 5})
    clf.set_fit_request(sensitive_features=True)
    refit = pareto_refit(["acc", "eo"])
    search = GridSearchCV(
        clf, {"lam": [0.0, 5.0], "weighting__smoothing": [1, 50]},
        scoring={"acc": "accuracy", "eo": make_fairness_scorer("equalized_odds_difference")},
        refit=refit, cv=2,
    )
    search.fit(X, y, sensitive_features=s)
    res = search.cv_results_
    assert len(res["params"]) == 4
    assert np.all(res["mean_test_eo"] <= 0) and np.all(res["mean_test_acc"] > 0.5)
    assert search.best_index_ == refit(res)
    best = search.best_estimator_
    assert best.n_groups_ == 2  # the refit received the routed sensitive features
    assert best.weighting_.smoothing == res["params"][search.best_index_]["weighting__smoothing"]
    assert search.predict(X).shape == y.shape


def test_pipeline_routes_sensitive_features_and_sample_weight(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(fairness="dp_l2", lam=1.0, **fast).set_fit_request(
        sensitive_features=True, sample_weight=True)
    pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), clf)
    pipe.fit(X, y, sensitive_features=s, sample_weight=np.ones(len(y)))
    assert pipe[-1].n_groups_ == 2
    with pytest.raises(ValueError, match="needs the sensitive groups"):
        make_pipeline(StandardScaler(), FairNetClassifier(fairness="dp_l2", **fast)).fit(X, y)
