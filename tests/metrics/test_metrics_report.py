import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error

from skfair.metrics import UndefinedGroupWarning, group_report


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 400
    sf = pd.DataFrame({"race": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n)})
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, 1 - y_true)
    return y_true, y_pred, sf


def test_matches_metricframe_per_intersection_marginal_and_overall(data):
    y_true, y_pred, sf = data
    report = group_report(y_true, y_pred, sensitive_features=sf)
    metrics = {"accuracy": accuracy_score, "selection_rate": selection_rate,
               "true_positive_rate": true_positive_rate}
    mf = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sf)
    inter = report[report["level"] == "intersection"].set_index(["race", "sex"])
    for (race, sex), row in mf.by_group.iterrows():
        for name in metrics:
            assert inter.loc[(race, sex), name] == pytest.approx(row[name], abs=1e-12)
        assert inter.loc[(race, sex), "n"] == ((sf.race == race) & (sf.sex == sex)).sum()
    for attr in ("race", "sex"):
        mf1 = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred,
                          sensitive_features=sf[attr])
        marg = report[report["level"] == attr].set_index(attr)
        for value, row in mf1.by_group.iterrows():
            for name in metrics:
                assert marg.loc[value, name] == pytest.approx(row[name], abs=1e-12)
    overall = report[report["level"] == "overall"].iloc[0]
    assert overall["n"] == len(y_true)
    assert overall["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert list(report["level"].unique()) == ["overall", "race", "sex", "intersection"]
    assert report.attrs["excluded"].empty


def test_undefined_cells_are_na_listed_and_warned(data):
    y_true, y_pred, sf = data
    y_true = y_true.copy()
    y_true[(sf["race"] == "a").to_numpy()] = 0  # race a has no positives
    with pytest.warns(UndefinedGroupWarning, match="race=a.*no positive rows"):
        report = group_report(y_true, y_pred, sensitive_features=sf)
    tpr = report.set_index("group")["true_positive_rate"]
    assert tpr.dtype == "Float64"
    assert pd.isna(tpr["race=a"]) and pd.isna(tpr["race=a, sex=F"])
    assert not np.isnan(tpr.dropna().to_numpy(dtype=float)).any()
    excluded = report.attrs["excluded"]
    assert set(excluded["group"]) == {"race=a", "race=a, sex=F", "race=a, sex=M"}
    assert set(excluded["metric"]) == {"true_positive_rate"}


def test_absent_intersections_and_categories_are_listed():
    sf = pd.DataFrame({
        "race": pd.Categorical(["a", "a", "b", "b"], categories=["a", "b", "c"]),
        "sex": ["F", "M", "F", "F"],
    })
    with pytest.warns(UndefinedGroupWarning, match="no rows"):
        report = group_report([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=sf,
                              metrics="accuracy")
    absent = report.attrs["excluded"]
    assert set(absent["group"]) == {"race=c", "race=b, sex=M", "race=c, sex=F",
                                    "race=c, sex=M"}
    assert (absent["reason"] == "no rows").all()
    assert len(report[report.level == "intersection"]) == 3


def test_callables_regression_metrics_and_single_attribute():
    y_true = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    y_pred = np.array([12.0, 18.0, 30.0, 41.0, 45.0])
    s = ["x", "x", "y", "y", "y"]
    report = group_report(y_true, y_pred, sensitive_features={"g": s},
                          metrics={"mae": "mae", "sk_mae": mean_absolute_error,
                                   "rmse": "rmse"})
    assert list(report["level"]) == ["overall", "g", "g"]
    assert report["mae"].tolist() == pytest.approx(report["sk_mae"].tolist())
    assert report["mae"].tolist() == pytest.approx([2.0, 2.0, 2.0])
    assert report["rmse"].iloc[2] == pytest.approx(np.sqrt((0 + 1 + 25) / 3))
    macro = group_report([0, 1, 2, 2], [0, 1, 1, 2], sensitive_features=list("aabb"),
                         metrics={"f1": lambda t, p: f1_score(t, p, average="macro")},
                         overall=False)
    assert macro["f1"].tolist() == pytest.approx([1.0, 1 / 3])  # b: f1 (0 + 2/3) / 2


def test_multiclass_rates_need_pos_label_and_errors():
    y = [0, 1, 2, 0]
    with pytest.raises(ValueError, match="pos_label"):
        group_report(y, y, sensitive_features=list("aabb"), metrics="tpr")
    with pytest.warns(UndefinedGroupWarning, match="no positive rows"):
        report = group_report(y, y, sensitive_features=list("aabb"), metrics="tpr",
                              pos_label=2)
    assert pd.isna(report["tpr"].iloc[1])  # group a has no class 2 rows
    with pytest.raises(ValueError, match="not one of the labels"):
        group_report(y, y, sensitive_features=list("aabb"), metrics="tpr", pos_label="2")
    with pytest.raises(ValueError, match="Unknown metric"):
        group_report(y, y, sensitive_features=list("aabb"), metrics="nope")
    with pytest.raises(ValueError, match="looks continuous"):
        group_report(y, [0.5, 1, 2, 0], sensitive_features=list("aabb"))
    with pytest.raises(ValueError, match="Inconsistent"):
        group_report(y, y[:3], sensitive_features=list("aabb"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a single group is a valid report
        assert len(group_report(y, y, sensitive_features=list("aaaa"),
                                metrics="accuracy")) == 2


def test_sample_weight_changes_rates_not_counts():
    report = group_report([1, 0, 1, 0], [1, 1, 1, 0], sensitive_features=list("aabb"),
                          metrics="accuracy", sample_weight=[3, 1, 1, 1], overall=False)
    assert report["accuracy"].tolist() == [0.75, 1.0]
    assert report["n"].tolist() == [2, 2]
