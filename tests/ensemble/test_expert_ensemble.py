"""ExpertEnsembleRegressor / ExpertEnsembleClassifier: weights per expert, routing,
out-of-fold stacking, grid search over one expert's weighting."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfair.ensemble import ExpertEnsembleClassifier, ExpertEnsembleRegressor
from skfair.weighting import ManualWeighting, SupportWeighting

N = 120
LOG = []  # every SpyRegressor.fit call, fold clones included


@pytest.fixture(autouse=True)
def _clear_log():
    LOG.clear()
    yield
    LOG.clear()
    sklearn.set_config(enable_metadata_routing=False)


def make_data(n=N, seed=0):
    """Column 0 of X is the row id (the spies read it); the rest are features."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, 3))
    gender = rng.choice(["F", "M"], size=n, p=[0.25, 0.75])
    race = rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.3, 0.1])
    y = 35 + 8 * F[:, 0] + 4 * (gender == "F") + rng.normal(scale=2, size=n)
    X = np.column_stack([np.arange(n), F])
    return X, y, pd.DataFrame({"gender": gender, "race": race})


class SpyRegressor(RegressorMixin, BaseEstimator):
    """Ridge on X[:, 1:] that records the rows, weights and sensitive features it got."""

    def __init__(self, tag="spy", alpha=1.0):
        self.tag = tag
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        X = np.asarray(X, dtype=float)
        self.rows_ = X[:, 0].astype(int)
        self.seen_weight_ = None if sample_weight is None else np.asarray(sample_weight)
        self.seen_sensitive_ = sensitive_features
        self.model_ = Ridge(alpha=self.alpha).fit(X[:, 1:], y, sample_weight=sample_weight)
        self.n_features_in_ = X.shape[1]
        LOG.append(self)
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X, dtype=float)[:, 1:])


class NoWeightRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class OwnWeightingRegressor(RegressorMixin, BaseEstimator):
    """Stands for a FairNet*/WeightedEstimator: an estimator with its own `weighting`."""

    def __init__(self, weighting=None, alpha=1.0):
        self.weighting = weighting
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        self.model_ = Ridge(alpha=self.alpha).fit(X, y, sample_weight=sample_weight)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def marginal_by_hand(S, smoothing=0.0, n_values=None):
    """(k + total) / (k + n * support), product over the columns of S (ChaLearn entry, loss 1)."""
    total = len(S)
    w = np.ones(total)
    for col in S.columns:
        counts = S[col].map(S[col].value_counts()).to_numpy(dtype=float)
        n = S[col].nunique() if n_values is None else n_values[col]
        w *= (smoothing + total) / (smoothing + n * counts)
    return w


def spies(tag):
    return [s for s in LOG if s.tag == tag]


def full_and_folds(tag):
    """The spy fitted on all rows and the fold spies."""
    fits = spies(tag)
    full = [s for s in fits if len(s.rows_) == N]
    folds = [s for s in fits if len(s.rows_) < N]
    assert len(full) == 1
    return full[0], folds


# ----------------------------------------------------------------------------- weights
def test_each_expert_gets_its_own_weights_full_fit_and_every_fold():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor([
        ("plain", SpyRegressor("plain"), None),
        ("gender", SpyRegressor("gender"), SupportWeighting(smoothing=0)),
        ("manual", SpyRegressor("manual"), ManualWeighting({"gender": {"F": 3.0, "M": 0.5}})),
    ], cv=KFold(4, shuffle=True, random_state=0))
    ens.fit(X, y, sensitive_features=S[["gender"]])

    expected = {
        "plain": None,
        "gender": marginal_by_hand(S[["gender"]]),
        "manual": np.where(S["gender"] == "F", 3.0, 0.5),
    }
    for tag, w in expected.items():
        full, folds = full_and_folds(tag)
        assert len(folds) == 4
        assert ens.named_experts_[tag] is full
        if w is None:
            assert full.seen_weight_ is None
            assert all(f.seen_weight_ is None for f in folds)
            continue
        np.testing.assert_allclose(full.seen_weight_, w[full.rows_])
        np.testing.assert_array_equal(full.rows_, np.arange(N))
        covered = np.zeros(N, dtype=int)
        for f in folds:  # each fold saw exactly its training rows' slice of the weights
            np.testing.assert_allclose(f.seen_weight_, w[f.rows_])
            covered[f.rows_] += 1
        assert (covered == 3).all()  # 4 folds: every row trains 3 of them
    # the gender expert's weights balance the two genders' totals (smoothing 0)
    g = spies("gender")[0]
    totals = pd.Series(g.seen_weight_).groupby(S["gender"].to_numpy()[g.rows_]).sum()
    np.testing.assert_allclose(totals.to_numpy(), [N / 2, N / 2])


