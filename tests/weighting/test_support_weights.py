"""Support weights (the ChaLearn entry, custom losses 1 and 2) against hand-computed cases."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skfair.utils import encode_sensitive_features
from skfair.weighting import SupportWeighting, support_weights, target_attribute

# A 4-attribute example in the style of the ChaLearn entry (gender, ethnicity, expression,
# age group). Counts, read off by hand:
#   gender  M: rows 0-4, 9 -> 6      F: 4                       (n = 2)
#   race    W: 0,1,2,3,5,8,9 -> 7    B: 4,6 -> 2   A: 7 -> 1     (n = 3)
#   expr    happy: 0,1,5,9 -> 4   neutral: 2,3,4,7,8 -> 5   other: 6 -> 1
#           ("slightly" never occurs; n = 4 as in the seed)
#   age     young: 0,8 -> 2   adult: 1,2,3,5,7,9 -> 6   senior: 4 -> 1   old: 6 -> 1  (n = 4)
ROWS = [
    ("M", "W", "happy", "young"),
    ("M", "W", "happy", "adult"),
    ("M", "W", "neutral", "adult"),
    ("M", "W", "neutral", "adult"),
    ("M", "B", "neutral", "senior"),
    ("F", "W", "happy", "adult"),
    ("F", "B", "other", "old"),
    ("F", "A", "neutral", "adult"),
    ("F", "W", "neutral", "young"),
    ("M", "W", "happy", "adult"),
]
# per-row supports of (gender, race, expr, age), counted by hand from ROWS
MARGINAL_SUPPORT = [
    (6, 7, 4, 2), (6, 7, 4, 6), (6, 7, 5, 6), (6, 7, 5, 6), (6, 2, 5, 1),
    (4, 7, 4, 6), (4, 2, 1, 1), (4, 1, 5, 6), (4, 7, 5, 2), (6, 7, 4, 6),
]
N_PER_ATTRIBUTE = (2, 3, 4, 4)
# cells: (M,W,happy,adult) holds rows 1 and 9, (M,W,neutral,adult) rows 2 and 3,
# every other row is alone in its cell; n = 2 * 3 * 4 * 4 = 96 (the ChaLearn entry, loss 2b)
CELL_SUPPORT = [1, 2, 2, 2, 1, 1, 1, 1, 1, 2]
TOTAL = 10


def _frame(expr_categorical=True):
    S = pd.DataFrame(ROWS, columns=["gender", "race", "expr", "age"])
    if expr_categorical:
        S["expr"] = pd.Categorical(
            S["expr"], categories=["happy", "slightly", "neutral", "other"]
        )
    return S


@pytest.mark.parametrize("k", [0, 1, 5, 20.5])
def test_marginal_matches_hand_computation(k):
    expected = [
        np.prod([(k + TOTAL) / (k + n * s) for s, n in zip(sup, N_PER_ATTRIBUTE, strict=True)])
        for sup in MARGINAL_SUPPORT
    ]
    w = support_weights(_frame(), scheme="marginal", smoothing=k)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    # spelled out for one row (row 6: F, B, other, old) at k = 5
    if k == 5:
        assert w[6] == pytest.approx(15 / 13 * 15 / 11 * 15 / 9 * 15 / 9)


@pytest.mark.parametrize("k", [0, 1, 5, 20.5])
def test_intersectional_matches_hand_computation(k):
    expected = [(k + TOTAL) / (k + 96 * s) for s in CELL_SUPPORT]
    w = support_weights(_frame(), scheme="intersectional", smoothing=k)
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_n_values_default_counts_categories_and_can_be_overridden():
    S = _frame(expr_categorical=False)  # "slightly" unseen -> 3 expression values
    k = 5
    w_obs = support_weights(S, smoothing=k)
    expected_obs = [
        np.prod([(k + TOTAL) / (k + n * s) for s, n in zip(sup, (2, 3, 3, 4), strict=True)])
        for sup in MARGINAL_SUPPORT
    ]
    np.testing.assert_allclose(w_obs, expected_obs)
    # declaring the 4 possible expressions restores the categorical result
    np.testing.assert_allclose(
        support_weights(S, smoothing=k, n_values={"expr": 4}),
        support_weights(_frame(), smoothing=k),
    )
    np.testing.assert_allclose(
        support_weights(S, scheme="intersectional", smoothing=k, n_values=[2, 3, 4, 4]),
        support_weights(_frame(), scheme="intersectional", smoothing=k),
    )


# The ChaLearn entry, Table 1, row "Loss 1b": weights per value with k = 5.
TABLE1_LOSS_1B = {
    "gender": {"Male": 0.99, "Female": 1.01},
    "expression": {"Happy": 1.45, "Slightly": 0.56, "Neutral": 0.73, "Other": 5.78},
    "ethnicity": {"Caucasian": 0.39, "Afroamerican": 10.36, "Asian": 3.01},
    "age": {"Young": 1.32, "Adult": 0.42, "Senior": 1.36, "Old": 6.83},
}
# Value counts of a 2843-row data set consistent with Table 1 (found by solving
# w = (5 + T) / (5 + n * s) for integer supports summing to T).
TABLE1_COUNTS = {
    "gender": {"Male": 1429, "Female": 1414},
    "expression": {"Happy": 489, "Slightly": 1259, "Neutral": 973, "Other": 122},
    "ethnicity": {"Caucasian": 2439, "Afroamerican": 90, "Asian": 314},
    "age": {"Young": 537, "Adult": 1679, "Senior": 524, "Old": 103},
}


def _table1_frame():
    rng = np.random.RandomState(0)
    cols = {}
    for attr, counts in TABLE1_COUNTS.items():
        values = np.repeat(list(counts), list(counts.values()))
        cols[attr] = rng.permutation(values)
    return pd.DataFrame(cols)


def test_reproduces_seed_000_table_1_loss_1b():
    S = _table1_frame()
    for attr, expected in TABLE1_LOSS_1B.items():
        w = support_weights(S[[attr]], smoothing=5)
        got = pd.Series(w).groupby(S[attr].to_numpy()).first().round(2).to_dict()
        assert got == expected, attr
    # the marginal weight of a row is the product of its four per-attribute factors
    factors = [support_weights(S[[a]], smoothing=5) for a in TABLE1_LOSS_1B]
    np.testing.assert_allclose(support_weights(S, smoothing=5), np.prod(factors, axis=0))


def test_marginal_weight_is_the_product_of_per_attribute_factors():
    """The ChaLearn entry: image 123's weight is the product of its four attributes' factors."""
    S = pd.DataFrame({"a": ["x", "x", "y"], "b": ["u", "v", "v"]})
    fa = support_weights(S[["a"]], smoothing=5)
    fb = support_weights(S[["b"]], smoothing=5)
    np.testing.assert_allclose(support_weights(S, smoothing=5), fa * fb)


def test_smoothing_zero_balances_total_weight_per_value():
    S = _frame(expr_categorical=False)
    w = support_weights(S[["race"]], smoothing=0)
    totals = pd.Series(w).groupby(S["race"].to_numpy()).sum()
    np.testing.assert_allclose(totals.to_numpy(), TOTAL / 3)


def test_target_year_and_binned():
    ages = np.array([0.4, 19.6, 20.0, 39.99, 40.0, 61.0, 105.0])
    binned = target_attribute(ages, "binned")
    assert list(binned) == ["0-20", "0-20", "20-40", "20-40", "40-60", "60+", "60+"]
    assert list(binned.cat.categories) == ["0-20", "20-40", "40-60", "60+"]
    year = target_attribute(ages, "year")
    assert list(year) == [0, 20, 20, 40, 40, 61, 99]
    assert len(year.cat.categories) == 100
    # loss 1a: the target alone, n = 100, every year its own value
    w = SupportWeighting(target="year", smoothing=5).get_weights(y=ages)
    sup = np.array([1, 2, 2, 2, 2, 1, 1])
    np.testing.assert_allclose(w, (5 + 7) / (5 + 100 * sup))
    # loss 1b with one sensitive attribute: n = 4 for the age bins
    S = ["M", "M", "F", "F", "F", "M", "M"]
    w = SupportWeighting(target="binned", smoothing=5).get_weights(S, ages)
    s_sex = np.array([4, 4, 3, 3, 3, 4, 4])
    s_bin = np.array([2, 2, 2, 2, 1, 2, 2])
    np.testing.assert_allclose(w, 12 / (5 + 2 * s_sex) * 12 / (5 + 4 * s_bin))
    # intersectional with the binned target: n = 2 * 4 cells
    w = SupportWeighting("intersectional", smoothing=0, target="binned").get_weights(S, ages)
    cell = np.array([2, 2, 2, 2, 1, 2, 2])  # (M,0-20) x2, (F,20-40) x2, (F,40-60), (M,60+) x2
    np.testing.assert_allclose(w, 7 / (8 * cell))


def test_custom_bins_and_label_target():
    w = SupportWeighting(target="binned", target_bins=[30], smoothing=0).get_weights(
        y=[10, 20, 50]
    )
    np.testing.assert_allclose(w, [3 / 4, 3 / 4, 3 / 2])
    w = SupportWeighting(target="label", smoothing=0).get_weights(y=["a", "b", "b", "b"])
    np.testing.assert_allclose(w, [2, 2 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheme": "both"}, "scheme"),
        ({"smoothing": -1}, "smoothing"),
        ({"smoothing": np.nan}, "smoothing"),
        ({"n_values": {"nope": 3}}, "unknown attributes"),
        ({"n_values": {"race": 0}}, "n_values"),
        ({"n_values": {"race": 2}}, "smaller than"),
        ({"n_values": 4}, "single int"),
        ({"n_values": [2, 3]}, "entries"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        support_weights(_frame(), **kwargs)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="missing values"):
        support_weights(["a", None, "b"])
    with pytest.raises(ValueError, match="sensitive_features"):
        SupportWeighting().get_weights(None)
    with pytest.raises(ValueError, match="needs y"):
        SupportWeighting(target="year").get_weights(["a"], None)
    with pytest.raises(ValueError, match="target"):
        SupportWeighting(target="decade").get_weights(["a"], [3])
    with pytest.raises(ValueError, match="NaN"):
        SupportWeighting(target="year").get_weights(y=[3.0, np.nan])
    with pytest.raises(ValueError, match="increasing"):
        SupportWeighting(target="binned", target_bins=[40, 20]).get_weights(y=[3.0])
    with pytest.raises(ValueError, match="rows"):
        SupportWeighting(target="year").get_weights(["a", "b"], [3.0])


def test_accepts_an_encoding_and_clones():
    S = _frame()
    enc = encode_sensitive_features(S)
    np.testing.assert_allclose(support_weights(enc), support_weights(S))
    sw = SupportWeighting(scheme="intersectional", smoothing=2)
    assert clone(sw).get_params() == sw.get_params()
    np.testing.assert_allclose(
        SupportWeighting(target="binned").get_weights(enc, np.arange(10) * 7.0),
        SupportWeighting(target="binned").get_weights(S, np.arange(10) * 7.0),
    )


@settings(max_examples=40, deadline=None)
@given(
    codes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=60),
    k=st.floats(0, 50),
    scheme=st.sampled_from(["marginal", "intersectional"]),
)
def test_weights_are_finite_positive_and_order_reversing(codes, k, scheme):
    S = pd.DataFrame(codes, columns=["a", "b"])
    w = support_weights(S, scheme=scheme, smoothing=k)
    assert w.dtype == np.float64 and w.shape == (len(S),)
    assert np.isfinite(w).all() and (w > 0).all()
    if scheme == "intersectional":
        # a rarer cell never gets a smaller weight than a more frequent one
        sup = S.groupby(["a", "b"])["a"].transform("size").to_numpy()
        order = np.argsort(sup, kind="stable")
        assert np.all(np.diff(w[order]) <= 1e-12)


def test_non_finite_weights_impossible_and_asserted():
    from skfair.weighting._base import check_weights

    # extreme but valid inputs stay finite and positive
    for k in (0, 1e-300, 1e300):
        w = support_weights(["a"], smoothing=k, n_values=10**9)
        assert np.isfinite(w).all() and (w > 0).all()
    w = support_weights(np.arange(2000) % 7, scheme="intersectional", smoothing=0)
    assert np.isfinite(w).all() and (w > 0).all()
    # and the guard itself fires on anything else
    for bad in ([np.inf], [np.nan], [0.0], [-1.0]):
        with pytest.raises(AssertionError, match="bug"):
            check_weights(np.array(bad), where="test")


def test_support_weighting_attributes_selects_named_columns():
    from skfair.weighting import SupportWeighting, support_weights

    S = {"sex": ["F", "M", "M", "M"], "race": ["a", "a", "b", "c"]}
    got = SupportWeighting(smoothing=2, attributes=["sex"]).get_weights(S)
    np.testing.assert_allclose(got, support_weights({"sex": S["sex"]}, smoothing=2))
    ages = [10.0, 30.0, 35.0, 70.0]
    both = SupportWeighting(smoothing=0, attributes="race", target="binned").get_weights(S, ages)
    np.testing.assert_allclose(
        both, support_weights({"race": S["race"], "t": ["0", "1", "1", "3"]}, smoothing=0,
                              n_values={"race": 3, "t": 4})
    )
    with pytest.raises(ValueError, match=r"\['age'\] not among the sensitive attributes"):
        SupportWeighting(attributes="age").get_weights(S)


@pytest.mark.parametrize("attributes", ["sex", ["sex"]])
def test_named_attributes_need_the_sensitive_features_even_with_a_target(attributes):
    """attributes= names columns: without sensitive features that is an error, not a
    silent fall-back to target-only weights."""
    from skfair.weighting import SupportWeighting

    ages = [10.0, 30.0, 35.0, 70.0]
    with pytest.raises(ValueError, match="needs sensitive_features"):
        SupportWeighting(attributes=attributes, target="binned").get_weights(None, ages)
    # attributes=[] asks for the target alone: no sensitive features needed
    alone = SupportWeighting(attributes=[], target="binned", smoothing=0).get_weights(None, ages)
    target_only = SupportWeighting(target="binned", smoothing=0).get_weights(None, ages)
    np.testing.assert_allclose(alone, target_only)
