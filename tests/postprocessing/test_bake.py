"""bake_rule: the rule folded into a skfair network predicts like the wrapper."""

import pickle
import warnings

import numpy as np
import pytest

from skfair.estimators import FairNetClassifier
from skfair.postprocessing import (
    EmbeddingGroupClassifier,
    FairThresholdClassifier,
    GroupOffsetHead,
    bake_rule,
)


def _net_and_data(n_classes=2, n=900, seed=0):
    rng = np.random.RandomState(seed)
    s = rng.randint(0, 3, n)
    X = (rng.normal(size=(n, 4)) + 0.9 * s[:, None]).astype("float32")
    z = X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)
    y = np.digitize(z, [1.0] if n_classes == 2 else [0.5, 1.8])
    net = FairNetClassifier(hidden_sizes=(16,), max_epochs=15, lr=0.01, device="cpu",
                            random_state=0).fit(X[:400], y[:400])
    return net, X, y, s


@pytest.mark.parametrize("n_classes", [2, 3])
def test_baked_network_predicts_like_the_rule(n_classes):
    net, X, y, s = _net_and_data(n_classes)
    fair = FairThresholdClassifier(net, prefit=True, groups="inferred",
                                   group_estimator=EmbeddingGroupClassifier(net),
                                   tolerance=0.05, random_state=0)
    fair.fit(X[400:], y[400:], sensitive_features=s[400:])
    baked = bake_rule(fair)
    assert isinstance(baked.net_.module_.body.head, GroupOffsetHead)
    assert not isinstance(net.net_.module_.body.head, GroupOffsetHead)  # a copy
    pred_rule, pred_net = fair.predict(X), baked.predict(X)
    # float32 logits against float64 scores: only rows at a threshold may differ
    dec = fair.decision_function(X)
    margin = np.abs(dec) if dec.ndim == 1 else np.abs(
        np.sort(dec, axis=1)[:, -1] - np.sort(dec, axis=1)[:, -2])
    assert (pred_rule[margin > 1e-4] == pred_net[margin > 1e-4]).all()
    assert (pred_rule == pred_net).mean() > 0.99
    np.testing.assert_allclose(baked.predict_proba(X)[margin > 1e-4],
                               fair.predict_proba(X)[margin > 1e-4], atol=1e-4)
    # the rule changed the predictions of some rows (the bake is not a no-op)
    assert (pred_net != net.predict(X)).any()
    # the baked network pickles and keeps predicting the same
    again = pickle.loads(pickle.dumps(baked))
    np.testing.assert_array_equal(again.predict(X), pred_net)


def test_one_group_rule_is_a_bias_shift():
    net, X, y, _ = _net_and_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fair = FairThresholdClassifier(net, prefit=True, objective="balanced_accuracy").fit(
            X[400:], y[400:])
    baked = bake_rule(fair)
    assert (baked.predict(X) == fair.predict(X)).mean() > 0.99


def test_bake_errors():
    net, X, y, s = _net_and_data()
    given = FairThresholdClassifier(net, prefit=True).fit(X[400:], y[400:],
                                                          sensitive_features=s[400:])
    with pytest.raises(ValueError, match="given groups"):
        bake_rule(given)
    other = FairThresholdClassifier(net, prefit=True, groups="inferred",
                                    random_state=0).fit(X[400:], y[400:],
                                                        sensitive_features=s[400:])
    with pytest.raises(ValueError, match="EmbeddingGroupClassifier"):
        bake_rule(other)
    with pytest.raises(TypeError, match="coef_"):
        from sklearn.neighbors import KNeighborsClassifier

        EmbeddingGroupClassifier(net, KNeighborsClassifier()).fit(X, s)
