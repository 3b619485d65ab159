import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.metrics import (
    UndefinedGroupWarning,
    bias_amplification,
    directional_bias_amplification,
)


def _naive_zhao(Y_train, A_train, Y_pred, A_pred):
    groups = sorted(set(A_train) | set(A_pred))
    per_label = []
    for o in range(Y_train.shape[1]):
        c_train = {g: sum(Y_train[i, o] for i in range(len(A_train)) if A_train[i] == g)
                   for g in groups}
        c_pred = {g: sum(Y_pred[i, o] for i in range(len(A_pred)) if A_pred[i] == g)
                  for g in groups}
        tot_t, tot_p = sum(c_train.values()), sum(c_pred.values())
        if tot_t == 0 or tot_p == 0:
            continue
        per_label.append(sum(
            c_pred[g] / tot_p - c_train[g] / tot_t
            for g in groups if c_train[g] / tot_t > 1 / len(groups)
        ))
    return np.mean(per_label)


def _naive_directional(T, A, T_hat, A_hat, direction, T_ref=None, A_ref=None):
    """Wang & Russakovsky's formula written out with loops (A given as labels)."""
    T_ref = T if T_ref is None else T_ref
    A_ref = A if A_ref is None else A_ref
    groups = sorted(set(A) | set(A_ref) | (set(A_hat) if A_hat is not None else set()))
    vals = []
    for a in groups:
        for t in range(T.shape[1]):
            m = len(A_ref)
            p_at = np.mean([(A_ref[i] == a) and T_ref[i, t] == 1 for i in range(m)])
            p_a = np.mean([A_ref[i] == a for i in range(m)])
            p_t = np.mean(T_ref[:, t])
            y = np.sign(p_at - p_a * p_t)
            if direction == "A->T":
                rows = [i for i in range(len(A)) if A[i] == a]
                if not rows:
                    continue
                delta = np.mean(T_hat[rows, t]) - np.mean(T[rows, t])
            else:
                rows = [i for i in range(len(A)) if T[i, t] == 1]
                if not rows:
                    continue
                delta = np.mean([A_hat[i] == a for i in rows]) - np.mean(
                    [A[i] == a for i in rows])
            vals.append(y * delta)
    return np.mean(vals)


def test_zhao_hand_computed_and_per_label_table():
    Y_train = np.array([[1, 0], [1, 0], [1, 1], [0, 1]])
    A_train = ["man", "man", "woman", "woman"]
    Y_pred = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    value, table = bias_amplification(Y_train, A_train, Y_pred, A_train,
                                      return_per_label=True)
    assert value == pytest.approx(1 / 6)
    assert table["amplification"].tolist() == pytest.approx([1 / 3, 0.0])
    assert table["bias_train"]["man"].tolist() == pytest.approx([2 / 3, 0.0])
    assert table["bias_pred"]["woman"].tolist() == pytest.approx([0.0, 1.0])
    assert table["n_train"].tolist() == [3, 2]
    assert table["amplification"].mean() == pytest.approx(value)


def test_zhao_dataframe_labels_and_class_label_input():
    Y = pd.DataFrame({"truck": [1, 1, 0, 0], "spoon": [0, 1, 1, 1]})
    A = ["m", "m", "w", "w"]
    _, table = bias_amplification(Y, A, Y, A, return_per_label=True)
    assert list(table.index) == ["truck", "spoon"]
    assert table["amplification"].tolist() == [0.0, 0.0]
    # 1-D class labels are one-hot encoded over the union of classes
    v1 = bias_amplification(["a", "b", "a"], list("mww"), ["a", "a", "b"], list("mww"))
    v2 = bias_amplification(np.array([[1, 0], [0, 1], [1, 0]]), list("mww"),
                            np.array([[1, 0], [1, 0], [0, 1]]), list("mww"))
    assert v1 == pytest.approx(v2)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 3), st.integers(1, 4))
def test_zhao_matches_naive_loops(seed, n_groups, n_labels):
    rng = np.random.default_rng(seed)
    Y_train = rng.integers(0, 2, (30, n_labels))
    Y_pred = rng.integers(0, 2, (20, n_labels))
    A_train = list(np.array(list("xyz"))[rng.integers(0, n_groups, 30)])
    A_pred = list(np.array(list("xyz"))[rng.integers(0, n_groups, 20)])
    if len(set(A_train) | set(A_pred)) < 2:
        return
    expected = _naive_zhao(Y_train, A_train, Y_pred, A_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedGroupWarning)
        if np.isnan(expected):
            with pytest.raises(ValueError):
                bias_amplification(Y_train, A_train, Y_pred, A_pred)
            return
        got = bias_amplification(Y_train, A_train, Y_pred, A_pred)
    assert got == pytest.approx(expected, abs=1e-12)


