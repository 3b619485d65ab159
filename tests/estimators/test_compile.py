"""``compile=``: the training step's forward pass and loss compiled by ``torch.compile``."""

import pickle

import numpy as np
import pytest
import torch

from skfair.datasets import make_biased_multilabel
from skfair.estimators import (
    FairNetClassifier,
    FairNetMultiLabelClassifier,
    FairNetRegressor,
)
from skfair.estimators._net import _clone_outputs, _uses_cuda_graphs

AOT = {"backend": "aot_eager"}  # dynamo + AOTAutograd, no C++ compiler needed


def _fit_pair(make, X, y, s, **kwargs):
    eager = make(compile=False, **kwargs).fit(X, y, sensitive_features=s)
    torch._dynamo.reset()
    compiled = make(compile=AOT, **kwargs).fit(X, y, sensitive_features=s)
    return eager, compiled


@pytest.mark.parametrize("fairness", ["eo_l2", "dp_mi", "iou", "group_balanced",
                                      "adversarial", "adversarial_confusion"])
def test_compiled_training_matches_eager(biased_data, fast, fairness):
    X, y, s = biased_data
    fast["max_epochs"] = 3
    eager, compiled = _fit_pair(FairNetClassifier, X, y, s, fairness=fairness, lam=0.8,
                                **fast)
    # the same objective in plain autograd operations: equal to rounding
    np.testing.assert_allclose(compiled.net_.history[:, "train_loss"],
                               eager.net_.history[:, "train_loss"], rtol=1e-4)
    np.testing.assert_allclose(compiled.predict_proba(X), eager.predict_proba(X), atol=1e-4)
    assert compiled.net_.step_compile == AOT and eager.net_.step_compile is None


def test_compiled_regressor_and_straight_through_multilabel(biased_data, fast):
    X, y, s = biased_data
    fast["max_epochs"] = 3
    y_reg = 30 + 10 * y + X[:, 0]
    eager, compiled = _fit_pair(FairNetRegressor, X, y_reg, s, loss="l1",
                                fairness="mae_parity", lam=0.5, **fast)
    np.testing.assert_allclose(compiled.predict(X), eager.predict(X), rtol=1e-4, atol=1e-3)
    ds = make_biased_multilabel(n_samples=300, n_labels=4, random_state=0)
    Xm, Ym, g = ds.data.astype(np.float32), ds.target, ds.sensitive["gender"].to_numpy()
    eager, compiled = _fit_pair(FairNetMultiLabelClassifier, Xm, Ym, g,
                                fairness="bias_amplification", lam=1.0, **fast)
    np.testing.assert_allclose(compiled.net_.history[:, "train_loss"],
                               eager.net_.history[:, "train_loss"], rtol=1e-4)
    np.testing.assert_allclose(compiled.predict_proba(Xm), eager.predict_proba(Xm), atol=1e-4)


def test_compiled_estimator_pickles_and_refits(biased_data, fast):
    X, y, s = biased_data
    fast["max_epochs"] = 1
    torch._dynamo.reset()
    clf = FairNetClassifier(fairness="eo_l2", compile=AOT, **fast).fit(
        X, y, sensitive_features=s)
    assert "_compiled_forward_loss" in clf.net_.__dict__
    clone = pickle.loads(pickle.dumps(clf))  # the compiled function is not pickled
    assert "_compiled_forward_loss" not in clone.net_.__dict__
    np.testing.assert_array_equal(clone.predict(X), clf.predict(X))
    assert clf.get_params()["compile"] == AOT


@pytest.mark.parametrize("value", ["yes", 1.5, ["backend"]])
def test_compile_must_be_a_bool_or_a_dict(biased_data, fast, value):
    X, y, s = biased_data
    with pytest.raises(ValueError, match="'compile' parameter"):
        FairNetClassifier(compile=value, **fast).fit(X, y)


def _inductor_works():
    try:
        torch._dynamo.reset()
        fn = torch.compile(lambda t: (t * 2).sum())
        return float(fn(torch.ones(3))) == 6.0
    except Exception:  # no C++ compiler, or a broken toolchain
        return False


def test_default_backend_compiles_the_step(biased_data, fast):
    if not _inductor_works():
        pytest.skip("torch.compile's default backend (inductor) does not work here")
    X, y, s = biased_data
    fast["max_epochs"] = 2
    eager = FairNetClassifier(fairness="eo_l2", lam=0.8, **fast).fit(
        X, y, sensitive_features=s)
    torch._dynamo.reset()
    compiled = FairNetClassifier(fairness="eo_l2", lam=0.8, compile=True, **fast).fit(
        X, y, sensitive_features=s)
    assert compiled.net_.step_compile == {}
    np.testing.assert_allclose(compiled.net_.history[:, "train_loss"],
                               eager.net_.history[:, "train_loss"], rtol=1e-3)
    assert np.mean(compiled.predict(X) == eager.predict(X)) > 0.98


@pytest.mark.parametrize("sampling", ["offline", "online"])
def test_compiled_step_with_descriptive_samples(sampling):
    # the sampler (numpy, scikit-learn, Langevin) stays outside the compiled region
    from skfair.generative import DescriptiveModel

    ds = make_biased_multilabel(n_samples=300, n_labels=4, random_state=0)
    X, Y, g = ds.data.astype(np.float32), ds.target, ds.sensitive["gender"].to_numpy()
    kwargs = dict(
        fairness="bias_amplification", expectation="descriptive",
        descriptive_sampling=sampling, n_descriptive_samples=64,
        descriptive_model=DescriptiveModel(hidden_sizes=(16,), max_iter=30, n_steps=5,
                                           sample_steps=20, random_state=0),
        hidden_sizes=(16,), max_epochs=3, lr=0.01, batch_size=64, device="cpu",
        random_state=0)
    eager, compiled = _fit_pair(FairNetMultiLabelClassifier, X, Y, g, **kwargs)
    np.testing.assert_allclose(compiled.net_.history[:, "train_loss"],
                               eager.net_.history[:, "train_loss"], rtol=1e-5)


def test_compile_dict_must_hold_torch_compile_arguments(biased_data, fast):
    X, y, s = biased_data
    with pytest.raises(ValueError, match="keyword arguments of torch.compile"):
        FairNetClassifier(compile={"fast": True}, **fast).fit(X, y)


@pytest.mark.parametrize("kwargs, graphs", [
    ({}, False),
    ({"mode": "default"}, False),
    ({"mode": "reduce-overhead"}, True),
    ({"mode": "max-autotune"}, True),
    ({"mode": "max-autotune-no-cudagraphs"}, False),
    ({"mode": "max-autotune", "options": None}, True),
    ({"options": {"triton.cudagraphs": True}}, True),
    ({"options": {"triton.cudagraphs": False, "max_autotune": True}}, False),
])
def test_which_compile_arguments_replay_cuda_graphs(kwargs, graphs):
    # with CUDA graphs, the step marks each iteration and copies the predictions skorch
    # hands to callbacks (the next replay overwrites them): tests/estimators/
    # test_estimators_cuda.py::test_compiled_step_on_cuda_matches_eager, on a GPU
    assert _uses_cuda_graphs(kwargs) is graphs


def test_cloned_outputs_are_detached_copies():
    t = torch.ones(2, requires_grad=True) * 2
    out = _clone_outputs((t, [t], "x"))
    assert isinstance(out, tuple) and isinstance(out[1], list) and out[2] == "x"
    assert not out[0].requires_grad and out[0].data_ptr() != t.data_ptr()
    torch.testing.assert_close(out[1][0], t.detach())
