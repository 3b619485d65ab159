"""Regression fairness penalties."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.losses import group_mae_parity_loss, group_mean_parity_loss


def test_mean_parity_hand_computed():
    pred = torch.tensor([20.0, 22.0, 30.0, 32.0], requires_grad=True)
    groups = torch.tensor([0, 0, 1, 1])
    loss = group_mean_parity_loss(pred, groups)
    # group means 21 and 31, overall 26: 5 ** 2 + 5 ** 2
    assert loss.item() == 50.0
    loss.backward()
    # d/dpred_i = 2 (D_g / n_g - sum_g D_g / B) with D = (-5, 5)
    assert pred.grad.tolist() == pytest.approx([-5.0, -5.0, 5.0, 5.0])


def test_mae_parity_hand_computed_three_groups():
    pred = torch.tensor([1.0, 3.0, 5.0, 5.0, 0.0], requires_grad=True)
    y = torch.tensor([2.0, 3.0, 1.0, 5.0, 3.0])
    groups = torch.tensor([0, 0, 1, 1, 2])
    # group MAEs 0.5, 2, 3 -> pairs |0.5-2|, |0.5-3|, |2-3| -> mean 5/3
    loss = group_mae_parity_loss(pred, y, groups, n_groups=4)
    assert loss.item() == pytest.approx(5 / 3)
    loss.backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("fn", ["mean", "mae"])
def test_single_group_is_zero_and_absent_groups_drop_out(fn):
    pred = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    y = torch.tensor([1.5, 2.0, 3.0])
    call = {
        "mean": lambda s, n: group_mean_parity_loss(pred, s, n_groups=n),
        "mae": lambda s, n: group_mae_parity_loss(pred, y, s, n_groups=n),
    }[fn]
    assert call(torch.tensor([2, 2, 2]), 5).item() == pytest.approx(0.0, abs=1e-12)
    a = call(torch.tensor([0, 0, 4]), 5)
    b = call(torch.tensor([0, 0, 1]), 2)
    assert a.item() == pytest.approx(b.item()) and a.item() > 0
    a.backward()
    assert torch.isfinite(pred.grad).all()


def _np_mae_parity(pred, y, s):
    groups = np.unique(s)
    mae = [np.abs(pred - y)[s == g].mean() for g in groups]
    pairs = [abs(a - b) for i, a in enumerate(mae) for b in mae[i + 1 :]]
    return np.mean(pairs) if pairs else 0.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 20))
def test_match_loops_invariant_to_row_order_and_reference_gradients(seed, n):
    rng = np.random.default_rng(seed)
    pred, y, s = rng.normal(size=n), rng.normal(size=n), rng.integers(0, 3, n)
    overall = pred.mean()
    mean_ref = sum((pred[s == g].mean() - overall) ** 2 for g in np.unique(s))
    perm = rng.permutation(n)
    for order in (np.arange(n), perm):
        p, t, g = (torch.tensor(a[order]) for a in (pred, y, s))
        assert group_mean_parity_loss(p, g, n_groups=3).item() == pytest.approx(mean_ref, abs=1e-12)
        got = group_mae_parity_loss(p, t, g, n_groups=3).item()
        assert got == pytest.approx(_np_mae_parity(pred, y, s), abs=1e-12)


def test_gradients_pass_gradcheck():
    rng = np.random.default_rng(3)
    pred = torch.tensor(rng.normal(size=9), requires_grad=True)
    y, s = torch.tensor(rng.normal(size=9)), torch.tensor([0, 1, 3] * 3)  # group 2 absent
    assert torch.autograd.gradcheck(lambda p: group_mean_parity_loss(p, s, n_groups=4), (pred,))
    assert torch.autograd.gradcheck(lambda p: group_mae_parity_loss(p, y, s, n_groups=4),
                                    (pred,))


def test_bad_inputs():
    with pytest.raises(ValueError, match="pred"):
        group_mean_parity_loss(torch.ones(3, 2), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="rows"):
        group_mae_parity_loss(torch.ones(3), torch.ones(2), torch.tensor([0, 1, 0]))
