import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from skfair.metrics import (
    UndefinedGroupWarning,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_score,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_error_spread,
    iou_fairness,
    statistical_parity_difference,
)

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def binary_data(draw, max_groups=4, defined=True):
    """Random binary data; with ``defined`` every group has both true classes,
    so every group's TPR and FPR exist (fairlearn silently uses 0 otherwise)."""
    n_groups = draw(st.integers(2, max_groups))
    n = draw(st.integers(2 * n_groups + 2, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, n_groups, n)
    y_true = rng.integers(0, 2, n)
    if defined:
        groups[: 2 * n_groups] = np.repeat(np.arange(n_groups), 2)
        y_true[: 2 * n_groups] = np.tile([0, 1], n_groups)
    y_pred = rng.integers(0, 2, n)
    perm = rng.permutation(n)
    weights = rng.uniform(0.1, 3.0, n) if draw(st.booleans()) else None
    return y_true[perm], y_pred[perm], np.array(list("abcdefgh"))[groups[perm]], weights


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


PAIRS = [
    (demographic_parity_difference, flm.demographic_parity_difference),
    (demographic_parity_ratio, flm.demographic_parity_ratio),
    (equalized_odds_difference, flm.equalized_odds_difference),
    (equalized_odds_ratio, flm.equalized_odds_ratio),
]


@FAST
@given(binary_data(), st.sampled_from(["between_groups", "to_overall"]),
       st.sampled_from(range(len(PAIRS))))
def test_binary_metrics_agree_with_fairlearn(data, method, which):
    y_true, y_pred, groups, w = data
    ours, theirs = PAIRS[which]
    assume(len(np.unique(groups)) >= 2)
    expected = _quiet(theirs, y_true, y_pred, sensitive_features=groups, method=method,
                      sample_weight=w)
    got = ours(y_true, y_pred, sensitive_features=groups, method=method, sample_weight=w)
    if np.isfinite(expected):
        assert abs(got - expected) <= 1e-12
    else:  # fairlearn's 0/0 ratio (all rates 0): equal rates, ratio 1 by convention
        assert 0.0 <= got <= 1.0


@FAST
@given(binary_data())
def test_eo_difference_is_max_of_tpr_and_fpr_differences(data):
    y_true, y_pred, groups, _ = data
    assume(len(np.unique(groups)) >= 2)
    tpr = flm.MetricFrame(metrics=flm.true_positive_rate, y_true=y_true, y_pred=y_pred,
                          sensitive_features=groups)
    fpr = flm.MetricFrame(metrics=flm.false_positive_rate, y_true=y_true, y_pred=y_pred,
                          sensitive_features=groups)
    parts = [v for v in (_quiet(tpr.difference), _quiet(fpr.difference)) if np.isfinite(v)]
    assume(parts)
    got = _quiet(equalized_odds_difference, y_true, y_pred, sensitive_features=groups)
    assert abs(got - max(parts)) <= 1e-12
    mean = _quiet(equalized_odds_difference, y_true, y_pred, sensitive_features=groups,
                  agg="mean")
    if len(parts) == 2:
        assert abs(mean - np.mean(parts)) <= 1e-12


def test_multiclass_worst_class_hand_computed():
    # group a: predicts class 2 on 2/4 rows, group b on 0/4 rows -> DP gap 0.5 on class 2
    y_true = np.array([0, 1, 2, 2, 0, 1, 2, 2])
    y_pred = np.array([0, 2, 2, 1, 0, 1, 1, 1])
    s = np.array(list("aaaabbbb"))
    # selection rates a: [1/4, 1/4, 2/4]; b: [1/4, 3/4, 0]
    assert demographic_parity_difference(y_true, y_pred, sensitive_features=s) == 0.5
    assert statistical_parity_difference(y_true, y_pred, sensitive_features=s) == 0.5
    assert demographic_parity_ratio(y_true, y_pred, sensitive_features=s) == 0.0
    # class 1: TPR a = 0/1, b = 1/1 -> 1 (worst class); class 2: TPR 1/2 vs 0
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=s) == 1.0
    assert equalized_odds_difference(y_true, y_pred, sensitive_features=s,
                                     pos_label=2) == 0.5
    # class 2 FPR: a 1/2, b 0/2 -> ratio 0; class 0: TPR and FPR ratios 1 (FPR 0 = 0)
    assert equalized_odds_ratio(y_true, y_pred, sensitive_features=s) == 0.0
    assert equalized_odds_ratio(y_true, y_pred, sensitive_features=s, pos_label=0) == 1.0
    # pos_label restricts to one class (one-vs-rest)
    assert demographic_parity_difference(y_true, y_pred, sensitive_features=s,
                                         pos_label=0) == 0.0


