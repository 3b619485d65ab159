"""Rows stay aligned: metadata routed after a sampler match the resampled rows."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from imblearn import FunctionSampler
from imblearn.pipeline import Pipeline as ImbPipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer

from skfair.pipeline import Pipeline, align_metadata, make_pipeline
from skfair.samplers import GroupResampler
from skfair.weighting import SupportWeighting, WeightedEstimator

GROUP_NAMES = np.array(["w", "b", "a"])


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _data(n=300, seed=0):
    """Column 0 of X is the group code, so every row says which group it is."""
    rng = np.random.RandomState(seed)
    g = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    X = np.column_stack([g, rng.normal(size=(n, 2))])
    y = (X[:, 1] + 0.5 * g + 0.3 * rng.normal(size=n) > 0.4).astype(int)
    return X, y, GROUP_NAMES[g]


class AlignmentSpy(ClassifierMixin, BaseEstimator):
    """Fails loudly unless sensitive_features / sample_weight match the rows of X."""

    calls = []  # shared across clones

    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        X = np.asarray(X)
        S = np.asarray(sensitive_features)
        assert len(S) == len(X) == len(y), (len(S), len(X))
        np.testing.assert_array_equal(S, GROUP_NAMES[X[:, 0].astype(int)])
        if sample_weight is not None:
            assert len(sample_weight) == len(X)
        type(self).calls.append((len(X), dict(zip(*np.unique(S, return_counts=True), strict=True))))
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _gap_scorer():
    def neg_accuracy_gap(y_true, y_pred, *, sensitive_features):
        S = np.asarray(sensitive_features)
        accs = [np.mean(y_true[S == g] == y_pred[S == g]) for g in np.unique(S)]
        return -(max(accs) - min(accs))

    return make_scorer(neg_accuracy_gap).set_score_request(sensitive_features=True)


def test_acceptance_grid_search_resample_then_weighted_logistic_regression(routing):
    X, y, S = _data()
    pipe = Pipeline([
        ("resample", GroupResampler(random_state=0)),
        ("clf", WeightedEstimator(LogisticRegression(), SupportWeighting())),
    ])
    gs = GridSearchCV(
        pipe,
        {"resample__strategy": ["mean", "min", "max"], "clf__weighting__smoothing": [0, 5]},
        scoring=_gap_scorer(), cv=3, error_score="raise",
    )
    gs.fit(X, y, sensitive_features=S)
    assert len(gs.cv_results_["params"]) == 6
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    # the refitted classifier was weighted with the sensitive features of the
    # *resampled* rows (the original ones would not even have the right length)
    best = gs.best_estimator_
    idx = best["resample"].sample_indices_
    expected = SupportWeighting(smoothing=best["clf"].weighting.smoothing).get_weights(S[idx])
    np.testing.assert_allclose(best["clf"].sample_weight_, expected)
    assert len(best["clf"].sample_weight_) == len(idx) == 3 * best["resample"].target_size_


def test_spy_sees_aligned_sensitive_features_in_every_grid_search_fit(routing):
    X, y, S = _data()
    AlignmentSpy.calls.clear()
    spy = AlignmentSpy().set_fit_request(sensitive_features=True)
    pipe = Pipeline([
        ("resample", GroupResampler(random_state=0)),
        ("clf", WeightedEstimator(spy, SupportWeighting())),
    ])
    gs = GridSearchCV(pipe, {"resample__strategy": ["mean", "min", "max"]},
                      scoring=_gap_scorer(), cv=3, error_score="raise")
    gs.fit(X, y, sensitive_features=S)
    assert len(AlignmentSpy.calls) == 3 * 3 + 1
    for n_rows, counts in AlignmentSpy.calls:
        # balanced groups: the spy's view of S agrees with the resampled X
        assert len(set(counts.values())) == 1 and n_rows == 3 * next(iter(counts.values()))


def test_plain_imblearn_pipeline_misaligns(routing):
    """imbalanced-learn issue #457: the reason skfair.pipeline.Pipeline exists."""
    X, y, S = _data()
    spy = AlignmentSpy().set_fit_request(sensitive_features=True)
    pipe = ImbPipeline([("resample", GroupResampler("max", random_state=0)), ("clf", spy)])
    with pytest.raises(AssertionError):
        pipe.fit(X, y, sensitive_features=S)
    Pipeline(pipe.steps).fit(X, y, sensitive_features=S)  # and ours does not


def test_sample_weight_follows_the_rows(routing):
    X, y, S = _data(60)
    sw = X[:, 0] + 1.0  # weight encodes the group too
    seen = {}

    class WeightSpy(AlignmentSpy):
        def fit(self, X, y, sample_weight=None, sensitive_features=None):
            seen["sw"], seen["X"] = np.asarray(sample_weight), np.asarray(X)
            return super().fit(X, y, sample_weight, sensitive_features)

    spy = WeightSpy().set_fit_request(sensitive_features=True, sample_weight=True)
    pipe = make_pipeline(GroupResampler("max", random_state=0), spy)
    pipe.fit(X, y, sensitive_features=S, sample_weight=sw)
    np.testing.assert_array_equal(seen["sw"], seen["X"][:, 0] + 1.0)
    assert len(seen["sw"]) == 3 * np.unique(S, return_counts=True)[1].max()


