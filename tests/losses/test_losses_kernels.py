"""The compiled CPU kernels of penalized_task_loss against the torch fused nodes."""

from contextlib import nullcontext

import numpy as np
import pytest
import torch

from skfair.losses import (
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
    _ops,
    penalized_task_loss,
)

kernels = pytest.importorskip("skfair.losses._kernels", reason="numba is not installed")

B, K, NG = 40, 5, 4

CLASSIFICATION = [
    DemographicParityLoss("l2"),
    DemographicParityLoss("mi"),
    EqualizedOddsLoss("l2"),
    EqualizedOddsLoss("mi"),
    IoUFairnessLoss(),
    IoUFairnessLoss(pairwise=True),
    GroupBalancedLoss(),
]


def _batch(seed, dtype, groups_present=NG):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, K, generator=gen, dtype=dtype) * 2
    y = torch.randint(0, K, (B,), generator=gen)
    groups = torch.randint(0, groups_present, (B,), generator=gen)
    w = torch.rand(B, generator=gen, dtype=dtype) * 2
    return logits, y, groups, w


def _value_and_grad(fn, x, path, monkeypatch):
    with monkeypatch.context() as m:
        if path == "torch":
            m.setattr(_ops, "_load_kernels", lambda: None)
        x = x.clone().requires_grad_(True)
        value = fn(x)
        (grad,) = torch.autograd.grad(value, x)
        return value.detach(), grad, value.grad_fn.name()


def _compare(fn, x, monkeypatch, atol):
    v_k, g_k, node = _value_and_grad(fn, x, "kernels", monkeypatch)
    v_t, g_t, _ = _value_and_grad(fn, x, "torch", monkeypatch)
    assert "KernelObjective" in node  # the compiled path ran
    torch.testing.assert_close(v_k, v_t, atol=atol, rtol=atol)
    torch.testing.assert_close(g_k, g_t, atol=atol, rtol=atol)
    assert torch.isfinite(g_k).all()
    return v_k, g_k


@pytest.mark.parametrize("penalty", CLASSIFICATION, ids=repr)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("groups_present", [NG, 2, 1])
def test_classification_penalties_match_the_torch_nodes(penalty, dtype, weighted,
                                                         groups_present, monkeypatch):
    # groups_present < NG: groups (and many class-group cells) absent from the batch
    logits, y, groups, w = _batch(0, dtype, groups_present)
    weight = w if weighted else None

    def fn(x):
        return penalized_task_loss(x, y, groups, penalty=penalty, lam=0.8, n_groups=NG,
                                   sample_weight=weight)

    _compare(fn, logits, monkeypatch, 1e-5 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize("kind", ["ratio", "joint"])
@pytest.mark.parametrize("threshold", [None, 0.4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bias_amplification_matches_the_torch_node(kind, threshold, dtype, monkeypatch):
    logits, _, groups, w = _batch(1, dtype)
    labels = (torch.rand(B, K, generator=torch.Generator().manual_seed(2)) < 0.3).to(dtype)
    labels[:, 0] = 0  # a label that never occurs: its ratio target is undefined
    warns = pytest.warns(UserWarning, match="never occur") if kind == "ratio" else nullcontext()
    with warns:
        penalty = BiasAmplificationLoss(kind=kind, n_groups=NG).fit(labels, groups)

    def fn(x):
        return penalized_task_loss(x, labels, groups, task="binary_cross_entropy",
                                   penalty=penalty, lam=0.8, n_groups=NG, sample_weight=w,
                                   straight_through_threshold=threshold)

    _compare(fn, logits, monkeypatch, 1e-5 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize("task", ["l1", "mse"])
@pytest.mark.parametrize("penalty", [None, MeanParityLoss(), MAEParityLoss(), GroupBalancedLoss()],
                         ids=repr)
@pytest.mark.parametrize("groups_present", [NG, 1])
def test_regression_matches_the_torch_nodes(task, penalty, groups_present, monkeypatch):
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(B, 1, generator=gen, dtype=torch.float64) * 10 + 30
    target = torch.randn(B, generator=gen, dtype=torch.float64) * 10 + 30
    groups = torch.randint(0, groups_present, (B,), generator=gen)

    def fn(x):
        return penalized_task_loss(x, target, groups, task=task, penalty=penalty, lam=0.3,
                                   n_groups=NG)

    _compare(fn, pred, monkeypatch, 1e-10)


def test_task_alone_matches_for_every_task(monkeypatch):
    logits, y, _, w = _batch(4, torch.float64)
    labels = (logits > 0.5).double()
    for task, target in [("cross_entropy", y), ("binary_cross_entropy", labels),
                         ("l1", labels), ("mse", labels)]:
        for weight in (None, w):
            _compare(lambda x, t=task, tg=target, wt=weight: penalized_task_loss(
                x, tg, task=t, sample_weight=wt), logits, monkeypatch, 1e-10)


def test_hand_computed_eo_l2_objective():
    # two classes, two groups, one row per cell: P = softmax(x) per row
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]], dtype=torch.float64,
                     requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    g = torch.tensor([0, 1, 0, 1])
    loss = penalized_task_loss(x, y, g, penalty=EqualizedOddsLoss(), lam=1.0, n_groups=2)
    assert "KernelObjective" in loss.grad_fn.name()
    P = torch.softmax(x.detach(), 1).numpy()
    ce = -np.mean(np.log(P[[0, 1, 2, 3], [0, 0, 1, 1]]))
    # class b: each cell's mean of P minus the class mean (two one-row cells, so +-half
    # the difference), squared and summed over the two cells and two predicted classes
    eo = sum(2 * ((P[i] - P[j]) / 2) ** 2 for i, j in [(0, 1), (2, 3)]).sum()
    assert float(loss.detach()) == pytest.approx(ce + eo, rel=1e-12)


def test_upstream_gradient_scales_the_kernel_gradient():
    logits, y, groups, _ = _batch(5, torch.float64)
    x = logits.clone().requires_grad_(True)
    loss = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5, n_groups=NG)
    (unit,) = torch.autograd.grad(loss, x, retain_graph=False)
    loss = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5, n_groups=NG)
    (3 * loss).backward()
    torch.testing.assert_close(x.grad, 3 * unit)


