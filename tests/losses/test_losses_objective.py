"""penalized_task_loss: the fused objective equals the composed one, values and gradients.

Every test runs twice on the CPU: through the compiled kernels (numba) and through
the torch fused nodes (the kernels turned off).
"""

import pytest
import torch
import torch.nn.functional as F

from skfair.losses import (
    AdversarialLoss,
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
    bias_amplification_loss,
    group_balanced_coefficients,
    group_balanced_loss,
    penalized_task_loss,
)

B, K, NG = 24, 4, 3

pytestmark = pytest.mark.usefixtures("cpu_path")  # kernels and torch nodes (conftest)


def _batch(seed=0, missing_group=None):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, K, generator=gen, dtype=torch.float64)
    y = torch.randint(0, K, (B,), generator=gen)
    groups = torch.randint(0, NG, (B,), generator=gen)
    if missing_group is not None:
        groups[groups == missing_group] = (missing_group + 1) % NG
    w = torch.rand(B, generator=gen, dtype=torch.float64) * 2
    return logits, y, groups, w


def _composed_ce(logits, y, groups, penalty, lam, w):
    task = (w * F.cross_entropy(logits, y, reduction="none")).mean()
    return task + lam * penalty(logits, y, groups, n_groups=NG)


def _grads(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (g,) = torch.autograd.grad(value, x)
    return value.detach(), g


CLASSIFICATION_PENALTIES = [
    DemographicParityLoss("l2"),
    DemographicParityLoss("mi"),
    EqualizedOddsLoss("l2"),
    EqualizedOddsLoss("mi"),
    IoUFairnessLoss(),
    IoUFairnessLoss(pairwise=True),
]


@pytest.mark.parametrize("penalty", CLASSIFICATION_PENALTIES, ids=repr)
@pytest.mark.parametrize("missing_group", [None, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_penalties_match_composition(penalty, missing_group, weighted):
    logits, y, groups, w = _batch(1, missing_group)
    w = w if weighted else torch.ones(B, dtype=torch.float64)
    lam = 0.7
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=penalty, lam=lam,
                                      sample_weight=w if weighted else None, n_groups=NG), logits)
    ref, g_ref = _grads(lambda x: _composed_ce(x, y, groups, penalty, lam, w), logits)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)
    assert torch.isfinite(g_fused).all()


def test_task_alone_equals_weighted_cross_entropy():
    logits, y, groups, w = _batch(2)
    for penalty, lam in [(None, 1.0), (DemographicParityLoss(), 0.0)]:
        fused, g_fused = _grads(
            lambda x, p=penalty, la=lam: penalized_task_loss(x, y, groups, penalty=p, lam=la,
                                                             sample_weight=w), logits)
        ref, g_ref = _grads(lambda x: (w * F.cross_entropy(x, y, reduction="none")).mean(),
                            logits)
        torch.testing.assert_close(fused, ref)
        torch.testing.assert_close(g_fused, g_ref)


def test_group_balanced_folds_into_row_weights():
    logits, y, groups, w = _batch(3, missing_group=2)
    lam = 2.0
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=GroupBalancedLoss(), lam=lam,
                                      sample_weight=w, n_groups=NG), logits)

    def composed(x):
        per = F.cross_entropy(x, y, reduction="none")
        return (w * per).mean() + lam * group_balanced_loss(per, groups, n_groups=NG,
                                                            sample_weight=w)

    ref, g_ref = _grads(composed, logits)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)


def test_group_balanced_coefficients_give_the_loss():
    per = torch.tensor([1.0, 3.0, 4.0, 0.5])
    groups = torch.tensor([0, 0, 1, 2])
    r = group_balanced_coefficients(groups, 4)
    # groups 0, 1, 2 each weigh 1/3; group 0's two rows share its third
    torch.testing.assert_close(r, torch.tensor([1 / 6, 1 / 6, 1 / 3, 1 / 3]))
    torch.testing.assert_close(per @ r, group_balanced_loss(per, groups))


