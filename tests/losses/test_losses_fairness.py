"""Demographic-parity, equalized-odds and IoU losses: hand cases and properties."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.losses import (
    EqualizedOddsLoss,
    demographic_parity_loss,
    equalized_odds_loss,
    iou_fairness_loss,
)
from skfair.losses._fairness import _soft_iou

# ---------------------------------------------------------------------------
# Independent numpy references: loops over the cells present, as in SPEC.
# ---------------------------------------------------------------------------


def _entropy(p):
    p = np.asarray(p, dtype=float).ravel()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def np_dp(P, s, kind):
    P, s = np.asarray(P, float), np.asarray(s)
    if kind == "l2":
        return sum(
            (P[s == b, a].mean() - P[:, a].mean()) ** 2
            for a in range(P.shape[1])
            for b in np.unique(s)
        )
    groups = np.unique(s)
    joint = np.array([P[s == b].sum(0) for b in groups]) / len(P)
    ps = np.array([(s == b).mean() for b in groups])
    return _entropy(ps) + _entropy(P.mean(0)) - _entropy(joint)


def np_eo(P, y, s, kind):
    P, y, s = np.asarray(P, float), np.asarray(y), np.asarray(s)
    total = 0.0
    for b in np.unique(y):
        rows = y == b
        if kind == "mi":
            total += np_dp(P[rows], s[rows], "mi")
            continue
        for c in np.unique(s[rows]):
            for a in range(P.shape[1]):
                total += (P[rows & (s == c), a].mean() - P[rows, a].mean()) ** 2
    return total


def np_iou_mean(P, y):
    ious = []
    for k in range(P.shape[1]):
        inter = P[y == k, k].sum()
        union = P[:, k].sum() + (y == k).sum() - inter
        if union > 0:
            ious.append(inter / union)
    return np.mean(ious)


def np_iou_loss(P, y, s, pairwise=False):
    P, y, s = np.asarray(P, float), np.asarray(y), np.asarray(s)
    groups = np.unique(s)
    per = {g: np_iou_mean(P[s == g], y[s == g]) for g in groups}
    if not pairwise:
        overall = np_iou_mean(P, y)
        return np.mean([(per[g] - overall) ** 2 for g in groups])
    pairs = [(g, h) for i, g in enumerate(groups) for h in groups[i + 1 :]]
    if not pairs:
        return 0.0
    return np.mean([(per[g] - per[h]) ** 2 for g, h in pairs])


def _batch(seed, n=40, k=3, n_groups=4, absent=(3,)):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, k, n)
    allowed = [g for g in range(n_groups) if g not in absent]
    s = rng.choice(allowed, n)
    return P, y, s


def _t(P, y, s, grad=True):
    return (
        torch.tensor(P, dtype=torch.float64, requires_grad=grad),
        torch.tensor(y, dtype=torch.int64),
        torch.tensor(s, dtype=torch.int64),
    )


# ---------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------


def test_dp_l2_hand_computed():
    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    groups = torch.tensor([0, 0, 1, 1])
    # group means of p_0: 0.8 and 0.3, overall 0.55 -> 4 cells of 0.25 ** 2
    assert float(demographic_parity_loss(probs, groups)) == pytest.approx(4 * 0.25**2)


def test_dp_mi_hand_computed():
    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]], dtype=torch.float64)
    groups = torch.tensor([0, 0, 1, 1])
    # joint P(s, a) = [[1.6, 0.4], [0.6, 1.4]] / 4, P(s) = (0.5, 0.5), P(a) = (0.55, 0.45)
    joint = [0.4, 0.1, 0.15, 0.35]
    h = lambda ps: -sum(p * math.log(p) for p in ps)  # noqa: E731
    expected = h([0.5, 0.5]) + h([0.55, 0.45]) - h(joint)
    assert float(demographic_parity_loss(probs, groups, kind="mi")) == pytest.approx(expected)
    assert expected == pytest.approx(0.1325, abs=1e-4)


def test_eo_l2_hand_computed():
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    y = torch.tensor([0, 0, 1, 1])
    groups = torch.tensor([0, 1, 0, 1])
    # class 0: cells (0.9, 0.1), (0.6, 0.4) vs mean (0.75, 0.25): 4 * 0.15 ** 2
    # class 1: cells (0.3, 0.7), (0.1, 0.9) vs mean (0.2, 0.8): 4 * 0.1 ** 2
    expected = 4 * 0.15**2 + 4 * 0.1**2
    assert float(equalized_odds_loss(probs, y, groups)) == pytest.approx(expected)


def test_eo_mi_hand_computed_with_zero_probabilities():
    probs = torch.tensor(
        [[1.0, 0.0], [0.0, 1.0], [0.3, 0.7], [0.3, 0.7]], dtype=torch.float64, requires_grad=True
    )
    y = torch.tensor([0, 0, 1, 1])
    groups = torch.tensor([0, 1, 0, 1])
    # class 0: the group determines the prediction -> MI = log 2; class 1: independent -> 0
    loss = equalized_odds_loss(probs, y, groups, kind="mi")
    assert loss.item() == pytest.approx(math.log(2))
    loss.backward()
    assert torch.isfinite(probs.grad).all()


def test_iou_hand_computed():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    y = torch.tensor([0, 1, 0, 1])
    groups = torch.tensor([0, 0, 1, 1])
    # overall: IoU_0 = 1.5 / 2.7, IoU_1 = 1.3 / 2.5
    overall = (1.5 / 2.7 + 1.3 / 2.5) / 2
    g0 = (0.9 / 1.2 + 0.8 / 1.1) / 2
    g1 = (0.6 / 1.5 + 0.5 / 1.4) / 2
    expected = ((g0 - overall) ** 2 + (g1 - overall) ** 2) / 2
    assert float(iou_fairness_loss(probs, y, groups)) == pytest.approx(expected, rel=1e-5)
    pairwise = float(iou_fairness_loss(probs, y, groups, pairwise=True))
    assert pairwise == pytest.approx((g0 - g1) ** 2, rel=1e-5)


def test_iou_reproduces_seed_002_confusion_matrices():
    """The soft confusion matrices of Hänel et al.'s 256-image example (columns = truth)."""
    # (group, true class, rows, predicted mass on class 0)
    cells = [(0, 0, 88, 72.50), (0, 1, 76, 7.90), (1, 0, 57, 49.16), (1, 1, 35, 4.20)]
    P, y, s = [], [], []
    for g, c, rows, mass0 in cells:
        p0 = mass0 / rows
        P += [[p0, 1 - p0]] * rows
        y += [c] * rows
        s += [g] * rows
    probs, y, s = _t(np.array(P), y, s, grad=False)
    overall, per_group, present = _soft_iou(probs, y, s, n_groups=2)
    # seed: IoU(neutral)=0.774, IoU(smile)=0.736; female 0.756 / 0.744; male 0.803 / 0.719
    assert float(overall) == pytest.approx((0.774 + 0.736) / 2, abs=1e-3)
    assert per_group.tolist() == pytest.approx([(0.756 + 0.744) / 2, (0.803 + 0.719) / 2], abs=1e-3)
    assert present.tolist() == [True, True]


