"""FairRegressionCorrector: LAD lines, shrinkage, the MAE tolerance, inferred groups,
routing and errors."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skfair.metrics import mae_bias_score
from skfair.postprocessing import FairRegressionCorrector
from skfair.postprocessing._regression import lad_line


def _ages(n=3000, seed=0, shift=4.0):
    """Ages with a group the features under-describe: a plain regressor is biased
    against group 1 (it over-estimates by ``shift`` + a slope error)."""
    rng = np.random.RandomState(seed)
    s = rng.randint(0, 2, n)
    X = rng.uniform(10, 70, size=(n, 2))
    age = X[:, 0] - np.where(s == 1, shift + 0.15 * X[:, 0], 0) + rng.laplace(0, 2, n)
    return X, age, s


def test_lad_line_is_the_least_absolute_deviation_fit():
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 10, 200)
    y = 1.5 * x - 2 + rng.laplace(0, 1, 200)
    y[:10] += 80  # outliers a least-squares line would follow
    a, b = lad_line(x, y, np.ones(200))
    loss = np.abs(y - a * x - b).sum()
    for da, db in ((0.01, 0), (-0.01, 0), (0, 0.05), (0, -0.05)):
        assert np.abs(y - (a + da) * x - (b + db)).sum() >= loss - 1e-9
    assert a == pytest.approx(1.5, abs=0.1)
    # weights act as repeated rows
    w = rng.randint(1, 4, 200)
    aw, bw = lad_line(x, y, w.astype(float))
    ar, br = lad_line(np.repeat(x, w), np.repeat(y, w), np.ones(w.sum()))
    assert (aw, bw) == pytest.approx((ar, br), abs=1e-6)


def test_correction_reduces_the_bias_on_new_rows():
    X, age, s = _ages()
    Xt, aget, st = _ages(seed=1)
    corr = FairRegressionCorrector(LinearRegression(), random_state=0).fit(
        X, age, sensitive_features=s)
    before = mae_bias_score(aget, corr.estimator_.predict(Xt), sensitive_features=st)
    after = mae_bias_score(aget, corr.predict(Xt, sensitive_features=st), sensitive_features=st)
    assert after < 0.3 * before
    mae_before = np.abs(corr.estimator_.predict(Xt) - aget).mean()
    assert np.abs(corr.predict(Xt, sensitive_features=st) - aget).mean() <= mae_before
    assert corr.coef_.shape == (2, 2)
    assert corr.shrinkage_ is not None
    curve = corr.correction_curve_
    assert curve["chosen"].sum() == 1 and np.isnan(curve["shrinkage"].iloc[0])
    res = corr.validation_results_
    assert res["mae_bias"] < res["mae_bias_uncorrected"]
    row = curve[curve["chosen"]].iloc[0]
    assert row["mae_bias"] == pytest.approx(res["mae_bias"])


def test_tolerance_bounds_the_mae_and_unbiased_models_are_left_alone():
    rng = np.random.RandomState(0)
    n = 2000
    s = rng.randint(0, 3, n)
    X = rng.uniform(10, 70, size=(n, 1))
    age = X[:, 0] + rng.laplace(0, 3, n)  # no group bias to remove
    corr = FairRegressionCorrector(LinearRegression(), random_state=0).fit(
        X, age, sensitive_features=s)
    curve = corr.correction_curve_
    chosen = curve[curve["chosen"]].iloc[0]
    assert chosen["mae"] <= curve["mae"].iloc[0] + 1e-12  # tolerance 0: MAE not worse
    # a huge tolerance lets the lowest-bias candidate win whatever its MAE
    loose = FairRegressionCorrector(LinearRegression(), tolerance=100.0, random_state=0).fit(
        X, age, sensitive_features=s)
    assert loose.validation_results_["mae_bias"] == pytest.approx(
        loose.correction_curve_["mae_bias"].min())


def test_shrinkage_pulls_small_groups_to_the_global_line():
    X, age, s = _ages(n=2000)
    est = LinearRegression().fit(X, age)
    full = FairRegressionCorrector(est, prefit=True, shrinkage=[0.0]).fit(
        X, age, sensitive_features=s)
    glob = FairRegressionCorrector(est, prefit=True, shrinkage=[np.inf], tolerance=100.0).fit(
        X, age, sensitive_features=s)
    # infinite shrinkage: one line for everyone (or no correction at all)
    if glob.shrinkage_ is not None:
        np.testing.assert_allclose(glob.coef_[0], glob.coef_[1])
    # no shrinkage: each group's own LAD line
    pred = est.predict(X)
    for g in (0, 1):
        own = lad_line(pred[s == g], age[s == g], np.ones((s == g).sum()))
        np.testing.assert_allclose(full.coef_[g], own, atol=1e-6)


def test_inferred_groups_and_routing():
    X, age, s = _ages()
    X = np.column_stack([X, s + np.random.RandomState(0).normal(0, 0.3, len(s))])
    corr = FairRegressionCorrector(LinearRegression(), groups="inferred",
                                   group_estimator=LogisticRegression(), random_state=0)
    corr.fit(X, age, sensitive_features=s)
    pred = corr.predict(X)  # no sensitive features needed
    assert mae_bias_score(age, pred, sensitive_features=s) < 0.5 * mae_bias_score(
        age, corr.estimator_.predict(X), sensitive_features=s)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("scale", StandardScaler()),
                         ("corr", FairRegressionCorrector(LinearRegression(), random_state=0))])
        pipe.fit(X, age, sensitive_features=s)
        assert pipe.predict(X, sensitive_features=s).shape == age.shape
        gs = GridSearchCV(FairRegressionCorrector(LinearRegression(), random_state=0),
                          {"tolerance": [0.0, 1.0]}, cv=3)
        gs.fit(X, age, sensitive_features=s)
        assert np.isfinite(gs.cv_results_["mean_test_score"]).all()


def test_errors():
    X, age, s = _ages(n=300)
    with pytest.raises(ValueError, match="tolerance"):
        FairRegressionCorrector(LinearRegression(), tolerance=-1).fit(
            X, age, sensitive_features=s)
    with pytest.raises(ValueError, match="shrinkage"):
        FairRegressionCorrector(LinearRegression(), shrinkage=[-1.0]).fit(
            X, age, sensitive_features=s)
    with pytest.raises(ValueError, match="slope_bounds"):
        FairRegressionCorrector(LinearRegression(), slope_bounds=(2.0, 1.0)).fit(
            X, age, sensitive_features=s)
    corr = FairRegressionCorrector(LinearRegression(), random_state=0).fit(
        X, age, sensitive_features=s)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        corr.predict(X)
    with pytest.raises(ValueError, match="not seen before"):
        corr.predict(X[:2], sensitive_features=[0, 5])
    bad = age.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FairRegressionCorrector(LinearRegression()).fit(X, bad, sensitive_features=s)