def test_zhao_label_never_predicted_is_excluded_with_warning():
    Y_train = np.array([[1, 1], [1, 0], [0, 1], [1, 1]])
    Y_pred = np.array([[1, 0], [1, 0], [0, 0], [1, 0]])
    A = list("mmww")
    with pytest.warns(UndefinedGroupWarning, match="'1'.*never predicted"):
        value, table = bias_amplification(Y_train, A, Y_pred, A, return_per_label=True)
    assert list(table.index) == ["0"]
    assert np.isfinite(value)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["A->T", "T->A"]), st.booleans())
def test_directional_matches_naive_formula(seed, direction, with_train):
    rng = np.random.default_rng(seed)
    n, L = 25, 3
    T = rng.integers(0, 2, (n, L))
    T_hat = np.where(rng.random((n, L)) < 0.7, T, 1 - T)
    A = np.array(list("mwx"))[rng.integers(0, 3, n)]
    A_hat = np.where(rng.random(n) < 0.7, A, np.array(list("mwx"))[rng.integers(0, 3, n)])
    kwargs = {}
    T_ref = A_ref = None
    if with_train:
        T_ref = rng.integers(0, 2, (40, L))
        A_ref = np.array(list("mwx"))[rng.integers(0, 3, 40)]
        kwargs = {"Y_train": T_ref, "A_train": A_ref}
    expected = _naive_directional(T, list(A), T_hat, list(A_hat), direction,
                                  T_ref, None if A_ref is None else list(A_ref))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedGroupWarning)
        got, table = directional_bias_amplification(
            T, A, T_hat, A_hat, direction=direction, return_per_label=True, **kwargs)
    assert got == pytest.approx(expected, abs=1e-12)
    assert table["value"].shape[1] >= 2


def test_directional_hand_computed_and_signs():
    T = np.array([[1], [1], [0], [1], [0], [0]])
    A = ["m", "m", "m", "w", "w", "w"]
    T_hat = np.array([[1], [1], [1], [0], [0], [0]])
    value, table = directional_bias_amplification(T, A, T_hat, direction="A->T",
                                                  return_per_label=True)
    assert value == pytest.approx(1 / 3)
    assert table["sign"].loc["0"].tolist() == [1.0, -1.0]
    assert table["delta"].loc["0"].tolist() == pytest.approx([1 / 3, -1 / 3])
    # predictions equal to the truth amplify nothing, in both directions
    assert directional_bias_amplification(T, A, T, direction="A->T") == 0.0
    assert directional_bias_amplification(T, A, A_pred=A, direction="T->A") == 0.0


def test_directional_errors():
    T = np.array([[1], [0]])
    with pytest.raises(ValueError, match="direction"):
        directional_bias_amplification(T, ["a", "b"], T, direction="both")
    with pytest.raises(ValueError, match="needs A_pred"):
        directional_bias_amplification(T, ["a", "b"], T, direction="T->A")
    with pytest.raises(ValueError, match="both Y_train and A_train"):
        directional_bias_amplification(T, ["a", "b"], T, Y_train=T)
    with pytest.raises(ValueError, match="0/1 indicators"):
        directional_bias_amplification(T, ["a", "b"], np.array([[0.3], [0.9]]))
    with pytest.raises(ValueError, match="single group"):
        directional_bias_amplification(T, ["a", "a"], T)


def test_label_columns_are_matched_by_name():
    A = ["m", "m", "m", "w", "w", "w"]
    Y_train = pd.DataFrame({"cook": [0, 0, 1, 1, 1, 1], "drive": [1, 1, 1, 0, 0, 1]})
    Y_pred = pd.DataFrame({"cook": [0, 0, 0, 1, 1, 1], "drive": [1, 1, 1, 0, 0, 0]})
    swapped = Y_pred[["drive", "cook"]]
    assert bias_amplification(Y_train, A, swapped, A) == pytest.approx(
        bias_amplification(Y_train, A, Y_pred, A))
    assert directional_bias_amplification(Y_train, A, swapped) == pytest.approx(
        directional_bias_amplification(Y_train, A, Y_pred))
    with pytest.raises(ValueError, match="must name the same labels"):
        bias_amplification(Y_train, A, Y_pred.rename(columns={"cook": "bake"}), A)
