"""The skorch estimators on a CUDA device.

Skipped without CUDA (this project's CI has none); run them on a GPU machine with
``python -m pytest tests/estimators/test_estimators_cuda.py``.
"""

import numpy as np
import pytest
import torch

from skfair.estimators import (
    AttributeAwareClassifier,
    FairNetClassifier,
    FairNetMultiLabelClassifier,
    FairNetRegressor,
)
from skfair.estimators._base import _fused_adam_supported
from skfair.transformers import Augmentation

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

KW = dict(hidden_sizes=(16,), max_epochs=5, lr=0.02, batch_size=64, random_state=0)


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    s = rng.randint(0, 2, size=n)
    y = rng.randint(0, 2, size=n)
    X = np.column_stack([(2 * y - 1) + rng.normal(size=n), s + 0.1 * rng.normal(size=n)])
    return X.astype(np.float32), y, s


@pytest.mark.parametrize("fairness", [None, "eo_l2", "dp_mi", "iou", "group_balanced",
                                      "adversarial", "adversarial_confusion"])
def test_classifier_trains_on_cuda_like_on_cpu(fairness):
    X, y, s = _data()
    preds = {}
    for device in ("cpu", "cuda"):
        clf = FairNetClassifier(**KW, fairness=fairness, lam=0.5, device=device,
                                batch_sampling="group_balanced", max_grad_norm=5.0)
        clf.fit(X, y, sensitive_features=s)
        assert next(clf.net_.module_.parameters()).device.type == device
        proba = clf.predict_proba(X)
        assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
        preds[device] = clf.predict(X)
    # the same seed, data and batches: the devices differ only by float rounding
    assert np.mean(preds["cpu"] == preds["cuda"]) > 0.95


def test_auto_device_is_cuda_and_uses_the_fused_optimizer():
    X, y, s = _data()
    clf = FairNetClassifier(**KW, fairness="eo_l2", device="auto").fit(X, y, sensitive_features=s)
    assert clf.device_.startswith("cuda")
    assert clf.net_.optimizer_.defaults.get("fused") is _fused_adam_supported(clf.device_)


def test_regressor_multilabel_and_attribute_aware_on_cuda():
    X, y, s = _data()
    reg = FairNetRegressor(**KW, fairness="mae_parity", loss="l1", device="cuda")
    assert np.isfinite(reg.fit(X, 30 + 10 * y, sensitive_features=s).predict(X)).all()
    Y = np.column_stack([y, 1 - y, (X[:, 0] > 0).astype(int)])
    ml = FairNetMultiLabelClassifier(**KW, fairness="bias_amplification", device="cuda")
    assert ml.fit(X, Y, sensitive_features=s).predict(X).shape == Y.shape
    aa = AttributeAwareClassifier(**KW, fairness="eo_l2", device="cuda")
    assert aa.fit(X, y, sensitive_features=s).predict(X, sensitive_features=s).shape == y.shape


def test_cnn_with_augmentation_on_cuda():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(64, 3, 16, 16)).astype(np.uint8)
    y = rng.randint(0, 2, size=64)
    s = rng.randint(0, 2, size=64)
    clf = FairNetClassifier(module="cnn", module_params=dict(channels=(8, 16)), max_epochs=2,
                            batch_size=32, fairness="eo_l2", device="cuda", random_state=0,
                            augmentation=Augmentation(random_state=0))
    clf.fit(images, y, sensitive_features=s)
    assert clf.predict(images).shape == y.shape


GRAPHS = {"mode": "reduce-overhead"}


@pytest.mark.parametrize("fairness, compile_", [
    ("eo_l2", True), ("bias_amplification", True), ("dp_l2", GRAPHS),
    ("bias_amplification", GRAPHS),
], ids=["eo_l2-inductor", "bias_amplification-inductor", "dp_l2-cuda_graphs",
        "bias_amplification-cuda_graphs"])
def test_compiled_step_on_cuda_matches_eager(fairness, compile_):
    # compile=True on CUDA: inductor with Triton kernels. mode="reduce-overhead": the step
    # replays CUDA graphs, whose outputs the next replay overwrites; nothing the estimator
    # or skorch keeps may point into them
    X, y, s = _data()
    make, target = FairNetClassifier, y
    if fairness == "bias_amplification":
        make, target = FairNetMultiLabelClassifier, np.column_stack([y, 1 - y, y ^ s])
    losses = {}
    for key, value in (("eager", False), ("compiled", compile_)):
        torch._dynamo.reset()
        est = make(**KW, fairness=fairness, lam=0.5, device="cuda", compile=value)
        est.fit(X, target, sensitive_features=s)
        losses[key] = est.net_.history[:, "train_loss"]
    np.testing.assert_allclose(losses["compiled"], losses["eager"], rtol=1e-3)