@FAST
@given(binary_data())
def test_statistical_parity_equals_dp_difference_on_binary(data):
    y_true, y_pred, groups, _ = data
    assume(len(np.unique(groups)) >= 2)
    a = statistical_parity_difference(y_true, y_pred, sensitive_features=groups)
    b = demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    assert abs(a - b) <= 1e-12


def test_undefined_tpr_group_is_left_out_with_warning():
    # fairlearn would count b's undefined TPR as 0 (sklearn's normalised confusion
    # matrix turns 0/0 into 0) and report 1.0; skfair leaves it out and warns
    y_true = np.array([1, 1, 0, 0, 0, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 0, 0, 1, 0, 0, 1, 1, 1, 0])
    s = np.array(list("aaaabbcccc"))  # group b has no positive row
    with pytest.warns(UndefinedGroupWarning, match="'b'.*true positive rate"):
        got = equalized_odds_difference(y_true, y_pred, sensitive_features=s)
    # TPR: a 0.5, c 1.0 -> 0.5; FPR: a 0.5, b 0, c 0.5 -> 0.5
    assert got == 0.5
    assert _quiet(flm.equalized_odds_difference, y_true, y_pred, sensitive_features=s) == 1.0


# --------------------------------------------------------------------------
# Xu et al.'s F
# --------------------------------------------------------------------------
def test_equal_opportunity_hand_computed_and_per_group():
    y_true = [0, 1, 2, 0, 1, 2, 0, 1, 2]
    y_pred = [0, 1, 2, 0, 1, 0, 1, 0, 2]
    s = list("aaabbbccc")
    # S_a = 3, S_b = 2, S_c = 1 -> F = 1/3
    score, per_group = equal_opportunity_score(y_true, y_pred, sensitive_features=s,
                                               return_per_group=True)
    assert score == pytest.approx(1 / 3)
    assert per_group["opportunity"].tolist() == [3.0, 2.0, 1.0]
    assert per_group["n"].tolist() == [3, 3, 3]
    assert per_group["recall[2]"].tolist() == [1.0, 0.0, 1.0]


def test_equal_opportunity_class_absent_from_a_group_is_dropped_everywhere():
    # class 2 never occurs in group b's y_true: dropped for a and b alike
    y_true = [0, 1, 2, 0, 1, 0, 1]
    y_pred = [0, 1, 0, 0, 0, 0, 1]
    s = list("aaabbbb")
    with pytest.warns(UndefinedGroupWarning, match="class 2 missing in 'b'"):
        score, per_group = equal_opportunity_score(y_true, y_pred, sensitive_features=s,
                                                   return_per_group=True)
    # a: recalls 1, 1 -> 2 ; b: recall0 = 2/2, recall1 = 1/2 -> 1.5
    assert score == pytest.approx(0.75)
    assert "recall[2]" not in per_group


def test_equal_opportunity_no_common_class_raises():
    with pytest.raises(ValueError, match="no class"):
        _quiet(equal_opportunity_score, [0, 0, 1, 1], [0, 0, 1, 1],
               sensitive_features=list("aabb"))


@st.composite
def multiclass_groups(draw):
    n_classes = draw(st.integers(2, 4))
    n_groups = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(n_classes * n_groups, 60))
    groups = np.arange(n) % n_groups
    y_true = np.r_[np.repeat(np.arange(n_classes), n_groups),
                   rng.integers(0, n_classes, n - n_classes * n_groups)]
    groups = np.r_[np.tile(np.arange(n_groups), n_classes), groups[n_classes * n_groups:]]
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    return y_true, y_pred, groups


@FAST
@given(multiclass_groups(), st.integers(0, 2**32 - 1))
def test_f_in_unit_interval_and_invariances(data, seed):
    y_true, y_pred, groups = data
    rng = np.random.default_rng(seed)
    f = equal_opportunity_score(y_true, y_pred, sensitive_features=groups)
    assert 0.0 <= f <= 1.0
    perm = rng.permutation(len(y_true))
    assert equal_opportunity_score(y_true[perm], y_pred[perm],
                                   sensitive_features=groups[perm]) == pytest.approx(f)
    names = np.array(["zeta", "alpha", "mid", "beta"])[rng.permutation(4)]
    assert equal_opportunity_score(y_true, y_pred,
                                   sensitive_features=names[groups]) == pytest.approx(f)
    for metric in (equalized_odds_difference, demographic_parity_difference,
                   statistical_parity_difference, iou_fairness, equalized_odds_ratio):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedGroupWarning)
            base = metric(y_true, y_pred, sensitive_features=groups)
            assert metric(y_true[perm], y_pred[perm],
                          sensitive_features=names[groups][perm]) == pytest.approx(base)