def test_weights_use_y_for_age_weighting():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor(
        [("age", SpyRegressor("age"), SupportWeighting(smoothing=0, target="binned"))], cv=3
    )
    ens.fit(X, y)  # target-only weighting needs no sensitive features
    bins = pd.DataFrame({"target": np.searchsorted([20, 40, 60], y, side="right")})
    full, _ = full_and_folds("age")
    np.testing.assert_allclose(
        full.seen_weight_, marginal_by_hand(bins, n_values={"target": 4})
    )


def test_sample_weight_multiplies_the_expert_weights_without_routing():
    X, y, S = make_data()
    sw = np.linspace(0.5, 2.0, N)
    ens = ExpertEnsembleRegressor([
        ("plain", SpyRegressor("plain"), None),
        ("gender", SpyRegressor("gender"), SupportWeighting(smoothing=0)),
    ], cv=3)
    ens.fit(X, y, sensitive_features=S["gender"], sample_weight=sw)
    np.testing.assert_allclose(full_and_folds("plain")[0].seen_weight_, sw)
    np.testing.assert_allclose(
        full_and_folds("gender")[0].seen_weight_, sw * marginal_by_hand(S[["gender"]])
    )


def test_sensitive_features_sliced_per_fold_for_experts_that_take_them():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor([("spy", SpyRegressor("spy"), None)], cv=3)
    ens.fit(X, y, sensitive_features=S)
    for spy in spies("spy"):
        seen = spy.seen_sensitive_
        assert list(seen.columns) == ["gender", "race"]
        np.testing.assert_array_equal(seen["race"].to_numpy(), S["race"].to_numpy()[spy.rows_])


# ----------------------------------------------------------------------------- stacking
def test_combiner_is_fitted_on_out_of_fold_predictions():
    X, y, S = make_data()
    cv = KFold(3, shuffle=True, random_state=1)
    w = SupportWeighting(smoothing=0)
    ens = ExpertEnsembleRegressor(
        [("plain", Ridge(alpha=1.0), None), ("gender", Ridge(alpha=1.0), w)],
        final_estimator=LinearRegression(), cv=cv,
    ).fit(X, y, sensitive_features=S["gender"])

    # an independent computation with scikit-learn's own cross_val_predict
    weights = marginal_by_hand(S[["gender"]])
    oof = np.column_stack([
        cross_val_predict(Ridge(alpha=1.0), X, y, cv=cv),
        cross_val_predict(Ridge(alpha=1.0), X, y, cv=cv, params={"sample_weight": weights}),
    ])
    reference = LinearRegression().fit(oof, y)
    np.testing.assert_allclose(ens.final_estimator_.coef_, reference.coef_, rtol=1e-8)
    np.testing.assert_allclose(ens.final_estimator_.intercept_, reference.intercept_)
    # predict: full-data experts, then the combiner
    full = np.column_stack([
        Ridge(alpha=1.0).fit(X, y).predict(X),
        Ridge(alpha=1.0).fit(X, y, sample_weight=weights).predict(X),
    ])
    np.testing.assert_allclose(ens.transform(X), full)
    np.testing.assert_allclose(ens.predict(X), reference.predict(full))


def test_out_of_fold_not_in_sample():
    # a 1-nearest-neighbour expert reproduces y in sample; out of fold it cannot
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor(
        [("knn", KNeighborsRegressor(n_neighbors=1), None)],
        final_estimator=LinearRegression(), cv=5, random_state=0,
    ).fit(X[:, 1:], y)
    oof = cross_val_predict(KNeighborsRegressor(n_neighbors=1), X[:, 1:], y,
                            cv=ens._splitter(y))
    assert np.abs(oof - y).mean() > 1.0  # out of fold, 1-NN is no copy of y
    reference = LinearRegression().fit(oof[:, None], y)
    np.testing.assert_allclose(ens.final_estimator_.coef_, reference.coef_)
    np.testing.assert_allclose(ens.final_estimator_.intercept_, reference.intercept_)
    np.testing.assert_allclose(ens.transform(X[:, 1:]).ravel(), y)


