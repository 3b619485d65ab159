import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.metrics import pareto_front, pareto_refit

CV = {"params": [{"lam": 0}, {"lam": 1}, {"lam": 2}, {"lam": 3}],
      "mean_test_acc": [0.90, 0.85, 0.80, 0.80],
      "mean_test_eo": [-0.20, -0.25, -0.05, -0.10]}


def test_front_hand_example_sorted_best_first():
    front = pareto_front(CV, ["acc", "eo"])
    assert list(front.index) == [0, 2]
    assert list(front.columns[:2]) == ["mean_test_acc", "mean_test_eo"]
    # minimising a column flips the direction
    front_min = pareto_front(CV, {"acc": "max", "eo": "min"})
    assert list(front_min.index) == [0, 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)),
                min_size=1, max_size=30))
def test_front_is_exactly_the_non_dominated_set(points):
    P = np.array(points, dtype=float)
    cv = {"mean_test_a": P[:, 0], "mean_test_b": P[:, 1], "mean_test_c": P[:, 2]}
    front = set(pareto_front(cv, ["a", "b", "c"]).index)
    for i, p in enumerate(P):
        dominated = any((q >= p).all() and (q > p).any() for q in P)
        assert (i in front) == (not dominated)


def test_refit_rules():
    assert pareto_refit(["acc", "eo"], select="acc")(CV) == 0
    assert pareto_refit(["acc", "eo"], select="eo")(CV) == 2
    assert pareto_refit(["acc", "eo"], select="acc", constraints={"eo": -0.1})(CV) == 2
    # utopia: both front points are at distance 1 from the ideal; the first wins
    assert pareto_refit(["acc", "eo"])(CV) in (0, 2)
    with pytest.warns(UserWarning, match="ignoring the constraints"):
        assert pareto_refit(["acc", "eo"], select="acc",
                            constraints={"acc": 0.99})(CV) == 0
    with pytest.raises(ValueError, match="select"):
        pareto_refit(["acc", "eo"], select="fastest")(CV)
    with pytest.raises(ValueError, match="available scores"):
        pareto_front(CV, ["accuracy"])


def test_utopia_prefers_the_balanced_point():
    cv = pd.DataFrame({"mean_test_acc": [0.95, 0.90, 0.60], "mean_test_eo": [-0.5, -0.1, 0.0]})
    assert pareto_refit(["acc", "eo"])(cv) == 1


def test_nan_scores_are_left_out_with_warning():
    cv = {"mean_test_acc": [0.9, np.nan, 0.8], "mean_test_eo": [-0.2, -0.0, -0.1]}
    with pytest.warns(UserWarning, match="NaN"):
        front = pareto_front(cv, ["acc", "eo"])
    assert list(front.index) == [0, 2]
