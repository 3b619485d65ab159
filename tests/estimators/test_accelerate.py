"""``accelerator=``: training through Hugging Face Accelerate (skorch's AccelerateMixin).

On a CPU (``Accelerator(cpu=True)``) the accelerator is a single process, so a fit
through it must equal the plain fit; several GPUs come from ``accelerate launch``.
"""

import pickle

import numpy as np
import pytest

accelerate = pytest.importorskip("accelerate")

from accelerate.optimizer import AcceleratedOptimizer  # noqa: E402

from skfair.estimators import FairNetClassifier, FairNetRegressor  # noqa: E402
from skfair.estimators._net import AcceleratedFairNeuralNet  # noqa: E402


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


def test_fit_through_the_accelerator_equals_the_plain_fit(biased_data, fast, accelerator):
    X, y, s = biased_data
    fast = {**fast, "max_epochs": 4}
    fast.pop("device")
    plain = FairNetClassifier(fairness="eo_l2", lam=1.0, device="cpu", **fast).fit(
        X, y, sensitive_features=s)
    accel = FairNetClassifier(fairness="eo_l2", lam=1.0, accelerator=accelerator, **fast).fit(
        X, y, sensitive_features=s)
    # the mixin's contract: skorch's AccelerateMixin prepared the optimizer and trained
    assert isinstance(accel.net_, AcceleratedFairNeuralNet)
    assert isinstance(accel.net_.optimizer_, AcceleratedOptimizer)
    assert accel.device_ == "cpu"
    np.testing.assert_allclose(accel.net_.history[:, "train_loss"],
                               plain.net_.history[:, "train_loss"], rtol=1e-6)
    np.testing.assert_allclose(accel.predict_proba(X), plain.predict_proba(X), atol=1e-6)
    again = pickle.loads(pickle.dumps(accel))
    np.testing.assert_array_equal(again.predict(X), accel.predict(X))


def test_group_balanced_batches_and_validation_split(biased_data, fast, accelerator):
    X, y, s = biased_data
    fast = {**fast, "max_epochs": 3}
    fast.pop("device")
    target = 30 + 10 * y + X[:, 0]
    kwargs = dict(fairness="mae_parity", lam=0.5, batch_sampling="group_balanced",
                  valid_split=0.2, **fast)
    plain = FairNetRegressor(device="cpu", **kwargs).fit(X, target, sensitive_features=s)
    accel = FairNetRegressor(accelerator=accelerator, **kwargs).fit(
        X, target, sensitive_features=s)
    np.testing.assert_allclose(accel.net_.history[:, "valid_loss"],
                               plain.net_.history[:, "valid_loss"], rtol=1e-6)


def test_accelerator_excludes_compile_and_an_explicit_device(biased_data, fast, accelerator):
    X, y, s = biased_data
    with pytest.raises(ValueError, match="compile and accelerator cannot be combined"):
        FairNetClassifier(**{**fast, "device": "auto"}, compile=True,
                          accelerator=accelerator).fit(X, y)
    with pytest.raises(ValueError, match="leave device='auto'"):
        FairNetClassifier(**fast, accelerator=accelerator).fit(X, y)
