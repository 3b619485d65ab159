import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.datasets import (
    COLOR_NAMES,
    COLOR_PALETTE,
    color_label_agreement,
    make_colored_digits,
)
from skfair.datasets._colored_digits import _bilinear_matrix, _upsample


@pytest.fixture(scope="module")
def both95():
    return make_colored_digits(bias=0.95, split="both", random_state=0)


def test_acceptance_agreement(both95):
    # the acceptance line, on the default arguments
    train = make_colored_digits(bias=0.95, random_state=0)
    test = make_colored_digits(bias=0.95, random_state=0, split="test")
    lc = train.label_colors
    assert abs(color_label_agreement(train.target, train.sensitive["color"], lc) - 0.95) <= 0.02
    assert abs(color_label_agreement(test.target, test.sensitive["color"], lc) - 0.1) <= 0.05
    np.testing.assert_array_equal(train.images, both95.train.images)
    np.testing.assert_array_equal(test.images, both95.test.images)


def test_deterministic_and_seed_dependent():
    a = make_colored_digits(image_size=12, random_state=3)
    b = make_colored_digits(image_size=12, random_state=3)
    c = make_colored_digits(image_size=12, random_state=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.target, b.target)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not np.array_equal(a.images, c.images)


def test_layout_and_types(both95):
    for name, part in (("train", both95.train), ("test", both95.test)):
        n = len(part.target)
        assert part.images.shape == (n, 3, 28, 28)
        assert part.images.dtype == np.float32 and part.data.dtype == np.float32
        assert part.images.min() >= 0.0 and part.images.max() <= 1.0
        assert part.data.shape == (n, 3 * 28 * 28)
        assert np.shares_memory(part.data, part.images)
        assert part.target.dtype == np.int64
        assert list(part.sensitive.columns) == ["color"]
        assert isinstance(part.sensitive["color"].dtype, pd.CategoricalDtype)
        assert list(part.sensitive["color"].cat.categories) == list(COLOR_NAMES)
        assert list(part.frame.columns) == ["target", "color", "aligned", "source_index"]
        assert part.split == name
        assert "Colored digits" in part.DESCR
    assert len(both95.train.target) + len(both95.test.target) == 1797
    # no source digit in both splits
    assert not set(both95.train.frame.source_index) & set(both95.test.frame.source_index)


def test_strokes_carry_the_colour():
    # no noise, no shift, no resize: the image is exactly ink * colour
    ds = make_colored_digits(image_size=8, noise=0.0, max_shift=0, random_state=0)
    from sklearn.datasets import load_digits

    gray = load_digits().images[ds.frame.source_index.to_numpy()] / 16.0
    codes = ds.sensitive["color"].cat.codes.to_numpy()
    expected = COLOR_PALETTE[codes][:, :, None, None] * gray[:, None].astype(np.float32)
    np.testing.assert_allclose(ds.images, expected, atol=1e-6)
    assert ds.target.tolist() == load_digits().target[ds.frame.source_index].tolist()


def test_per_label_agreement_is_exact_and_others_differ(both95):
    train = both95.train
    lc = np.arange(10) % 10
    codes = train.sensitive["color"].cat.codes.to_numpy()
    for k in range(10):
        rows = train.target == k
        n_k = rows.sum()
        assert (codes[rows] == lc[k]).sum() == round(0.95 * n_k)
    assert (train.frame.aligned == (codes == lc[train.target])).all()


def test_test_colours_balanced_within_label(both95):
    test = both95.test
    table = pd.crosstab(test.target, test.sensitive["color"])
    assert table.shape == (10, 10)
    # each label uses every colour as equally as counts allow
    assert ((table.max(axis=1) - table.min(axis=1)) <= 1).all()


def test_unaligned_colours_are_spread_over_other_colours():
    ds = make_colored_digits(bias=0.0, n_colors=3, image_size=8, random_state=1)
    codes = ds.sensitive["color"].cat.codes.to_numpy()
    own = ds.target % 3
    assert not (codes == own).any()
    for k in range(10):
        others = set(codes[ds.target == k])
        assert others == set(range(3)) - {k % 3}
    assert ds.label_colors == {k: COLOR_NAMES[k % 3] for k in range(10)}


def test_n_samples_augments_and_splits():
    ds = make_colored_digits(n_samples=4000, test_size=0.25, image_size=8, split="both",
                             random_state=0)
    assert len(ds.train.target) == 3000 and len(ds.test.target) == 1000
    # sources reused but every reused copy differs (shift / colour / noise)
    src = ds.train.frame.source_index.to_numpy()
    first = np.flatnonzero(src == src[0])
    assert len(first) >= 2
    assert not np.array_equal(ds.train.images[first[0]], ds.train.images[first[1]])
    # all training sources used before any repeats: counts differ by at most 1
    counts = np.bincount(src)
    counts = counts[counts > 0]
    assert counts.max() - counts.min() <= 1


@settings(max_examples=15, deadline=None)
@given(
    bias=st.floats(0, 1),
    n_colors=st.integers(2, 10),
    seed=st.integers(0, 2**16),
)
def test_property_agreement_matches_bias(bias, n_colors, seed):
    ds = make_colored_digits(n_samples=300, bias=bias, n_colors=n_colors, image_size=8,
                             split="both", random_state=seed)
    tr, te = ds.train, ds.test
    expected = sum(round(bias * (tr.target == k).sum()) for k in range(10)) / len(tr.target)
    got = color_label_agreement(tr.target, tr.sensitive["color"], ds.label_colors)
    assert got == pytest.approx(expected)
    # test colours balanced within label: agreement within rounding of chance
    codes = te.sensitive["color"].cat.codes.to_numpy()
    for k in np.unique(te.target):
        counts = np.bincount(codes[te.target == k], minlength=n_colors)
        assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"bias": 1.5}, "bias"),
        ({"n_colors": 1}, "n_colors"),
        ({"n_colors": 11}, "n_colors"),
        ({"split": "valid"}, "split"),
        ({"image_size": 4}, "image_size"),
        ({"test_size": 1.0}, "test_size"),
        ({"noise": -0.1}, "noise"),
        ({"n_samples": 1}, "n_samples"),
    ],
)
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        make_colored_digits(**kwargs)


def test_bilinear_matrix_and_upsample():
    M = _bilinear_matrix(8, 28)
    np.testing.assert_allclose(M.sum(axis=1), 1.0)
    np.testing.assert_allclose(_bilinear_matrix(8, 8), np.eye(8))
    # 2 -> 4: centres at -0.25, 0.25, 0.75, 1.25 of the input grid, clamped
    np.testing.assert_allclose(
        _bilinear_matrix(2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]]
    )
    const = np.full((2, 8, 8), 0.3)
    np.testing.assert_allclose(_upsample(const, 20), 0.3)


def test_color_label_agreement_hand_cases():
    assert color_label_agreement([0, 1, 2, 0], [0, 1, 0, 1], [0, 1, 2]) == 0.5
    assert color_label_agreement(
        [0, 1], pd.Categorical(["red", "red"]), {0: "red", 1: "green"}
    ) == 0.5
    with pytest.raises(ValueError, match="same length"):
        color_label_agreement([0, 1], [0], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        color_label_agreement([], [], [0])
    with pytest.raises(ValueError, match="label 2"):
        color_label_agreement([0, 2], [0, 0], {0: 0, 1: 1})
