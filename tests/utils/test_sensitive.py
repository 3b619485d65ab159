import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.utils import (
    SensitiveColumns,
    SensitiveEncoding,
    check_sensitive_features,
    encode_sensitive_features,
    split_sensitive_from_X,
)


def test_1d_array_codes_sorted_levels():
    enc = encode_sensitive_features(np.array(["b", "a", "c", "a"]))
    assert isinstance(enc, SensitiveEncoding)
    np.testing.assert_array_equal(enc.codes, [1, 0, 2, 0])
    assert list(enc.groups.iloc[:, 0]) == ["a", "b", "c"]
    assert enc.names == ["sensitive_feature_0"]
    np.testing.assert_array_equal(enc.counts, [2, 1, 1])
    assert enc.n_groups == 3


def test_series_name_is_kept():
    enc = encode_sensitive_features(pd.Series([1, 2, 1], name="race"))
    assert enc.names == ["race"]
    assert list(enc.groups["race"]) == [1, 2]


@pytest.mark.parametrize(
    "sf",
    [
        pd.DataFrame({"race": ["b", "a", "b", "a"], "sex": ["F", "M", "M", "M"]}),
        [pd.Series(["b", "a", "b", "a"], name="race"), pd.Series(["F", "M", "M", "M"], name="sex")],
        {"race": ["b", "a", "b", "a"], "sex": ["F", "M", "M", "M"]},
    ],
)
def test_several_attributes_mean_observed_intersections(sf):
    enc = encode_sensitive_features(sf)
    assert enc.names == ["race", "sex"]
    # observed cells only: (a, M), (b, F), (b, M); (a, F) is not invented
    assert enc.groups.to_dict("list") == {"race": ["a", "b", "b"], "sex": ["M", "F", "M"]}
    np.testing.assert_array_equal(enc.codes, [1, 0, 2, 0])
    assert enc.n_values == [2, 2]
    assert enc.labels() == ["race=a, sex=M", "race=b, sex=F", "race=b, sex=M"]


def test_list_of_unnamed_arrays_and_2d_array():
    a, b = np.array([0, 1, 1]), np.array(["x", "x", "y"])
    enc = encode_sensitive_features([a, b])
    assert enc.names == ["sensitive_feature_0", "sensitive_feature_1"]
    enc2 = encode_sensitive_features(np.column_stack([a, a]))
    assert enc2.n_groups == 2


def test_categorical_keeps_category_order_and_unused_levels():
    s = pd.Series(pd.Categorical(["old", "young"], categories=["young", "old", "mid"]), name="age")
    enc = encode_sensitive_features(s)
    assert list(enc.categories[0]) == ["young", "old", "mid"]
    assert enc.n_values == [3]
    np.testing.assert_array_equal(enc.codes, [1, 0])
    assert list(enc.groups["age"]) == ["young", "old"]


def test_reencode_with_known_categories_and_unseen_error():
    train = encode_sensitive_features({"race": ["a", "b", "c"]})
    new = encode_sensitive_features({"race": ["c", "a"]}, categories=train.categories)
    np.testing.assert_array_equal(new.attribute_codes[:, 0], [2, 0])
    with pytest.raises(ValueError, match="not seen before"):
        encode_sensitive_features({"race": ["z"]}, categories=train.categories)


def test_attribute_marginal():
    enc = encode_sensitive_features({"race": ["a", "b", "b"], "sex": ["F", "M", "F"]})
    sex = enc.attribute("sex")
    np.testing.assert_array_equal(sex.codes, [0, 1, 0])
    assert sex.names == ["sex"]


def test_an_encoding_is_read_back_as_its_attributes():
    S = pd.DataFrame({"race": pd.Categorical(["b", "a", "b"], categories=["b", "a", "c"]),
                      "sex": ["F", "M", "F"]})
    enc = encode_sensitive_features(S)
    frame = check_sensitive_features(enc, n_samples=3)
    assert list(frame.columns) == ["race", "sex"]
    assert list(frame["race"].cat.categories) == ["b", "a", "c"]  # unused level kept
    assert frame["sex"].tolist() == ["F", "M", "F"]
    np.testing.assert_array_equal(encode_sensitive_features(enc).codes, enc.codes)
    assert enc.to_frame([2, 0])["race"].tolist() == ["b", "b"]
    with pytest.raises(ValueError, match="has 3 rows but X has 4"):
        check_sensitive_features(enc, n_samples=4)


def test_attributes_of_one_name_are_an_error_not_a_lost_attribute():
    race, sex = pd.Series(["a", "a", "b", "b"], name="attr"), pd.Series(list("FMFM"), name="attr")
    with pytest.raises(ValueError, match="duplicate attribute names"):
        encode_sensitive_features([race, sex])
    with pytest.raises(ValueError, match="duplicate attribute names"):
        encode_sensitive_features({1: ["a", "b"], "1": ["F", "M"]})