# ---------------------------------------------------------------------------
# Against the numpy references, with a group absent from the batch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["l2", "mi"])
def test_dp_eo_match_numpy_reference(seed, kind):
    P, y, s = _batch(seed)
    probs, yt, st_ = _t(P, y, s)
    dp = demographic_parity_loss(probs, st_, kind=kind, n_groups=4)
    eo = equalized_odds_loss(probs, yt, st_, kind=kind, n_groups=4)
    assert dp.item() == pytest.approx(np_dp(P, s, kind), rel=1e-9, abs=1e-12)
    assert eo.item() == pytest.approx(np_eo(P, y, s, kind), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("pairwise", [False, True])
def test_iou_matches_numpy_reference(seed, pairwise):
    P, y, s = _batch(seed)
    probs, yt, st_ = _t(P, y, s)
    got = iou_fairness_loss(probs, yt, st_, pairwise=pairwise, n_groups=4)
    assert got.item() == pytest.approx(np_iou_loss(P, y, s, pairwise), rel=1e-9, abs=1e-14)


def test_l2_losses_are_sums_over_all_cells():
    """EO-L2 is the sum over true classes of DP-L2 within each class (SPEC's cell sum)."""
    P, y, s = _batch(7, n=60, k=4)
    probs, yt, st_ = _t(P, y, s, grad=False)
    eo = float(equalized_odds_loss(probs, yt, st_, n_groups=4))
    per_class = sum(
        float(demographic_parity_loss(probs[yt == b], st_[yt == b], n_groups=4))
        for b in range(4)
        if (yt == b).any()
    )
    assert eo == pytest.approx(per_class, rel=1e-12)
    # and DP-L2 is not a mean: doubling every row leaves it unchanged, adding a
    # far-off group increases it by that group's cells
    doubled = demographic_parity_loss(probs.repeat(2, 1), st_.repeat(2), n_groups=4)
    assert doubled.item() == pytest.approx(np_dp(P, s, "l2"))


# ---------------------------------------------------------------------------
# The empty-group rule and finite gradients
# ---------------------------------------------------------------------------


LOSSES = {
    "dp_l2": lambda p, y, s, n: demographic_parity_loss(p, s, n_groups=n),
    "dp_mi": lambda p, y, s, n: demographic_parity_loss(p, s, kind="mi", n_groups=n),
    "eo_l2": lambda p, y, s, n: equalized_odds_loss(p, y, s, n_groups=n),
    "eo_mi": lambda p, y, s, n: equalized_odds_loss(p, y, s, kind="mi", n_groups=n),
    "iou": lambda p, y, s, n: iou_fairness_loss(p, y, s, n_groups=n),
    "iou_pairwise": lambda p, y, s, n: iou_fairness_loss(p, y, s, pairwise=True, n_groups=n),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_absent_group_drops_out(name):
    """Codes {0, 2} out of 4 groups give the loss of the same batch coded {0, 1} of 2."""
    P, y, s = _batch(3, n=30, absent=(1, 3))
    probs, yt, st_ = _t(P, y, s)
    full = LOSSES[name](probs, yt, st_, 4)
    recoded = LOSSES[name](probs, yt, (st_ == 2).long(), 2)
    assert full.item() == pytest.approx(recoded.item(), rel=1e-12, abs=1e-15)
    assert full.item() > 0
    full.backward()
    assert torch.isfinite(probs.grad).all()
    assert probs.grad.abs().sum() > 0


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_zero_probabilities_and_missing_cells_keep_gradients_finite(name):
    probs = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.8, 0.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    y = torch.tensor([0, 1, 0, 2, 1])
    s = torch.tensor([0, 0, 1, 1, 3])  # group 2 absent; some (class, group) cells empty
    loss = LOSSES[name](probs, y, s, 4)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(probs.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_single_group_gives_zero_with_zero_gradient(name):
    rng = np.random.default_rng(5)
    logits = torch.tensor(rng.normal(size=(12, 3)), requires_grad=True)
    yt = torch.tensor(rng.integers(0, 3, 12))
    loss = LOSSES[name](torch.softmax(logits, 1), yt, torch.full((12,), 2), 4)
    loss.backward()
    assert abs(loss.item()) < 1e-12
    # zero gradient on the simplex (w.r.t. the logits)
    assert float(logits.grad.abs().max()) < 1e-9


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_zero_when_predictions_do_not_depend_on_group(name):
    """Every group gets the same rows (predictions and targets): no disparity at all."""
    P, y, _ = _batch(11, n=10)
    probs, yt, _ = _t(np.tile(P, (3, 1)), np.tile(y, 3), np.zeros(30))
    groups = torch.arange(3).repeat_interleave(10)
    assert abs(LOSSES[name](probs, yt, groups, 3).item()) < 1e-12


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_codes_and_soft_one_hot_assignment_agree(name):
    """Integer codes and the same groups as a one-hot soft assignment (with gradients)."""
    P, y, s = _batch(2, n=25)
    probs, yt, st_ = _t(P, y, s)
    soft = torch.nn.functional.one_hot(st_, 4).double().requires_grad_()
    probs2 = probs.detach().clone().requires_grad_()
    a = LOSSES[name](probs, yt, st_, 4)
    b = LOSSES[name](probs2, yt, soft, None)
    assert a.item() == pytest.approx(b.item(), rel=1e-10, abs=1e-15)
    a.backward()
    b.backward()
    torch.testing.assert_close(probs.grad, probs2.grad, rtol=1e-8, atol=1e-12)
    assert soft.grad is not None and torch.isfinite(soft.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_passes_gradcheck(name):
    P, y, s = _batch(9, n=10, k=3)
    probs, yt, st_ = _t(P, y, s)
    assert torch.autograd.gradcheck(lambda p: LOSSES[name](p, yt, st_, 4), (probs,))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 30))
def test_invariant_to_row_order(seed, n):
    P, y, s = _batch(seed, n=n, absent=())
    perm = np.random.default_rng(seed + 1).permutation(n)
    for fn in LOSSES.values():
        a = fn(*_t(P, y, s, grad=False), 4)
        b = fn(*_t(P[perm], y[perm], s[perm], grad=False), 4)
        assert a.item() == pytest.approx(b.item(), rel=1e-9, abs=1e-12)
        assert a.item() >= -1e-12


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    probs = torch.full((4, 2), 0.5)
    y = torch.tensor([0, 1, 0, 1])
    g = torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match="kind"):
        demographic_parity_loss(probs, g, kind="l1")
    with pytest.raises(ValueError, match="2-D"):
        demographic_parity_loss(probs[:, 0], g)
    with pytest.raises(ValueError, match="rows"):
        demographic_parity_loss(probs, g[:3])
    with pytest.raises(TypeError, match="groups"):
        demographic_parity_loss(probs, g.float())
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        demographic_parity_loss(probs, torch.tensor([0, 1, 2, 0]), n_groups=2)
    with pytest.raises(ValueError, match="codes in"):
        equalized_odds_loss(probs, torch.tensor([0, 1, 5, 0]), g)
    with pytest.raises(TypeError, match="integer class codes"):
        equalized_odds_loss(probs, y.float(), g)
    with pytest.raises(TypeError, match="torch.Tensor"):
        iou_fairness_loss(probs.numpy(), y, g)
    with pytest.raises(ValueError, match="empty"):
        demographic_parity_loss(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), n_groups=2)
    with pytest.raises(TypeError, match="pairwise"):
        iou_fairness_loss(probs, y, g, pairwise="yes")


