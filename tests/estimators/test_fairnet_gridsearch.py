"""FairNetClassifier inside GridSearchCV and Pipeline with metadata routing."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfair.estimators import (
    AttributeAwareClassifier,
    FairNetClassifier,
    FairNetMultiLabelClassifier,
    FairNetRegressor,
)
from skfair.metrics import equalized_odds_difference, make_fairness_scorer, pareto_refit
from skfair.pipeline import Pipeline
from skfair.samplers import GroupResampler
from skfair.weighting import SupportWeighting


@pytest.fixture(autouse=True)
def _routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_grid_search_over_lam_and_weighting_with_pareto_refit(biased_data, fast):
    X, y, s = biased_data
    # no set_fit_request: the estimator requests sensitive_features by default
    clf = FairNetClassifier(fairness="eo_l2", weighting=SupportWeighting(),
                            **{**fast, "max_epochs": 5})
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
        sample_weight=True)
    pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), clf)
    pipe.fit(X, y, sensitive_features=s, sample_weight=np.ones(len(y)))
    assert pipe[-1].n_groups_ == 2
    with pytest.raises(ValueError, match="needs the sensitive groups"):
        make_pipeline(StandardScaler(), FairNetClassifier(fairness="dp_l2", **fast)).fit(X, y)


@pytest.mark.parametrize("fairness", ["eo_l2", None])
def test_resampler_pipeline_in_grid_search_needs_no_set_fit_request(biased_data, fast,
                                                                    fairness):
    X, y, s = biased_data
    s = np.where(s == 1, "a", "b")
    b_rows = np.flatnonzero(s == "b")
    keep = np.sort(np.r_[np.flatnonzero(s == "a"), b_rows[::3]])  # group "b" a third as big
    X, y, s = X[keep], y[keep], s[keep]
    pipe = Pipeline([("resample", GroupResampler(random_state=0)),
                     ("clf", FairNetClassifier(fairness=fairness, **{**fast, "max_epochs": 3}))])
    search = GridSearchCV(
        pipe, {"clf__lam": [0.0, 2.0]}, cv=2,
        scoring={"acc": "accuracy", "eo": make_fairness_scorer(equalized_odds_difference)},
        refit="acc",
    ).fit(X, y, sensitive_features=s)
    assert np.isfinite(search.cv_results_["mean_test_eo"]).all()
    assert search.best_estimator_[-1].n_groups_ == 2  # the routed groups reached the net
    # without routing the same estimators take sensitive_features directly
    with sklearn.config_context(enable_metadata_routing=False):
        assert FairNetClassifier(fairness=fairness, **fast).fit(
            X, y, sensitive_features=s).n_groups_ == 2


def test_every_fairnet_estimator_requests_sensitive_features_for_fit():
    for est in (FairNetClassifier(), FairNetRegressor(), FairNetMultiLabelClassifier(),
                AttributeAwareClassifier()):
        requests = est.get_metadata_routing().fit.requests
        # requested by default; sample_weight keeps scikit-learn's default (unset)
        assert requests == {"sensitive_features": True, "sample_weight": None}


def test_attribute_aware_routes_sensitive_features_to_fit_and_score(biased_data, fast):
    X, y, s = biased_data
    search = GridSearchCV(AttributeAwareClassifier(**{**fast, "max_epochs": 5}),
                          {"lam": [0.0]}, cv=2).fit(X[:, [0, 2]], y, sensitive_features=s)
    # the attributes reached fit and the default scorer (score -> predict)
    assert search.best_estimator_.attribute_names_ == ["sensitive_feature_0"]
    assert search.cv_results_["mean_test_score"][0] > 0.6


def test_attribute_aware_with_sensitive_columns_declines_routed_features(biased_data, fast):
    X, y, s = biased_data
    frame = pd.DataFrame({"x0": X[:, 0], "x2": X[:, 2], "group": s})
    clf = AttributeAwareClassifier(sensitive_columns="group", **{**fast, "max_epochs": 3})
    assert clf.get_metadata_routing().fit.requests["sensitive_features"] is False
    # the resampler needs the routed attributes; the network reads them from X
    pipe = Pipeline([("resample", GroupResampler(random_state=0)), ("clf", clf)])
    pipe.fit(frame, y, sensitive_features=s)
    assert pipe[-1].attribute_names_ == ["group"]
    # set_params changes the default: without sensitive_columns it requests them again
    assert clf.set_params(sensitive_columns=None).get_metadata_routing().fit.requests[
        "sensitive_features"] is True