@pytest.mark.parametrize("wrap", [pd.Index, pd.array, np.asarray])
def test_a_list_of_index_or_extension_arrays_is_a_list_of_attributes(wrap):
    race, sex = ["a", "a", "b", "b"], ["F", "M", "F", "M"]
    enc = encode_sensitive_features([wrap(race), wrap(sex)], n_samples=4)
    assert (enc.n_attributes, len(enc.codes), enc.n_groups) == (2, 4, 4)


def test_a_list_of_tensors_is_a_list_of_attributes():
    torch = pytest.importorskip("torch")
    enc = encode_sensitive_features([torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])],
                                    n_samples=4)
    assert (enc.n_attributes, enc.n_groups) == (2, 4)


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint8"])
def test_narrow_integer_attributes_do_not_overflow(dtype):
    values = np.array([-100, 100, -100, 100, 27, 27]) % 256 if dtype == "uint8" else np.array(
        [-100, 100, -100, 100, 27, 27])
    enc = encode_sensitive_features(values.astype(dtype))
    reference = encode_sensitive_features(values.astype(np.int64))
    np.testing.assert_array_equal(enc.codes, reference.codes)
    assert enc.n_groups == 3


def test_sensitive_columns_keep_a_categorical_dtype():
    X = pd.DataFrame({"race": pd.Categorical(list("wbwb"), categories=["w", "b", "a"]),
                      "x": [1.0, 2.0, 3.0, 4.0]})
    _, S = split_sensitive_from_X(X, "race")
    assert isinstance(S["race"].dtype, pd.CategoricalDtype)
    via_columns = encode_sensitive_features(SensitiveColumns("race"), X=X)
    direct = encode_sensitive_features(X["race"])
    np.testing.assert_array_equal(via_columns.codes, direct.codes)
    assert list(via_columns.categories[0]) == ["w", "b", "a"]  # unused level kept
    Xi = X.set_index("race")
    _, Si = split_sensitive_from_X(Xi, "race")
    assert isinstance(Si["race"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([1.0, np.nan, 2.0]), "missing values"),
        (pd.Series(["a", None, "b"]), "missing values"),
        (pd.DataFrame({"r": ["a", "b", "c"], "s": [1, None, 2]}), "'s': 1"),
        (np.array([]), "empty"),
        (None, "required"),
        (5, "scalar"),
        (np.zeros((2, 2, 2)), "1-D or 2-D"),
        ([np.array([1, 2]), np.array([1, 2, 3])], "different lengths"),
        ({"race": ["a", "b", "c"], "sex": ["F", "M"]},
         r"different lengths \{'race': 3, 'sex': 2\}"),
    ],
)
def test_bad_input_names_the_parameter(bad, match):
    with pytest.raises(ValueError, match=match) as exc:
        encode_sensitive_features(bad)
    assert "sensitive_features" in str(exc.value)


def test_length_mismatch_names_parameter_and_counts():
    with pytest.raises(ValueError, match=r"sensitive_features has 3 rows but X has 4"):
        check_sensitive_features(["a", "b", "a"], n_samples=4)
    with pytest.raises(ValueError, match=r"^groups has 3 rows"):
        check_sensitive_features(["a", "b", "a"], n_samples=4, param="groups")


def test_sensitive_columns_from_X_columns_and_index_levels():
    X = pd.DataFrame(
        {"x": [0.1, 0.2, 0.3], "race": ["a", "b", "a"]},
        index=pd.Index(["F", "M", "F"], name="sex"),
    )
    X_rest, S = split_sensitive_from_X(X, SensitiveColumns("race", "sex"))
    assert list(X_rest.columns) == ["x"]
    assert S.to_dict("list") == {"race": ["a", "b", "a"], "sex": ["F", "M", "F"]}
    enc = encode_sensitive_features("race", X=X)
    np.testing.assert_array_equal(enc.codes, [0, 1, 0])
    keep, _ = split_sensitive_from_X(X, SensitiveColumns("race", drop=False))
    assert "race" in keep.columns


def test_sensitive_columns_errors():
    X = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ValueError, match="'race' is neither a column nor an index level"):
        split_sensitive_from_X(X, "race")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        split_sensitive_from_X(np.zeros((1, 1)), "race")
    with pytest.raises(ValueError, match="no X was given"):
        encode_sensitive_features("race")
    with pytest.raises(TypeError, match="column names"):
        SensitiveColumns(1)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 2)), min_size=1, max_size=40),
    st.randoms(use_true_random=False),
)
def test_codes_consistent_under_row_permutation(rows, rnd):
    race = np.array([r for r, _ in rows])
    age = np.array([a for _, a in rows])
    enc = encode_sensitive_features({"race": race, "age": age})
    # the same (race, age) pair always gets the same code, and different pairs differ
    table = enc.groups.to_numpy()
    np.testing.assert_array_equal(table[enc.codes, 0], race)
    np.testing.assert_array_equal(table[enc.codes, 1].astype(int), age)
    assert len({tuple(r) for r in table}) == enc.n_groups
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    enc_p = encode_sensitive_features({"race": race[perm], "age": age[perm]})
    pd.testing.assert_frame_equal(enc_p.groups, enc.groups)
    np.testing.assert_array_equal(enc_p.codes, enc.codes[perm])
