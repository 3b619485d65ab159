"""Attribute-aware estimators: attributes as network inputs, from X or passed."""

import numpy as np
import pandas as pd
import pytest

from skfair.estimators import (
    AttributeAwareClassifier,
    AttributeAwareRegressor,
    FairNetClassifier,
)
from skfair.utils import SensitiveColumns


@pytest.fixture
def xor_frame():
    """The label is x0 > 0 flipped for one sex: unlearnable without the attribute."""
    rng = np.random.RandomState(0)
    n = 300
    X = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n),
                      "sex": rng.choice(["F", "M"], size=n),
                      "race": rng.choice(["a", "b", "c"], size=n)})
    y = ((X["x0"] > 0) ^ (X["sex"] == "F")).astype(int).to_numpy()
    return X, y


def test_the_network_uses_the_attributes(xor_frame, fast):
    X, y = xor_frame
    kw = {**fast, "max_epochs": 40}
    aware = AttributeAwareClassifier(sensitive_columns=SensitiveColumns("sex", "race"), **kw)
    aware.fit(X, y)
    assert aware.attribute_names_ == ["sex", "race"]
    assert list(aware.feature_names_in_) == ["x0", "x1"]
    assert aware.score(X, y) > 0.9
    plain = FairNetClassifier(**kw).fit(X[["x0", "x1"]], y)
    assert plain.score(X[["x0", "x1"]], y) < 0.7


def test_one_hot_extra_inputs(xor_frame, fast):
    X, _ = xor_frame
    clf = AttributeAwareClassifier(**fast)
    S = X[["sex", "race"]]
    extra = clf._extra_inputs(S, len(S), reset=True)
    expected = np.column_stack([
        (S["sex"] == "F"), (S["sex"] == "M"),
        (S["race"] == "a"), (S["race"] == "b"), (S["race"] == "c"),
    ]).astype(np.float32)
    np.testing.assert_array_equal(extra, expected)
    # predict time: the fitted categories, whatever values this batch holds
    np.testing.assert_array_equal(clf._extra_inputs(S[:3], 3, reset=False), expected[:3])


def test_passed_sensitive_features_and_errors(xor_frame, fast):
    X, y = xor_frame
    feats, S = X[["x0", "x1"]].to_numpy(np.float32), X["sex"].to_numpy()
    clf = AttributeAwareClassifier(**{**fast, "max_epochs": 40})
    clf.fit(feats, y, sensitive_features=S)
    assert clf.score(feats, y, sensitive_features=S) > 0.9
    assert clf.predict_proba(feats, sensitive_features=S).shape == (len(y), 2)
    with pytest.raises(ValueError, match="pass sensitive_features= to predict"):
        clf.predict(feats)
    with pytest.raises(ValueError, match="values not seen before"):
        clf.predict(feats[:2], sensitive_features=["F", "X"])
    by_columns = AttributeAwareClassifier(sensitive_columns="sex", **fast)
    with pytest.raises(ValueError, match="do not also pass sensitive_features"):
        by_columns.fit(X, y, sensitive_features=S)
    unaware = AttributeAwareClassifier(**fast).fit(feats, y)
    with pytest.raises(ValueError, match="fitted without sensitive attributes"):
        unaware.predict(feats, sensitive_features=S)


def test_attributes_also_feed_the_fairness_loss(xor_frame, fast):
    X, y = xor_frame
    clf = AttributeAwareClassifier(sensitive_columns="sex", fairness="eo_l2", lam=1.0,
                                   **{**fast, "max_epochs": 3}).fit(X.drop(columns="race"), y)
    assert clf.n_groups_ == 2 and list(clf.sensitive_groups_["sex"]) == ["F", "M"]


def test_image_network_gets_the_attributes_beside_the_embedding(fast):
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(32, 1, 8, 8)).astype(np.float32)
    s = rng.choice(["a", "b"], size=32)
    y = (s == "a").astype(int)
    clf = AttributeAwareClassifier(module="cnn", module_params={"channels": (2,),
                                                                "embedding_dim": 4},
                                   **{**fast, "max_epochs": 30})
    clf.fit(images, y, sensitive_features=s)
    assert clf.net_.module_.body.head.in_features == 4 + 2
    assert clf.score(images, y, sensitive_features=s) == 1.0


def test_attribute_aware_regressor(fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    s = rng.choice(["a", "b"], size=200)
    y = X[:, 0] + 3 * (s == "a")
    reg = AttributeAwareRegressor(**{**fast, "max_epochs": 40})
    reg.fit(X, y, sensitive_features=s)
    assert reg.score(X, y, sensitive_features=s) > 0.9


def test_affirmative_action_baseline_reads_the_attribute_columns(xor_frame, fast):
    """With sensitive_columns, the default baseline (this estimator) is fitted on X with
    its attribute columns (it failed on the bare feature array before)."""
    from skfair.weighting import AffirmativeActionWeighting

    X, y = xor_frame
    X = X.drop(columns="race")
    clf = AttributeAwareClassifier(sensitive_columns="sex",
                                   weighting=AffirmativeActionWeighting(k=1, boost=3),
                                   **{**fast, "max_epochs": 2})
    clf.fit(X, y)
    assert len(clf.weighting_.subgroups_) == 1
    assert set(clf.weighting_.subgroups_[0]) == {"sex"}


def test_affirmative_action_baseline_gets_the_passed_attributes(xor_frame, fast):
    """Without sensitive_columns, the default baseline (this estimator) is fitted and
    scored with the sensitive_features: on the xor data, where the label flips with
    sex, it scores well in every subgroup only if it sees them (it was fitted on the
    bare features before, and scored about 0.5 everywhere)."""
    from skfair.weighting import AffirmativeActionWeighting

    X, y = xor_frame
    feats, S = X[["x0", "x1"]].to_numpy(np.float32), X["sex"].to_numpy()
    clf = AttributeAwareClassifier(weighting=AffirmativeActionWeighting(k=1, boost=3,
                                                                       random_state=0),
                                   **{**fast, "max_epochs": 40})
    clf.fit(feats, y, sensitive_features=S)
    scores = clf.weighting_.subgroup_scores_
    assert list(scores["sensitive_feature_0"]) in (["F", "M"], ["M", "F"])
    assert (scores["score"] > 0.85).all(), scores
    assert clf.score(feats, y, sensitive_features=S) > 0.9


def test_affirmative_action_baseline_on_images_gets_the_attributes(fast):
    """Images cannot carry attribute columns: the baseline gets sensitive_features."""
    from skfair.weighting import AffirmativeActionWeighting

    rng = np.random.RandomState(0)
    images = rng.uniform(size=(80, 1, 8, 8)).astype(np.float32)
    s = rng.choice(["a", "b"], size=80)
    y = (s == "a").astype(int)  # only the attribute predicts the label
    clf = AttributeAwareClassifier(module="cnn",
                                   module_params={"channels": (2,), "embedding_dim": 4},
                                   weighting=AffirmativeActionWeighting(k=1, random_state=0),
                                   **{**fast, "max_epochs": 30})
    clf.fit(images, y, sensitive_features=s)
    assert (clf.weighting_.subgroup_scores_["score"] == 1.0).all()