def test_int_cv_shuffles_rows_stored_in_target_order():
    # rows sorted by the target (UTKFace's files are named "<age>_..."): unshuffled
    # folds would each hold one target range and a nearest-neighbour expert, which
    # cannot extrapolate, would feed the combiner predictions far off the truth
    X, y, _ = make_data(n=300)
    order = np.argsort(y)
    X, y = X[order, 1:], y[order]
    X_new, y_new, _ = make_data(n=300, seed=1)
    X_new = X_new[:, 1:]
    knn = KNeighborsRegressor(n_neighbors=5)

    def fit(cv, random_state=0):
        return ExpertEnsembleRegressor([("knn", knn, None)], final_estimator=LinearRegression(),
                                       cv=cv, random_state=random_state).fit(X, y)

    def mae(model):
        return np.abs(model.predict(X_new) - y_new).mean()

    ens = fit(3)
    for _, test in ens._splitter(y).split(X, y):
        assert test.min() < 30 and test.max() > 270  # every fold spans the whole range
    oof = cross_val_predict(knn, X, y, cv=ens._splitter(y))
    np.testing.assert_allclose(ens.final_estimator_.coef_,
                               LinearRegression().fit(oof[:, None], y).coef_)
    # the stacked expert is no worse than the expert alone; unshuffled folds are
    assert mae(ens) <= mae(clone(knn).fit(X, y))
    assert mae(fit(KFold(3))) > 1.2 * mae(ens)
    # random_state fixes the folds
    assert fit(3, 1).final_estimator_.coef_[0] == fit(3, 1).final_estimator_.coef_[0]
    assert fit(3, 1).final_estimator_.coef_[0] != fit(3, 2).final_estimator_.coef_[0]
    # a classifier's int cv: shuffled and stratified
    labels = (y > np.median(y)).astype(int)
    clf = ExpertEnsembleClassifier([("lr", LogisticRegression(), None)], cv=3, random_state=0)
    for _, test in clf._splitter(labels).split(X, labels):
        assert abs(labels[test].mean() - labels.mean()) < 0.02
        assert test.min() < 30 and test.max() > 270


def test_final_weighting_and_passthrough():
    X, y, S = make_data()
    combiner = SpyRegressor("final")
    ens = ExpertEnsembleRegressor(
        [("a", Ridge(), None), ("b", Ridge(alpha=10.0), None)],
        final_estimator=combiner, cv=3, passthrough=True,
        final_weighting=SupportWeighting(smoothing=0),
    )
    # the spy reads row ids from column 0 of what it sees: put ids first via passthrough
    # of X (the combiner sees [pred_a, pred_b, X]); check its weights on the full rows
    ens.fit(X, y, sensitive_features=S[["race"]])
    final = spies("final")[0]
    assert final.n_features_in_ == 2 + X.shape[1]
    np.testing.assert_allclose(final.seen_weight_, marginal_by_hand(S[["race"]]))
    # a combiner whose fit takes sensitive_features gets them too (rows = all rows)
    np.testing.assert_array_equal(final.seen_sensitive_["race"], S["race"])
    assert ens.final_weighting_ is not None
    assert list(ens.get_feature_names_out()) == [
        "expertensembleregressor_a", "expertensembleregressor_b", "x0", "x1", "x2", "x3"]


def test_refit_on_an_array_forgets_the_dataframe_feature_names():
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor([("a", Ridge(), None)], cv=3, passthrough=True)
    ens.fit(pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]), y)
    assert "f0" in ens.get_feature_names_out()
    ens.fit(X[:, :3], y)
    assert not hasattr(ens, "feature_names_in_")
    names = ens.get_feature_names_out()
    assert list(names) == ["expertensembleregressor_a", "x0", "x1", "x2"]
    assert ens.transform(X[:2, :3]).shape[1] == len(names)


def test_passthrough_needs_2d_X():
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor([("a", Ridge(), None)], passthrough=True)
    with pytest.raises(ValueError, match="passthrough=True"):
        ens.fit(list(X), y)


# ----------------------------------------------------------------------------- routing
def test_routing_sensitive_features_through_pipeline_and_requests():
    X, y, S = make_data()
    sklearn.set_config(enable_metadata_routing=True)
    requesting = SpyRegressor("req").set_fit_request(sensitive_features=True)
    # declines the attributes: gets only its own weights (left unset, routing would raise
    # UnsetMetadataPassedError, as scikit-learn does for any consumer)
    silent = SpyRegressor("silent").set_fit_request(sensitive_features=False)
    ens = ExpertEnsembleRegressor([
        ("req", requesting, None),
        ("silent", silent, SupportWeighting(smoothing=0)),
    ], cv=3)
    pipe = make_pipeline(StandardScaler(), ens)  # stage 1 in front, S routed through
    pipe.fit(X, y, sensitive_features=S[["gender"]])
    for spy in spies("req"):
        assert spy.seen_sensitive_ is not None and len(spy.seen_sensitive_) == len(spy.rows_)
        assert spy.seen_weight_ is None
    for spy in spies("silent"):
        assert spy.seen_sensitive_ is None
        assert spy.seen_weight_ is not None
    # rows were standardised by stage 1, so ids are no longer integers; the count is
    assert sum(len(s.rows_) == N for s in spies("silent")) == 1


