"""Group-balanced risk (Serna et al.)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.losses import GroupBalancedLoss, group_balanced_coefficients, group_balanced_loss


def test_hand_computed_every_group_weighs_the_same():
    losses = torch.tensor([1.0, 1.0, 1.0, 4.0], requires_grad=True)
    groups = torch.tensor([0, 0, 0, 1])
    loss = group_balanced_loss(losses, groups)
    # group means 1 and 4, averaged over the two groups
    assert loss.item() == pytest.approx(2.5)
    loss.backward()
    # each row weighs 1 / (n_groups_present * group size)
    assert losses.grad.tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 2])


def test_sample_and_group_weights_hand_computed():
    losses = torch.tensor([1.0, 3.0, 2.0, 6.0])
    groups = torch.tensor([0, 0, 1, 1])
    w = torch.tensor([3.0, 1.0, 1.0, 1.0])
    # group 0: (3 * 1 + 3) / 4 = 1.5 ; group 1: (2 + 6) / 2 = 4
    assert group_balanced_loss(losses, groups, sample_weight=w).item() == pytest.approx(2.75)
    gw = torch.tensor([1.0, 3.0])
    got = group_balanced_loss(losses, groups, sample_weight=w, group_weights=gw).item()
    assert got == pytest.approx((1.5 + 3 * 4) / 4)


def test_absent_group_drops_out_and_rows_with_zero_weight_do_not_count():
    losses = torch.tensor([1.0, 2.0, 5.0], requires_grad=True)
    groups = torch.tensor([0, 0, 3])  # groups 1 and 2 absent
    loss = group_balanced_loss(losses, groups, n_groups=4)
    assert loss.item() == pytest.approx((1.5 + 5.0) / 2)
    loss.backward()
    assert torch.isfinite(losses.grad).all()
    w = torch.tensor([1.0, 1.0, 0.0])  # group 3 has no weight: it drops out too
    assert group_balanced_loss(losses, groups, sample_weight=w, n_groups=4).item() == 1.5


def test_multilabel_per_sample_losses_are_averaged_over_labels():
    per = torch.tensor([[1.0, 3.0], [2.0, 2.0], [0.0, 8.0]])
    groups = torch.tensor([0, 0, 1])
    assert group_balanced_loss(per, groups).item() == pytest.approx((2.0 + 4.0) / 2)


def test_reference_path_with_soft_groups_matches():
    rng = np.random.default_rng(0)
    losses = torch.tensor(rng.random(20), requires_grad=True)
    codes = torch.tensor(rng.integers(0, 3, 20))
    soft = torch.nn.functional.one_hot(codes, 3).double().requires_grad_()
    w = torch.tensor(rng.random(20) + 0.1)
    a = group_balanced_loss(losses, codes, sample_weight=w)
    b = group_balanced_loss(losses, soft, sample_weight=w)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    (ga,) = torch.autograd.grad(a, losses)
    (gb,) = torch.autograd.grad(b, losses)
    torch.testing.assert_close(ga, gb)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 25))
def test_matches_loop_and_is_invariant_to_row_order(seed, n):
    rng = np.random.default_rng(seed)
    losses, groups = rng.random(n), rng.integers(0, 4, n)
    expected = np.mean([losses[groups == g].mean() for g in np.unique(groups)])
    perm = rng.permutation(n)
    for order in (np.arange(n), perm):
        got = group_balanced_loss(
            torch.tensor(losses[order]), torch.tensor(groups[order]), n_groups=4
        )
        assert got.item() == pytest.approx(expected, rel=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="reduction='none'"):
        group_balanced_loss(torch.tensor(1.0), torch.tensor([0]))
    with pytest.raises(ValueError, match="sample_weight"):
        group_balanced_loss(torch.ones(3), torch.tensor([0, 1, 0]), sample_weight=torch.ones(2))
    with pytest.raises(ValueError, match="group_weights"):
        group_balanced_loss(torch.ones(3), torch.tensor([0, 1, 0]), group_weights=torch.ones(3))


@pytest.mark.parametrize("bad", [[-1.0, 2.0], [float("nan"), 1.0], [1.0, float("inf")]])
def test_group_weights_must_be_finite_and_non_negative(bad):
    losses, groups = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="group_weights must be finite and non-negative"):
        group_balanced_loss(losses, groups, group_weights=torch.tensor(bad))
    # hand-computed: group means 1.5 and 3.5, weighed 1 : 3
    good = group_balanced_loss(losses, groups, group_weights=torch.tensor([1.0, 3.0]))
    assert float(good) == pytest.approx((1.5 + 3 * 3.5) / 4)


def test_coefficients_give_the_loss_hand_computed():
    per = torch.tensor([1.0, 3.0, 4.0, 0.5])
    groups = torch.tensor([0, 0, 1, 2])
    r = group_balanced_coefficients(groups, 4)
    # groups 0, 1, 2 each weigh 1/3; group 0's two rows share its third
    torch.testing.assert_close(r, torch.tensor([1 / 6, 1 / 6, 1 / 3, 1 / 3]))
    torch.testing.assert_close(per @ r, group_balanced_loss(per, groups))
    # group weights renormalise over the groups present (group 2 absent)
    r = group_balanced_coefficients(torch.tensor([0, 0, 1, 1, 1]), 5, n_groups=3,
                                    group_weights=torch.tensor([1.0, 3.0, 5.0]))
    torch.testing.assert_close(r, torch.tensor([1 / 8, 1 / 8, 1 / 4, 1 / 4, 1 / 4]))


@pytest.mark.parametrize("bad", [[1.0, -2.0, 1.0, 1.0], [1.0, float("nan"), 1.0, 1.0],
                                 [1.0, float("inf"), 1.0, 1.0]])
def test_negative_or_non_finite_sample_weights_are_an_error(bad):
    """They gave -inf, 1e38 or a silently dropped group (a net zero group weight)."""
    sw, g = torch.tensor(bad), torch.tensor([0, 0, 1, 1])
    match = "sample_weight must be finite and non-negative"
    with pytest.raises(ValueError, match=match):
        group_balanced_loss(torch.arange(1.0, 5.0), g, sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        group_balanced_coefficients(g, 4, sample_weight=sw)


def test_check_input_false_skips_the_value_checks_only():
    g, sw = torch.tensor([0, 0, 1, 1]), torch.tensor([1.0, -1.0, 1.0, 1.0])
    r = group_balanced_coefficients(g, 4, sample_weight=sw, check_input=False)
    # group 0's weights cancel (mass 0: it drops out); group 1 takes the whole risk
    torch.testing.assert_close(r, torch.tensor([0.0, 0.0, 0.5, 0.5]))
    value = GroupBalancedLoss()(torch.arange(1.0, 5.0), None, g, sample_weight=sw,
                                check_input=False)
    assert float(value) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        group_balanced_loss(torch.ones(4), g, sample_weight=torch.ones(3), check_input=False)


def test_gradients_reach_weights_and_soft_groups_that_need_them():
    rng = np.random.default_rng(1)
    losses = torch.tensor(rng.random(12))
    w = torch.tensor(rng.random(12) + 0.5, requires_grad=True)
    soft = torch.tensor(rng.dirichlet(np.ones(3), 12), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda w, s: group_balanced_loss(losses, s, sample_weight=w), (w, soft))
