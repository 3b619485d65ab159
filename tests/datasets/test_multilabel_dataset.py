"""make_biased_multilabel: shapes, skews as requested, determinism, amplification."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from skfair.datasets import make_biased_multilabel
from skfair.datasets._multilabel import COCO_GENDER_BIAS


def _share_of_men(ds):
    man = (ds.sensitive["gender"] == "man").to_numpy()
    return np.array([man[ds.target[:, k] == 1].mean() for k in range(ds.target.shape[1])])


def test_layout_and_defaults():
    ds = make_biased_multilabel(n_samples=500, random_state=0)
    assert ds.data.shape == (500, 32) and ds.data.dtype == np.float64
    assert ds.target.shape == (500, 11) and ds.target.dtype == np.int64
    assert set(np.unique(ds.target)) == {0, 1}
    assert ds.target_names == list(COCO_GENDER_BIAS)
    assert list(ds.sensitive.columns) == ["gender"]
    assert list(ds.sensitive["gender"].cat.categories) == ["man", "woman"]
    # exact count of men: round(0.687 * 500)
    assert (ds.sensitive["gender"] == "man").sum() == 344
    assert list(ds.frame.columns) == ds.feature_names + ds.target_names + ["gender"]
    np.testing.assert_array_equal(ds.frame[ds.target_names].to_numpy(), ds.target)
    assert "Table 1" in ds.DESCR and "truck: 0.8000" in ds.DESCR


def test_default_skews_follow_seed_004_table_1():
    """With many rows each label's share of men is close to Table 1's value,
    about half the labels are strongly male-skewed and the rest near 0.5."""
    ds = make_biased_multilabel(n_samples=40_000, random_state=1)
    share = _share_of_men(ds)
    expected = np.array(list(COCO_GENDER_BIAS.values()))
    np.testing.assert_allclose(share, expected, atol=0.02)
    assert (share > 0.7).sum() == 5 and (np.abs(share - 0.5) < 0.1).sum() == 6
    np.testing.assert_allclose(ds.label_frequency, 0.3)
    np.testing.assert_allclose(ds.target.mean(axis=0), 0.3, atol=0.015)


def test_custom_skew_frequency_and_conditional_rates():
    ds = make_biased_multilabel(
        n_samples=20_000, n_labels=3, skew=[0.9, 0.5, 0.2], man_fraction=0.5,
        label_frequency=[0.2, 0.4, 0.3], random_state=0,
    )
    np.testing.assert_allclose(_share_of_men(ds), [0.9, 0.5, 0.2], atol=0.02)
    np.testing.assert_allclose(ds.target.mean(axis=0), [0.2, 0.4, 0.3], atol=0.015)
    # P(y | man) = f s / m, by hand for the first label: 0.2 * 0.9 / 0.5
    assert ds.conditional_rates.loc["label_0", "man"] == pytest.approx(0.36)
    assert ds.conditional_rates.loc["label_2", "woman"] == pytest.approx(0.3 * 0.8 / 0.5)
    assert ds.target_names == ["label_0", "label_1", "label_2"]


def test_other_label_counts_use_half_skewed_default():
    ds = make_biased_multilabel(n_samples=100, n_labels=4, random_state=0)
    np.testing.assert_allclose(ds.skew, [0.8, 0.8, 0.5, 0.5])


def test_deterministic_and_seed_dependent():
    a = make_biased_multilabel(n_samples=300, random_state=3)
    b = make_biased_multilabel(n_samples=300, random_state=3)
    c = make_biased_multilabel(n_samples=300, random_state=4)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.target, b.target)
    pd.testing.assert_frame_equal(a.sensitive, b.sensitive)
    assert not np.array_equal(a.data, c.data)


def test_gender_readable_and_labels_weak():
    """Gender is easy to read from the features, the labels are not."""
    tr = make_biased_multilabel(n_samples=3000, random_state=0)
    man = (tr.sensitive["gender"] == "man").to_numpy()
    clf = LogisticRegression(max_iter=1000).fit(tr.data[:2000], man[:2000])
    assert clf.score(tr.data[2000:], man[2000:]) > 0.95
    # label evidence is weak for women (label_signal = (1.2, 0.3)): recall of a
    # linear classifier on a balanced label is lower for women than for men
    k = tr.target_names.index("spoon")
    lab = LogisticRegression(max_iter=1000).fit(tr.data[:2000], tr.target[:2000, k])
    pred = lab.predict(tr.data[2000:])
    y, m = tr.target[2000:, k], man[2000:]
    assert pred[(y == 1) & m].mean() > pred[(y == 1) & ~m].mean()


def test_unconstrained_classifier_amplifies_the_skew():
    """Per-label logistic regressions predict male-skewed labels for men even
    more often than the training labels do (Zhao et al.'s amplification)."""
    tr = make_biased_multilabel(n_samples=6000, random_state=0)
    man = (tr.sensitive["gender"] == "man").to_numpy()
    Xtr, Xte, Ytr = tr.data[:4000], tr.data[4000:], tr.target[:4000]
    amplified = []
    for k in range(5):  # the five strongly male-skewed labels
        pred = LogisticRegression(max_iter=1000).fit(Xtr, Ytr[:, k]).predict(Xte)
        b_train = man[:4000][Ytr[:, k] == 1].mean()
        b_pred = man[4000:][pred == 1].mean()
        amplified.append(b_pred - b_train)
    assert np.mean(amplified) > 0.05, amplified


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"skew": [0.5, 0.5]}, "skew"),
        ({"label_frequency": [0.1] * 3}, "label_frequency"),
        ({"label_frequency": 0.9}, "incompatible"),
        ({"label_signal": (1.0, 2.0, 3.0)}, "label_signal"),
        ({"man_fraction": 1.0}, "man_fraction"),
        ({"n_samples": 1}, "n_samples"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_biased_multilabel(**{"n_samples": 50, **kwargs})