def test_sample_weight_reaches_every_expert_and_the_combiner_with_routing():
    # sample_weight is the ensemble's own (as in scikit-learn's bagging): with routing
    # it reaches every expert and the combiner, whatever their requests, as without
    X, y, S = make_data()
    sw = np.linspace(0.5, 2.0, N)
    sklearn.set_config(enable_metadata_routing=True)
    ens = ExpertEnsembleRegressor([
        ("req", SpyRegressor("req").set_fit_request(sample_weight=True,
                                                    sensitive_features=False), None),
        ("gender", SpyRegressor("gender").set_fit_request(sensitive_features=False),
         SupportWeighting(smoothing=0)),
    ], final_estimator=SpyRegressor("final").set_fit_request(sensitive_features=False),
        cv=3)
    ens.fit(X, y, sensitive_features=S["gender"], sample_weight=sw)
    np.testing.assert_allclose(full_and_folds("req")[0].seen_weight_, sw)
    np.testing.assert_allclose(
        full_and_folds("gender")[0].seen_weight_, sw * marginal_by_hand(S[["gender"]])
    )
    np.testing.assert_allclose(spies("final")[0].seen_weight_, sw)
    # plain scikit-learn experts and the default combiner: the same fit as without routing
    experts = [("a", Ridge(), None), ("b", Ridge(alpha=10.0), SupportWeighting())]
    routed = ExpertEnsembleRegressor(experts, cv=3, random_state=0).fit(
        X, y, sensitive_features=S, sample_weight=sw)
    sklearn.set_config(enable_metadata_routing=False)
    plain = ExpertEnsembleRegressor(experts, cv=3, random_state=0).fit(
        X, y, sensitive_features=S, sample_weight=sw)
    np.testing.assert_allclose(routed.predict(X), plain.predict(X))
    alone = ExpertEnsembleRegressor([("a", Ridge(), None)], cv=3, random_state=0).fit(
        X, y, sample_weight=sw)
    oof = cross_val_predict(Ridge(), X, y, cv=alone._splitter(y), params={"sample_weight": sw})
    reference = RidgeCV().fit(oof[:, None], y, sample_weight=sw)
    np.testing.assert_allclose(alone.final_estimator_.coef_, reference.coef_)


def test_sample_weight_checks_pass_with_routing():
    # scikit-learn's sample_weight checks, run with metadata routing enabled
    from sklearn.utils import estimator_checks

    sklearn.set_config(enable_metadata_routing=True)
    X, y, _ = make_data()
    for ens in (ExpertEnsembleRegressor([("a", Ridge(alpha=0.1), None),
                                         ("b", Ridge(), SupportWeighting(target="binned"))],
                                        cv=3),
                ExpertEnsembleClassifier([("a", LogisticRegression(), None)], cv=3)):
        for check in ("check_sample_weights_pandas_series",
                      "check_sample_weights_not_an_array", "check_sample_weights_list",
                      "check_sample_weights_shape", "check_sample_weights_not_overwritten"):
            getattr(estimator_checks, check)(type(ens).__name__, ens)


def test_grid_search_over_one_experts_weighting_with_routing():
    X, y, S = make_data()
    sklearn.set_config(enable_metadata_routing=True)
    ens = ExpertEnsembleRegressor([
        ("plain", Ridge(), None),
        ("gender", SpyRegressor("gender").set_fit_request(sensitive_features=False),
         SupportWeighting()),
    ], cv=3)
    grid = GridSearchCV(
        ens, {"experts__gender__weighting__smoothing": [0, 5, 1000],
              "experts__gender__alpha": [0.1, 10.0]}, cv=3,
    )
    grid.fit(X, y, sensitive_features=S[["gender"]])
    assert len(grid.cv_results_["params"]) == 6
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_estimator_
    k = best.experts[1][2].smoothing
    assert k == grid.best_params_["experts__gender__weighting__smoothing"]
    # the refit expert saw the weights of the chosen smoothing, on the refit rows
    full = best.named_experts_["gender"]
    np.testing.assert_allclose(full.seen_weight_, marginal_by_hand(S[["gender"]], k))
    # the searched values really reached the weights: every smoothing was seen
    seen = {round(float(s.seen_weight_.max() / s.seen_weight_.min()), 6)
            for s in spies("gender")}
    assert len(seen) >= 3


