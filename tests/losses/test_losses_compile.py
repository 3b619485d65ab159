"""Under ``torch.compile`` the losses trace as one graph of plain operations, with the
values and gradients of eager mode."""

import pytest
import torch
import torch.nn.functional as F

from skfair.losses import (
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
)

B, K, NG = 32, 4, 3
TASKS = {
    "cross_entropy": lambda z, y: F.cross_entropy(z, y, reduction="none"),
    "binary_cross_entropy": lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, reduction="none").sum(1),
    "l1": lambda z, y: (z[:, 0] - y).abs(),
    "mse": lambda z, y: (z[:, 0] - y) ** 2,
}


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(B, K, dtype=torch.float64, generator=gen)
    y = torch.randint(0, K, (B,), generator=gen)
    groups = torch.randint(0, NG, (B,), generator=gen)
    groups[:2] = torch.tensor([0, 1])  # group 2 may be missing; 0 and 1 are not
    w = torch.rand(B, dtype=torch.float64, generator=gen) + 0.5
    Y = (torch.rand(B, K, generator=gen) < 0.4).double()
    y_reg = torch.randn(B, dtype=torch.float64, generator=gen)
    return x, y, groups, w, Y, y_reg


def _case(name):
    x, y, groups, w, Y, y_reg = _data()
    ba = BiasAmplificationLoss().fit(Y, groups, n_groups=NG).double()
    cases = {
        "none": ("cross_entropy", None, y),
        "dp_l2": ("cross_entropy", DemographicParityLoss("l2"), y),
        "dp_mi": ("cross_entropy", DemographicParityLoss("mi"), y),
        "eo_l2": ("cross_entropy", EqualizedOddsLoss("l2"), y),
        "eo_mi": ("cross_entropy", EqualizedOddsLoss("mi"), y),
        "iou": ("cross_entropy", IoUFairnessLoss(), y),
        "iou_pairwise": ("cross_entropy", IoUFairnessLoss(pairwise=True), y),
        "group_balanced": ("cross_entropy", GroupBalancedLoss(), y),
        "bias_amplification": ("binary_cross_entropy", ba, Y),
        "mean_parity": ("l1", MeanParityLoss(), y_reg),
        "mae_parity": ("mse", MAEParityLoss(), y_reg),
    }
    task, penalty, target = cases[name]
    inputs = x[:, :1] if task in ("l1", "mse") else x

    def objective(z):  # the estimators' objective: mean(w * task) + lam * term
        per_row = TASKS[task](z, target)
        value = (w * per_row).mean()
        if penalty is None:
            return value
        term_input = per_row if penalty.role == "reweight" else z
        return value + 0.7 * penalty(term_input, target, groups, n_groups=NG)

    return objective, inputs


def _value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


@pytest.mark.parametrize("name", [
    "none", "dp_l2", "dp_mi", "eo_l2", "eo_mi", "iou", "iou_pairwise", "group_balanced",
    "bias_amplification", "mean_parity", "mae_parity",
])
def test_compiled_objective_equals_eager(name):
    objective, x = _case(name)
    eager, g_eager = _value_and_grad(objective, x)
    torch._dynamo.reset()
    graphs = []

    def recording_backend(gm, example_inputs):
        graphs.append(gm.code)
        return gm.forward

    compiled = torch.compile(objective, fullgraph=True, backend=recording_backend)
    value, grad = _value_and_grad(compiled, x)
    torch.testing.assert_close(value, eager)
    torch.testing.assert_close(grad, g_eager)
    # one graph of plain operations: no hand-written autograd node hidden from the compiler
    assert len(graphs) == 1 and "autograd_function_apply" not in graphs[0]
    # and through AOTAutograd (what inductor receives), without a C++ compiler
    torch._dynamo.reset()
    compiled = torch.compile(objective, fullgraph=True, backend="aot_eager")
    value, grad = _value_and_grad(compiled, x)
    torch.testing.assert_close(value, eager)
    torch.testing.assert_close(grad, g_eager)


def test_loss_modules_compile_as_one_graph():
    x, y, groups, *_ = _data()
    loss = EqualizedOddsLoss("mi")
    torch._dynamo.reset()
    compiled = torch.compile(lambda z: loss(z, y, groups, n_groups=NG), fullgraph=True,
                             backend="aot_eager")
    eager, g_eager = _value_and_grad(lambda z: loss(z, y, groups, n_groups=NG), x)
    value, grad = _value_and_grad(compiled, x)
    torch.testing.assert_close(value, eager)
    torch.testing.assert_close(grad, g_eager)


def test_bias_amplification_keeps_no_tensor_traced_under_compile():
    # a tensor stored on the module while dynamo traces is an output of the compiled graph:
    # CUDA graphs (mode="reduce-overhead") overwrite it on the next replay
    x, _, groups, _, Y, _ = _data()
    loss = BiasAmplificationLoss().fit(Y, groups, n_groups=NG)
    target = loss.b_train_
    torch._dynamo.reset()
    compiled = torch.compile(lambda z: loss(z, None, groups, n_groups=NG), fullgraph=True,
                             backend="aot_eager")
    value = compiled(x)
    assert loss.b_train_ is target and dict(loss.named_buffers()) == {"b_train_": target}
    torch.testing.assert_close(value, loss(x, None, groups, n_groups=NG))
