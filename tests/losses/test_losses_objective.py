"""penalized_task_loss: the weighted task loss plus lam times the fairness term of each role,
values and gradients, and its input checks."""

import numpy as np
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
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_penalties_match_composition(penalty, weighted):
    logits, y, groups, w = _batch(1, missing_group=1)
    w = w if weighted else torch.ones(B, dtype=torch.float64)
    lam = 0.7
    value, g_value = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=penalty, lam=lam,
                                      sample_weight=w if weighted else None, n_groups=NG), logits)
    ref, g_ref = _grads(lambda x: _composed_ce(x, y, groups, penalty, lam, w), logits)
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)
    assert torch.isfinite(g_value).all()


def test_task_alone_equals_weighted_cross_entropy():
    logits, y, groups, w = _batch(2)
    for penalty, lam in [(None, 1.0), (DemographicParityLoss(), 0.0)]:
        value, g_value = _grads(
            lambda x, p=penalty, la=lam: penalized_task_loss(x, y, groups, penalty=p, lam=la,
                                                             sample_weight=w), logits)
        ref, g_ref = _grads(lambda x: (w * F.cross_entropy(x, y, reduction="none")).mean(),
                            logits)
        torch.testing.assert_close(value, ref)
        torch.testing.assert_close(g_value, g_ref)


def test_group_balanced_term_is_the_balanced_risk_of_the_task_losses():
    logits, y, groups, w = _batch(3, missing_group=2)
    lam = 2.0
    value, g_value = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=GroupBalancedLoss(), lam=lam,
                                      sample_weight=w, n_groups=NG), logits)

    def composed(x):
        per = F.cross_entropy(x, y, reduction="none")
        return (w * per).mean() + lam * group_balanced_loss(per, groups, n_groups=NG,
                                                            sample_weight=w)

    ref, g_ref = _grads(composed, logits)
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)


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
    value, g_value = _grads(
        lambda x: penalized_task_loss(x, Y, groups, task="binary_cross_entropy", penalty=loss,
                                      lam=0.3, sample_weight=w, n_groups=NG), logits)

    def composed(x):
        per = F.binary_cross_entropy_with_logits(x, Y, reduction="none").sum(1)
        return (w * per).mean() + 0.3 * loss(x, None, groups, n_groups=NG)

    ref, g_ref = _grads(composed, logits)
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)


@pytest.mark.parametrize("kind", ["ratio", "joint"])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_straight_through_bias_amplification(kind, threshold):
    # the penalty reads 1[sigmoid(x) > threshold]; its gradient flows through the sigmoid
    logits, Y, groups, w, loss = _multilabel_batch(11, kind)
    value, g_value = _grads(
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
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)
    # not the soft penalty: the hard indicator changes the value
    soft = penalized_task_loss(logits, Y, groups, task="binary_cross_entropy", penalty=loss,
                               lam=0.6, sample_weight=w, n_groups=NG)
    assert not torch.isclose(soft, value)


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
    # only the bias-amplification loss on logits reads the hard indicator
    with pytest.raises(TypeError, match="BiasAmplificationLoss on logits"):
        penalized_task_loss(logits, Y, groups, task="binary_cross_entropy",
                            penalty=lambda x, y, g, n_groups=None: x.sum(),
                            straight_through_threshold=0.5)
    probs_loss = BiasAmplificationLoss(from_logits=False).fit(Y, groups, n_groups=NG).double()
    with pytest.raises(TypeError, match="BiasAmplificationLoss on logits"):
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
    value, g_value = _grads(
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
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)


def test_multi_output_regression_averages_outputs():
    pred = torch.tensor([[1.0, 2.0], [0.0, 4.0]])
    y = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # rows: (1 + 2) / 2 = 1.5 and (0 + 4) / 2 = 2; mean 1.75
    assert float(penalized_task_loss(pred, y, task="l1")) == pytest.approx(1.75)


def test_a_callable_penalty_is_added():
    calls = []

    def my_penalty(x, y, groups, n_groups=None):
        calls.append(n_groups)
        return (x[:, 0] ** 2).mean()

    logits, y, groups, _ = _batch(6)
    value, g_value = _grads(
        lambda x: penalized_task_loss(x, y, groups, penalty=my_penalty, lam=0.5, n_groups=NG),
        logits)
    ref, g_ref = _grads(lambda x: F.cross_entropy(x, y) + 0.5 * (x[:, 0] ** 2).mean(), logits)
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(g_value, g_ref)
    assert calls == [NG]


def test_gradients_reach_soft_groups():
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


def test_check_input_false_reaches_the_reweighting_loss():
    """The group-balanced risk skips its weight check under check_input=False; a user's
    reweighting loss whose forward takes no check_input still works."""
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
        def forward(self, *args, check_input=True, **kwargs):
            seen.append(check_input)
            return super().forward(*args, check_input=check_input, **kwargs)

    class UserReweight(GroupBalancedLoss):
        def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None):
            seen.append("user")
            return input.mean()

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


@pytest.mark.parametrize("penalty", [None, EqualizedOddsLoss(), GroupBalancedLoss()],
                         ids=["none", "eo_l2", "group_balanced"])
def test_gradients_reach_weights_and_soft_groups_that_need_them(penalty):
    """Weights or soft groups that need gradients get those of the composed loss."""
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


