"""PixelInverter: values, probability, train-only vs always, Pipeline semantics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skfair.transformers import PixelInverter


class Recorder(BaseEstimator):
    """Remembers what reached fit and predict."""

    def fit(self, X, y=None):
        self.seen_fit_ = X.copy()
        return self

    def predict(self, X):
        self.seen_predict_ = X.copy()
        return np.zeros(len(X))

    def score(self, X, y=None):
        self.predict(X)
        return 0.0


def test_hand_values_uint8_and_float():
    u8 = np.array([[[0, 1], [128, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(
        PixelInverter().fit_transform(u8), np.array([[[255, 254], [127, 0]]], np.uint8)
    )
    f32 = np.array([[0.0, 0.25, 1.0]], dtype=np.float32)
    out = PixelInverter().fit_transform(f32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[1.0, 0.75, 0.0]], np.float32))
    assert PixelInverter().fit_transform(f32.astype(np.float64)).dtype == np.float64


def test_input_not_modified():
    X = np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3)
    before = X.copy()
    PixelInverter().fit(X).transform(X)
    np.testing.assert_array_equal(X, before)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 4), st.integers(1, 4))),
    st.floats(0, 1),
    st.integers(0, 2**31 - 1),
)
def test_each_image_is_kept_or_inverted(X, p, seed):
    out = PixelInverter(p=p, random_state=seed).fit_transform(X)
    inverted = 255 - X
    for original, new, inv in zip(X, out, inverted, strict=True):
        assert np.array_equal(new, original) or np.array_equal(new, inv)
    twice = PixelInverter().fit_transform(PixelInverter().fit_transform(X))
    np.testing.assert_array_equal(twice, X)


def test_probability_draws_per_image():
    n = 2000
    X = np.zeros((n, 2, 2), dtype=np.float32)
    out = PixelInverter(p=0.5, random_state=7).fit_transform(X)
    flipped = out[:, 0, 0] == 1.0
    expected = np.random.RandomState(7).random_sample(n) < 0.5  # the documented draw
    np.testing.assert_array_equal(flipped, expected)
    assert 0.45 < flipped.mean() < 0.55
    assert not PixelInverter(p=0.0).fit_transform(X).any()
    assert PixelInverter(p=1.0).fit_transform(X).all()


def test_apply_on_fit_is_train_time_only():
    X = np.full((4, 3, 3), 10, dtype=np.uint8)
    inv = PixelInverter(apply_on="fit")
    np.testing.assert_array_equal(inv.fit_transform(X), 255 - X)
    np.testing.assert_array_equal(inv.transform(X), X)


@pytest.mark.parametrize("apply_on, predict_inverted", [("always", True), ("fit", False)])
def test_pipeline_semantics(apply_on, predict_inverted):
    X = np.full((6, 2, 2), 0.2, dtype=np.float32)
    pipe = make_pipeline(PixelInverter(apply_on=apply_on), Recorder()).fit(X)
    rec = pipe[-1]
    np.testing.assert_allclose(rec.seen_fit_, 0.8)  # training images inverted in both setups
    pipe.predict(X)
    np.testing.assert_allclose(rec.seen_predict_, 0.8 if predict_inverted else 0.2)


def test_grid_search_over_p():
    X = np.random.default_rng(0).random((12, 2, 2)).astype(np.float32)
    pipe = make_pipeline(PixelInverter(random_state=0), Recorder())
    search = GridSearchCV(pipe, {"pixelinverter__p": [0.0, 0.5, 1.0]}, cv=2).fit(X)
    assert search.best_estimator_[0].p in (0.0, 0.5, 1.0)
    assert clone(PixelInverter(p=0.3)).p == 0.3


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PixelInverter().fit(np.full((2, 3), 255.0))
    with pytest.raises(TypeError, match="uint8"):
        PixelInverter().fit(np.zeros((2, 3), dtype=np.int16))
    with pytest.raises(TypeError, match="read_images"):
        PixelInverter().fit(["a.jpg", "b.jpg"])
    with pytest.raises(ValueError, match="NaN|infinity"):
        PixelInverter().fit(np.array([[np.nan, 0.5]]))
    with pytest.raises(ValueError, match="p"):
        PixelInverter(p=1.5).fit(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="apply_on"):
        PixelInverter(apply_on="test").fit(np.zeros((2, 3)))
    fitted = PixelInverter().fit(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((2, 4, 3), np.uint8))


def test_contract_on_image_data(tmp_path):
    """What scikit-learn's checks would verify, on data that are images
    (the generic checks feed values outside [0, 1], which are rejected)."""
    import pickle

    import joblib

    rng = np.random.default_rng(0)
    X = rng.random((10, 3, 4, 4)).astype(np.float32)
    inv = PixelInverter(p=0.5, random_state=0)
    assert not any(k.endswith("_") for k in vars(inv))
    assert inv.fit(X) is inv and inv.n_features_in_ == 3
    once = inv.transform(X)
    np.testing.assert_array_equal(inv.fit(X).transform(X), once)  # idempotent fit
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(inv)).transform(X), once)
    path = tmp_path / "x.npy"
    np.save(path, X)
    readonly = np.load(path, mmap_mode="r")  # read-only memmap input
    np.testing.assert_array_equal(inv.transform(readonly), once)
    always = PixelInverter().fit(X)
    order = rng.permutation(10)  # p=1: order and subset invariant
    np.testing.assert_array_equal(always.transform(X[order]), always.transform(X)[order])
    np.testing.assert_array_equal(always.transform(X[:4]), always.transform(X)[:4])
    for dtype in (np.float32, np.float64, np.uint8):
        data = X if dtype != np.uint8 else (X * 255).astype(np.uint8)
        assert always.transform(data.astype(dtype)).dtype == dtype
    assert joblib.hash(inv.get_params()) == joblib.hash(clone(inv).get_params())


def test_feature_names_and_pandas_output_for_flat_input():
    import pandas as pd
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = pd.DataFrame(np.random.default_rng(0).uniform(size=(4, 3)), columns=["p0", "p1", "p2"])
    pipe = make_pipeline(PixelInverter(), FunctionTransformer()).set_output(transform="pandas")
    out = pipe.fit_transform(X)
    assert list(out.columns) == ["p0", "p1", "p2"]
    np.testing.assert_allclose(out.to_numpy(), 1 - X.to_numpy())
    images = np.zeros((2, 3, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="no feature names"):
        PixelInverter().fit(images).get_feature_names_out()
