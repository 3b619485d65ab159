"""Stage 3 of the ChaLearn entry: experts (skorch networks) and combiner fine-tuned jointly."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor

from skfair.ensemble import ExpertEnsembleClassifier, ExpertEnsembleRegressor
from skfair.ensemble._joint import JointExpertModule, _combiner_from
from skfair.estimators import FairNetClassifier, FairNetRegressor
from skfair.weighting import ManualWeighting, SupportWeighting

N = 160


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4)).astype(np.float32)
    g = rng.choice(["F", "M"], size=N, p=[0.3, 0.7])
    y = 40 + 10 * X[:, 0] + 6 * (g == "F") + rng.normal(size=N)
    return X, y, g


def reg(seed=0):
    return FairNetRegressor(loss="l1", hidden_sizes=(8,), max_epochs=5, lr=0.01,
                            batch_size=64, device="cpu", random_state=seed)


def clf(seed=0):
    return FairNetClassifier(hidden_sizes=(8,), max_epochs=5, lr=0.01, batch_size=64,
                             device="cpu", random_state=seed)


def regressor_ensemble(**kw):
    return ExpertEnsembleRegressor(
        [("plain", reg(0), None), ("g", reg(1), SupportWeighting(smoothing=0))],
        cv=2, random_state=0, **kw)


def joint_outputs(ens, X):
    """The joint module rebuilt from the fitted ensemble (experts + written-back coef);
    regression outputs in target units (y_mean=0, y_scale=1)."""
    experts = list(ens.experts_)
    regression = not hasattr(ens, "classes_")
    n_in = sum(ens._n_feature_outs) + (X.shape[1] if ens.passthrough else 0)
    kw = dict(task="regression", scales=[float(e.y_scale_[0]) for e in experts],
              means=[float(e.y_mean_[0]) for e in experts]) if regression else dict(
        task="classification", n_classes=len(ens.classes_))
    module = JointExpertModule([e.net_.module_.body for e in experts],
                               _combiner_from(ens.final_estimator_, n_in, "cpu"),
                               passthrough=ens.passthrough, **kw).eval()
    with torch.no_grad():
        return module(torch.as_tensor(X))[0].numpy().astype(np.float64)


@pytest.mark.parametrize("passthrough", [False, True])
def test_regression_finetune_changes_experts_and_combiner_consistently(passthrough):
    X, y, g = data()
    before = regressor_ensemble(passthrough=passthrough).fit(X, y, sensitive_features=g)
    after = regressor_ensemble(
        passthrough=passthrough, joint_finetune=SupportWeighting(target="binned"),
        finetune_epochs=3, finetune_lr=1e-2,
    ).fit(X, y, sensitive_features=g)
    assert [h["epoch"] for h in after.finetune_history_] == [1, 2, 3]
    assert before.finetune_history_ is None
    # stage 2 is identical (same seeds); stage 3 moved both experts and combiner
    assert not np.allclose(before.final_estimator_.coef_, after.final_estimator_.coef_)
    for name in ("plain", "g"):
        assert not np.allclose(before.named_experts_[name].predict(X),
                               after.named_experts_[name].predict(X))
    # predict (experts' predict -> combiner) is exactly the jointly trained module
    np.testing.assert_allclose(joint_outputs(after, X)[:, 0], after.predict(X),
                               rtol=1e-5, atol=1e-3)


def test_first_epoch_loss_is_the_weighted_task_loss_by_hand():
    # with a vanishing learning rate the first epoch's loss is the weighted L1 of the
    # stacked model on the standardised target: mean_i w_i |pred_i - y_i| / std(y)
    X, y, g = data()
    table = {"sensitive_feature_0": {"F": 5.0, "M": 1.0}}
    ens = regressor_ensemble(joint_finetune=ManualWeighting(table), finetune_epochs=1,
                             finetune_lr=1e-12)
    stage2 = regressor_ensemble().fit(X, y, sensitive_features=g)
    ens.fit(X, y, sensitive_features=g)
    w = np.where(g == "F", 5.0, 1.0)
    w = w / w.mean()
    expected = np.mean(w * np.abs(stage2.predict(X) - y)) / y.std()
    assert ens.finetune_history_[0]["train_loss"] == pytest.approx(expected, rel=1e-4)
    unweighted = np.mean(np.abs(stage2.predict(X) - y)) / y.std()
    assert abs(expected - unweighted) > 1e-3  # the weights do change the loss


def test_sample_weight_multiplies_the_finetune_weights():
    X, y, g = data()
    sw = np.where(np.arange(N) < N // 2, 3.0, 1.0)
    stage2 = regressor_ensemble().fit(X, y, sensitive_features=g, sample_weight=sw)
    ens = regressor_ensemble(joint_finetune=True, finetune_epochs=1, finetune_lr=1e-12)
    ens.fit(X, y, sensitive_features=g, sample_weight=sw)
    expected = np.mean(sw / sw.mean() * np.abs(stage2.predict(X) - y)) / y.std()
    assert ens.finetune_history_[0]["train_loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_finetune(n_classes):
    X, y, g = data()
    labels = np.array(["a", "b", "c"])[np.digitize(y, np.quantile(y, [0.5, 0.8]))]
    if n_classes == 2:
        labels = np.where(labels == "a", "a", "b")
    ens = ExpertEnsembleClassifier(
        [("plain", clf(0), None), ("g", clf(1), SupportWeighting())], cv=2,
        joint_finetune=SupportWeighting(), finetune_epochs=2, finetune_lr=1e-2,
        random_state=0,
    ).fit(X, labels, sensitive_features=g)
    assert len(ens.finetune_history_) == 2
    logits = joint_outputs(ens, X)
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    np.testing.assert_allclose(proba, ens.predict_proba(X), atol=1e-4)
    assert set(ens.predict(X)) <= set(labels)


def test_finetune_is_deterministic_under_random_state():
    X, y, g = data()
    kw = dict(joint_finetune=True, finetune_epochs=2, finetune_lr=1e-2)
    a = regressor_ensemble(**kw).fit(X, y, sensitive_features=g).predict(X)
    b = regressor_ensemble(**kw).fit(X, y, sensitive_features=g).predict(X)
    np.testing.assert_allclose(a, b)


def test_finetune_needs_skorch_experts_and_a_linear_combiner():
    X, y, g = data()
    mixed = ExpertEnsembleRegressor([("net", reg(), None), ("ridge", Ridge(), None)],
                                    cv=2, joint_finetune=True)
    with pytest.raises(ValueError, match=r"skorch network.*\['ridge'\]"):
        mixed.fit(X, y)
    knn = regressor_ensemble(final_estimator=KNeighborsRegressor(3), joint_finetune=True)
    with pytest.raises(ValueError, match="linear final_estimator"):
        knn.fit(X, y, sensitive_features=g)


def test_finetune_uses_the_experts_adam(monkeypatch):
    # Adam with the fused kernel where torch has it (as the FairNet experts), else plain
    from skfair.estimators._base import _fused_adam_supported
    from skfair.estimators._net import FairNeuralNet

    seen = []
    original = FairNeuralNet.initialize_optimizer

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        seen.append((type(self.module_).__name__, type(self.optimizer_).__name__,
                     bool(self.optimizer_.defaults.get("fused"))))
        return out

    monkeypatch.setattr(FairNeuralNet, "initialize_optimizer", spy)
    X, y, g = data()
    regressor_ensemble(joint_finetune=True, finetune_epochs=1).fit(X, y, sensitive_features=g)
    joint = [s for s in seen if s[0] == "JointExpertModule"]
    assert joint == [("JointExpertModule", "Adam", _fused_adam_supported("cpu"))]
