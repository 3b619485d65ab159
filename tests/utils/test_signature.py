"""takes_keyword: the package's one signature test."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skfair.utils._signature import takes_keyword


def test_named_parameters_count_and_a_catch_all_does_not():
    assert takes_keyword(LogisticRegression().fit, "sample_weight")
    assert not takes_keyword(LogisticRegression().fit, "sensitive_features")
    # Pipeline.predict(X, **params) names nothing
    assert not takes_keyword(make_pipeline(LogisticRegression()).predict, "sensitive_features")
    assert not takes_keyword(None, "sample_weight")
