"""FairRegressionCorrector: LAD lines, shrinkage, levelling offsets, the MAE tolerance,
inferred groups, routing and errors."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skfair.metrics import UndefinedGroupWarning, mae_bias_score
from skfair.postprocessing import FairRegressionCorrector
from skfair.postprocessing._regression import lad_line, level_offsets


def _ages(n=3000, seed=0, shift=4.0):
    """Ages with a group the features under-describe: a plain regressor is biased
    against group 1 (it over-estimates by ``shift`` + a slope error)."""
    rng = np.random.RandomState(seed)
    s = rng.randint(0, 2, n)
    X = rng.uniform(10, 70, size=(n, 2))
    age = X[:, 0] - np.where(s == 1, shift + 0.15 * X[:, 0], 0) + rng.laplace(0, 2, n)
    return X, age, s


class _Given(RegressorMixin, BaseEstimator):
    """A 'fitted' regressor whose prediction is the first column of X."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.asarray(X, dtype=np.float64)[:, 0]

    def __sklearn_is_fitted__(self):
        return True


def _patterned(copies=4):
    """Predictions 20..60 and residuals with a known pattern per group, the same at every
    prediction (so every LAD line is the identity): group 0 ``[-1, 0, 0, 1, 3]`` (MAE 1,
    median 0), group 1 ``[-5, 0, 0, 5, 0]`` (MAE 2, median 0)."""
    pattern = {0: [-1.0, 0.0, 0.0, 1.0, 3.0], 1: [-5.0, 0.0, 0.0, 5.0, 0.0]}
    pred, resid, s = [], [], []
    for g, r in pattern.items():
        for p in (20.0, 30.0, 40.0, 50.0, 60.0):
            pred += [p] * 5 * copies
            resid += r * copies
            s += [g] * 5 * copies
    pred, resid, s = np.array(pred), np.array(resid), np.array(s)
    return pred[:, None], pred + resid, s


def test_level_offsets_by_hand():
    # MAE(d) of [-1, 0, 0, 1, 3]: 1 at d=0 (the minimum), (5 - 3d)/5 on [-1, 0],
    # (5 + d)/5 on [0, 1], (3 + 3d)/5 on [1, 3] and (3 - 5d)/5 below -1
    r = np.array([-1.0, 0.0, 0.0, 1.0, 3.0])
    got = level_offsets(r, np.ones(5), np.array([0.5, 1.0, 1.2, 1.5, 2.0]))
    # below the minimum: the median; then the nearer root (the left one, steeper)
    np.testing.assert_allclose(got, [0.0, 0.0, -1 / 3, -5 / 6, -1.4], atol=1e-12)
    for d, m in zip(got[1:], [1.0, 1.2, 1.5, 2.0], strict=True):
        assert np.abs(r - d).mean() == pytest.approx(m)
    # a group above the level is brought down as far as an offset can: to its median
    assert level_offsets(r + 2.0, np.ones(5), np.array([0.5]))[0] == pytest.approx(2.0)
    # far beyond the outer residuals the MAE grows with slope 1
    assert level_offsets(r, np.ones(5), np.array([10.0]))[0] == pytest.approx(-9.4)
    # weights act as repeated rows
    w = np.array([1.0, 2.0, 1.0, 3.0, 1.0])
    np.testing.assert_allclose(level_offsets(r, w, np.array([1.3, 2.5])),
                               level_offsets(np.repeat(r, [1, 2, 1, 3, 1]), np.ones(8),
                                             np.array([1.3, 2.5])), atol=1e-12)


def test_levelling_two_groups_by_hand():
    X, age, s = _patterned()
    corr = FairRegressionCorrector(_Given(), prefit=True, tolerance=0.25, random_state=0)
    corr.fit(X, age, sensitive_features=s)
    res = corr.validation_results_
    assert res["mae_uncorrected"] == pytest.approx(1.5)  # groups at MAE 1 and 2
    assert res["mae_bias_uncorrected"] == pytest.approx(1.0)
    # levelling to m costs (m - 1) / 2 of MAE: within 0.25 the level is about 1.5
    # (the grid has 40 levels from 1 to 2; the choice is out of fold)
    m = corr.level_
    assert m is not None and 1.4 <= m <= 1.55
    # group 0 is raised to m by the smaller of its two roots, (5 - 5m) / 3 < 0;
    # group 1 stays at its minimum, 2
    np.testing.assert_allclose(corr.offsets_, [(5 - 5 * m) / 3, 0.0], atol=1e-6)
    err = np.abs(corr.predict(X, sensitive_features=s) - age)
    assert err[s == 0].mean() == pytest.approx(m, abs=1e-6)
    assert err[s == 1].mean() == pytest.approx(2.0, abs=1e-6)
    assert res["mae"] <= res["mae_uncorrected"] + 0.25
    # without levelling, no line can move a group whose residuals ignore the prediction
    plain = FairRegressionCorrector(_Given(), prefit=True, tolerance=0.25, level_down=False,
                                    random_state=0).fit(X, age, sensitive_features=s)
    assert plain.level_ is None and np.all(plain.offsets_ == 0)
    assert plain.correction_curve_["level"].isna().all()
    assert plain.validation_results_["mae_bias"] == pytest.approx(1.0, abs=1e-6)