@pytest.mark.parametrize("bad, penalty", [
    *[("groups", p) for p in (DemographicParityLoss(), EqualizedOddsLoss("mi"),
                              IoUFairnessLoss(), GroupBalancedLoss())],
    *[("y", p) for p in (None, EqualizedOddsLoss(), IoUFairnessLoss())],
], ids=repr)
@pytest.mark.parametrize("too_high", [False, True])
def test_codes_out_of_range_name_their_argument(bad, penalty, too_high):
    # compiled code does not check its indices: the kernels check every code themselves
    logits, y, groups, _ = _batch(6, torch.float32)
    codes, n = (groups, NG) if bad == "groups" else (y, K)
    codes[7] = n if too_high else -1
    with pytest.raises(ValueError, match=rf"{bad} must hold codes in \[0, {n}\)"):
        penalized_task_loss(logits, y, groups, penalty=penalty, lam=1.0, n_groups=NG,
                            check_input=False)


@pytest.mark.parametrize("penalty", [MeanParityLoss(), MAEParityLoss()], ids=repr)
def test_regression_group_codes_out_of_range_name_groups(penalty):
    pred, target = torch.zeros(6, 1), torch.ones(6)
    groups = torch.tensor([0, 1, 0, 1, 0, 5])
    with pytest.raises(ValueError, match=r"groups must hold codes in \[0, 2\)"):
        penalized_task_loss(pred, target, groups, task="l1", penalty=penalty, n_groups=2)


def test_no_grad_gives_the_value():
    logits, y, groups, _ = _batch(8, torch.float32)
    with torch.no_grad():
        value = penalized_task_loss(logits, y, groups, penalty=EqualizedOddsLoss(), lam=0.5,
                                    n_groups=NG)
    x = logits.clone().requires_grad_(True)
    expected = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5,
                                   n_groups=NG)
    assert value.grad_fn is None
    assert float(value) == float(expected.detach())


def test_soft_groups_take_the_torch_node():
    logits, y, groups, _ = _batch(9, torch.float32)
    soft = torch.nn.functional.one_hot(groups, NG).float()
    x = logits.clone().requires_grad_(True)
    loss = penalized_task_loss(x, y, soft, penalty=EqualizedOddsLoss(), lam=0.5)
    assert "KernelObjective" not in loss.grad_fn.name()
    by_codes = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5,
                                   n_groups=NG)
    torch.testing.assert_close(loss, by_codes)


