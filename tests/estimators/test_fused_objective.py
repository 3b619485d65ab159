"""The estimators' fused objective equals the one built from their hooks."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.utils import to_tensor

from skfair.estimators import FairNetClassifier, FairNetRegressor


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
    fused, g_fused = _loss_and_grad(est, Xd, y_true)
    monkeypatch.setattr(type(est), "_fused_task", lambda self: None)
    hooks, g_hooks = _loss_and_grad(est, Xd, y_true)
    torch.testing.assert_close(fused, hooks)
    assert len(g_fused) == len(g_hooks) > 0
    for a, b in zip(g_fused, g_hooks, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


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