def _multilabel_batch(seed, kind):
    """Logits, 0/1 labels, groups, row weights and a fitted bias-amplification loss."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, K, generator=gen, dtype=torch.float64)
    Y = (torch.rand(B, K, generator=gen) < 0.4).double()
    groups = torch.randint(0, NG, (B,), generator=gen)
    w = torch.rand(B, generator=gen, dtype=torch.float64)
    loss = BiasAmplificationLoss(kind=kind).fit(Y, groups, n_groups=NG).double()
    return logits, Y, groups, w, loss


@pytest.mark.parametrize("kind", ["ratio", "joint"])
def test_binary_cross_entropy_with_bias_amplification(kind):
    logits, Y, groups, w, loss = _multilabel_batch(4, kind)
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, Y, groups, task="binary_cross_entropy", penalty=loss,
                                      lam=0.3, sample_weight=w, n_groups=NG), logits)

    def composed(x):
        per = F.binary_cross_entropy_with_logits(x, Y, reduction="none").sum(1)
        return (w * per).mean() + 0.3 * loss(x, None, groups, n_groups=NG)

    ref, g_ref = _grads(composed, logits)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)


@pytest.mark.parametrize("kind", ["ratio", "joint"])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_straight_through_bias_amplification(kind, threshold):
    # the penalty reads 1[sigmoid(x) > threshold]; its gradient flows through the sigmoid
    logits, Y, groups, w, loss = _multilabel_batch(11, kind)
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, Y, groups, task="binary_cross_entropy", penalty=loss,
                                      lam=0.6, sample_weight=w, n_groups=NG,
                                      straight_through_threshold=threshold), logits)
    cut = torch.logit(torch.tensor(threshold, dtype=torch.float64))

    def composed(x):
        per = F.binary_cross_entropy_with_logits(x, Y, reduction="none").sum(1)
        p = torch.sigmoid(x)
        hard = (x > cut).double() + p - p.detach()
        return (w * per).mean() + 0.6 * bias_amplification_loss(
            hard, groups, loss.b_train_, n_groups=NG, kind=kind)

    ref, g_ref = _grads(composed, logits)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)
    # not the soft penalty: the hard indicator changes the value
    soft = penalized_task_loss(logits, Y, groups, task="binary_cross_entropy", penalty=loss,
                               lam=0.6, sample_weight=w, n_groups=NG)
    assert not torch.isclose(soft, fused)


def test_straight_through_threshold_checks():
    logits, y, groups, _ = _batch(12)
    Y = torch.nn.functional.one_hot(y, K).double()
    loss = BiasAmplificationLoss().fit(Y, groups, n_groups=NG).double()
    kw = dict(task="binary_cross_entropy", penalty=loss, n_groups=NG)
    with pytest.raises(ValueError, match="task='binary_cross_entropy' only"):
        penalized_task_loss(logits, y, groups, penalty=DemographicParityLoss(),
                            straight_through_threshold=0.5)
    for bad in (0.0, 1.0, True, "0.5"):
        with pytest.raises(ValueError, match="straight_through_threshold must be"):
            penalized_task_loss(logits, Y, groups, straight_through_threshold=bad, **kw)
    # a penalty without a fused sigmoid form cannot read the hard indicator
    with pytest.raises(TypeError, match="fused sigmoid form"):
        penalized_task_loss(logits, Y, groups, task="binary_cross_entropy",
                            penalty=lambda x, y, g, n_groups=None: x.sum(),
                            straight_through_threshold=0.5)
    probs_loss = BiasAmplificationLoss(from_logits=False).fit(Y, groups, n_groups=NG).double()
    with pytest.raises(TypeError, match="fused sigmoid form"):
        penalized_task_loss(logits, Y, groups, task="binary_cross_entropy", penalty=probs_loss,
                            n_groups=NG, straight_through_threshold=0.5)
    # without a penalty (or lam=0) the threshold has nothing to change
    torch.testing.assert_close(
        penalized_task_loss(logits, Y, task="binary_cross_entropy",
                            straight_through_threshold=0.5),
        penalized_task_loss(logits, Y, task="binary_cross_entropy"))


@pytest.mark.parametrize("task", ["l1", "mse"])
@pytest.mark.parametrize("penalty", [None, MeanParityLoss(), MAEParityLoss()], ids=repr)
def test_regression_tasks(task, penalty):
    gen = torch.Generator().manual_seed(5)
    pred = torch.randn(B, 1, generator=gen, dtype=torch.float64)
    y = torch.randn(B, generator=gen, dtype=torch.float64)
    groups = torch.randint(0, NG, (B,), generator=gen)
    w = torch.rand(B, generator=gen, dtype=torch.float64)
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, y, groups, task=task, penalty=penalty, lam=0.4,
                                      sample_weight=w, n_groups=NG), pred)

    def composed(x):
        err = x[:, 0] - y
        per = err.abs() if task == "l1" else err * err
        value = (w * per).mean()
        if penalty is not None:
            value = value + 0.4 * penalty(x, y, groups, n_groups=NG)
        return value

    ref, g_ref = _grads(composed, pred)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)


def test_multi_output_regression_averages_outputs():
    pred = torch.tensor([[1.0, 2.0], [0.0, 4.0]])
    y = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # rows: (1 + 2) / 2 = 1.5 and (0 + 4) / 2 = 2; mean 1.75
    assert float(penalized_task_loss(pred, y, task="l1")) == pytest.approx(1.75)


def test_penalty_without_fused_form_is_added():
    calls = []

    def my_penalty(x, y, groups, n_groups=None):
        calls.append(n_groups)
        return (x[:, 0] ** 2).mean()

    logits, y, groups, _ = _batch(6)
    fused, g_fused = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=my_penalty, lam=0.5, n_groups=NG),
        logits)
    ref, g_ref = _grads(lambda x: F.cross_entropy(x, y) + 0.5 * (x[:, 0] ** 2).mean(), logits)
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(g_fused, g_ref)
    assert calls == [NG]


def test_soft_groups_needing_grad_fall_back_to_autograd():
    logits, y, _, _ = _batch(7)
    soft = torch.softmax(torch.randn(B, NG, dtype=torch.float64), 1).requires_grad_(True)
    value = penalized_task_loss(logits, y, soft, penalty=DemographicParityLoss(), lam=1.0)
    (g_soft,) = torch.autograd.grad(value, soft)
    assert torch.isfinite(g_soft).all() and g_soft.abs().sum() > 0


def test_float32_and_half_outputs():
    logits, y, groups, _ = _batch(8)
    for dtype in (torch.float32, torch.bfloat16):
        x = logits.to(dtype).requires_grad_(True)
        value = penalized_task_loss(x, y, groups, penalty=EqualizedOddsLoss(), n_groups=NG)
        assert value.dtype == torch.float32
        value.backward()
        assert x.grad.dtype == dtype and torch.isfinite(x.grad.float()).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"task": "hinge"}, ValueError, "task must be one of"),
        ({"lam": -1.0}, ValueError, "lam must be a finite non-negative"),
        ({"lam": True}, ValueError, "lam must be a finite non-negative"),
        ({"penalty": AdversarialLoss()}, TypeError, "embedding=..., head=..."),
        ({"penalty": DemographicParityLoss(), "groups": None}, ValueError, "groups is None"),
        ({"sample_weight": torch.ones(3)}, ValueError, "sample_weight must have shape"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    logits, y, groups, _ = _batch(9)
    kw = {"groups": groups, **kwargs}
    with pytest.raises(error, match=match):
        penalized_task_loss(logits, y, **kw)


def test_bad_outputs_and_targets():
    logits, y, groups, _ = _batch(10)
    with pytest.raises(ValueError, match="at least 2 columns"):
        penalized_task_loss(logits[:, :1], y)
    with pytest.raises(TypeError, match="floating point"):
        penalized_task_loss(y.view(-1, 1).repeat(1, 2), y)
    with pytest.raises(ValueError, match="integer class codes"):
        penalized_task_loss(logits, y.double())
    with pytest.raises(ValueError, match="shape of outputs"):
        penalized_task_loss(logits, y, task="l1")
    with pytest.raises(ValueError, match="codes in"):
        penalized_task_loss(logits, y, groups + 10, penalty=DemographicParityLoss(),
                            n_groups=NG)


@pytest.mark.parametrize("fused", ["objective", "penalty"])
def test_create_graph_gives_first_order_grads_and_refuses_second_order(fused):
    # an ordinary backward pass skips once_differentiable's bookkeeping; under
    # create_graph=True the fused node still gives the first-order gradient, and
    # differentiating that gradient again is an error, never a silently wrong value
    logits, y, groups, _ = _batch()
    penalty = EqualizedOddsLoss("l2")

    def fn(x):
        if fused == "objective":
            return penalized_task_loss(x, y, groups, penalty=penalty, lam=0.7, n_groups=NG)
        return penalty(x, y, groups, n_groups=NG)

    _, expected = _grads(fn, logits)
    x = logits.clone().requires_grad_(True)
    scale = torch.tensor(2.0, dtype=x.dtype, requires_grad=True)  # upstream grad needs grad
    (g,) = torch.autograd.grad(fn(x) * scale, x, create_graph=True)
    torch.testing.assert_close(g, 2 * expected)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()
    x = logits.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x), x)
    assert not g.requires_grad


@pytest.mark.parametrize("bad", [[1.0, -2.0, 1.0, 1.0], [1.0, float("nan"), 1.0, 1.0],
                                 [1.0, float("inf"), 1.0, 1.0]])
def test_negative_or_non_finite_sample_weights_are_an_error(bad):
    """They gave -inf, 1e38 or a silently dropped group (a net zero group weight)."""
    sw = torch.tensor(bad)
    x = torch.zeros(4, 2)
    y = torch.tensor([0, 1, 0, 1])
    g = torch.tensor([0, 0, 1, 1])
    match = "sample_weight must be finite and non-negative"
    with pytest.raises(ValueError, match=match):
        penalized_task_loss(x, y, sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        penalized_task_loss(x, y, g, penalty=GroupBalancedLoss(), sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        group_balanced_loss(torch.arange(1.0, 5.0), g, sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        AdversarialLoss()(x, None, g, sample_weight=sw)


@pytest.mark.parametrize("code", [-100, 2])
def test_cross_entropy_targets_out_of_range_are_an_error_naming_y(code):
    """-100 is F.cross_entropy's ignore_index: it must not drop the row silently."""
    with pytest.raises(ValueError, match=r"y must hold codes in \[0, 2\)"):
        penalized_task_loss(torch.zeros(4, 2), torch.tensor([0, 1, 0, code]))