def test_hand_computed_eo_l2_objective():
    # two classes, two groups, one row per cell: P = softmax(x) per row
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    g = torch.tensor([0, 1, 0, 1])
    loss = penalized_task_loss(x, y, g, penalty=EqualizedOddsLoss(), lam=1.0, n_groups=2)
    P = torch.softmax(x, 1).numpy()
    ce = -np.mean(np.log(P[[0, 1, 2, 3], [0, 0, 1, 1]]))
    # class b: each cell's mean of P minus the class mean (two one-row cells, so +-half
    # the difference), squared and summed over the two cells and two predicted classes
    eo = sum(2 * ((P[i] - P[j]) / 2) ** 2 for i, j in [(0, 1), (2, 3)]).sum()
    assert float(loss) == pytest.approx(ce + eo, rel=1e-12)


@pytest.mark.parametrize("bad, penalty", [
    *[("groups", p) for p in (DemographicParityLoss(), EqualizedOddsLoss("mi"),
                              IoUFairnessLoss(), GroupBalancedLoss())],
    *[("y", p) for p in (None, EqualizedOddsLoss(), IoUFairnessLoss())],
], ids=repr)
@pytest.mark.parametrize("too_high", [False, True])
def test_codes_out_of_range_name_their_argument(bad, penalty, too_high):
    logits, y, groups, _ = _batch(6)
    codes, n = (groups, NG) if bad == "groups" else (y, K)
    codes[7] = n if too_high else -1
    with pytest.raises(ValueError, match=rf"{bad} must hold codes in \[0, {n}\)"):
        penalized_task_loss(logits, y, groups, penalty=penalty, lam=1.0, n_groups=NG)


@pytest.mark.parametrize("penalty", [MeanParityLoss(), MAEParityLoss()], ids=repr)
def test_regression_group_codes_out_of_range_name_groups(penalty):
    pred, target = torch.zeros(6, 1), torch.ones(6)
    groups = torch.tensor([0, 1, 0, 1, 0, 5])
    with pytest.raises(ValueError, match=r"groups must hold codes in \[0, 2\)"):
        penalized_task_loss(pred, target, groups, task="l1", penalty=penalty, n_groups=2)


def test_a_penalty_name_is_a_clear_error():
    logits, y, groups, _ = _batch()
    with pytest.raises(TypeError, match=r"get_fairness_loss\('eo_l2'\)"):
        penalized_task_loss(logits, y, groups, penalty="eo_l2")


def test_numpy_integer_n_groups_is_accepted():
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


@pytest.mark.parametrize("hidden", [(), (5, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("task", sorted(ADV_TASKS))
@pytest.mark.parametrize("weighted", [False, True])
def test_adversarial_objective_equals_the_sum(hidden, dtype, task, weighted):
    _check_adversarial_objective("reversal", hidden, dtype, task, weighted)


def _check_adversarial_objective(kind, hidden, dtype, task, weighted):
    """The objective with ``AdversarialLoss(kind=kind)``: the value and every gradient of
    ``task + 0.6 * adversary_term`` (for the reversal, ``loss(head(embedding))``)."""
    loss, head, trunk, inputs, groups, w, gen = _adversary_batch(hidden, dtype)
    loss.set_params(kind=kind)
    y = ADV_TASKS[task](gen)
    if y.is_floating_point():
        y = y.to(dtype)
    w = w if weighted else None
    out, emb = _forward(trunk, inputs)
    value = penalized_task_loss(out, y, groups, task=task, penalty=loss, lam=0.6,
                                sample_weight=w, n_groups=NG, embedding=emb, head=head)
    got = _leaf_grads(value, [trunk, head], scale=1.7)
    out, emb = _forward(trunk, inputs)
    term = (loss(head(emb), None, groups, sample_weight=w) if kind == "reversal"
            else loss.adversary_term(head, emb, None, groups, sample_weight=w))
    composed = penalized_task_loss(out, y, task=task, sample_weight=w) + 0.6 * term
    expected = _leaf_grads(composed, [trunk, head], scale=1.7)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else {}
    torch.testing.assert_close(value, composed, **tol)
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


def test_adversarial_objective_flattens_the_embedding_and_checks_its_inputs():
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


def test_adversarial_objective_without_gradients_and_at_lam_zero():
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


@pytest.mark.parametrize("hidden", [(), (5, 4)])
@pytest.mark.parametrize("task", ["cross_entropy", "l1"])
@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_objective_equals_the_sum(hidden, task, weighted):
    """kind="confusion" (its own tests check adversary_term against the two games)."""
    _check_adversarial_objective("confusion", hidden, torch.float64, task, weighted)


def test_confusion_objective_without_an_embedding_gradient_and_for_a_subclass():
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

    class Doubled(AdversarialLoss):  # its own term
        def adversary_term(self, *args, **kwargs):
            return 2 * super().adversary_term(*args, **kwargs)

    doubled = Doubled(hidden=(5,), strength=0.4, kind="confusion")
    value = penalized_task_loss(out, y, groups, penalty=doubled, lam=0.5, embedding=emb,
                                head=head)
    term = loss.adversary_term(head, emb, None, groups)
    torch.testing.assert_close(value, penalized_task_loss(out, y) + 0.5 * 2 * term)