def test_legacy_step_keywords_without_routing():
    X, y, S = _data(90)
    pipe = Pipeline([("resample", GroupResampler("min", random_state=0)),
                     ("clf", AlignmentSpy())])
    pipe.fit(X, y, resample__sensitive_features=S, clf__sensitive_features=S)
    assert pipe["clf"].n_features_in_ == 3


def test_chained_samplers_and_a_transformer_in_between(routing):
    X, y, S = _data(200)
    spy = AlignmentSpy().set_fit_request(sensitive_features=True)
    pipe = Pipeline([
        ("rus", RandomUnderSampler(random_state=0)),  # balances y, has sample_indices_
        ("scale", "passthrough"),
        ("resample", GroupResampler("mean", random_state=1)),
        ("clf", spy),
    ])
    pipe.fit(X, y, sensitive_features=pd.Series(S))  # the spy checks every row
    n_after_rus = len(pipe["rus"].sample_indices_)
    assert pipe["resample"].group_sizes_["n_before"].sum() == n_after_rus
    # a transformer keeps the rows: metadata after it stay aligned too
    pipe2 = Pipeline([("resample", GroupResampler("max", random_state=0)),
                      ("identity", FunctionTransformer()),
                      ("clf", spy)])
    pipe2.fit(X, y, sensitive_features=S)
    assert AlignmentSpy.calls[-1][0] == 3 * np.unique(S, return_counts=True)[1].max()


def test_sampler_without_sample_indices_that_changes_rows_is_an_error(routing):
    X, y, S = _data(60)
    drop_half = FunctionSampler(func=lambda X, y: (X[::2], y[::2]), validate=False)
    spy = AlignmentSpy().set_fit_request(sensitive_features=True)
    with pytest.raises(ValueError, match="has no sample_indices_"):
        Pipeline([("drop", drop_half), ("clf", spy)]).fit(X, y, sensitive_features=S)
    # without per-row metadata after it, such a sampler is fine
    Pipeline([("drop", drop_half), ("clf", LogisticRegression())]).fit(X, y)


def test_align_metadata_helper():
    S = pd.DataFrame({"race": ["a", "b", "c"]})
    out = align_metadata({"sensitive_features": S, "classes": [0, 1], "k": 3},
                         np.array([1, 1, 2, 0]), 3)
    assert list(out["sensitive_features"]["race"]) == ["b", "b", "c", "a"]
    assert out["classes"] == [0, 1] and out["k"] == 3


class MultiAttributeSpy(ClassifierMixin, BaseEstimator):
    """Fails unless every attribute of a dict / list of arrays matches the rows of X
    (column 0 of X: the group code; column 1: the second attribute's code)."""

    def fit(self, X, y, sensitive_features=None):
        X = np.asarray(X)
        columns = (list(sensitive_features.values()) if isinstance(sensitive_features, dict)
                   else list(sensitive_features))
        assert len(columns) == 2
        np.testing.assert_array_equal(np.asarray(columns[0]), GROUP_NAMES[X[:, 0].astype(int)])
        np.testing.assert_array_equal(np.asarray(columns[1]), X[:, 1] > 0)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.mark.parametrize("form", ["dict", "list", "tuple"])
@pytest.mark.parametrize("strategy", ["mean", "max"])
def test_multi_attribute_containers_follow_the_rows(routing, form, strategy):
    """A dict or a list of arrays (several sensitive attributes) is re-indexed column by
    column, whether or not the sampler keeps the number of rows."""
    X, y, S = _data(90)
    second = X[:, 1] > 0
    sf = {"dict": {"g": S, "pos": second}, "list": [S, second], "tuple": (S, second)}[form]
    spy = MultiAttributeSpy().set_fit_request(sensitive_features=True)
    pipe = make_pipeline(GroupResampler(strategy, random_state=0), spy)
    pipe.fit(X, y, sensitive_features=sf)  # the spy checks every row of both attributes


def test_align_metadata_multi_attribute_containers():
    a, b = np.array(["x", "y", "z"]), [1, 2, 3]
    out = align_metadata({"d": {"a": a, "b": b}, "l": [a, b], "t": (a, b)}, [2, 0], 3)
    np.testing.assert_array_equal(out["d"]["a"], ["z", "x"])
    assert out["d"]["b"] == [3, 1]
    assert isinstance(out["t"], tuple) and out["l"][1] == [3, 1]
    # a list of n_rows per-row values keeps scikit-learn's rule (one entry per row)
    assert align_metadata({"s": [[1], [2], [3]]}, [1], 3)["s"] == [[2]]
    # columns of another length are not per-row: passed unchanged
    assert align_metadata({"c": [a[:2], b[:2]]}, [0], 3)["c"][0].tolist() == ["x", "y"]
