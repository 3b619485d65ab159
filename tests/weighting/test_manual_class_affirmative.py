"""Manual tables (loss 3), class-balanced weights, affirmative action, products."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from skfair.weighting import (
    AffirmativeActionWeighting,
    ClassBalancedWeighting,
    ManualWeighting,
    ProductWeighting,
    SupportWeighting,
    affirmative_action_weights,
    class_balanced_weights,
    manual_weights,
    select_worst_subgroups,
)

# The ChaLearn entry, Table 1, row "Loss 3" (age groups are the binned target)
LOSS3 = {
    "gender": {"Male": 0.35, "Female": 0.5},
    "expression": {"Happy": 2.0, "Slightly": 1.0, "Neutral": 1.0, "Other": 7.0},
    "ethnicity": {"Caucasian": 0.4, "Afroamerican": 15.0, "Asian": 4.0},
    "target": {"0-20": 0.8, "20-40": 0.3, "40-60": 1.5, "60+": 10.0},
}


def test_manual_table_loss_3():
    S = pd.DataFrame({
        "gender": ["Male", "Female", "Female"],
        "expression": ["Happy", "Other", "Neutral"],
        "ethnicity": ["Caucasian", "Afroamerican", "Asian"],
    })
    ages = [46.0, 70.0, 12.0]
    w = ManualWeighting(LOSS3, target="binned").get_weights(S, ages)
    np.testing.assert_allclose(w, [0.35 * 2 * 0.4 * 1.5, 0.5 * 7 * 15 * 10, 0.5 * 1 * 4 * 0.8])


def test_manual_unseen_value_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'gender' has values with no weight \['Other'\]"):
        manual_weights({"gender": ["Male", "Other"]}, {"gender": {"Male": 1.0}})


@pytest.mark.parametrize(
    ("table", "error", "match"),
    [
        ({"gender": {"Male": 0.0}}, ValueError, "finite weight > 0"),
        ({"gender": {"Male": np.inf}}, ValueError, "finite weight > 0"),
        ({"gender": {"Male": -1}}, ValueError, "finite weight > 0"),
        ({"gender": {"Male": "a"}}, ValueError, "finite weight > 0"),
        ({}, TypeError, "non-empty dict"),
        ({"gender": [1, 2]}, TypeError, "non-empty dict"),
        ({"race": {"a": 1.0}, "gender": {"Male": 1.0}}, ValueError, "not among"),
    ],
)
def test_manual_bad_tables(table, error, match):
    S = pd.DataFrame({"gender": ["Male"], "age": ["x"]})
    with pytest.raises(error, match=match):
        manual_weights(S, table)


def test_manual_single_unnamed_attribute_and_ignored_columns():
    np.testing.assert_allclose(manual_weights(["a", "b"], {"grp": {"a": 2, "b": 3}}), [2, 3])
    S = {"g": ["a", "b"], "other": ["x", "y"]}
    np.testing.assert_allclose(manual_weights(S, {"g": {"a": 2, "b": 3}}), [2, 3])


@pytest.mark.parametrize("S", [pd.Series([0, 1, 1], name="race"), {"race": [0, 1, 1]}])
def test_manual_single_named_attribute_must_match_the_table(S):
    """Only an unnamed attribute matches a single-entry table whatever its key."""
    with pytest.raises(ValueError, match=r"\['sex'\] that are not among .*\['race'\]"):
        manual_weights(S, {"sex": {0: 2.0, 1: 1.0}})


def test_manual_and_affirmative_weightings_take_an_encoding():
    from skfair.utils import encode_sensitive_features

    S = {"sex": ["F", "M", "M", "M"]}
    enc = encode_sensitive_features(S)
    manual = ManualWeighting({"sex": {"F": 2.0, "M": 1.0}})
    np.testing.assert_allclose(manual.get_weights(enc), manual.get_weights(S))
    aa = AffirmativeActionWeighting({"sex": "F"})
    np.testing.assert_allclose(aa.get_weights(enc), aa.get_weights(S))


def test_manual_table_is_not_applied_to_the_target_by_accident():
    """Without sensitive features, a table of 'sex' must not weight the labels."""
    with pytest.raises(ValueError, match="not among the sensitive features"):
        ManualWeighting({"sex": {0: 2.0, 1: 1.0}}, target="label").get_weights(None, [0, 1, 1])


def test_class_balanced():
    y = np.array([0, 0, 0, 1, 2, 2])
    w = class_balanced_weights(y)
    np.testing.assert_allclose(w, [6 / 9, 6 / 9, 6 / 9, 2, 1, 1])
    # every class carries the same total weight n / n_classes, mean weight 1
    for c in (0, 1, 2):
        assert w[y == c].sum() == pytest.approx(2.0)
    np.testing.assert_allclose(ClassBalancedWeighting().get_weights(None, y), w)
    with pytest.raises(ValueError, match="needs y"):
        ClassBalancedWeighting().get_weights(["a"])
    with pytest.raises(ValueError, match="NaN"):
        class_balanced_weights([0.0, np.nan])
    for y_missing in (["a", None, "a"], np.array(["a", np.nan], dtype=object),
                      pd.Series(["a", None], dtype="category")):
        with pytest.raises(ValueError, match="missing values"):
            class_balanced_weights(y_missing)
    with pytest.raises(ValueError, match="mixed, unorderable"):
        class_balanced_weights(np.array(["a", 1], dtype=object))


def test_affirmative_action_formula():
    S = pd.DataFrame({"race": ["A", "B", "A", "C"], "sex": ["F", "F", "M", "F"]})
    w = affirmative_action_weights(S, [{"race": "A", "sex": "F"}, ("C", "F")])
    np.testing.assert_allclose(w, [10, 1, 1, 10])
    w = affirmative_action_weights(S, {"race": "A"}, boost=3)
    np.testing.assert_allclose(w, [3, 1, 3, 1])
    # boost = 1 leaves every weight at 1; boost < 1 down-weights
    np.testing.assert_allclose(affirmative_action_weights(S, {"race": "A"}, boost=1), 1)
    np.testing.assert_allclose(
        affirmative_action_weights(S, {"race": "A"}, boost=0.5), [0.5, 1, 0.5, 1]
    )
    with pytest.warns(UserWarning, match="no row"):
        affirmative_action_weights(S, {"race": "Z"})
    with pytest.raises(ValueError, match="not among"):
        affirmative_action_weights(S, {"age": 3})
    with pytest.raises(ValueError, match="boost"):
        affirmative_action_weights(S, {"race": "A"}, boost=0)
    with pytest.raises(ValueError, match="gives 1 values"):
        affirmative_action_weights(S, [("A",)])


def _biased_data(seed=0):
    """Group 'b' is served badly by a model fitted on all rows: its label is flipped."""
    rng = np.random.RandomState(seed)
    n = 400
    S = np.where(rng.rand(n) < 0.85, "a", "b")
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    y[S == "b"] = 1 - y[S == "b"]
    return X, y, S


def test_select_worst_subgroups_on_validation_data():
    X, y, S = _biased_data()
    base = LogisticRegression().fit(X, y)
    chosen, scores = select_worst_subgroups(
        base, X, y, sensitive_features=S, k=1, return_scores=True
    )
    assert chosen == [{"sensitive_feature_0": "b"}]
    assert list(scores["sensitive_feature_0"]) == ["b", "a"]
    assert scores["score"].iloc[0] < 0.5 < scores["score"].iloc[1]
    with pytest.warns(UserWarning, match="fewer than min_size"):
        select_worst_subgroups(base, X, y, sensitive_features=S, k=1, min_size=100)


def test_affirmative_action_fit_with_fitted_and_unfitted_baseline():
    X, y, S = _biased_data()
    fitted = LogisticRegression().fit(X, y)
    aa = AffirmativeActionWeighting(k=1, baseline=fitted).fit(X, y, sensitive_features=S)
    assert aa.subgroups_ == [{"sensitive_feature_0": "b"}]
    np.testing.assert_allclose(aa.get_weights(S), np.where(S == "b", 10.0, 1.0))
    aa2 = AffirmativeActionWeighting(k=1, random_state=0).fit(
        X, y, sensitive_features=S, baseline=LogisticRegression()
    )
    assert aa2.subgroups_ == [{"sensitive_feature_0": "b"}]
    with pytest.raises(ValueError, match="no subgroups"):
        AffirmativeActionWeighting().get_weights(S)
    with pytest.raises(ValueError, match="subgroups=... or k="):
        AffirmativeActionWeighting().fit(X, y, sensitive_features=S)
    with pytest.raises(ValueError, match="baseline"):
        AffirmativeActionWeighting(k=1).fit(X, y, sensitive_features=S)


def test_changing_a_selection_parameter_forgets_the_picked_subgroups():
    """set_params(k=...) on a fitted weighting must not keep the old k's subgroups (they
    would be applied, unrefitted, by an estimator that keeps a fitted weighting)."""
    X, y, S = _biased_data()
    aa = AffirmativeActionWeighting(k=1, baseline=LogisticRegression().fit(X, y)).fit(
        X, y, sensitive_features=S)
    assert not aa._needs_fit()
    aa.set_params(boost=3, k=1)  # same k, new boost: the subgroups still hold
    assert aa.subgroups_ == [{"sensitive_feature_0": "b"}]
    np.testing.assert_allclose(aa.get_weights(S), np.where(S == "b", 3.0, 1.0))
    aa.set_params(k=2)
    assert not hasattr(aa, "subgroups_") and not hasattr(aa, "subgroup_scores_")
    assert aa._needs_fit()
    with pytest.raises(ValueError, match="no subgroups"):
        aa.get_weights(S)
    assert len(aa.fit(X, y, sensitive_features=S).subgroups_) == 2
    aa.set_params(baseline__C=0.5)  # a nested change of the baseline too
    assert aa._needs_fit()


def test_dummy_baseline_picks_the_cell_it_gets_wrong():
    X = np.zeros((6, 1))
    y = np.array([0, 0, 0, 0, 1, 1])
    S = {"r": ["a", "a", "b", "b", "c", "c"], "s": ["F", "M", "F", "M", "F", "M"]}
    clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    chosen = select_worst_subgroups(clf, X, y, sensitive_features=S, k=2)
    assert chosen == [{"r": "c", "s": "F"}, {"r": "c", "s": "M"}]


def test_product_weighting_multiplies_and_grid_searches():
    S = {"sex": ["F", "M", "M", "M"]}
    y = [0, 0, 0, 1]
    pw = ProductWeighting([("support", SupportWeighting(smoothing=0)),
                           ("classes", ClassBalancedWeighting())])
    np.testing.assert_allclose(
        pw.get_weights(S, y),
        SupportWeighting(smoothing=0).get_weights(S) * ClassBalancedWeighting().get_weights(
            y=y),
    )
    pw.set_params(support__smoothing=7)
    assert pw.weightings[0][1].smoothing == 7
    assert clone(pw).get_params()["support__smoothing"] == 7
    assert "support__scheme" in pw.get_params()
    with pytest.raises(ValueError, match="non-empty"):
        ProductWeighting([]).get_weights(S, y)
    with pytest.raises(TypeError, match="get_weights"):
        ProductWeighting([("x", LogisticRegression())]).get_weights(S, y)


@pytest.mark.parametrize("named", [False, True])
def test_product_weighting_set_params_replaces_a_whole_factor(named):
    S = {"sex": ["F", "M", "M", "M"]}
    y = [0, 0, 0, 1]
    factors = [SupportWeighting(smoothing=0), ClassBalancedWeighting()]
    if named:
        factors = list(zip(["supportweighting", "classbalancedweighting"], factors,
                           strict=True))
    pw = ProductWeighting(factors)
    pw.set_params(supportweighting=SupportWeighting(smoothing=1000))
    expected = ProductWeighting([SupportWeighting(smoothing=1000), ClassBalancedWeighting()])
    np.testing.assert_allclose(pw.get_weights(S, y), expected.get_weights(S, y))
    assert pw.get_params()["supportweighting"].smoothing == 1000
    # the replaced factor keeps its name: its parameters are still reachable
    pw.set_params(supportweighting__smoothing=3)
    assert pw.get_params()["supportweighting__smoothing"] == 3
    assert isinstance(pw.get_params()["classbalancedweighting"], ClassBalancedWeighting)
    with pytest.raises(ValueError, match="not both"):
        pw.set_params(weightings=factors, supportweighting=SupportWeighting())


def test_grid_search_over_whole_factors_uses_them():
    import sklearn
    from sklearn.model_selection import GridSearchCV

    from skfair.weighting import WeightedEstimator

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    S = np.where(rng.rand(60) < 0.8, "a", "b")
    grid = {"weighting__supportweighting": [SupportWeighting(smoothing=0),
                                            SupportWeighting(smoothing=1e6)]}
    est = WeightedEstimator(LogisticRegression(),
                            ProductWeighting([SupportWeighting(), ClassBalancedWeighting()]))
    with sklearn.config_context(enable_metadata_routing=True):
        gs = GridSearchCV(est, grid, cv=2).fit(X, y, sensitive_features=S)
    chosen = gs.best_params_["weighting__supportweighting"].smoothing
    used = dict(gs.best_estimator_.weighting_.weightings)["supportweighting"]
    assert used.smoothing == chosen


def test_a_fitted_affirmative_weighting_is_used_as_is_by_weighted_estimator():
    from skfair.weighting import WeightedEstimator

    X, y, S = _biased_data()
    aa = AffirmativeActionWeighting(k=1, baseline=LogisticRegression().fit(X, y))
    aa.fit(X, y, sensitive_features=S)  # picked on (here: the same) validation data
    we = WeightedEstimator(LogisticRegression(), aa).fit(X, y, sensitive_features=S)
    assert we.weighting_ is aa
    np.testing.assert_allclose(we.sample_weight_, np.where(S == "b", 10.0, 1.0))