# ------------------------------------------------------------------------------ params
def test_get_and_set_params_over_three_tuples():
    w = SupportWeighting(smoothing=5)
    ens = ExpertEnsembleRegressor(
        [("gender", Ridge(alpha=1.0), w), ("plain", Ridge(), None)],
        final_estimator=Ridge(alpha=2.0),
    )
    params = ens.get_params()
    assert params["experts__gender"] is ens.experts[0][1]
    assert params["experts__gender__alpha"] == 1.0
    assert params["experts__gender__weighting"] is w
    assert params["experts__gender__weighting__smoothing"] == 5
    assert params["experts__plain__weighting"] is None
    assert params["final_estimator__alpha"] == 2.0

    ens.set_params(experts__gender__alpha=3.0, experts__gender__weighting__smoothing=0,
                   experts__plain__weighting=ManualWeighting({"g": {"x": 1.0}}),
                   final_estimator__alpha=4.0, cv=2)
    assert ens.experts[0][1].alpha == 3.0 and ens.experts[0][2].smoothing == 0
    assert isinstance(ens.experts[1][2], ManualWeighting)
    assert ens.final_estimator.alpha == 4.0 and ens.cv == 2
    ens.set_params(experts__plain="drop", experts__gender=LinearRegression())
    assert ens.experts[1][1] == "drop" and isinstance(ens.experts[0][1], LinearRegression)

    cloned = clone(ens)
    assert cloned.experts[0][2] is not ens.experts[0][2]
    assert cloned.get_params()["experts__gender__weighting__smoothing"] == 0

    with pytest.raises(ValueError, match="no expert named 'nope'"):
        ens.set_params(experts__nope__alpha=1.0)
    with pytest.raises(ValueError, match="no weighting"):
        ExpertEnsembleRegressor([("a", Ridge(), None)]).set_params(
            experts__a__weighting__smoothing=1)


def test_expert_with_its_own_weighting_parameter():
    own = SupportWeighting(smoothing=2)
    ens = ExpertEnsembleRegressor([("net", OwnWeightingRegressor(weighting=own), None)])
    # the tuple is empty: the key reaches the expert's own weighting
    assert ens.get_params()["experts__net__weighting"] is own
    ens.set_params(experts__net__weighting__smoothing=7)
    assert own.smoothing == 7
    # both set: refused at fit
    X, y, S = make_data()
    both = ExpertEnsembleRegressor(
        [("net", OwnWeightingRegressor(weighting=own), SupportWeighting())], cv=3)
    assert both.get_params()["experts__net__weighting"] is both.experts[0][2]
    with pytest.raises(ValueError, match="weighting twice"):
        both.fit(X, y, sensitive_features=S["gender"])


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("experts, match", [
    ([], "non-empty list"),
    ([("a", Ridge())], None),  # 2-tuples are accepted (no weighting)
    ([("a", Ridge(), None), ("a", Ridge(), None)], "unique"),
    ([("a__b", Ridge(), None)], "invalid"),
    ([("cv", Ridge(), None)], "invalid"),
    ([("a", "drop", None)], "at least one expert"),
    ([("a", LogisticRegression(), None)], "should be a regressor"),
    ([("a", Ridge(), "balanced")], "get_weights"),
    ([(1, Ridge(), None)], "tuples"),
])
def test_invalid_experts(experts, match):
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor(experts, cv=3)
    if match is None:
        ens.fit(X, y)
        return
    with pytest.raises((ValueError, TypeError), match=match):
        ens.fit(X, y, sensitive_features=S["gender"])


def test_weighting_without_sensitive_features_names_the_expert():
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor([("gender", Ridge(), SupportWeighting())], cv=3)
    with pytest.raises(ValueError, match="expert 'gender'.*sensitive_features"):
        ens.fit(X, y)


def test_expert_without_sample_weight_is_refused_when_weighted():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor([("m", NoWeightRegressor(), SupportWeighting())], cv=3)
    with pytest.raises(TypeError, match="expert 'm'.*sample_weight"):
        ens.fit(X, y, sensitive_features=S["gender"])
    # unweighted it is fine
    ExpertEnsembleRegressor([("m", NoWeightRegressor(), None)], cv=3).fit(X, y)


