"""The O(n) encoding paths (counting for small-range integers, category codes,
one hashing pass otherwise) give exactly the sorted-levels encoding."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.utils import encode_sensitive_features


def _reference(columns):
    """Brute-force encoding: sorted levels, tuples ranked in level order."""
    levels = [sorted(set(c)) for c in columns]
    attr = np.array([[lv.index(v) for v in c] for lv, c in zip(levels, columns, strict=True)]).T
    cells = sorted({tuple(r) for r in attr})
    rank = {c: i for i, c in enumerate(cells)}
    return levels, attr, np.array([rank[tuple(r)] for r in attr])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.sampled_from(["int8", "int64", "uint16", "str", "float", "big"]))
def test_encoding_matches_reference(n, k, seed, kind):
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(k):
        if kind == "str":
            cols.append(list(rng.choice(["x", "y", "zz", "a"], n)))
        elif kind == "float":
            cols.append(list(rng.choice([0.5, -1.0, 2.0], n)))
        elif kind == "big":  # range too wide for the counting path
            cols.append(list(rng.choice([-(2**40), 7, 2**40], n)))
        else:
            lo = 0 if kind.startswith("u") else -5
            cols.append(list(rng.integers(lo, 6, n).astype(kind)))
    frame = pd.DataFrame({f"c{j}": np.asarray(c) for j, c in enumerate(cols)})
    enc = encode_sensitive_features(frame)
    levels, attr, codes = _reference(cols)
    np.testing.assert_array_equal(enc.codes, codes)
    np.testing.assert_array_equal(enc.attribute_codes, attr)
    for got, want in zip(enc.categories, levels, strict=True):
        assert list(got) == want
    np.testing.assert_array_equal(enc.counts, np.bincount(codes))
    assert enc.codes.dtype == np.int64


def test_integer_levels_keep_their_dtype_and_values():
    enc = encode_sensitive_features(np.array([300, -2, 300, 7], dtype=np.int16))
    assert enc.categories[0].dtype == np.int16
    assert list(enc.categories[0]) == [-2, 7, 300]
    np.testing.assert_array_equal(enc.codes, [2, 0, 2, 1])


def test_categorical_codes_reused_and_reencoded_with_known_categories():
    col = pd.Categorical(["b", "c", "b"], categories=["c", "b", "unused"])
    enc = encode_sensitive_features(pd.Series(col, name="g"))
    assert list(enc.categories[0]) == ["c", "b", "unused"]
    np.testing.assert_array_equal(enc.codes, [1, 0, 1])
    new = encode_sensitive_features(
        {"g": pd.Categorical(["b", "c"], categories=["b", "c", "zzz"])},
        categories=enc.categories,
    )  # an unused unknown category is no value of the data: no error
    np.testing.assert_array_equal(new.attribute_codes[:, 0], [1, 0])
    with pytest.raises(ValueError, match=r"not seen before \['q', 'p'\]"):
        encode_sensitive_features({"g": ["b", "q", "p", "q"]}, categories=enc.categories)


@pytest.mark.parametrize("values", [
    [1.0, np.nan, 2.0],
    ["a", None, "b"],
    pd.Categorical(["a", None, "b"]),
    pd.array([1, None, 2], dtype="Int64"),
])
def test_missing_values_raise_in_every_path(values):
    with pytest.raises(ValueError, match="missing values"):
        encode_sensitive_features({"g": values, "h": [0, 1, 1]})


def test_large_input_uses_counting_and_stays_exact():
    rng = np.random.default_rng(0)
    race = rng.integers(0, 5, 200_000)
    age = rng.integers(0, 10, 200_000)
    enc = encode_sensitive_features({"race": race, "age": age})
    np.testing.assert_array_equal(enc.codes, race * 10 + age)  # all 50 cells observed
    assert enc.n_groups == 50