@FAST
@given(multiclass_groups(), st.lists(st.integers(1, 4), min_size=4, max_size=4))
def test_f_is_one_when_groups_share_per_class_recalls(data, reps):
    # every group gets copies of the same (y_true, y_pred) block: same recalls
    y_true, y_pred, _ = data
    blocks = [(np.tile(y_true, r), np.tile(y_pred, r), np.full(len(y_true) * r, g))
              for g, r in enumerate(reps)]
    yt, yp, s = (np.concatenate(x) for x in zip(*blocks, strict=True))
    assert equal_opportunity_score(yt, yp, sensitive_features=s) == pytest.approx(1.0)
    assert iou_fairness(yt, yp, sensitive_features=s) == pytest.approx(0.0, abs=1e-12)
    assert equalized_odds_difference(yt, yp, sensitive_features=s) == pytest.approx(
        0.0, abs=1e-12)


def test_intersections_of_several_columns():
    y_true = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 0, 1, 1, 0, 0, 1, 1])
    sf = pd.DataFrame({"race": list("aabbaabb"), "sex": list("FFFFMMMM")})
    cells = (sf["race"] + sf["sex"]).to_numpy()
    assert demographic_parity_difference(y_true, y_pred, sensitive_features=sf) == (
        demographic_parity_difference(y_true, y_pred, sensitive_features=cells)
    )
    assert flm.demographic_parity_difference(y_true, y_pred, sensitive_features=sf) == (
        demographic_parity_difference(y_true, y_pred, sensitive_features=sf)
    )


# --------------------------------------------------------------------------
# IoU fairness and group error spread
# --------------------------------------------------------------------------
def test_iou_fairness_hand_computed():
    y_true = [0, 1, 0, 1, 0, 1, 0, 1]
    y_pred = [0, 1, 0, 1, 0, 1, 1, 1]
    std, per_group = iou_fairness(y_true, y_pred, sensitive_features=list("aaaabbbb"),
                                  return_per_group=True)
    # b: IoU(0) = 1/2, IoU(1) = 2/3 -> 7/12; a: 1
    assert per_group["iou"].tolist() == pytest.approx([1.0, 7 / 12])
    assert std == pytest.approx(np.std([1.0, 7 / 12]))


def test_group_error_spread_reproduces_seed_003_table():
    # Serna et al. (RFW, ResNet-50): error 5.75 %, 5.96 %, 3.62 % -> avg 5.11, std 1.06
    errors = {"Asian": 575, "Black": 596, "Caucasian": 362}
    y_pred = np.concatenate([np.r_[np.ones(e), np.zeros(10_000 - e)] for e in errors.values()])
    groups = np.repeat(list(errors), 10_000)
    res = group_error_spread(np.zeros(30_000), y_pred, sensitive_features=groups)
    assert round(100 * res.mean, 2) == 5.11
    assert round(100 * res.std, 2) == 1.06
    assert res.per_group["error_rate"].tolist() == pytest.approx([0.0575, 0.0596, 0.0362])


# --------------------------------------------------------------------------
# input errors
# --------------------------------------------------------------------------
ALL = [demographic_parity_difference, demographic_parity_ratio, equalized_odds_difference,
       equalized_odds_ratio, statistical_parity_difference, equal_opportunity_score,
       iou_fairness, group_error_spread]


@pytest.mark.parametrize("metric", ALL)
def test_input_errors(metric):
    s = list("aabb")
    with pytest.raises(ValueError, match="Inconsistent numbers of rows"):
        metric([0, 1, 0], [0, 1, 0, 1], sensitive_features=s)
    with pytest.raises(ValueError, match="rows"):
        metric([0, 1, 0, 1], [0, 1, 0, 1], sensitive_features=list("aab"))
    with pytest.raises(ValueError, match="NaN or infinity"):
        metric([0, 1, 0, 1], [0, np.nan, 0, 1], sensitive_features=s)
    with pytest.raises(ValueError, match="NaN or infinity"):
        metric([0, 1, np.inf, 1], [0, 1, 0, 1], sensitive_features=s)
    with pytest.raises(ValueError, match="single group"):
        metric([0, 1, 0, 1], [0, 1, 0, 1], sensitive_features=list("aaaa"))
    with pytest.raises(ValueError, match="looks continuous"):
        metric([0, 1, 0, 1], [0.2, 0.9, 0.4, 0.7], sensitive_features=s)
    with pytest.raises(ValueError, match="missing values"):
        metric([0, 1, 0, 1], [0, 1, 0, 1], sensitive_features=["a", None, "b", "b"])


def test_string_labels_need_pos_label():
    y = np.array(["no", "yes", "no", "yes"])
    with pytest.raises(ValueError, match="pos_label"):
        demographic_parity_difference(y, y, sensitive_features=list("aabb"))
    assert demographic_parity_difference(y, np.array(["yes", "yes", "no", "no"]),
                                         sensitive_features=list("aabb"),
                                         pos_label="yes") == 1.0


