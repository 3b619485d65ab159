import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.metrics import AGE_GROUP_LABELS, age_groups, chalearn_bias, mae_bias_score


def test_mae_bias_hand_computed():
    # MAE: m = 1, f = 4, x = 2 -> pairs |1-4|, |1-2|, |4-2| -> mean 2
    y_true = [20, 30, 40, 50, 60, 70]
    y_pred = [21, 31, 44, 46, 62, 68]
    score, per_group = mae_bias_score(y_true, y_pred, sensitive_features=list("mmffxx"),
                                      return_per_group=True)
    assert score == pytest.approx(2.0)
    assert per_group["mae"].tolist() == [4.0, 1.0, 2.0]  # groups sorted f, m, x
    assert per_group["n"].tolist() == [2, 2, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 90), st.floats(0, 90)),
                min_size=2, max_size=40))
def test_mae_bias_equals_brute_force_pairs(rows):
    groups = np.array([r[0] for r in rows])
    if len(np.unique(groups)) < 2:
        return
    y_true = np.array([r[1] for r in rows])
    y_pred = np.array([r[2] for r in rows])
    maes = [np.mean(np.abs(y_pred[groups == g] - y_true[groups == g]))
            for g in np.unique(groups)]
    expected = np.mean([abs(a - b) for a, b in itertools.combinations(maes, 2)])
    assert mae_bias_score(y_true, y_pred, sensitive_features=groups) == pytest.approx(
        expected, abs=1e-9)


def test_mae_bias_sample_weight_and_errors():
    y_true, y_pred = [0.0, 0.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0]
    s = list("aabb")
    assert mae_bias_score(y_true, y_pred, sensitive_features=s) == 2.0
    assert mae_bias_score(y_true, y_pred, sensitive_features=s,
                          sample_weight=[3, 1, 1, 1]) == 1.5
    with pytest.raises(ValueError, match="single group"):
        mae_bias_score(y_true, y_pred, sensitive_features=list("aaaa"))
    with pytest.raises(ValueError, match="NaN or infinity"):
        mae_bias_score(y_true, [1.0, np.nan, 0, 0], sensitive_features=s)
    with pytest.raises(ValueError, match="Inconsistent"):
        mae_bias_score(y_true, [1.0, 0.0, 0.0], sensitive_features=s)


def test_age_groups_bins_are_closed_on_the_left():
    groups = age_groups([0, 19.99, 20, 39, 40, 59.5, 60, 101])
    assert list(groups) == ["<20", "<20", "20-40", "20-40", "40-60", "40-60", ">=60", ">=60"]
    assert tuple(groups.categories) == AGE_GROUP_LABELS
    assert groups.ordered
    # every bin stays a category even when empty
    assert list(age_groups([25]).categories) == list(AGE_GROUP_LABELS)


def test_age_groups_custom_bins_and_errors():
    g = age_groups(pd.Series([5, 15, 30]), bins=(10, 20), labels=["kid", "teen", "adult"])
    assert list(g) == ["kid", "teen", "adult"]
    with pytest.raises(ValueError, match="non-negative"):
        age_groups([-1, 20])
    with pytest.raises(ValueError, match="NaN"):
        age_groups([np.nan, 20])
    with pytest.raises(ValueError, match="increasing"):
        age_groups([1], bins=(40, 20))
    with pytest.raises(ValueError, match="labels"):
        age_groups([1], labels=["a", "b"])


def test_age_groups_feed_mae_bias_score():
    ages = np.array([10, 15, 25, 35, 45, 70])
    pred = ages + np.array([1, 1, 2, 2, 3, 3])
    score = mae_bias_score(ages, pred, sensitive_features=age_groups(ages))
    # MAE per bin: <20 -> 1, 20-40 -> 2, 40-60 -> 3, >=60 -> 3
    expected = np.mean([abs(a - b) for a, b in itertools.combinations([1, 2, 3, 3], 2)])
    assert score == pytest.approx(expected)


def test_chalearn_bias_scores_each_attribute_alone_then_averages():
    rng = np.random.default_rng(0)
    n = 200
    ages = rng.uniform(1, 90, size=n)
    pred = ages + rng.normal(scale=5, size=n)
    S = pd.DataFrame({"gender": rng.choice(["F", "M"], n),
                      "race": rng.choice(["a", "b", "c"], n)})
    bias = chalearn_bias(ages, pred, sensitive_features=S)
    assert list(bias.index) == ["gender", "race", "age_group", "mean"]
    # each attribute on its own (not the gender x race intersections)
    assert bias["gender"] == mae_bias_score(ages, pred, sensitive_features=S["gender"])
    assert bias["race"] == mae_bias_score(ages, pred, sensitive_features=S["race"])
    assert bias["race"] != mae_bias_score(ages, pred, sensitive_features=S)
    assert bias["age_group"] == mae_bias_score(ages, pred,
                                               sensitive_features=age_groups(ages))
    assert bias["mean"] == pytest.approx(np.mean(bias[["gender", "race", "age_group"]]))
    # sample weights reach every per-attribute score
    w = rng.uniform(0.5, 2, size=n)
    weighted = chalearn_bias(ages, pred, sensitive_features=S, sample_weight=w)
    assert weighted["race"] == mae_bias_score(ages, pred, sensitive_features=S["race"],
                                              sample_weight=w)
    # other age bins, or none; the age groups alone
    no_age = chalearn_bias(ages, pred, sensitive_features=S, age_bins=None)
    assert list(no_age.index) == ["gender", "race", "mean"]
    coarse = chalearn_bias(ages, pred, sensitive_features=S["gender"], age_bins=(50,))
    assert coarse["age_group"] == mae_bias_score(
        ages, pred, sensitive_features=age_groups(ages, bins=(50,)))
    alone = chalearn_bias(ages, pred)
    assert list(alone.index) == ["age_group", "mean"]
    assert alone["mean"] == alone["age_group"]


def test_chalearn_bias_errors_name_the_problem():
    ages, pred = [10.0, 30.0, 50.0, 70.0], [11.0, 30.0, 52.0, 70.0]
    with pytest.raises(ValueError, match="attribute 'gender'.*single group"):
        chalearn_bias(ages, pred, sensitive_features={"gender": list("mmmm")})
    with pytest.raises(ValueError, match="age_group"):
        chalearn_bias(ages, pred, sensitive_features={"age_group": list("abab")})
    # an attribute called age_group is fine when the age groups are not computed
    assert chalearn_bias(ages, pred, sensitive_features={"age_group": list("abab")},
                         age_bins=None)["age_group"] == 1.5  # MAE a: 1.5, b: 0
    with pytest.raises(ValueError, match="nothing to score"):
        chalearn_bias(ages, pred, age_bins=None)
    with pytest.raises(ValueError, match="rows"):
        chalearn_bias(ages, pred, sensitive_features={"gender": list("mf")})