def test_half_precision_and_other_dtypes_are_computed_in_float32():
    logits, y, groups, _ = _batch(10, torch.float32)
    x = logits.to(torch.bfloat16).requires_grad_(True)
    loss = penalized_task_loss(x, y, groups, penalty=DemographicParityLoss(), lam=0.5,
                               n_groups=NG)
    assert loss.dtype == torch.float32
    loss.backward()
    assert x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad.float()).all()


def test_environment_variable_turns_the_kernels_off(monkeypatch):
    logits, y, groups, _ = _batch(11, torch.float32)
    x = logits.clone().requires_grad_(True)
    monkeypatch.setenv("SKFAIR_NUMBA", "0")
    _ops._load_kernels.cache_clear()
    try:
        loss = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5,
                                   n_groups=NG)
        assert "KernelObjective" not in loss.grad_fn.name()
    finally:
        monkeypatch.delenv("SKFAIR_NUMBA")
        _ops._load_kernels.cache_clear()
    loss = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), lam=0.5, n_groups=NG)
    assert "KernelObjective" in loss.grad_fn.name()


def test_a_subclass_with_its_own_fused_form_keeps_it():
    calls = []

    class Custom(EqualizedOddsLoss):
        def _penalty_parts(self, input, y, groups, n_groups):
            calls.append(1)
            return super()._penalty_parts(input, y, groups, n_groups)

    class SameForm(EqualizedOddsLoss):
        pass

    logits, y, groups, _ = _batch(12, torch.float32)
    x = logits.clone().requires_grad_(True)
    loss = penalized_task_loss(x, y, groups, penalty=Custom(), lam=0.5, n_groups=NG)
    assert calls and "KernelObjective" not in loss.grad_fn.name()
    loss = penalized_task_loss(x, y, groups, penalty=SameForm(), lam=0.5, n_groups=NG)
    assert "KernelObjective" in loss.grad_fn.name()


def _standalone_cases():
    """(name, input, function of x) for every loss called on its own."""
    from skfair.losses import (
        bias_amplification_loss,
        demographic_parity_loss,
        equalized_odds_loss,
        group_mae_parity_loss,
        group_mean_parity_loss,
        iou_fairness_loss,
    )

    logits, y, groups, _ = _batch(13, torch.float64, groups_present=3)
    probs = torch.softmax(logits, 1)
    b_train = torch.rand(K, NG, dtype=torch.float64)
    pred = logits[:, :1] * 10
    target = logits[:, 1] * 10
    cases = [
        ("dp probs", probs, lambda p: demographic_parity_loss(p, groups, "mi", n_groups=NG)),
        ("eo probs", probs, lambda p: equalized_odds_loss(p, y, groups, n_groups=NG)),
        ("iou probs", probs, lambda p: iou_fairness_loss(p, y, groups, True, n_groups=NG)),
        ("ba probs", torch.sigmoid(logits), lambda p: bias_amplification_loss(
            p, groups, b_train, n_groups=NG)),
        ("mean parity (B,)", pred[:, 0], lambda p: group_mean_parity_loss(p, groups,
                                                                          n_groups=NG)),
        ("mae parity (B, 1)", pred, lambda p: group_mae_parity_loss(p, target, groups,
                                                                    n_groups=NG)),
        ("ba logits", logits, lambda z: BiasAmplificationLoss(b_train=b_train, n_groups=NG)(
            z, None, groups)),
    ]
    for loss in CLASSIFICATION[:-1]:  # the modules on logits (softmax link)
        cases.append((repr(loss), logits, lambda z, f=loss: f(z, y, groups, n_groups=NG)))
    return cases


@pytest.mark.parametrize("case", _standalone_cases(), ids=lambda c: c[0])
def test_losses_called_alone_match_the_torch_nodes(case, monkeypatch):
    name, x, fn = case
    _compare(fn, x, monkeypatch, 1e-10)


def test_without_numba_the_losses_take_the_torch_nodes(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "skfair.losses._kernels", None)  # import fails
    _ops._load_kernels.cache_clear()
    try:
        assert _ops._load_kernels() is None
        logits, y, groups, _ = _batch(15, torch.float32)
        loss = penalized_task_loss(logits.requires_grad_(), y, groups,
                                   penalty=EqualizedOddsLoss(), lam=0.5, n_groups=NG)
        assert "KernelObjective" not in loss.grad_fn.name()
    finally:
        _ops._load_kernels.cache_clear()