def test_lam_must_be_finite():
    with pytest.raises(ValueError, match="lam must be a finite"):
        penalized_task_loss(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]),
                            torch.tensor([0, 0, 1, 1]), penalty=DemographicParityLoss(),
                            lam=float("inf"))


def test_check_input_false_skips_the_value_checks_only():
    """The estimators validate y and the weights at fit and skip the per-step value
    checks; shapes are still checked."""
    x = torch.zeros(4, 2)
    g = torch.tensor([0, 0, 1, 1])
    y = torch.tensor([0, 1, 0, 1])
    sw = torch.tensor([1.0, -1.0, 1.0, 1.0])
    kw = dict(penalty=DemographicParityLoss(), sample_weight=sw)
    with pytest.raises(ValueError, match="non-negative"):
        penalized_task_loss(x, y, g, **kw)
    value = penalized_task_loss(x, y, g, check_input=False, **kw)
    assert value.item() == pytest.approx(0.5 * torch.log(torch.tensor(2.0)).item())
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        penalized_task_loss(x, y, g, check_input=False, penalty=DemographicParityLoss(),
                            sample_weight=torch.ones(3))


def test_check_input_false_reaches_the_reweighting_coefficients():
    """The group-balanced coefficients skip their weight check under check_input=False;
    a user's reweighting loss whose row_coefficients takes no check_input still works."""
    x = torch.zeros(4, 2)
    g = torch.tensor([0, 0, 1, 1])
    y = torch.tensor([0, 1, 0, 1])
    sw = torch.tensor([1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        group_balanced_coefficients(g, 4, sample_weight=sw)
    r = group_balanced_coefficients(g, 4, sample_weight=sw, check_input=False)
    # group 0's weights cancel (mass 0: it drops out); group 1 takes the whole risk
    torch.testing.assert_close(r, torch.tensor([0.0, 0.0, 0.5, 0.5]))
    seen = []

    class Spy(GroupBalancedLoss):
        def row_coefficients(self, *args, check_input=True, **kwargs):
            seen.append(check_input)
            return super().row_coefficients(*args, check_input=check_input, **kwargs)

    class UserReweight(GroupBalancedLoss):
        def row_coefficients(self, groups, n_samples, *, n_groups=None, sample_weight=None,
                             dtype=torch.float32, device=None):
            seen.append("user")
            return torch.full((n_samples,), 1.0 / n_samples)

    penalized_task_loss(x, y, g, penalty=Spy(), sample_weight=sw.abs(), check_input=False)
    penalized_task_loss(x, y, g, penalty=Spy(), sample_weight=sw.abs())
    value = penalized_task_loss(x, y, g, penalty=UserReweight(), lam=1.0, check_input=False)
    assert seen == [False, True, "user"]
    # cross-entropy log 2, plus lam * (the user's plain mean of it)
    assert value.item() == pytest.approx(2 * float(torch.log(torch.tensor(2.0))))


def test_group_balanced_coefficients_with_group_weights_hand_computed():
    """Group weights renormalise over the groups present (group 2 is absent)."""
    g = torch.tensor([0, 0, 1, 1, 1])
    r = group_balanced_coefficients(g, 5, n_groups=3, group_weights=torch.tensor([1.0, 3.0, 5.0]))
    # group 0: weight 1/4 shared by 2 rows; group 1: 3/4 shared by 3 rows
    torch.testing.assert_close(r, torch.tensor([1 / 8, 1 / 8, 1 / 4, 1 / 4, 1 / 4]))


def _objectives():
    """(name, function of x) for every fused objective and standalone fused penalty."""
    logits, y, groups, w = _batch(3)
    gen = torch.Generator().manual_seed(4)
    labels = torch.randint(0, 2, (B, K), generator=gen).double()
    values = torch.randn(B, generator=gen, dtype=torch.float64)
    targets = torch.randn(B, generator=gen, dtype=torch.float64)
    ba = BiasAmplificationLoss(n_groups=NG).fit(labels, groups)
    cases = [("task_only", logits, lambda x: penalized_task_loss(x, y, sample_weight=w))]
    for penalty in CLASSIFICATION_PENALTIES:
        cases.append((f"ce+{penalty!r}", logits, lambda x, p=penalty: penalized_task_loss(
            x, y, groups, penalty=p, lam=0.7, sample_weight=w, n_groups=NG)))
        cases.append((f"alone {penalty!r}", logits,
                      lambda x, p=penalty: p(x, y, groups, n_groups=NG)))
    cases.append(("bce+bias_amplification", logits, lambda x: penalized_task_loss(
        x, labels, groups, task="binary_cross_entropy", penalty=ba, lam=0.7, n_groups=NG)))
    for penalty in (MeanParityLoss(), MAEParityLoss()):
        cases.append((f"l1+{penalty!r}", values[:, None], lambda x, p=penalty: (
            penalized_task_loss(x, targets, groups, task="l1", penalty=p, lam=0.7,
                                n_groups=NG))))
    return cases


@pytest.mark.parametrize("upstream", [2.5, 0.0, -1.0])
def test_fused_backward_scales_with_the_upstream_gradient(upstream):
    """On CPU the fused nodes read the upstream gradient as a number and skip the
    multiplication when it is 1: any other value must still scale the gradient."""
    for name, x0, fn in _objectives():
        x = x0.clone().requires_grad_(True)
        (unit,) = torch.autograd.grad(fn(x), x)
        (got,) = torch.autograd.grad(fn(x), x, grad_outputs=torch.tensor(upstream,
                                                                        dtype=x.dtype))
        torch.testing.assert_close(got, upstream * unit, msg=name)
        assert unit.abs().sum() > 0, name


def test_host_grad_reads_cpu_scalars_only():
    from skfair.losses._ops import host_grad, is_one, scale_, scaled

    assert host_grad(torch.tensor(1.0)) == 1.0 and isinstance(host_grad(torch.tensor(2.0)),
                                                               float)
    vector = torch.ones(2)
    assert host_grad(vector) is vector  # not a scalar: left as it is
    assert is_one(1.0) and not is_one(torch.tensor(1.0)) and not is_one(2.0)
    t = torch.tensor([1.0, 2.0])
    assert scaled(t, 1.0) is t and scale_(t, 1.0) is t
    torch.testing.assert_close(scaled(t, torch.tensor(3.0)), torch.tensor([3.0, 6.0]))
    torch.testing.assert_close(t, torch.tensor([1.0, 2.0]))  # scaled made a new tensor
    scale_(t, 0.5)
    torch.testing.assert_close(t, torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize("penalty", [None, EqualizedOddsLoss(), GroupBalancedLoss()],
                         ids=["none", "eo_l2", "group_balanced"])
def test_gradients_reach_weights_and_soft_groups_that_need_them(penalty):
    """The fused node differentiates w.r.t. the outputs only: weights or soft groups that
    need gradients take the plain autograd path, with the composed loss's gradients."""
    logits, y, groups, weight = _batch()
    logits.requires_grad_()
    weight.requires_grad_()
    lam = 0.7
    value = penalized_task_loss(logits, y, groups, penalty=penalty, lam=lam,
                                sample_weight=weight, n_groups=NG)
    per_row = F.cross_entropy(logits, y, reduction="none")
    ref = (weight * per_row).mean()
    if isinstance(penalty, EqualizedOddsLoss):
        ref = ref + lam * penalty(logits, y, groups, n_groups=NG)
    elif isinstance(penalty, GroupBalancedLoss):
        ref = ref + lam * group_balanced_loss(per_row, groups, sample_weight=weight)
    got = torch.autograd.grad(value, (logits, weight))
    want = torch.autograd.grad(ref, (logits, weight))
    torch.testing.assert_close(value, ref)
    for g, w in zip(got, want, strict=True):
        assert float(w.abs().sum()) > 0
        torch.testing.assert_close(g, w)
    # soft groups that need gradients, reweighting penalty
    soft = torch.softmax(torch.randn(B, NG, dtype=torch.float64), 1).requires_grad_()
    value = penalized_task_loss(logits, y, soft, penalty=GroupBalancedLoss(), lam=lam)
    ref = F.cross_entropy(logits, y) + lam * group_balanced_loss(per_row, soft)
    torch.testing.assert_close(torch.autograd.grad(value, soft)[0],
                               torch.autograd.grad(ref, soft)[0])


def test_a_penalty_name_is_a_clear_error():
    logits, y, groups, _ = _batch()
    with pytest.raises(TypeError, match=r"get_fairness_loss\('eo_l2'\)"):
        penalized_task_loss(logits, y, groups, penalty="eo_l2")


def test_numpy_integer_n_groups_is_accepted():
    import numpy as np

    logits, y, groups, _ = _batch()
    a = penalized_task_loss(logits, y, groups, penalty=EqualizedOddsLoss(), n_groups=NG)
    b = penalized_task_loss(logits, y, groups, penalty=EqualizedOddsLoss(),
                            n_groups=np.int64(NG))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(DemographicParityLoss(n_groups=np.int32(NG))(logits, y, groups),
                               DemographicParityLoss(n_groups=NG)(logits, y, groups))


# -- the adversarial regularizer: task + lam * CE(head(embedding), groups) -----------------

ADV_TASKS = {
    "cross_entropy": lambda gen: torch.randint(0, K, (B,), generator=gen),
    "binary_cross_entropy": lambda gen: (torch.rand(B, K, generator=gen) < 0.4).double(),
    "l1": lambda gen: torch.randn(B, K, generator=gen, dtype=torch.float64),
    "mse": lambda gen: torch.randn(B, K, generator=gen, dtype=torch.float64),
}


def _adversary_batch(hidden=(5,), dtype=torch.float64, strength=0.7, seed=0, dim=6):
    """A network's outputs and embedding (non-leaf, from one shared layer), the adversary
    and the leaves whose gradients the tests compare."""
    torch.manual_seed(seed)
    loss = AdversarialLoss(hidden=hidden, strength=strength)
    head = loss.make_head(dim, NG).to(dtype)
    trunk = torch.nn.Linear(8, dim + K).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(B, 8, generator=gen, dtype=dtype)
    groups = torch.randint(0, NG, (B,), generator=gen)
    w = (torch.rand(B, generator=gen, dtype=torch.float64) * 2).to(dtype)
    return loss, head, trunk, inputs, groups, w, gen


def _forward(trunk, inputs, dim=6):
    hidden = torch.relu(trunk(inputs))
    return hidden[:, dim:], hidden[:, :dim]  # outputs, embedding


def _leaf_grads(value, modules, scale=1.0):
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.grad = None
    (scale * value).backward()
    return [p.grad.clone() for p in params]


@pytest.mark.parametrize("hidden", [(), (5,), (5, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("task", sorted(ADV_TASKS))
@pytest.mark.parametrize("weighted", [False, True])
def test_adversarial_objective_equals_the_sum(cpu_path, hidden, dtype, task, weighted):
    _check_adversarial_objective(cpu_path, "reversal", hidden, dtype, task, weighted)


def _check_adversarial_objective(cpu_path, kind, hidden, dtype, task, weighted):
    """The objective with ``AdversarialLoss(kind=kind)``: one node on the kernels, the
    composed terms on the torch path, with the value and every gradient of
    ``task + 0.6 * adversary_term`` (for the reversal, ``loss(head(embedding))``)."""
    loss, head, trunk, inputs, groups, w, gen = _adversary_batch(hidden, dtype)
    loss.set_params(kind=kind)
    y = ADV_TASKS[task](gen)
    if y.is_floating_point():
        y = y.to(dtype)
    w = w if weighted else None
    out, emb = _forward(trunk, inputs)
    fused = penalized_task_loss(out, y, groups, task=task, penalty=loss, lam=0.6,
                                sample_weight=w, n_groups=NG, embedding=emb, head=head)
    kernel_node = type(fused.grad_fn).__name__.startswith("_KernelAdversaryObjective")
    assert kernel_node == (cpu_path == "kernels")
    got = _leaf_grads(fused, [trunk, head], scale=1.7)
    out, emb = _forward(trunk, inputs)
    term = (loss(head(emb), None, groups, sample_weight=w) if kind == "reversal"
            else loss.adversary_term(head, emb, None, groups, sample_weight=w))
    composed = penalized_task_loss(out, y, task=task, sample_weight=w) + 0.6 * term
    expected = _leaf_grads(composed, [trunk, head], scale=1.7)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else {}
    torch.testing.assert_close(fused, composed, **tol)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, **tol)


@pytest.mark.parametrize("strength", [0.0, 2.5])
def test_adversarial_objective_reverses_the_embedding_gradient_only(strength):
    # the adversary descends its cross-entropy; the embedding gets -strength times it
    loss, head, _, _, groups, _, gen = _adversary_batch((5,), strength=strength)
    out = torch.randn(B, K, generator=gen, dtype=torch.float64)
    y = torch.randint(0, K, (B,), generator=gen)
    emb = torch.randn(B, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    value = penalized_task_loss(out, y, groups, penalty=loss, lam=1.0, embedding=emb,
                                head=head, n_groups=NG)
    (g_emb,) = torch.autograd.grad(value, emb)
    plain = torch.nn.Sequential(*head.net)  # the same layers without the reversal
    emb2 = emb.detach().clone().requires_grad_(True)
    (g_plain,) = torch.autograd.grad(F.cross_entropy(plain(emb2), groups), emb2)
    torch.testing.assert_close(g_emb, -strength * g_plain)


def _fallback_case(head, loss=None, groups=None):
    """Value and gradients of the objective with ``head`` (and ``loss``), against the
    composed sum, plus the class name of the result's node."""
    loss = loss or AdversarialLoss()
    gen = torch.Generator().manual_seed(3)
    out = torch.randn(B, K, generator=gen, dtype=torch.float64, requires_grad=True)
    emb = torch.randn(B, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, K, (B,), generator=gen)
    groups = torch.randint(0, NG, (B,), generator=gen) if groups is None else groups
    torch.manual_seed(0)
    value = penalized_task_loss(out, y, groups, penalty=loss, lam=0.5, embedding=emb,
                                head=head, n_groups=NG)
    got = torch.autograd.grad(value, [out, emb])
    torch.manual_seed(0)
    composed = penalized_task_loss(out, y) + 0.5 * loss(head(emb), y, groups, n_groups=NG)
    expected = torch.autograd.grad(composed, [out, emb])
    torch.testing.assert_close(value, composed)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)
    return type(value.grad_fn).__name__


def test_adversarial_objective_takes_the_sum_for_heads_it_does_not_compute(cpu_path):
    node = "_KernelAdversaryObjectiveBackward" if cpu_path == "kernels" else "AddBackward0"
    assert _fallback_case(AdversarialLoss(hidden=(5,)).make_head(6, NG).double()) == node
    # active dropout: the sum (its random mask); in eval mode dropout is the identity
    head = AdversarialLoss(hidden=(5,), dropout=0.5).make_head(6, NG).double()
    assert _fallback_case(head) == "AddBackward0"
    assert _fallback_case(head.eval()) == node
    # a hook on a layer runs
    head = AdversarialLoss(hidden=(5,)).make_head(6, NG).double()
    seen = []
    head.net[2].register_forward_hook(lambda *args: seen.append(1))
    assert _fallback_case(head) == "AddBackward0" and seen
    # another activation, a layer without bias, a subclass with its own forward
    head = AdversarialLoss(hidden=(5,)).make_head(6, NG).double()
    head.net[1] = torch.nn.Tanh()
    assert _fallback_case(head) == "AddBackward0"
    head = AdversarialLoss(hidden=()).make_head(6, NG).double()
    head.net[0].bias = None
    assert _fallback_case(head) == "AddBackward0"

    class Scaled(type(head)):
        def forward(self, embedding):
            return 2 * super().forward(embedding)

    assert _fallback_case(Scaled(6, NG).double()) == "AddBackward0"
    # parameters of another dtype than the embedding's: the sum (and torch's dtype error)
    with pytest.raises(RuntimeError):
        _fallback_case(AdversarialLoss().make_head(6, NG))


def test_adversarial_objective_keeps_a_subclass_loss_and_soft_groups():
    class Halved(AdversarialLoss):
        def forward(self, input, y=None, groups=None, **kwargs):
            return 0.5 * super().forward(input, y, groups, **kwargs)

    head = AdversarialLoss().make_head(6, NG).double()
    assert _fallback_case(head, Halved()) == "AddBackward0"
    soft = torch.softmax(torch.randn(B, NG, dtype=torch.float64), dim=1)
    assert _fallback_case(head, groups=soft) == "AddBackward0"


def test_adversarial_objective_flattens_the_embedding_and_checks_its_inputs(cpu_path):
    loss, head, _, _, groups, _, gen = _adversary_batch((), dim=6)
    out = torch.randn(B, K, generator=gen, dtype=torch.float64)
    y = torch.randint(0, K, (B,), generator=gen)
    emb = torch.randn(B, 2, 3, generator=gen, dtype=torch.float64)
    value = penalized_task_loss(out, y, groups, penalty=loss, embedding=emb, head=head)
    flat = penalized_task_loss(out, y, groups, penalty=loss, embedding=emb.reshape(B, 6),
                               head=head)
    torch.testing.assert_close(value, flat)
    with pytest.raises(ValueError, match=r"embedding must have one row per sample"):
        penalized_task_loss(out, y, groups, penalty=loss, embedding=emb[:3], head=head)
    with pytest.raises(TypeError, match="embedding=..., head=..."):
        penalized_task_loss(out, y, groups, penalty=loss, embedding=emb)
    with pytest.raises(TypeError, match="embedding and head are the inputs"):
        penalized_task_loss(out, y, groups, penalty=EqualizedOddsLoss(), embedding=emb,
                            head=head)
    with pytest.raises(TypeError, match="embedding and head are the inputs"):
        penalized_task_loss(out, y, groups, embedding=emb, head=head)
    with pytest.raises(ValueError, match=r"groups must hold codes in \[0, 3\)"):
        penalized_task_loss(out, y, groups + 3, penalty=loss, embedding=emb, head=head)
    with pytest.raises(ValueError, match="n_groups=4 does not match"):
        penalized_task_loss(out, y, groups, penalty=loss, embedding=emb, head=head, n_groups=4)
    with pytest.raises(ValueError, match="groups is None"):
        penalized_task_loss(out, y, None, penalty=loss, embedding=emb, head=head)
    with pytest.raises(TypeError, match="straight_through_threshold"):
        penalized_task_loss(out, (out > 0).double(), groups, task="binary_cross_entropy",
                            penalty=loss, embedding=emb, head=head,
                            straight_through_threshold=0.5)


def test_adversarial_objective_without_gradients_and_at_lam_zero(cpu_path):
    loss, head, trunk, inputs, groups, w, gen = _adversary_batch((5,))
    y = torch.randint(0, K, (B,), generator=gen)
    out, emb = _forward(trunk, inputs)
    expected = penalized_task_loss(out, y, groups, penalty=loss, lam=0.3, embedding=emb,
                                   head=head)
    with torch.no_grad():
        value = penalized_task_loss(out, y, groups, penalty=loss, lam=0.3, embedding=emb,
                                    head=head)
    assert value.grad_fn is None
    torch.testing.assert_close(value, expected.detach())
    # lam=0: the task alone; the adversary gets no gradient
    value = penalized_task_loss(out, y, groups, penalty=loss, lam=0.0, embedding=emb,
                                head=head)
    torch.testing.assert_close(value, penalized_task_loss(out, y))
    value.backward()
    assert all(p.grad is None for p in head.parameters())


@pytest.mark.parametrize("hidden", [(), (5,), (5, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("task", ["cross_entropy", "l1"])
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_objective_equals_the_sum(cpu_path, hidden, dtype, task, weighted):
    """kind="confusion" (its own tests check adversary_term against the two games)."""
    _check_adversarial_objective(cpu_path, "confusion", hidden, dtype, task, weighted)


def test_confusion_objective_without_an_embedding_gradient_and_for_a_subclass(cpu_path):
    loss = AdversarialLoss(hidden=(5,), strength=0.4, kind="confusion")
    head = loss.make_head(6, NG).double()
    gen = torch.Generator().manual_seed(5)
    out = torch.randn(B, K, generator=gen, dtype=torch.float64, requires_grad=True)
    emb = torch.randn(B, 6, generator=gen, dtype=torch.float64)  # needs no gradient
    y = torch.randint(0, K, (B,), generator=gen)
    groups = torch.randint(0, NG, (B,), generator=gen)
    value = penalized_task_loss(out, y, groups, penalty=loss, lam=0.5, embedding=emb,
                                head=head)
    got = torch.autograd.grad(value, [out, *head.parameters()])
    composed = penalized_task_loss(out, y) + 0.5 * loss.adversary_term(head, emb, None, groups)
    torch.testing.assert_close(value, composed)
    for g, e in zip(got, torch.autograd.grad(composed, [out, *head.parameters()]), strict=True):
        torch.testing.assert_close(g, e)

    class Doubled(AdversarialLoss):  # its own term: never the compiled node
        def adversary_term(self, *args, **kwargs):
            return 2 * super().adversary_term(*args, **kwargs)

    doubled = Doubled(hidden=(5,), strength=0.4, kind="confusion")
    value = penalized_task_loss(out, y, groups, penalty=doubled, lam=0.5, embedding=emb,
                                head=head)
    assert type(value.grad_fn).__name__ == "AddBackward0"
    term = loss.adversary_term(head, emb, None, groups)
    torch.testing.assert_close(value, penalized_task_loss(out, y) + 0.5 * 2 * term)


def test_adversarial_objective_first_order_under_create_graph(cpu_path):
    loss, head, _, _, groups, _, gen = _adversary_batch((5,))
    out = torch.randn(B, K, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, K, (B,), generator=gen)
    emb = torch.randn(B, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    value = penalized_task_loss(out, y, groups, penalty=loss, lam=0.5, embedding=emb,
                                head=head)
    (expected,) = torch.autograd.grad(value, emb, retain_graph=True)
    scale = torch.tensor(2.0, dtype=value.dtype, requires_grad=True)  # needs grad upstream
    (g,) = torch.autograd.grad(value * scale, emb, create_graph=True)
    torch.testing.assert_close(g, 2 * expected)
    if cpu_path == "kernels":  # the one node: a second order is an error, never wrong
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()