@pytest.mark.parametrize("metric", [equal_opportunity_score, equalized_odds_difference,
                                    iou_fairness, group_error_spread])
@pytest.mark.parametrize("y_true", [np.array(["0", "1", "2"] * 4),
                                    np.array([0, "1", 2] * 4, dtype=object)])
def test_strings_and_numbers_mixed_in_the_labels_are_an_error(metric, y_true):
    """'1' and 1 never match: a silent set of never-matching classes would look fair."""
    y_pred = np.array([0, 1, 2, 0, 1, 2, 1, 2, 0, 1, 2, 0])
    with pytest.raises(ValueError, match="Mix of label input types"):
        metric(y_true, y_pred, sensitive_features=list("aaaaaabbbbbb"))


def test_pos_label_of_the_other_type_is_an_error_not_a_silent_zero():
    y_true, y_pred, s = [0, 1, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0], list("aaabbb")
    for metric in (demographic_parity_difference, demographic_parity_ratio,
                   equalized_odds_difference):
        with pytest.raises(ValueError, match="pos_label='1' is not one of the labels"):
            metric(y_true, y_pred, sensitive_features=s, pos_label="1")
        with pytest.raises(ValueError, match="pos_label=1 is not one of the labels"):
            metric(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str),
                   sensitive_features=s, pos_label=1)
    # the default positive class (1, for 0/1 labels) absent from the rows (a small fold
    # of negatives) is a zero class
    assert demographic_parity_difference([0, 0, 0, 0], [0, 0, 0, 0],
                                         sensitive_features=s[1:5]) == 0.0


@pytest.mark.parametrize("metric", [demographic_parity_difference, demographic_parity_ratio,
                                    equalized_odds_difference, equalized_odds_ratio])
def test_a_given_pos_label_absent_from_the_labels_is_an_error(metric):
    # every rate of an absent class is zero or undefined: a typo would look fair
    y_true, y_pred, s = [0, 1, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0], list("aaabbb")
    with pytest.raises(ValueError, match=r"pos_label=7 occurs in neither y_true nor y_pred "
                                         r"\(labels \[0, 1\]\)"):
        metric(y_true, y_pred, sensitive_features=s, pos_label=7)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "str"])
def test_label_dtypes_give_the_same_metrics(dtype):
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 21, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 21, 300))
    s = rng.choice(["a", "b"], 300)
    w = rng.uniform(0, 2, 300)

    def cast(y):
        if dtype == "str":
            return np.array([f"class{v:02d}" for v in y])
        return (y - 10).astype(dtype) if dtype == "int8" else y.astype(dtype)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedGroupWarning)
        for metric in (equal_opportunity_score, iou_fairness, statistical_parity_difference):
            base = metric(y_true, y_pred, sensitive_features=s, sample_weight=w)
            assert metric(cast(y_true), cast(y_pred), sensitive_features=s,
                          sample_weight=w) == pytest.approx(base, abs=1e-12)


def test_absent_groups_are_named_and_left_out():
    y_true = np.array([1, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 1, 0, 0, 1, 0])
    race = pd.Categorical(list("aabbaa"), categories=["a", "b", "c"])
    with pytest.warns(UndefinedGroupWarning, match="'c'.*absent groups: no rows"):
        got = demographic_parity_difference(y_true, y_pred, sensitive_features=race)
    assert got == demographic_parity_difference(y_true, y_pred,
                                                sensitive_features=np.asarray(race))
    sf = pd.DataFrame({"race": list("aabbaa"), "sex": list("FMFFMF")})  # (b, M) is empty
    with pytest.warns(UndefinedGroupWarning, match="race=b, sex=M"):
        value = equal_opportunity_score(y_true, y_pred, sensitive_features=sf)
    assert 0.0 <= value <= 1.0


@pytest.mark.parametrize("metric", [equal_opportunity_score, iou_fairness])
def test_a_zero_weight_group_is_left_out_with_a_warning(metric):
    y_true, y_pred, s = [0, 1, 0, 1, 0, 1], [0, 1, 1, 1, 0, 0], list("aabbcc")
    with pytest.warns(UndefinedGroupWarning, match=r"left out 'c' \(no class has"):
        value, table = metric(y_true, y_pred, sensitive_features=s,
                              sample_weight=[1, 1, 1, 1, 0, 0], return_per_group=True)
    assert value == pytest.approx(metric(y_true[:4], y_pred[:4], sensitive_features=s[:4]))
    assert table.iloc[:, -1].isna().tolist() == [False, False, True]
    with pytest.warns(UndefinedGroupWarning), pytest.raises(ValueError, match="fewer than two"):
        metric(y_true, y_pred, sensitive_features=s, sample_weight=[1, 1, 0, 0, 0, 0])
