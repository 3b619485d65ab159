"""Bias-amplification auxiliary loss (Choi et al.)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.losses import bias_amplification_loss, cooccurrence_ratio


def test_cooccurrence_ratio_hand_computed_numpy_and_torch():
    Y = np.array([[1, 0], [1, 1], [1, 0], [0, 1]])
    groups = np.array([0, 0, 1, 1])
    # label 0 occurs with group 0 twice and group 1 once; label 1 once each
    expected = np.array([[2 / 3, 1 / 3], [0.5, 0.5]])
    np.testing.assert_allclose(cooccurrence_ratio(Y, groups), expected)
    got = cooccurrence_ratio(torch.tensor(Y), torch.tensor(groups))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected)
    joint = cooccurrence_ratio(Y, groups, kind="joint")
    np.testing.assert_allclose(joint, np.array([[2, 1], [1, 1]]) / 4)


def test_cooccurrence_ratio_label_never_seen_warns_and_is_nan():
    Y = np.array([[1, 0], [1, 0]])
    with pytest.warns(UserWarning, match="1 label"):
        b = cooccurrence_ratio(Y, np.array([0, 1]))
    assert np.isnan(b[1]).all() and np.isfinite(b[0]).all()


def test_loss_hand_computed():
    b_train = torch.tensor([[0.5, 0.5], [0.8, 0.2]])
    probs = torch.tensor([[0.9, 0.6], [0.3, 0.2]])
    groups = torch.tensor([0, 1])
    # label 0: b_pred = (0.75, 0.25) -> 0.25 + 0.25; label 1: (0.75, 0.25) -> 0.05 + 0.05
    assert bias_amplification_loss(probs, groups, b_train).item() == pytest.approx(0.6)
    # joint form: b_pred = probs^T onehot / B
    b_joint = torch.tensor([[0.4, 0.1], [0.3, 0.1]])
    got = bias_amplification_loss(probs, groups, b_joint, kind="joint").item()
    assert got == pytest.approx(abs(0.45 - 0.4) + abs(0.15 - 0.1) + 0 + 0)


@pytest.mark.parametrize("kind", ["ratio", "joint"])
def test_zero_when_predictions_reproduce_training_labels(kind):
    rng = np.random.default_rng(0)
    Y = (rng.random((50, 4)) < 0.4).astype(float)
    Y[0] = 1  # every label occurs
    groups = rng.integers(0, 3, 50)
    b = cooccurrence_ratio(Y, groups, kind=kind)
    probs = torch.tensor(Y, requires_grad=True)
    loss = bias_amplification_loss(probs, torch.tensor(groups), b, kind=kind)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    loss.backward()
    assert torch.isfinite(probs.grad).all()


def test_soft_group_assignment_equals_codes_and_allows_gradients():
    rng = np.random.default_rng(1)
    probs = torch.tensor(rng.random((30, 3)), requires_grad=True)
    codes = torch.tensor(rng.integers(0, 2, 30))
    b = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.3, 0.7]], dtype=torch.float64)
    a = bias_amplification_loss(probs, codes, b)
    soft = torch.nn.functional.one_hot(codes, 2).double().requires_grad_()
    probs2 = probs.detach().clone().requires_grad_()
    c = bias_amplification_loss(probs2, soft, b)
    assert a.item() == pytest.approx(c.item(), rel=1e-12)
    a.backward()
    c.backward()
    torch.testing.assert_close(probs.grad, probs2.grad)
    assert soft.grad is not None  # e.g. a gender classifier on descriptive-model samples
    # a genuinely soft assignment (classifier probabilities) also works
    q = torch.softmax(torch.randn(30, 2, dtype=torch.float64), 1)
    assert torch.isfinite(bias_amplification_loss(probs.detach(), q, b))


def test_undefined_targets_absent_groups_and_massless_labels_drop_out():
    b = torch.tensor([[0.5, 0.5, 0.0], [float("nan")] * 3])
    probs = torch.tensor([[0.8, 0.3], [0.2, 0.1]], requires_grad=True)
    groups = torch.tensor([0, 0])  # groups 1 and 2 absent
    loss = bias_amplification_loss(probs, groups, b)
    # only cell (label 0, group 0) counts: b_pred = 1 vs 0.5
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert torch.isfinite(probs.grad).all()
    zero_mass = torch.tensor([[0.0, 0.3], [0.0, 0.1]])
    got = bias_amplification_loss(zero_mass, torch.tensor([0, 1]), torch.full((2, 2), 0.5))
    assert got.item() == pytest.approx(abs(0.75 - 0.5) + abs(0.25 - 0.5))


@pytest.mark.parametrize("kind", ["ratio", "joint"])
def test_gradient_passes_gradcheck(kind):
    rng = np.random.default_rng(2)
    probs = torch.tensor(rng.random((8, 3)) * 0.8 + 0.1, requires_grad=True)
    groups = torch.tensor(rng.integers(0, 2, 8))
    b = torch.tensor(rng.random((3, 2)))
    assert torch.autograd.gradcheck(
        lambda p: bias_amplification_loss(p, groups, b, kind=kind), (probs,)
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 25))
def test_matches_loop_and_row_order_invariant(seed, n):
    rng = np.random.default_rng(seed)
    P, s = rng.random((n, 3)), rng.integers(0, 2, n)
    b = rng.random((3, 2))
    expected = sum(
        abs(P[s == g, k].sum() / P[:, k].sum() - b[k, g]) for k in range(3) for g in np.unique(s)
    )
    perm = rng.permutation(n)
    for order in (np.arange(n), perm):
        got = bias_amplification_loss(torch.tensor(P[order]), torch.tensor(s[order]), b)
        assert got.item() == pytest.approx(expected, rel=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="b_train"):
        bias_amplification_loss(torch.rand(4, 3), torch.tensor([0, 1, 0, 1]), torch.rand(2, 2))
    with pytest.raises(ValueError, match="n_groups"):
        bias_amplification_loss(
            torch.rand(4, 3), torch.tensor([0, 1, 0, 1]), torch.rand(3, 2), n_groups=3
        )
    with pytest.raises(ValueError, match="kind"):
        cooccurrence_ratio(np.ones((2, 2)), np.array([0, 1]), kind="rate")


def test_module_state_dict_carries_the_target_and_set_params_drops_a_stale_one():
    """load_state_dict sets b_train_ (into a fresh module too) and the next call uses it,
    not a target prepared before; a new kind forgets the fitted target."""
    from skfair.losses import BiasAmplificationLoss

    g = torch.tensor([0, 0, 1, 1])
    x = torch.zeros(4, 2)
    a = BiasAmplificationLoss().fit(torch.tensor([[1, 0], [1, 1], [0, 1], [0, 1]]), g)
    expected = a(x, None, g).item()
    fresh = BiasAmplificationLoss()
    fresh.load_state_dict(a.state_dict())
    assert fresh(x, None, g).item() == pytest.approx(expected)
    used = BiasAmplificationLoss().fit(torch.tensor([[0, 1], [0, 1], [1, 0], [1, 0]]), g)
    before = used(x, None, g).item()  # prepares (caches) its own target
    used.load_state_dict(a.state_dict())
    assert used(x, None, g).item() == pytest.approx(expected) != pytest.approx(before)
    a.set_params(kind="ratio")  # unchanged: the target stays
    assert a(x, None, g).item() == pytest.approx(expected)
    a.set_params(kind="joint")
    assert a.b_train_ is None
    with pytest.raises(RuntimeError, match="call fit"):
        a(x, None, g)


@pytest.mark.parametrize("Y", [[[1, 0], [np.nan, 1]], [[2, 0], [1, 1]]])
def test_cooccurrence_ratio_needs_a_binary_label_matrix(Y):
    with pytest.raises(ValueError, match="Y must be a binary label matrix"):
        cooccurrence_ratio(np.array(Y, dtype=float), [0, 1])


def test_cooccurrence_ratio_string_groups_are_a_clear_error():
    with pytest.raises(TypeError, match="groups must be integer group codes.*encode"):
        cooccurrence_ratio(np.array([[1, 0], [0, 1]]), ["a", "b"])
