"""Fused autograd nodes: a fairness penalty, and task loss + ``lam`` * penalty.

A fairness term works on tiny tensors (a mini-batch of a few hundred rows and
a few classes), where eager PyTorch's per-operation overhead, not the
arithmetic, is the cost of a training step. The losses therefore compute
their value and their hand-derived gradient in one autograd node each, with
few tensor operations, and :func:`penalized_task_loss` goes one step further:
the task loss (cross-entropy, binary cross-entropy, L1 or squared error, with
row weights) and the penalty share one node and one softmax / sigmoid.

Building blocks
---------------
*Links* map the network's outputs ``x`` to what a penalty reads (``z``):
softmax over classes, element-wise sigmoid, or the identity.
``link.forward(x) -> z`` and ``link.backward(z, grad_z) -> grad_x``.

*Cores* are the penalties proper (one per loss, defined beside its
formula): ``core.forward(z, *args) -> (value, state)`` and
``core.backward(state, grad) -> grad_z``, where ``grad`` is the upstream
gradient of the scalar and ``grad_z`` a fresh tensor the caller may modify
in place. Nothing in a core is recorded by autograd.

*Tasks* are the task losses with their link:
``task.forward(x, y, row_scale) -> (value, z, state)`` where ``row_scale``
is the row weight divided by the batch size (so ``value = sum_i row_scale_i *
loss_i``), ``task.penalty_input(z)`` is what the penalty reads, and
``task.backward(state, grad, grad_z) -> grad_x`` adds the penalty's gradient
(``grad_z`` or ``None``) chained through the link to the task's own.

``grad`` is a 0-d tensor, or on CPU a Python number (:func:`host_grad`): the
backward passes fold it into their scale factors, and skip the multiplication
when it is 1 (:func:`scaled`, :func:`scale_`).

The fused backward passes are not themselves differentiable (no double
backward); the losses fall back to plain autograd versions when a group
assignment itself needs gradients. A backward pass taken with
``create_graph=True`` runs them through :func:`once_differentiable` (an error
if the gradient is differentiated again); an ordinary backward pass skips that
wrapper, whose bookkeeping costs about as much as a whole small penalty on a
CPU training step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from ._ops import host_grad, log_softmax_rows, scaled, softmax_rows

__all__: list[str] = []


# ---------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------


class Identity:
    """``z = x``."""

    @staticmethod
    def forward(x):
        return x

    @staticmethod
    def backward(z, grad_z):
        return grad_z


class Softmax:
    """``z = softmax(x)`` over the classes (dim 1)."""

    @staticmethod
    def forward(x):
        return softmax_rows(x)

    @staticmethod
    def backward(z, grad_z):
        # d/dx: z * (g - sum_k z_k g_k)
        gz = grad_z.mul_(z)
        return gz.sub_(z * gz.sum(1, keepdim=True))


class Sigmoid:
    """``z = sigmoid(x)`` element-wise."""

    @staticmethod
    def forward(x):
        return torch.sigmoid(x)

    @staticmethod
    def backward(z, grad_z):
        return grad_z.mul_(z - z * z)


def _single_backward(backward):
    """Decorate a fused ``backward``: plain call in an ordinary backward pass (grad
    mode off), :func:`once_differentiable` semantics under ``create_graph=True``."""
    guarded = once_differentiable(backward)

    def wrapper(ctx, *grads):
        if torch.is_grad_enabled():
            return guarded(ctx, *grads)
        return backward(ctx, *grads)

    wrapper.__doc__ = backward.__doc__
    return wrapper


class _Penalty(torch.autograd.Function):
    """``core(link(x), *args)`` in one node (the losses' fused path)."""

    @staticmethod
    def forward(ctx, x, link, core, *args):
        z = link.forward(x)
        value, state = core.forward(z, *args)
        ctx.link, ctx.core, ctx.z, ctx.state, ctx.n_args = link, core, z, state, len(args)
        return value

    @staticmethod
    @_single_backward
    def backward(ctx, grad):
        grad_z = ctx.core.backward(ctx.state, host_grad(grad))
        return (ctx.link.backward(ctx.z, grad_z), None, None) + (None,) * ctx.n_args


def apply_penalty(x, link, core, *args):
    """Value of ``core`` on ``link(x)``, differentiable w.r.t. ``x`` only."""
    return _Penalty.apply(x, link, core, *args)


# ---------------------------------------------------------------------------
# Task losses
# ---------------------------------------------------------------------------


class _Task:
    """Base of the task losses: the penalty reads the link's output as it is."""

    link = Identity

    @staticmethod
    def penalty_input(z):
        return z


class CrossEntropyTask(_Task):
    """Weighted cross-entropy on logits ``(B, K)`` with int64 targets; link softmax."""

    link = Softmax

    @staticmethod
    def forward(x, y, row_scale):
        logp = log_softmax_rows(x)
        P = logp.exp()
        y_col = y.view(-1, 1)
        value = torch.dot(logp.gather(1, y_col).view(-1), row_scale).neg_()
        return value, P, (P, y_col, row_scale)

    @staticmethod
    def backward(state, grad, grad_z):
        P, y_col, row_scale = state
        g_rows = scaled(row_scale, grad).unsqueeze(1)
        if grad_z is None:
            gx = P * g_rows
        else:
            # softmax chain of the penalty plus the cross-entropy's (P - onehot) * w
            gx = grad_z.sub_((grad_z * P).sum(1, keepdim=True)).add_(g_rows).mul_(P)
        return gx.scatter_add_(1, y_col, g_rows.neg())


class BinaryCrossEntropyTask(_Task):
    """Weighted binary cross-entropy on logits ``(B, K)``, summed over labels; link sigmoid."""

    link = Sigmoid

    @staticmethod
    def forward(x, y, row_scale):
        w = row_scale.unsqueeze(1)
        value = F.binary_cross_entropy_with_logits(x, y, weight=w, reduction="sum")
        P = torch.sigmoid(x)
        return value, P, (P, y, w)

    @staticmethod
    def backward(state, grad, grad_z):
        P, y, w = state
        gx = (P - y).mul_(scaled(w, grad))
        if grad_z is not None:
            gx.add_(grad_z.mul_(P - P * P))
        return gx


class StraightThroughBCETask(BinaryCrossEntropyTask):
    """Binary cross-entropy whose penalty reads the predicted labels ``1[x > cut]``.

    The task loss and its gradient are :class:`BinaryCrossEntropyTask`'s; the
    penalty sees the thresholded predictions in the forward pass and its
    gradient is chained through the sigmoid in the backward pass (a
    straight-through estimator: the backward of ``hard + p - p.detach()``).
    ``cut`` is the logit of the probability threshold.
    """

    def __init__(self, cut):
        self.cut = float(cut)

    def forward(self, x, y, row_scale):
        value, _, state = BinaryCrossEntropyTask.forward(x, y, row_scale)
        return value, (x > self.cut).to(x.dtype), state


class _RegressionTask(_Task):
    """Weighted per-row error on outputs ``(B, n_outputs)``, averaged over outputs.

    The penalty reads the predictions themselves; a single output column is
    handed over as a ``(B,)`` vector.
    """

    square = False

    @classmethod
    def forward(cls, x, y, row_scale):
        err = x - y.view(x.shape)
        w = row_scale.unsqueeze(1) * (1.0 / x.shape[1])
        if cls.square:
            value = torch.dot((err * err).sum(1), w.view(-1))
            state = (err.mul_(w).mul_(2), x.shape)
        else:
            value = torch.dot(err.abs().sum(1), w.view(-1))
            state = (err.sign_().mul_(w), x.shape)
        return value, x, state

    @staticmethod
    def penalty_input(z):
        return z.view(-1) if z.shape[1] == 1 else z

    @staticmethod
    def backward(state, grad, grad_z):
        g_err, shape = state
        gx = g_err * grad
        if grad_z is not None:
            gx.add_(grad_z.view(shape))
        return gx


class L1Task(_RegressionTask):
    """Weighted absolute error; link identity."""

    square = False


class SquaredErrorTask(_RegressionTask):
    """Weighted squared error; link identity."""

    square = True


TASKS = {
    "cross_entropy": CrossEntropyTask,
    "binary_cross_entropy": BinaryCrossEntropyTask,
    "l1": L1Task,
    "mse": SquaredErrorTask,
}


class _Objective(torch.autograd.Function):
    """``task(x) + lam * core(task.penalty_input(link(x)), *args)`` in one node."""

    @staticmethod
    def forward(ctx, x, task, y, row_scale, lam, core, *args):
        value, z, task_state = task.forward(x, y, row_scale)
        penalty_state = None
        if core is not None:
            penalty, penalty_state = core.forward(task.penalty_input(z), *args)
            value = value.add(penalty, alpha=lam)
        ctx.task, ctx.core, ctx.lam, ctx.n_args = task, core, lam, len(args)
        ctx.task_state, ctx.penalty_state = task_state, penalty_state
        return value

    @staticmethod
    @_single_backward
    def backward(ctx, grad):
        grad = host_grad(grad)  # a number on CPU: folded into the scale factors below
        grad_z = None
        if ctx.core is not None:
            grad_z = ctx.core.backward(ctx.penalty_state, grad * ctx.lam)
        gx = ctx.task.backward(ctx.task_state, grad, grad_z)
        return (gx, None, None, None, None, None) + (None,) * ctx.n_args


def apply_objective(x, task, y, row_scale, lam=0.0, core=None, *args):
    """``sum_i row_scale_i * task_i(x) + lam * core(...)``, one autograd node."""
    return _Objective.apply(x, task, y, row_scale, lam, core, *args)