def test_a_group_without_validation_rows_gets_no_offset():
    X, age, s = _difficulty(n=1500)
    est = LinearRegression().fit(X, age)
    w = np.where(s == 2, 0.0, 1.0)  # group 2 counts for nothing
    with pytest.warns(UndefinedGroupWarning, match=r"\['2'\] have no validation row"):
        corr = FairRegressionCorrector(est, prefit=True, tolerance=1.0, random_state=0).fit(
            X, age, sensitive_features=s, sample_weight=w)
    assert corr.level_ is not None and corr.offsets_[2] == 0.0
    assert corr.offsets_[0] != 0.0
    # its correction is the shared line (or none): the same as a group's at kappa = inf
    glob = [1.0, 0.0] if corr.shrinkage_ is None else lad_line(
        est.predict(X)[s < 2], age[s < 2], np.ones((s < 2).sum()))
    np.testing.assert_allclose(corr.coef_[2], glob, atol=1e-6)


def _difficulty(n=4000, seed=0):
    """Groups that differ in difficulty, not in calibration: the noise of group g is
    Laplace(0, 1 + g); no recalibration can bring their MAEs together."""
    rng = np.random.RandomState(seed)
    s = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    X = rng.uniform(10, 70, size=(n, 1))
    age = X[:, 0] + rng.laplace(0, 1.0 + s)
    return X, age, s


def test_tolerance_trades_mae_for_a_levelled_bias():
    X, age, s = _difficulty(seed=0)  # training rows
    Xv, agev, sv = _difficulty(seed=1)  # validation rows
    Xt, aget, st = _difficulty(seed=2)  # new rows
    est = LinearRegression().fit(X, age)
    previous = np.inf
    for tol in (0.0, 0.1, 0.3, 0.6, 1.0, 10.0):
        corr = FairRegressionCorrector(est, prefit=True, tolerance=tol, random_state=0).fit(
            Xv, agev, sensitive_features=sv)
        res = corr.validation_results_
        assert res["mae"] <= res["mae_uncorrected"] + tol + 1e-9
        assert res["mae_bias"] <= previous + 1e-12  # larger tolerance: bias non-increasing
        previous = res["mae_bias"]
    # on new rows: at a tolerance of 1 year the bias is cut by more than half, at about
    # that cost, by making the best-served group (0) worse
    corr = FairRegressionCorrector(est, prefit=True, tolerance=1.0, random_state=0).fit(
        Xv, agev, sensitive_features=sv)
    pred, raw = corr.predict(Xt, sensitive_features=st), est.predict(Xt)
    before = mae_bias_score(aget, raw, sensitive_features=st)
    assert mae_bias_score(aget, pred, sensitive_features=st) < 0.5 * before
    assert np.abs(pred - aget).mean() < np.abs(raw - aget).mean() + 1.2
    assert corr.level_ is not None and corr.offsets_[0] != 0
    assert np.abs(pred - aget)[st == 0].mean() > np.abs(raw - aget)[st == 0].mean() + 0.5


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
    full = FairRegressionCorrector(est, prefit=True, shrinkage=[0.0], level_down=False).fit(
        X, age, sensitive_features=s)
    glob = FairRegressionCorrector(est, prefit=True, shrinkage=[np.inf], tolerance=100.0,
                                   level_down=False).fit(X, age, sensitive_features=s)
    # infinite shrinkage: one line for everyone (or no correction at all)
    if glob.shrinkage_ is not None:
        np.testing.assert_allclose(glob.coef_[0], glob.coef_[1])
    # no shrinkage: each group's own LAD line
    pred = est.predict(X)
    for g in (0, 1):
        own = lad_line(pred[s == g], age[s == g], np.ones((s == g).sum()))
        np.testing.assert_allclose(full.coef_[g], own, atol=1e-6)


def test_inferred_groups_and_routing():
    # a minority group the regressor under-serves (it never sees the group's proxy)
    rng = np.random.RandomState(0)
    n = 3000
    s = (rng.uniform(size=n) < 0.25).astype(int)
    X = rng.uniform(10, 70, size=(n, 2))
    age = X[:, 0] - np.where(s == 1, 4 + 0.15 * X[:, 0], 0) + rng.laplace(0, 2, n)
    X = np.column_stack([X, s + rng.normal(0, 0.3, n)])
    blind = Pipeline([("features", ColumnTransformer([("keep", "passthrough", [0, 1])])),
                      ("reg", LinearRegression())])
    corr = FairRegressionCorrector(blind, groups="inferred",
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
    with pytest.raises(ValueError, match="level_down"):
        FairRegressionCorrector(LinearRegression(), level_down="yes").fit(
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
