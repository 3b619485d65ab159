"""The estimators' fused objective equals the one built from their hooks."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.utils import to_tensor

from skfair.estimators import FairNetClassifier, FairNetMultiLabelClassifier, FairNetRegressor


def _batch(X, y, groups, w):
    """A training batch as the estimators' skorch net sees it."""
    Xd = {"X": X, "groups": groups.astype(np.int64), "sample_weight": w.astype(np.float32)}
    return {k: to_tensor(v, device="cpu") for k, v in Xd.items()}, torch.as_tensor(y)


def _loss_and_grad(est, Xd, y_true):
    net = est.net_
    net.module_.zero_grad()
    y_pred = net.infer(Xd)
    loss = net.get_loss(y_pred, y_true, X=Xd, training=True)
    loss.backward()
    grads = [p.grad.clone() for p in net.module_.parameters() if p.grad is not None]
    return loss.detach(), grads


def _assert_fused_equals_hooks(est, Xd, y_true, monkeypatch):
    """The batch's loss and gradients on the fused path equal those from the hooks."""
    fused, g_fused = _loss_and_grad(est, Xd, y_true)
    monkeypatch.setattr(type(est), "_fused_task", lambda self: None)
    hooks, g_hooks = _loss_and_grad(est, Xd, y_true)
    torch.testing.assert_close(fused, hooks)
    assert len(g_fused) == len(g_hooks) > 0
    for a, b in zip(g_fused, g_hooks, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "make, fairness, task",
    [
        (FairNetClassifier, "dp_l2", "cross_entropy"),
        (FairNetClassifier, "eo_mi", "cross_entropy"),
        (FairNetClassifier, "iou", "cross_entropy"),
        (FairNetClassifier, "group_balanced", "cross_entropy"),
        (lambda **kw: FairNetRegressor(loss="l1", **kw), "mae_parity", "l1"),
        (lambda **kw: FairNetRegressor(loss="mse", **kw), "mean_parity", "mse"),
    ],
)
def test_fused_loss_equals_hook_loss(biased_data, fast, make, fairness, task, monkeypatch):
    X, y, s = biased_data
    fast["max_epochs"] = 2
    est = make(fairness=fairness, lam=0.8, **fast).fit(X, y, sensitive_features=s)
    assert est._fused_task() == task
    rng = np.random.RandomState(1)
    idx = rng.choice(len(y), 50, replace=False)
    if task == "cross_entropy":
        y_net = y[idx].astype(np.int64)
    else:  # the regressors train on the standardised target
        y_net = ((y[idx] - est.y_mean_) / est.y_scale_).astype(np.float32)
    Xd, y_true = _batch(X[idx], y_net, s[idx], rng.rand(50) + 0.5)
    _assert_fused_equals_hooks(est, Xd, y_true, monkeypatch)


class _FocalClassifier(FairNetClassifier):
    """A subclass with its own task loss: the fused path must not bypass it."""

    def get_task_loss(self, outputs, y_true):
        ce = F.cross_entropy(outputs, y_true.long(), reduction="none")
        return (1 - torch.exp(-ce)) ** 2 * ce


def test_overridden_hooks_disable_the_fused_path(biased_data, fast):
    X, y, s = biased_data
    assert FairNetClassifier(fairness="dp_l2")._fused_task() == "cross_entropy"
    assert _FocalClassifier(fairness="dp_l2")._fused_task() is None
    assert FairNetRegressor(loss="huber")._fused_task() is None
    fast["max_epochs"] = 1
    est = _FocalClassifier(fairness="dp_l2", lam=1.0, **fast).fit(X, y, sensitive_features=s)
    assert est.predict(X).shape == y.shape


@pytest.fixture(scope="module")
def multilabel_data():
    from skfair.datasets import make_biased_multilabel

    ds = make_biased_multilabel(n_samples=300, n_labels=4, random_state=0)
    return ds.data.astype(np.float32), ds.target, ds.sensitive["gender"].to_numpy()


@pytest.mark.parametrize(
    "fairness, params",
    [
        ("bias_amplification", {}),  # straight-through indicator (the default)
        ("bias_amplification", {"indicator": "soft"}),
        ("bias_amplification", {"fairness_params": {"kind": "joint"}, "threshold": 0.3}),
        ("group_balanced", {}),
    ],
)
def test_multilabel_fused_loss_equals_hook_loss(multilabel_data, fast, fairness, params,
                                                monkeypatch):
    X, Y, g = multilabel_data
    fast["max_epochs"] = 2
    est = FairNetMultiLabelClassifier(fairness=fairness, lam=0.8, **params, **fast)
    est.fit(X, Y, sensitive_features=g)
    assert est._fused_task() == "binary_cross_entropy"
    rng = np.random.RandomState(2)
    idx = rng.choice(len(Y), 64, replace=False)
    codes = (g[idx] == "woman").astype(np.int64)  # the estimator's sorted group codes
    Xd, y_true = _batch(X[idx], Y[idx].astype(np.float32), codes, rng.rand(64) + 0.5)
    _assert_fused_equals_hooks(est, Xd, y_true, monkeypatch)


def test_multilabel_fused_path_only_where_it_computes_the_same_loss(multilabel_data):
    from skfair.losses import BiasAmplificationLoss

    X, Y, g = multilabel_data
    make = FairNetMultiLabelClassifier
    assert make(fairness="bias_amplification")._fused_task() == "binary_cross_entropy"
    assert make(fairness="bias_amplification")._fused_task_kwargs() == {
        "straight_through_threshold": 0.5}
    assert make(fairness="bias_amplification", indicator="soft")._fused_task_kwargs() == {}
    assert make(fairness="group_balanced")._fused_task_kwargs() == {}
    # descriptive samples, a subset of the labels, or a loss on probabilities: the hooks
    assert make(fairness="bias_amplification", expectation="descriptive")._fused_task() is None
    est = make(fairness="bias_amplification", aligned_labels=[0, 2])
    est.n_outputs_ = 4
    assert est._fused_task() is None
    assert est.set_params(aligned_labels=[0, 1, 2, 3])._fused_task() == "binary_cross_entropy"
    assert make(fairness=BiasAmplificationLoss(from_logits=False))._fused_task() is None
    assert make(fairness="bias_amplification",
                fairness_params={"from_logits": False})._fused_task() is None

    class Custom(FairNetMultiLabelClassifier):
        def get_fairness_term(self, *args, **kwargs):
            return super().get_fairness_term(*args, **kwargs)

    assert Custom(fairness="bias_amplification")._fused_task() is None
