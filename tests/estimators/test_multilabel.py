"""FairNetMultiLabelClassifier: targets, b_train, the auxiliary loss, descriptive samples."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skfair.datasets import make_biased_multilabel
from skfair.estimators import FairNetMultiLabelClassifier
from skfair.estimators._base import _seed_from
from skfair.generative import DescriptiveModel
from skfair.losses import bias_amplification_loss
from skfair.metrics import bias_amplification

TINY = dict(hidden_sizes=(16,), max_epochs=4, lr=0.01, batch_size=64, device="cpu",
            random_state=0)
TINY_EBM = dict(hidden_sizes=(16,), max_iter=30, n_steps=5, sample_steps=20, random_state=0)


@pytest.fixture(scope="module")
def small():
    ds = make_biased_multilabel(n_samples=300, n_labels=4, random_state=0)
    return ds.data.astype(np.float32), ds.target, ds.sensitive["gender"].to_numpy()


def test_fit_predict_shapes_and_attributes(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(**TINY).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 4) and np.all((proba > 0) & (proba < 1))
    pred = clf.predict(X)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    np.testing.assert_array_equal(clf.set_params(threshold=0.3).predict(X), proba > 0.3)
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    assert clf.n_outputs_ == 4 and clf.b_train_ is None
    assert clf.descriptive_model_ is None and clf.descriptive_samples_ is None
    assert 0 <= clf.score(X, Y) <= 1  # subset accuracy


@pytest.mark.parametrize("kind", ["ratio", "joint"])
def test_b_train_is_the_training_cooccurrence(small, kind):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(
        fairness="bias_amplification", fairness_params={"kind": kind}, **TINY
    ).fit(X, Y, sensitive_features=g)
    man, woman = g == "man", g == "woman"
    counts = np.column_stack([Y[man].sum(0), Y[woman].sum(0)]).astype(float)
    expected = counts / counts.sum(1, keepdims=True) if kind == "ratio" else counts / len(Y)
    np.testing.assert_allclose(clf.b_train_, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(300, dtype=int), "Only binary classification"),
        (np.full((300, 2), 2), "Only binary classification"),
        (np.random.default_rng(0).normal(size=(300, 2)), "Unknown label type"),
    ],
)
def test_bad_targets(small, y, match):
    X, _, _ = small
    with pytest.raises(ValueError, match=match):
        FairNetMultiLabelClassifier(**TINY).fit(X, y)


def test_fairness_needs_sensitive_features_and_descriptive_two_groups(small):
    X, Y, g = small
    with pytest.raises(ValueError, match="sensitive_features"):
        FairNetMultiLabelClassifier(fairness="bias_amplification", **TINY).fit(X, Y)
    with pytest.raises(ValueError, match="2 sensitive groups"):
        FairNetMultiLabelClassifier(
            fairness="bias_amplification", expectation="descriptive", **TINY
        ).fit(X, Y, sensitive_features=np.zeros(len(X)))


def test_straight_through_indicator_is_hard_forward_sigmoid_backward():
    clf = FairNetMultiLabelClassifier(threshold=0.5)
    logits = torch.tensor([[-2.0, 0.3], [1.5, -0.1]], requires_grad=True)
    ind = clf._indicator(logits)
    np.testing.assert_array_equal(ind.detach().numpy(), [[0, 1], [1, 0]])
    ind.sum().backward()
    s = torch.sigmoid(logits.detach())
    torch.testing.assert_close(logits.grad, s * (1 - s))
    soft = clf.set_params(indicator="soft")._indicator(logits.detach())
    torch.testing.assert_close(soft, s)
    # the hard cut follows threshold: p > 0.6 <=> logit > log(0.6 / 0.4)
    hard = clf.set_params(indicator="straight_through", threshold=0.6)._indicator(logits)
    np.testing.assert_array_equal(hard.detach().numpy(), [[0, 0], [1, 0]])


def test_batch_term_is_the_loss_of_thresholded_predictions(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(fairness="bias_amplification", **TINY)
    clf.fit(X, Y, sensitive_features=g)
    term = clf.net_.module_.fairness
    outputs = torch.tensor([[1.0, -1.0, 0.5, -0.5], [2.0, 1.0, -3.0, 0.2],
                            [-1.0, 0.4, 0.1, 1.0], [0.3, -2.0, 2.0, -1.0]], requires_grad=True)
    groups = torch.tensor([0, 0, 1, 1])
    value = clf.get_fairness_term(outputs, None, groups, term=term)
    hard = (outputs.detach() > 0).float()
    expected = bias_amplification_loss(hard, groups, torch.as_tensor(clf.b_train_))
    torch.testing.assert_close(value, expected.to(value.dtype))
    value.backward()
    assert outputs.grad.abs().sum() > 0
    # aligned_labels restricts the loss to the chosen columns
    clf.set_params(aligned_labels=[0, 2])
    only = clf.get_fairness_term(outputs, None, groups, term=term)
    expected = bias_amplification_loss(hard[:, [0, 2]], groups,
                                       torch.as_tensor(clf.b_train_[[0, 2]]))
    torch.testing.assert_close(only, expected.to(only.dtype))
    mask = clf.set_params(aligned_labels=np.array([True, False, True, False]))
    torch.testing.assert_close(mask.get_fairness_term(outputs, None, groups, term=term), only)


@pytest.mark.parametrize("aligned", [[], [4], np.array([True, False]), [[0, 1]]])
def test_bad_aligned_labels(small, aligned):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(fairness="bias_amplification", aligned_labels=aligned,
                                      **TINY)
    with pytest.raises(ValueError, match="aligned_labels"):
        clf.fit(X, Y, sensitive_features=g)


def test_auxiliary_loss_reduces_bias_amplification():
    """On held-out data the auxiliary model amplifies the gender skew (Zhao et
    al.) less than half as much as the baseline, at a small accuracy cost."""
    ds = make_biased_multilabel(n_samples=3000, random_state=0)
    X, Y = ds.data.astype(np.float32), ds.target
    g = ds.sensitive["gender"].to_numpy()
    tr, te = slice(0, 2000), slice(2000, None)
    kw = dict(hidden_sizes=(32,), max_epochs=20, lr=3e-3, batch_size=64, device="cpu",
              random_state=0)
    base = FairNetMultiLabelClassifier(**kw).fit(X[tr], Y[tr])
    aux = FairNetMultiLabelClassifier(fairness="bias_amplification", lam=1.0, **kw)
    aux.fit(X[tr], Y[tr], sensitive_features=g[tr])
    amp_base = bias_amplification(Y[tr], g[tr], base.predict(X[te]), g[te])
    amp_aux = bias_amplification(Y[tr], g[tr], aux.predict(X[te]), g[te])
    acc_base = (base.predict(X[te]) == Y[te]).mean()
    acc_aux = (aux.predict(X[te]) == Y[te]).mean()
    assert amp_base > 0.03, amp_base
    assert amp_aux < 0.5 * amp_base, (amp_base, amp_aux)
    assert acc_aux > acc_base - 0.02, (acc_base, acc_aux)


def test_descriptive_offline_pool_and_reweighting(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(
        fairness="bias_amplification", expectation="descriptive", n_descriptive_samples=200,
        descriptive_model=DescriptiveModel(**TINY_EBM), **TINY,
    ).fit(X, Y, sensitive_features=g)
    assert clf.descriptive_model_.n_iter_ == 30
    assert clf.descriptive_samples_.shape == (200, X.shape[1])
    assert clf.descriptive_samples_.dtype == np.float32
    soft, w = clf.descriptive_groups_, clf.descriptive_weights_
    np.testing.assert_allclose(soft.sum(1), 1.0, rtol=1e-5)
    assert np.all(w > 0)
    # importance weights make the pool's group shares equal the training set's
    share = (w[:, None] * soft).mean(0)
    np.testing.assert_allclose(share, [np.mean(g == "man"), np.mean(g == "woman")], atol=1e-5)
    # by hand: w_g = P_train(g) / mean_i p_ig, r_i = sum_g p_ig w_g, s_ig = p_ig w_g / r_i
    p = clf.group_estimator_.predict_proba(clf.descriptive_samples_.astype(np.float64))
    w_g = np.array([np.mean(g == "man"), np.mean(g == "woman")]) / p.mean(0)
    r = (p * w_g).sum(1)
    np.testing.assert_allclose(w, r, atol=1e-4)
    np.testing.assert_allclose(soft, p * w_g / r[:, None], atol=1e-4)
    # deterministic under random_state
    again = clone(clf).fit(X, Y, sensitive_features=g)
    np.testing.assert_array_equal(again.descriptive_samples_, clf.descriptive_samples_)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    # without reweighting: plain average, unit weights
    plain = clone(clf).set_params(descriptive_reweight=False).fit(X, Y, sensitive_features=g)
    np.testing.assert_array_equal(plain.descriptive_weights_, 1.0)


def test_descriptive_online_is_deterministic_and_changes_training(small):
    X, Y, g = small
    kw = dict(fairness="bias_amplification", expectation="descriptive",
              descriptive_sampling="online", n_descriptive_samples=64, descriptive_steps=5,
              descriptive_model=DescriptiveModel(**TINY_EBM), **TINY)
    a = FairNetMultiLabelClassifier(**kw).fit(X, Y, sensitive_features=g)
    b = FairNetMultiLabelClassifier(**kw).fit(X, Y, sensitive_features=g)
    assert a.descriptive_samples_ is None and a.descriptive_model_ is not None
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    offline = FairNetMultiLabelClassifier(**{**kw, "descriptive_sampling": "offline"})
    offline.fit(X, Y, sensitive_features=g)
    assert not np.allclose(a.predict_proba(X), offline.predict_proba(X))
    assert np.all(np.isfinite(a.net_.history[:, "train_loss"]))


def test_other_fairness_losses(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(fairness="group_balanced", **TINY)
    assert clf.fit(X, Y, sensitive_features=g).predict(X).shape == Y.shape
    assert clf.b_train_ is None


def test_valid_split_with_bias_amplification(small):
    X, Y, g = small
    split = FairNetMultiLabelClassifier(fairness="bias_amplification", valid_split=0.2, **TINY)
    split.fit(X, Y, sensitive_features=g)
    assert np.all(np.isfinite(split.net_.history[:, "valid_loss"]))


class _CountingDescriptive(DescriptiveModel):
    """Records the rows it is fitted on."""

    def fit(self, X, y=None):
        self.n_rows_seen_ = len(X)
        return super().fit(X, y)


class _CountingGroupClassifier(LogisticRegression):
    """Records the rows and group codes it is fitted on."""

    def fit(self, X, y, sample_weight=None):
        self.codes_seen_ = np.asarray(y).copy()
        return super().fit(X, y, sample_weight=sample_weight)


def test_descriptive_helpers_never_see_the_validation_rows(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(
        fairness="bias_amplification", expectation="descriptive", n_descriptive_samples=50,
        descriptive_model=_CountingDescriptive(**TINY_EBM),
        group_estimator=_CountingGroupClassifier(), valid_split=0.2, **TINY,
    ).fit(X, Y, sensitive_features=g)
    n_train = len(X) - int(np.ceil(0.2 * len(X)))
    assert clf.descriptive_model_.n_rows_seen_ == n_train
    # the group classifier sees the training rows' codes, in their order
    tr, _ = clf._train_valid_indices(clf._prepare_y(Y)[0], clf._encode_groups(g, len(g)),
                                     _seed_from(0))
    codes = (g == "woman").astype(int)  # groups are coded in sorted order
    np.testing.assert_array_equal(clf.group_estimator_.codes_seen_, codes[tr])


def test_pickle_and_no_transient_state(small):
    X, Y, g = small
    clf = FairNetMultiLabelClassifier(
        fairness="bias_amplification", expectation="descriptive", n_descriptive_samples=50,
        descriptive_model=DescriptiveModel(**TINY_EBM), **TINY,
    ).fit(X, Y, sensitive_features=g)
    leftovers = [k for k in vars(clf) if k.startswith("_fit") or k.endswith("_cache")]
    assert leftovers == []
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_sparse_indicator_targets_fit_as_the_dense_ones(small):
    import scipy.sparse as sp

    X, Y, _ = small
    dense = FairNetMultiLabelClassifier(**TINY).fit(X, Y)
    sparse = FairNetMultiLabelClassifier(**TINY).fit(X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))


def test_descriptive_pool_is_in_the_units_the_network_trains_on(small):
    """uint8 inputs are scaled to [0, 1] by the network's forward pass; the descriptive
    model, its group classifier and its pool must be too (they were in 0-255 units,
    which saturated the network on the pool)."""
    X, Y, g = small
    lo, hi = X.min(0), X.max(0)
    # as (1, 4, 8) images: uint8 images stay uint8 until the forward pass
    X8 = np.round(255 * (X - lo) / (hi - lo)).astype(np.uint8).reshape(-1, 1, 4, 8)
    kw = dict(fairness="bias_amplification", expectation="descriptive",
              n_descriptive_samples=50, descriptive_model=DescriptiveModel(**TINY_EBM), **TINY)
    raw = FairNetMultiLabelClassifier(**kw).fit(X8, Y, sensitive_features=g)
    scaled = FairNetMultiLabelClassifier(**kw).fit(X8.astype(np.float32) / 255, Y,
                                                   sensitive_features=g)
    np.testing.assert_allclose(raw.descriptive_samples_, scaled.descriptive_samples_,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(raw.predict_proba(X8), scaled.predict_proba(X8 / 255),
                               rtol=1e-4, atol=1e-6)