@pytest.mark.parametrize("kind", ["l2", "mi"])
@pytest.mark.parametrize(
    "bad, name",
    [("y_high", "y"), ("y_negative", "y"), ("g_high", "groups"), ("g_negative", "groups")],
)
def test_equalized_odds_codes_out_of_range_raise(kind, bad, name):
    # a code outside [0, n) must not land silently in another (class, group) cell
    probs = torch.full((4, 3), 1 / 3)
    y = torch.tensor([0, 1, 2, 0])
    g = torch.tensor([0, 1, 0, 1])
    if bad == "y_high":
        y = torch.tensor([0, 1, 3, 0])
    elif bad == "y_negative":
        y = torch.tensor([0, -1, 2, 0])
    elif bad == "g_high":
        g = torch.tensor([0, 2, 0, 1])  # cell 0 * 2 + 2 = 2 exists: only a range check sees it
    else:
        g = torch.tensor([0, 1, -1, 1])
    with pytest.raises(ValueError, match=rf"{name} must hold codes in"):
        equalized_odds_loss(probs, y, g, kind=kind, n_groups=2)
    with pytest.raises(ValueError, match=rf"{name} must hold codes in"):
        EqualizedOddsLoss(kind)(torch.zeros(4, 3), y, g, n_groups=2)