def test_sensitive_features_validated():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor([("g", Ridge(), SupportWeighting())], cv=3)
    with pytest.raises(ValueError, match="rows"):
        ens.fit(X, y, sensitive_features=S["gender"][:-1])
    bad = S["gender"].astype(object).copy()
    bad[3] = None
    with pytest.raises(ValueError, match="missing"):
        ens.fit(X, y, sensitive_features=bad)


def test_cv_must_partition_rows():
    X, y, _ = make_data()
    halves = [(np.arange(60), np.arange(60, 100))]  # rows 100..119 never predicted
    with pytest.raises(ValueError, match="partition"):
        ExpertEnsembleRegressor([("a", Ridge(), None)], cv=halves).fit(X, y)


def test_drop_expert_is_skipped():
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor(
        [("a", Ridge(), None), ("b", "drop", None)], cv=3).fit(X, y)
    assert list(ens.named_experts_) == ["a"]
    assert ens.transform(X).shape == (N, 1)


# -------------------------------------------------------------------------- classifier
def make_classification(n=N, n_classes=3, seed=0):
    X, _, S = make_data(n, seed)
    rng = np.random.default_rng(seed + 1)
    score = X[:, 1] + 0.5 * rng.normal(size=n)
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.array(["low", "mid", "high", "top"])[np.searchsorted(cuts, score)]
    return X[:, 1:], y, S


def test_classifier_binary_and_multiclass_use_probabilities():
    X, y, S = make_classification(n_classes=3)
    clf = ExpertEnsembleClassifier([
        ("plain", LogisticRegression(), None),
        ("race", LogisticRegression(C=0.5), SupportWeighting()),
    ], cv=3).fit(X, y, sensitive_features=S["race"])
    assert list(clf.classes_) == ["high", "low", "mid"]
    assert clf.stack_method_ == ["predict_proba", "predict_proba"]
    assert clf.transform(X).shape == (N, 6)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, y) > 0.6

    yb = np.where(y == "high", "yes", "no")
    clf_b = clone(clf).fit(X, yb, sensitive_features=S["race"])
    assert clf_b.transform(X).shape == (N, 2)  # p(class 0) dropped: collinear
    assert clf_b.predict_proba(X).shape == (N, 2)


def test_classifier_fold_missing_a_class_gets_zero_probability():
    X, y, _ = make_classification(n=60, n_classes=2)
    y = y.astype(object)
    y[:3] = "rare"  # only in the first fold of an unshuffled KFold(3)
    clf = ExpertEnsembleClassifier(
        [("lr", LogisticRegression(), None)], cv=KFold(3)).fit(X, y)
    assert clf.transform(X).shape == (60, 3)


def test_classifier_weighting_sees_labels_as_given():
    X, y, _ = make_classification(n_classes=2)
    table = {"target": {"mid": 5.0, "low": 1.0}}

    class Spy(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            self.seen_weight_ = sample_weight
            return super().fit(X, y, sample_weight=sample_weight)

    clf = ExpertEnsembleClassifier(
        [("lr", Spy(), ManualWeighting(table, target="label"))], cv=3).fit(X, y)
    np.testing.assert_allclose(
        clf.named_experts_["lr"].seen_weight_, np.where(y == "mid", 5.0, 1.0))


def test_classifier_rejects_multilabel_and_continuous():
    X, y, _ = make_classification()
    clf = ExpertEnsembleClassifier([("lr", LogisticRegression(), None)], cv=3)
    with pytest.raises(ValueError, match="binary and multiclass"):
        clf.fit(X, np.column_stack([y == "low", y == "mid"]).astype(int))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, N))


def test_spy_is_a_valid_regressor():
    """The spy itself must behave (a broken spy would make the tests above vacuous)."""
    X, y, _ = make_data()
    spy = SpyRegressor().fit(X, y, sample_weight=np.ones(N))
    np.testing.assert_allclose(spy.predict(X), Ridge().fit(X[:, 1:], y).predict(X[:, 1:]))
    assert isinstance(spy, RegressorMixin) and not isinstance(spy, ClassifierMixin)


