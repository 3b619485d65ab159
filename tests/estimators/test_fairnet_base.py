"""FairNetBase: the subclass hooks, the data plumbing and the helpers."""

import warnings

import numpy as np
import pytest
import torch
from skorch.helper import SliceDict

from skfair.estimators import FairNetBase
from skfair.estimators._base import resolve_device
from skfair.estimators._net import FairModule, SliceDataset, collate_batch


class _Median(FairNetBase):
    """A minimal subclass: the documented hooks are all it needs."""

    _task = "regression"

    def _prepare_y(self, y):
        return np.asarray(y, dtype=np.float32).reshape(-1, 1), 1

    def get_task_loss(self, outputs, y_true):
        return (outputs - y_true).abs()[:, 0]

    def predict(self, X):
        return self._forward_outputs(X)[:, 0]


def test_a_subclass_needs_only_the_hooks(fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = 3 * X[:, 0]
    est = _Median(**{**fast, "max_epochs": 40}).fit(X, y)
    assert np.mean(np.abs(est.predict(X) - y)) < 0.5
    assert set(est.get_params()) >= {"lam", "fairness", "weighting", "module"}


def test_slice_dataset_fetches_aligned_batches():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    data = SliceDict(X=X, groups=np.array([0, 1, 0, 1, 0, 1]),
                     sample_weight=np.linspace(1, 2, 6).astype(np.float32))
    ds = SliceDataset(data, np.arange(6) * 10)
    Xb, yb = collate_batch(ds.__getitems__([4, 1]))
    torch.testing.assert_close(Xb["X"], torch.tensor([[8.0, 9.0], [2.0, 3.0]]))
    torch.testing.assert_close(Xb["groups"], torch.tensor([0, 1]))
    torch.testing.assert_close(yb, torch.tensor([40, 10]))
    # without targets (prediction) the loader still gets a placeholder of the right length
    _, y_none = collate_batch(SliceDataset(data, None).__getitems__([0, 1, 2]))
    assert y_none.shape == (3,)


def test_fair_module_output_forms():
    class Plain(torch.nn.Module):
        def forward(self, X):
            return X * 2

    class WithEmbedding(torch.nn.Module):
        def forward(self, X):
            return X * 2, X + 1

    x = torch.ones(2, 3)
    assert len(FairModule(Plain())(x)) == 1
    assert len(FairModule(WithEmbedding())(x)) == 1  # embedding dropped when not needed
    term = torch.nn.Module()
    term.needs_embedding = True
    out, emb = FairModule(WithEmbedding(), term)(x)
    torch.testing.assert_close(emb, x + 1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_resolve_device():
    assert resolve_device("auto") == "cpu"
    assert resolve_device(torch.device("cpu")) == "cpu"
    with pytest.raises(ValueError, match="device='cuda:1' was requested"):
        resolve_device("cuda:1")


def test_valid_split_falls_back_from_cells_to_classes_to_random(fast):
    from skfair.estimators import FairNetClassifier

    clf = FairNetClassifier(valid_split=0.5, **fast)
    groups = np.array([0] * 20 + [1])  # group 1 has a single row: cannot be stratified
    y = np.arange(21) % 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, valid = clf._train_valid_indices(y, groups, 0)  # stratified on the classes instead
    assert abs(np.sum(y[valid] == 1) - np.sum(y[valid] == 0)) <= 1
    # group 1's only row may land in the validation part: a warning says so
    unseen = ["fall entirely in the validation part" in str(w.message) for w in caught]
    assert unseen == ([True] if 20 in valid else [])
    y_single = np.array([0] * 20 + [1])  # and a class with a single row too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train, valid = clf._train_valid_indices(y_single, groups, 0)
    assert sorted(np.r_[train, valid]) == list(range(21))
    messages = [str(w.message) for w in caught]
    assert any("plain random split" in m for m in messages)
    assert any("fall entirely" in m for m in messages) == (20 in valid)


@pytest.mark.parametrize("max_grad_norm", [None, 1e-9])
def test_max_grad_norm_clips_every_step(fast, max_grad_norm):
    # with plain SGD (no momentum state bigger than the clipped gradients) the weights can
    # move by at most lr * (sum of momentum factors) * max_grad_norm over the whole fit
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = 5 * X[:, 0]
    kwargs = {**fast, "optimizer": "sgd", "lr": 0.1, "max_epochs": 3}
    est = _Median(**kwargs, max_grad_norm=max_grad_norm)
    est.fit(X, y)
    start = _Median(**{**kwargs, "max_epochs": 1, "lr": 1e-30}).fit(X, y)  # same init
    moved = max(float((a - b).detach().abs().max()) for a, b in zip(
        est.net_.module_.parameters(), start.net_.module_.parameters(), strict=True))
    callbacks = dict(est.net_.callbacks_)
    if max_grad_norm is None:
        assert "gradient_clipping" not in callbacks
        assert moved > 1e-2
    else:
        assert callbacks["gradient_clipping"].gradient_clip_value == max_grad_norm
        assert moved < 1e-6


@pytest.mark.parametrize("value", [0, -1.0, "big"])
def test_max_grad_norm_must_be_positive(fast, value):
    X = np.zeros((10, 2), dtype=np.float32)
    with pytest.raises((ValueError, TypeError), match="max_grad_norm"):
        _Median(**fast, max_grad_norm=value).fit(X, np.zeros(10))


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", torch.optim.Adam])
def test_named_adam_optimizers_use_the_fused_kernel_where_torch_has_one(fast, optimizer):
    from skfair.estimators._base import _fused_adam_supported

    X = np.random.RandomState(0).normal(size=(40, 2)).astype(np.float32)
    est = _Median(**{**fast, "max_epochs": 1}, optimizer=optimizer).fit(X, X[:, 0])
    fused = est.net_.optimizer_.defaults.get("fused")
    expected = optimizer in ("adam", "adamw") and _fused_adam_supported("cpu")
    assert bool(fused) is expected
    # the same update as the default implementation, to float rounding
    if expected:
        plain = _Median(**{**fast, "max_epochs": 1},
                        optimizer={"adam": torch.optim.Adam,
                                   "adamw": torch.optim.AdamW}[optimizer]).fit(X, X[:, 0])
        np.testing.assert_allclose(est.predict(X), plain.predict(X), rtol=1e-4, atol=1e-5)


def test_fused_adam_support_probe():
    from skfair.estimators._base import _fused_adam_supported

    assert _fused_adam_supported("cpu") is (
        tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4))


def test_affirmative_action_weighting_is_fitted_or_kept_fitted(fast):
    """weighting=AffirmativeActionWeighting(k=...) picks its subgroups at fit (against the
    estimator itself, without weighting, as the baseline); a fitted one keeps them."""
    from sklearn.linear_model import LogisticRegression

    from skfair.estimators import FairNetClassifier
    from skfair.weighting import AffirmativeActionWeighting

    rng = np.random.RandomState(0)
    n = 120
    s = rng.choice(["a", "b", "c"], size=n)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (X[:, 0] + (s == "c") * rng.normal(scale=3, size=n) > 0).astype(int)
    fitted = AffirmativeActionWeighting(k=1, boost=3, random_state=0).fit(
        X, y, sensitive_features=s, baseline=LogisticRegression())
    clf = FairNetClassifier(weighting=fitted, **fast).fit(X, y, sensitive_features=s)
    assert clf.weighting_.subgroups_ == fitted.subgroups_ and clf.weighting_ is not fitted
    unfitted = AffirmativeActionWeighting(k=1, boost=3, random_state=0)
    clf = FairNetClassifier(weighting=unfitted, fairness="dp_l2", **fast).fit(
        X, y, sensitive_features=s)
    assert len(clf.weighting_.subgroups_) == 1 and not hasattr(unfitted, "subgroups_")
    boosted = clf.weighting_.get_weights(s) == 3
    assert boosted.any() and (~boosted).any()


def test_negative_sample_weight_is_an_error():
    from skfair.estimators import FairNetClassifier

    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        FairNetClassifier(max_epochs=1).fit(X, y, sample_weight=np.r_[-1.0, np.ones(19)])


class _SpyWeighting:
    """A weighting that records (in the class, across clones) the rows it is fitted on
    and weighs."""

    fitted_on, weighed = [], []

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def _needs_fit(self):
        return True

    def fit(self, X, y, *, sensitive_features=None):
        self.fitted_on.append(np.asarray(y).copy())
        return self

    def get_weights(self, sensitive_features=None, y=None):
        self.weighed.append((np.asarray(y).copy(), np.asarray(sensitive_features).copy()))
        return np.where(np.asarray(sensitive_features) == 1, 3.0, 1.0)


def test_valid_split_rows_stay_out_of_the_weighting_and_the_class_weights(fast, monkeypatch):
    """The weighting is fitted and weighs on the training rows alone; the validation rows
    are weighed apart, each part normalised to mean 1 on its own."""
    from sklearn.utils.class_weight import compute_sample_weight

    import skfair.estimators._base as base
    from skfair.estimators import FairNetClassifier
    from skfair.estimators._base import _seed_from

    monkeypatch.setattr(_SpyWeighting, "fitted_on", [])
    monkeypatch.setattr(_SpyWeighting, "weighed", [])
    rng = np.random.RandomState(0)
    n = 80
    s = rng.randint(0, 2, size=n)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = rng.randint(0, 2, size=n)
    clf = FairNetClassifier(weighting=_SpyWeighting(), valid_split=0.25,
                            class_weight="balanced", **{**fast, "max_epochs": 1})
    train, valid = clf._train_valid_indices(y, s, _seed_from(0))
    seen = {}
    real = base.FairNeuralNet.fit

    def record(net, X, y=None, **kw):
        seen["train"] = np.asarray(X["sample_weight"]).copy()
        seen["valid"] = np.asarray(net.train_split.keywords["valid_ds"].X["sample_weight"])
        return real(net, X, y, **kw)

    monkeypatch.setattr(base.FairNeuralNet, "fit", record)
    clf.fit(X, y, sensitive_features=s)
    assert len(_SpyWeighting.fitted_on) == 1
    np.testing.assert_array_equal(_SpyWeighting.fitted_on[0], y[train])
    assert [len(w[0]) for w in _SpyWeighting.weighed] == [len(train), len(valid)]
    np.testing.assert_array_equal(_SpyWeighting.weighed[0][0], y[train])
    np.testing.assert_array_equal(_SpyWeighting.weighed[1][1], s[valid])
    for rows, w in ((train, seen["train"]), (valid, seen["valid"])):
        expected = np.where(s[rows] == 1, 3.0, 1.0) * compute_sample_weight("balanced", y[rows])
        np.testing.assert_allclose(w, expected * len(rows) / expected.sum(), rtol=1e-6)


def test_regressor_target_scaling_leaves_the_validation_rows_out(fast):
    from skfair.estimators import FairNetRegressor
    from skfair.estimators._base import _seed_from

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = 10 * X[:, 0] + 50
    reg = FairNetRegressor(valid_split=0.3, **{**fast, "max_epochs": 1}).fit(X, y)
    train, _ = reg._train_valid_indices(None, np.zeros(60, dtype=int), _seed_from(0))
    np.testing.assert_allclose(reg.y_mean_, [y[train].mean()], rtol=1e-6)
    np.testing.assert_allclose(reg.y_scale_, [y[train].std()], rtol=1e-6)
    assert not np.isclose(reg.y_mean_[0], y.mean())


def test_custom_module_embedding_probe_sees_scaled_images(fast):
    """The embedding size of a custom module is probed on a uint8 batch scaled to [0, 1]
    as in training (the raw uint8 batch failed in the first convolution)."""
    from skfair.estimators import FairNetClassifier

    class Net(torch.nn.Module):
        def __init__(self, n_outputs):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.head = torch.nn.Linear(4, n_outputs)

        def forward(self, X):
            z = self.conv(X).mean((2, 3))
            return self.head(z), z

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(40, 3, 8, 8)).astype(np.uint8)
    y, s = np.arange(40) % 2, (np.arange(40) // 2) % 2
    clf = FairNetClassifier(module=Net, fairness="adversarial", **{**fast, "max_epochs": 1})
    assert clf.fit(X, y, sensitive_features=s).predict(X).shape == (40,)


def test_a_column_name_as_sensitive_features_gets_a_clear_error(fast):
    import pandas as pd

    from skfair.estimators import AttributeAwareClassifier, FairNetClassifier
    from skfair.utils import SensitiveColumns

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"x0": rng.normal(size=40), "sex": rng.choice(["F", "M"], size=40)})
    y = rng.randint(0, 2, size=40)
    for spec in ("sex", SensitiveColumns("sex")):
        with pytest.raises(ValueError, match="names columns of X; FairNetClassifier takes"):
            FairNetClassifier(**fast).fit(X, y, sensitive_features=spec)
        with pytest.raises(ValueError, match="set sensitive_columns instead"):
            AttributeAwareClassifier(**fast).fit(X, y, sensitive_features=spec)
    # the values given, the string column left in X: named, not numpy's message
    with pytest.raises(ValueError, match=r"X has non-numeric column\(s\) \['sex'\]"):
        FairNetClassifier(**fast).fit(X, y, sensitive_features=X["sex"])