def test_equalized_odds_codes_equal_one_hot_soft_groups():
    # integer codes and the same groups as a one-hot soft assignment: same value and gradient
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (30,), generator=gen)
    g = torch.randint(0, 3, (30,), generator=gen)
    g[g == 1] = 2  # group 1 absent
    for kind in ("l2", "mi"):
        loss = EqualizedOddsLoss(kind)
        a = logits.clone().requires_grad_(True)
        b = logits.clone().requires_grad_(True)
        va = loss(a, y, g, n_groups=3)
        vb = loss(b, y, torch.eye(3, dtype=torch.float64)[g])
        (ga,) = torch.autograd.grad(va, a)
        (gb,) = torch.autograd.grad(vb, b)
        torch.testing.assert_close(va, vb)
        torch.testing.assert_close(ga, gb)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_half_precision_probabilities_are_computed_in_float32(name, dtype):
    """The functional forms upcast as the modules do: a half input gives the float32
    value of the same (rounded) probabilities, in float32."""
    P, y, s = _batch(6, n=30)
    half = torch.tensor(P, dtype=dtype)
    value = LOSSES[name](half, torch.tensor(y), torch.tensor(s), 4)
    assert value.dtype == torch.float32
    expected = LOSSES[name](half.float(), torch.tensor(y), torch.tensor(s), 4)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
