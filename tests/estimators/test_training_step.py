"""The estimators' training step: ``mean(w * task loss) + lam * fairness term`` of a batch,
built from the estimator's hooks and the functions of skfair.losses."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.utils import to_tensor

from skfair.estimators import FairNetClassifier, FairNetMultiLabelClassifier, FairNetRegressor
from skfair.losses import (
    bias_amplification_loss,
    demographic_parity_loss,
    equalized_odds_loss,
    group_balanced_loss,
    group_mae_parity_loss,
)


def _batch(X, y, groups, w):
    """A training batch as the estimators' skorch net sees it."""
    Xd = {"X": X, "groups": groups.astype(np.int64), "sample_weight": w.astype(np.float32)}
    return {k: to_tensor(v, device="cpu") for k, v in Xd.items()}, torch.as_tensor(y)


def _step_loss(est, Xd, y_true):
    """The step's loss and the network's outputs on the batch."""
    with torch.no_grad():
        y_pred = est.net_.infer(Xd)
        return est.net_.get_loss(y_pred, y_true, X=Xd, training=True), y_pred[0]


def _classification_term(fairness, out, y, g, per_row, w):
    p = torch.softmax(out, 1)
    return {"dp_l2": lambda: demographic_parity_loss(p, g, "l2", n_groups=2),
            "eo_mi": lambda: equalized_odds_loss(p, y, g, "mi", n_groups=2),
            "group_balanced": lambda: group_balanced_loss(per_row, g, sample_weight=w)}[fairness]()


@pytest.mark.parametrize("fairness", ["dp_l2", "eo_mi", "group_balanced"])
def test_classifier_step_is_the_weighted_task_loss_plus_the_term(biased_data, fast, fairness):
    X, y, s = biased_data
    est = FairNetClassifier(fairness=fairness, lam=0.8, **{**fast, "max_epochs": 2})
    est.fit(X, y, sensitive_features=s)
    rng = np.random.RandomState(1)
    idx = rng.choice(len(y), 50, replace=False)
    w = rng.rand(50) + 0.5
    Xd, y_true = _batch(X[idx], y[idx].astype(np.int64), s[idx], w)
    loss, out = _step_loss(est, Xd, y_true)
    w, g = Xd["sample_weight"], Xd["groups"]
    per_row = F.cross_entropy(out, y_true, reduction="none")
    want = (w * per_row).mean() + 0.8 * _classification_term(fairness, out, y_true, g,
                                                              per_row, w)
    torch.testing.assert_close(loss, want)


def test_regressor_step_is_the_weighted_task_loss_plus_the_term(biased_data, fast):
    X, y, s = biased_data
    est = FairNetRegressor(loss="l1", fairness="mae_parity", lam=0.8,
                           **{**fast, "max_epochs": 2}).fit(X, y, sensitive_features=s)
    rng = np.random.RandomState(2)
    idx = rng.choice(len(y), 50, replace=False)
    y_net = ((y[idx] - est.y_mean_) / est.y_scale_).astype(np.float32)  # standardised
    Xd, y_true = _batch(X[idx], y_net, s[idx], rng.rand(50) + 0.5)
    loss, out = _step_loss(est, Xd, y_true)
    want = ((Xd["sample_weight"] * (out[:, 0] - y_true).abs()).mean()
            + 0.8 * group_mae_parity_loss(out, y_true, Xd["groups"], n_groups=2))
    torch.testing.assert_close(loss, want)


@pytest.mark.parametrize("indicator", ["straight_through", "soft"])
def test_multilabel_step_with_bias_amplification(fast, indicator):
    from skfair.datasets import make_biased_multilabel

    ds = make_biased_multilabel(n_samples=300, n_labels=4, random_state=0)
    X, Y = ds.data.astype(np.float32), ds.target
    g = (ds.sensitive["gender"].to_numpy() == "woman").astype(np.int64)  # sorted codes
    est = FairNetMultiLabelClassifier(fairness="bias_amplification", lam=0.8, threshold=0.3,
                                      indicator=indicator, **{**fast, "max_epochs": 2})
    est.fit(X, Y, sensitive_features=g)
    rng = np.random.RandomState(3)
    idx = rng.choice(len(Y), 64, replace=False)
    Xd, y_true = _batch(X[idx], Y[idx].astype(np.float32), g[idx], rng.rand(64) + 0.5)
    loss, out = _step_loss(est, Xd, y_true)
    task = F.binary_cross_entropy_with_logits(out, y_true, reduction="none").sum(1)
    p = torch.sigmoid(out)
    if indicator == "straight_through":  # the predicted labels at the threshold
        p = (p > 0.3).float()
    term = bias_amplification_loss(p, Xd["groups"], torch.as_tensor(est.b_train_), n_groups=2)
    torch.testing.assert_close(loss, (Xd["sample_weight"] * task).mean() + 0.8 * term)


class _FocalClassifier(FairNetClassifier):
    """A subclass with its own task loss (skorch-style hook)."""

    def get_task_loss(self, outputs, y_true):
        ce = F.cross_entropy(outputs, y_true.long(), reduction="none")
        return (1 - torch.exp(-ce)) ** 2 * ce


def test_a_subclass_task_loss_is_the_step_task_loss(biased_data, fast):
    X, y, s = biased_data
    est = _FocalClassifier(fairness="dp_l2", lam=0.0, **{**fast, "max_epochs": 1})
    est.fit(X, y, sensitive_features=s)
    Xd, y_true = _batch(X[:40], y[:40].astype(np.int64), s[:40], np.ones(40))
    loss, out = _step_loss(est, Xd, y_true)
    ce = F.cross_entropy(out, y_true, reduction="none")
    torch.testing.assert_close(loss, ((1 - torch.exp(-ce)) ** 2 * ce).mean())
    assert est.predict(X).shape == y.shape