# ------------------------------------------------------------------ any regressor
def _regressors():
    """``name -> (estimator, weighting of its expert tuple)``."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import HuberRegressor, QuantileRegressor
    from sklearn.svm import SVR
    from sklearn.tree import DecisionTreeRegressor

    from skfair.estimators import FairNetRegressor
    from skfair.pipeline import make_pipeline as skfair_pipeline
    from skfair.weighting import WeightedEstimator

    def net():
        return FairNetRegressor(hidden_sizes=(8,), max_epochs=200, lr=0.01, device="cpu",
                                random_state=0)

    w = SupportWeighting()
    return {
        "Ridge": (Ridge(), w),
        "QuantileRegressor": (QuantileRegressor(alpha=0.0, solver="highs"), w),
        "HuberRegressor": (HuberRegressor(), w),
        "HistGradientBoosting": (HistGradientBoostingRegressor(min_samples_leaf=5), w),
        "DecisionTree": (DecisionTreeRegressor(max_depth=4), w),
        "SVR": (SVR(C=100.0), w),
        "Pipeline(StandardScaler, Ridge)": (make_pipeline(StandardScaler(), Ridge()), w),
        "skfair Pipeline(StandardScaler, FairNetRegressor)": (
            skfair_pipeline(StandardScaler(), net()), w),
        "FairNetRegressor": (net(), w),
        # its own weighting (a second one in the tuple is refused)
        "WeightedEstimator(Ridge)": (WeightedEstimator(Ridge(), weighting=w), None),
    }


@pytest.mark.parametrize("name", list(_regressors()))
def test_any_weighted_regressor_as_expert_and_as_combiner(name):
    # every scikit-learn / skfair regressor whose fit takes sample_weight serves as a
    # weighted expert and as a combiner with final_weighting (pipelines too: their last
    # step gets the weights), and the ensemble predicts about as well as it
    X, y, S = make_data(n=150)
    X = X[:, 1:]
    est, weighting = _regressors()[name]
    kw = {"sensitive_features": S} if weighting is None else {}
    alone = np.abs(clone(est).fit(X, y, **kw).predict(X) - y).mean()
    as_expert = ExpertEnsembleRegressor(
        [("e", clone(est), weighting), ("ridge", Ridge(), None)], cv=3,
        random_state=0).fit(X, y, sensitive_features=S)
    assert np.abs(as_expert.predict(X) - y).mean() < max(1.1 * alone, 2.0)
    combiner = ExpertEnsembleRegressor(
        [("ridge", Ridge(), None), ("gender", Ridge(), SupportWeighting())],
        final_estimator=clone(est), final_weighting=SupportWeighting(target="binned"),
        cv=3, random_state=0).fit(X, y, sensitive_features=S)
    # it learned the experts' signal: far better than the mean (MAE 7.5; the experts 2.0)
    assert np.abs(combiner.predict(X) - y).mean() < 0.5 * np.abs(y - y.mean()).mean()


class WeightSpy(RegressorMixin, BaseEstimator):
    """LinearRegression on all of X that records the weights it got."""

    def __init__(self, tag="w"):
        self.tag = tag

    def fit(self, X, y, sample_weight=None):
        self.seen_weight_ = sample_weight
        self.model_ = LinearRegression().fit(X, y, sample_weight=sample_weight)
        LOG.append(self)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_pipeline_expert_and_combiner_get_the_weights_at_their_last_step():
    from sklearn.preprocessing import FunctionTransformer

    X, y, S = make_data()
    ens = ExpertEnsembleRegressor(
        [("pipe", make_pipeline(FunctionTransformer(), SpyRegressor("pipe")),
          SupportWeighting(smoothing=0))],
        final_estimator=make_pipeline(StandardScaler(), WeightSpy("final")),
        final_weighting=SupportWeighting(smoothing=0), cv=3, random_state=0,
    ).fit(X, y, sensitive_features=S[["gender"]])
    w = marginal_by_hand(S[["gender"]])
    assert len(spies("pipe")) == 4  # the full fit and every fold
    for spy in spies("pipe"):
        np.testing.assert_allclose(spy.seen_weight_, w[spy.rows_])
        # the last step takes sensitive_features: it gets them, sliced to its rows
        np.testing.assert_array_equal(spy.seen_sensitive_["gender"].to_numpy(),
                                      S["gender"].to_numpy()[spy.rows_])
    np.testing.assert_allclose(spies("final")[0].seen_weight_, w)
    assert ens.predict(X).shape == (N,)


def test_a_last_step_without_sample_weight_is_named():
    X, y, S = make_data()
    ens = ExpertEnsembleRegressor(
        [("r", Ridge(), None)], final_estimator=make_pipeline(StandardScaler(),
                                                              KNeighborsRegressor()),
        final_weighting=SupportWeighting(), cv=3)
    with pytest.raises(TypeError, match="final_estimator \\(KNeighborsRegressor\\).*"
                                        "final_weighting"):
        ens.fit(X, y, sensitive_features=S["gender"])


def test_attribute_aware_experts_get_the_attributes_out_of_fold_and_at_predict():
    from skfair.estimators import AttributeAwareRegressor

    X, y, S = make_data(n=200)
    X = X[:, 1:].astype(np.float32)
    aware = AttributeAwareRegressor(hidden_sizes=(8,), max_epochs=80, lr=0.01, device="cpu",
                                    random_state=0)
    ens = ExpertEnsembleRegressor(
        [("aware", aware, SupportWeighting()), ("ridge", Ridge(), None)], cv=3,
        random_state=0).fit(X, y, sensitive_features=S[["gender"]])
    pred = ens.predict(X, sensitive_features=S[["gender"]])
    # the network reads gender, which moves y by 4: the combiner leans on it
    assert np.abs(pred - y).mean() < np.abs(Ridge().fit(X, y).predict(X) - y).mean()
    np.testing.assert_allclose(
        ens.transform(X, sensitive_features=S[["gender"]])[:, 0],
        ens.named_experts_["aware"].predict(X, sensitive_features=S[["gender"]]))
    with pytest.raises(ValueError, match="pass sensitive_features= to predict"):
        ens.predict(X)


# -------------------------------------------------------------------- refit=False
def test_refit_false_predicts_with_the_mean_of_the_fold_models():
    X, y, S = make_data()
    experts = [("plain", SpyRegressor("plain"), None),
               ("gender", SpyRegressor("gender"), SupportWeighting(smoothing=0))]
    kw = dict(final_estimator=LinearRegression(), cv=4, random_state=0)
    bagged = ExpertEnsembleRegressor(experts, refit=False, **kw).fit(
        X, y, sensitive_features=S["gender"])
    folds = spies("gender")
    assert len(folds) == 4 and all(len(f.rows_) < N for f in folds)  # no refit on all rows
    np.testing.assert_allclose(  # each fold model still trained on its slice of the weights
        folds[0].seen_weight_, marginal_by_hand(S[["gender"]])[folds[0].rows_])
    expert = bagged.named_experts_["gender"]
    np.testing.assert_allclose(expert.predict(X), np.mean([f.predict(X) for f in folds], 0))
    np.testing.assert_allclose(bagged.transform(X)[:, 1], expert.predict(X))
    # the combiner is the one refit=True fits (same folds, same out-of-fold predictions)
    LOG.clear()
    refit = ExpertEnsembleRegressor(experts, refit=True, **kw).fit(
        X, y, sensitive_features=S["gender"])
    np.testing.assert_allclose(bagged.final_estimator_.coef_, refit.final_estimator_.coef_)
    np.testing.assert_allclose(bagged.predict(X),
                               bagged.final_estimator_.predict(bagged.transform(X)))
    assert not np.allclose(bagged.predict(X), refit.predict(X))
    assert bagged.n_features_in_ == X.shape[1]
    frame = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"])
    named = ExpertEnsembleRegressor([("r", Ridge(), None)], refit=False, cv=3).fit(frame, y)
    assert list(named.feature_names_in_) == ["a", "b", "c"]
    restored = pickle.loads(pickle.dumps(bagged))
    np.testing.assert_allclose(restored.predict(X), bagged.predict(X))


def test_refit_false_classifier_averages_probabilities_of_aligned_folds():
    X, y, _ = make_data()
    labels = np.where(y > 40, "old", "young").astype(object)
    labels[:3] = "rare"  # only in the first fold of KFold(3): the other fold models miss it
    clf = ExpertEnsembleClassifier([("lr", LogisticRegression(), None)], cv=KFold(3),
                                   refit=False).fit(X[:, 1:], labels)
    expert = clf.named_experts_["lr"]
    proba = expert.predict_proba(X[:, 1:])
    assert proba.shape == (N, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the fold models that never saw "rare" give it probability 0 in the mean
    fold_probas = []
    for model in expert.estimators:
        p = np.zeros((N, 3))
        p[:, model.classes_] = model.predict_proba(X[:, 1:])
        fold_probas.append(p)
    np.testing.assert_allclose(proba, np.mean(fold_probas, axis=0))
    np.testing.assert_array_equal(expert.predict(X[:, 1:]), proba.argmax(axis=1))
    assert clf.predict(X[:, 1:]).shape == (N,)
    assert set(clf.predict(X[:, 1:])) <= {"old", "young", "rare"}


def test_refit_false_refuses_the_joint_finetune():
    X, y, _ = make_data()
    ens = ExpertEnsembleRegressor([("r", Ridge(), None)], refit=False, joint_finetune=True,
                                  cv=3)
    with pytest.raises(ValueError, match="refit=True"):
        ens.fit(X, y)
