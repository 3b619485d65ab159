"""GroupResampler: exact group sizes, edge cases, containers, determinism."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.samplers import GroupResampler, group_resample_indices
from skfair.utils import encode_sensitive_features


def _data(sizes=(50, 20, 7, 1), seed=0):
    rng = np.random.RandomState(seed)
    S = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    perm = rng.permutation(len(S))
    S = S[perm]
    X = np.column_stack([np.arange(len(S)), rng.normal(size=len(S))])
    y = rng.randint(0, 2, len(S))
    return X, y, S


@pytest.mark.parametrize(
    ("strategy", "R"), [("mean", 19), ("min", 1), ("max", 50), (30, 30), (200, 200)]
)
def test_every_group_gets_exactly_R_rows(strategy, R):
    X, y, S = _data()  # sizes 50, 20, 7, 1 -> mean 78 / 4 = 19.5 -> 19
    rs = GroupResampler(strategy, random_state=0)
    X_res, y_res = rs.fit_resample(X, y, sensitive_features=S)
    assert rs.target_size_ == R
    assert len(X_res) == len(y_res) == 4 * R
    S_res = S[rs.sample_indices_]
    assert Counter(S_res) == {f"g{i}": R for i in range(4)}
    # rows and targets stay together, and come from the original data
    np.testing.assert_array_equal(X_res, X[rs.sample_indices_])
    np.testing.assert_array_equal(y_res, y[rs.sample_indices_])
    assert list(rs.group_sizes_["n_after"]) == [R] * 4
    assert list(rs.group_sizes_["n_before"]) == [50, 20, 7, 1]


def test_over_R_without_replacement_under_R_keeps_every_row():
    X, y, S = _data()
    rs = GroupResampler("mean", random_state=0).fit(X, y)  # fit alone does not resample
    rs.fit_resample(X, y, sensitive_features=S)
    idx = rs.sample_indices_
    for g, size in zip(["g0", "g1", "g2", "g3"], [50, 20, 7, 1], strict=True):
        chosen = idx[S[idx] == g]
        if size >= 19:  # subsampled: no row twice
            assert len(np.unique(chosen)) == 19
        else:  # oversampled: every original row kept, the rest drawn with replacement
            assert set(chosen) == set(np.flatnonzero(S == g))


def test_group_with_one_row_and_R_above_every_group():
    X, y, S = _data(sizes=(3, 2, 1))
    rs = GroupResampler(10, random_state=0)
    X_res, _ = rs.fit_resample(X, y, sensitive_features=S)
    one = np.flatnonzero(S == "g2")[0]
    assert np.sum(rs.sample_indices_ == one) == 10  # the single row, repeated
    assert Counter(S[rs.sample_indices_]) == {"g0": 10, "g1": 10, "g2": 10}


def test_min_with_an_empty_intersection_cell_does_not_invent_it():
    # cell (b, F) never occurs: 3 observed cells, not 4
    S = pd.DataFrame({"race": ["a", "a", "a", "a", "b", "b", "b"],
                      "sex": ["F", "F", "M", "M", "M", "M", "M"]})
    X = np.arange(7).reshape(-1, 1)
    rs = GroupResampler("min", random_state=0)
    X_res, _ = rs.fit_resample(X, None, sensitive_features=S)
    assert rs.target_size_ == 2
    cells = Counter(map(tuple, S.iloc[rs.sample_indices_].to_numpy()))
    assert cells == {("a", "F"): 2, ("a", "M"): 2, ("b", "M"): 2}
    assert len(rs.group_sizes_) == 3


def test_deterministic_under_random_state():
    X, y, S = _data()
    a = GroupResampler(random_state=3).fit_resample(X, y, sensitive_features=S)[0]
    b = GroupResampler(random_state=3).fit_resample(X, y, sensitive_features=S)[0]
    c = GroupResampler(random_state=4).fit_resample(X, y, sensitive_features=S)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stratify_target_keeps_distribution_and_sums_to_R():
    rng = np.random.RandomState(0)
    S = np.repeat(["a", "b"], [90, 30])
    y = np.concatenate([np.repeat([0, 1, 2], [60, 20, 10]), np.repeat([0, 1], [10, 20])])
    X = rng.normal(size=(120, 2))
    rs = GroupResampler("mean", stratify_target=True, random_state=0)
    _, y_res = rs.fit_resample(X, y, sensitive_features=S)
    S_res = S[rs.sample_indices_]
    # R = 60. group a: 60 * (60, 20, 10) / 90 = (40, 13.33, 6.67) -> largest remainder
    # gives (40, 13, 7); group b: 60 * (10, 20) / 30 = (20, 40)
    assert Counter(y_res[S_res == "a"]) == {0: 40, 1: 13, 2: 7}
    assert Counter(y_res[S_res == "b"]) == {0: 20, 1: 40}


def test_stratify_target_warns_when_a_class_rounds_to_zero_and_rejects_continuous():
    S = np.repeat(["a", "b"], [20, 2])
    y = np.array([0] * 19 + [1] + [0, 1])
    with pytest.warns(UserWarning, match="get no row"):
        group_resample_indices(S, strategy="min", y=y, stratify_target=True, random_state=0)
    with pytest.raises(ValueError, match="continuous"):
        GroupResampler(stratify_target=True).fit_resample(
            np.zeros((22, 1)), np.linspace(0, 1, 22), sensitive_features=S
        )
    with pytest.raises(ValueError, match="needs y"):
        group_resample_indices(S, stratify_target=True)


def test_containers_dataframe_list_sparse_images_and_regression_target():
    X, y, S = _data(sizes=(6, 3))
    df = pd.DataFrame(X, columns=["i", "v"], index=np.arange(100, 109))
    ys = pd.Series(y.astype(float) * 30.5, name="age")  # regression target (ages)
    rs = GroupResampler("max", random_state=0)
    X_res, y_res = rs.fit_resample(df, ys, sensitive_features=S)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == ["i", "v"]
    assert isinstance(y_res, pd.Series) and y_res.name == "age"
    assert list(X_res.index) == list(range(12))
    np.testing.assert_array_equal(X_res.to_numpy(), X[rs.sample_indices_])
    np.testing.assert_array_equal(rs.feature_names_in_, ["i", "v"])

    X_list, y_list = rs.fit_resample(X.tolist(), y.tolist(), sensitive_features=S)
    assert isinstance(X_list, list) and X_list == X[rs.sample_indices_].tolist()

    X_sp, _ = rs.fit_resample(sp.csr_matrix(X), y, sensitive_features=S)
    assert sp.issparse(X_sp)
    np.testing.assert_array_equal(X_sp.toarray(), X[rs.sample_indices_])

    images = np.random.RandomState(0).rand(9, 3, 4, 4).astype(np.float32)
    imgs_res, _ = rs.fit_resample(images, y, sensitive_features=S)
    assert imgs_res.shape == (12, 3, 4, 4) and imgs_res.dtype == np.float32
    np.testing.assert_array_equal(imgs_res, images[rs.sample_indices_])
    assert rs.n_features_in_ == 3

    paths = np.array([f"img_{i}.jpg" for i in range(9)])
    p_res, _ = rs.fit_resample(paths, y, sensitive_features=S)
    np.testing.assert_array_equal(p_res, paths[rs.sample_indices_])

    Y = np.random.RandomState(0).randint(0, 2, (9, 3))  # multi-label rows
    _, Y_res = rs.fit_resample(X, Y, sensitive_features=S)
    np.testing.assert_array_equal(Y_res, Y[rs.sample_indices_])


def test_clear_errors():
    X, y, S = _data(sizes=(3, 2))
    with pytest.raises(ValueError, match="needs sensitive_features"):
        GroupResampler().fit_resample(X, y)
    with pytest.raises(ValueError, match="same length|rows"):
        GroupResampler().fit_resample(X, y, sensitive_features=S[:3])
    with pytest.raises(ValueError, match="missing values"):
        GroupResampler().fit_resample(X, y, sensitive_features=[None] + list(S[1:]))
    with pytest.raises(ValueError, match="strategy"):
        GroupResampler("median").fit_resample(X, y, sensitive_features=S)
    with pytest.raises(ValueError, match="strategy"):
        GroupResampler(0).fit_resample(X, y, sensitive_features=S)
    with pytest.raises(ValueError, match="rows"):
        GroupResampler().fit_resample(X, y[:2], sensitive_features=S)


def test_fit_computes_R_without_resampling():
    X, y, S = _data()
    rs = GroupResampler("max").fit(X, y, sensitive_features=S)
    assert rs.target_size_ == 50 and not hasattr(rs, "sample_indices_")


@settings(max_examples=40, deadline=None)
@given(
    groups=st.lists(st.integers(0, 5), min_size=1, max_size=80),
    strategy=st.one_of(st.sampled_from(["mean", "min", "max"]), st.integers(1, 40)),
    seed=st.integers(0, 10),
)
def test_property_exact_sizes(groups, strategy, seed):
    S = np.asarray(groups)
    idx, R = group_resample_indices(S, strategy=strategy, random_state=seed)
    counts = np.bincount(S, minlength=6)
    observed = np.flatnonzero(counts)
    expected_R = {"mean": max(int(counts[observed].mean()), 1), "min": counts[observed].min(),
                  "max": counts[observed].max()}.get(strategy, strategy)
    assert R == expected_R
    got = np.bincount(S[idx], minlength=6)
    np.testing.assert_array_equal(got[observed], R)
    assert got[counts == 0].sum() == 0
    # a group larger than R never repeats a row
    for g in observed:
        chosen = idx[S[idx] == g]
        if counts[g] >= R:
            assert len(np.unique(chosen)) == R
        else:
            assert set(chosen) == set(np.flatnonzero(S == g))


def test_accepts_an_encoding():
    X, y, S = _data()
    enc = encode_sensitive_features(S)
    a = GroupResampler(random_state=0).fit_resample(X, y, sensitive_features=enc)[0]
    b = GroupResampler(random_state=0).fit_resample(X, y, sensitive_features=S)[0]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("stratify", [False, True])
def test_non_finite_target_is_refused(bad, stratify):
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0.0, 1.0, 0.0, 1.0, bad, 1.0])
    S = ["a", "a", "a", "a", "b", "b"]
    with pytest.raises(ValueError, match="Input y contains (NaN|infinity)"):
        GroupResampler(stratify_target=stratify).fit_resample(X, y, sensitive_features=S)


def test_stratify_target_reads_one_hot_rows_as_class_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = rng.integers(0, 3, size=60)
    S = rng.choice(["a", "b"], size=60, p=[0.7, 0.3])
    one_hot = np.eye(3, dtype=int)[y]
    rs = GroupResampler(stratify_target=True, random_state=0)
    X_lab, y_lab = rs.fit_resample(X, y, sensitive_features=S)
    X_ova, y_ova = rs.fit_resample(X, one_hot, sensitive_features=S)
    np.testing.assert_array_equal(X_lab, X_ova)
    np.testing.assert_array_equal(y_ova.argmax(axis=1), y_lab)
    with pytest.raises(ValueError, match="needs class labels"):  # true multi-label rows
        rs.fit_resample(X, np.ones((60, 3), dtype=int), sensitive_features=S)
