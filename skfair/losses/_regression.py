"""Fairness penalties for regression (e.g. age estimation).

Group-balanced MAE is :func:`~skfair.losses.group_balanced_loss` applied to
per-sample absolute errors. The two penalties here follow the empty-group
rule of the classification losses: groups absent from the batch drop out and
fewer than two groups present give exactly 0 (never NaN).
"""

from __future__ import annotations

import torch

from ._fused import Identity, apply_penalty
from ._ops import as_float, autograd_path, cpu_kernels, safe_inv, scale_
from ._validation import check_vector, group_matrix, kernel_codes

__all__ = ["group_mae_parity_loss", "group_mean_parity_loss"]


def _with_kernels(parts_of, pred, *args):
    """The penalty on ``(B,)`` or ``(B, 1)`` predictions by the compiled CPU kernels (one
    node), or None (no kernels for ``pred``, or no compiled form for these inputs)."""
    kernels = cpu_kernels(pred)
    if kernels is None:
        return None
    column = check_vector(pred, None, "pred").view(-1, 1)
    parts = parts_of(column, *args)
    return None if parts is None else kernels.penalty(column, "identity", parts[1], parts[2])


def _group_means(values, G):
    mass = G.sum(0)
    present = mass > 0
    means = (values @ G) / torch.where(present, mass, torch.ones_like(mass))
    return means, present


class _MeanParityCore:
    """Fused group-mean parity on predictions ``pred`` of shape (B,) (see :mod:`._fused`)."""

    @staticmethod
    def forward(pred, G):
        GT = G.T
        mass = GT.sum(1)
        inv = safe_inv(mass)
        D = torch.addcmul((GT @ pred).mul_(inv), mass.sign_(), pred.mean(), value=-1)
        return torch.dot(D, D), (G, D, inv, 1.0 / pred.shape[0])

    @staticmethod
    def backward(state, grad):
        G, D, inv, scale = state
        return torch.addmv(D.sum(), G, D * inv, beta=-scale).mul_(grad * 2)


class _MAEParityCore:
    """Fused pairwise group-MAE gap of predictions ``pred`` (B,) against ``y``."""

    @staticmethod
    def forward(pred, y, G):
        err = pred - y
        GT = G.T
        mass = GT.sum(1)
        inv = safe_inv(mass)
        mae = (GT @ err.abs()).mul_(inv)
        present = mass.sign_()
        m = present.sum()
        inv_pairs = (m * (m - 1)).clamp_min_(1).reciprocal_()
        pair = present.unsqueeze(0) * present.unsqueeze(1)
        diff = mae.unsqueeze(1) - mae.unsqueeze(0)  # [g, h] = mae_g - mae_h
        loss = (diff.abs() * pair).sum() * inv_pairs
        # d loss / d mae_g = 2 / (m (m - 1)) * sum_h pair_gh sign(mae_g - mae_h)
        g_mae = (diff.sign_() * pair).sum(1).mul_(inv_pairs * 2)
        return loss, (G, g_mae.mul_(inv), err.sign_())

    @staticmethod
    def backward(state, grad):
        G, g_mae, sign = state
        return scale_((G @ g_mae).mul_(sign), grad)


def group_mean_parity_loss(pred, groups, *, n_groups=None):
    """Demographic-parity-style penalty on the group mean predictions.

    ``sum_g (mean_{s=g} pred - mean pred) ** 2`` over the groups present in
    the batch (the regression analogue of the L2 demographic-parity loss).
    Its unit is the square of the target's (years squared for age), so scale
    ``lam`` accordingly.

    Parameters
    ----------
    pred : Tensor of shape (B,) or (B, 1)
        Predictions.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes, or a soft group assignment.
    n_groups : int, optional
        Number of groups; pass it to avoid inferring it on every call.

    Returns
    -------
    loss : Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_mean_parity_loss
    >>> pred = torch.tensor([20.0, 22.0, 30.0, 32.0])
    >>> float(group_mean_parity_loss(pred, torch.tensor([0, 0, 1, 1])))
    50.0
    """
    value = _with_kernels(_mean_parity_kernel_parts, as_float(pred), groups, n_groups)
    if value is not None:
        return value
    core, args = _mean_parity_parts(as_float(pred), groups, n_groups)
    if core is None:
        means, present = _group_means(*args)
        return ((means - args[0].mean()).pow(2) * present).sum()
    return apply_penalty(args[0], Identity, core, *args[1:])


def _mean_parity_parts(pred, groups, n_groups):
    """Validated inputs: ``(_MeanParityCore, (pred, G))`` for the fused path, or
    ``(None, (pred, G))`` when the group matrix needs gradients (plain autograd)."""
    pred = check_vector(pred, None, "pred")
    G, _ = group_matrix(groups, pred.shape[0], n_groups, dtype=pred.dtype, device=pred.device)
    return (None if autograd_path(G) else _MeanParityCore), (pred, G)


def _mean_parity_kernel_parts(outputs, groups, n_groups):
    """``("identity", "mean_parity", args)``: the compiled CPU form on ``(B, 1)``
    outputs (see :mod:`._kernels`), or None (the torch path takes the inputs)."""
    if outputs.ndim != 2 or outputs.shape[1] != 1:
        return None
    check_vector(outputs, None, "pred")
    codes = kernel_codes(groups, outputs.shape[0], n_groups)
    return None if codes is None else ("identity", "mean_parity", codes)


def group_mae_parity_loss(pred, y, groups, *, n_groups=None):
    """Mean absolute difference of group MAEs over all pairs of present groups.

    A differentiable batch version of the ChaLearn fair age estimation bias
    score: per-group mean absolute error, then the mean over pairs
    of groups ``g < h`` present in the batch of ``|MAE_g - MAE_h|``.

    Parameters
    ----------
    pred : Tensor of shape (B,) or (B, 1)
        Predictions.
    y : Tensor of shape (B,) or (B, 1)
        Targets.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes, or a soft group assignment.
    n_groups : int, optional
        Number of groups; pass it to avoid inferring it on every call.

    Returns
    -------
    loss : Tensor of shape ()
        0 when fewer than two groups are present.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_mae_parity_loss
    >>> pred = torch.tensor([1.0, 3.0, 5.0, 5.0])
    >>> y = torch.tensor([2.0, 3.0, 1.0, 5.0])
    >>> float(group_mae_parity_loss(pred, y, torch.tensor([0, 0, 1, 1])))
    1.5
    """
    value = _with_kernels(_mae_parity_kernel_parts, as_float(pred), as_float(y), groups,
                          n_groups)
    if value is not None:
        return value
    core, (pred, y, G) = _mae_parity_parts(as_float(pred), as_float(y), groups, n_groups)
    if core is not None:
        return apply_penalty(pred, Identity, core, y, G)
    mae, present = _group_means((pred - y).abs(), G)
    mask = present.to(pred.dtype)
    pair_mask = mask.unsqueeze(0) * mask.unsqueeze(1)
    n_present = mask.sum()
    diff = (mae.unsqueeze(0) - mae.unsqueeze(1)).abs() * pair_mask
    return diff.sum() / (n_present * (n_present - 1)).clamp_min(1)


def _mae_parity_parts(pred, y, groups, n_groups):
    """Validated inputs ``(core, (pred, y, G))``; ``core`` is ``_MAEParityCore``, or None
    when the group matrix or the targets need gradients (plain autograd)."""
    pred = check_vector(pred, None, "pred")
    if isinstance(y, torch.Tensor):
        y = y.to(dtype=pred.dtype, device=pred.device)
    y = check_vector(y, pred.shape[0], "y")
    G, _ = group_matrix(groups, pred.shape[0], n_groups, dtype=pred.dtype, device=pred.device)
    return (None if autograd_path(G, y) else _MAEParityCore), (pred, y, G)


def _mae_parity_kernel_parts(outputs, y, groups, n_groups):
    """``("identity", "mae_parity", args)``: the compiled CPU form on ``(B, 1)``
    outputs, or None."""
    if outputs.ndim != 2 or outputs.shape[1] != 1:
        return None
    check_vector(outputs, None, "pred")
    if isinstance(y, torch.Tensor):
        y = y.to(dtype=outputs.dtype, device=outputs.device)
    y = check_vector(y, outputs.shape[0], "y")
    codes = kernel_codes(groups, outputs.shape[0], n_groups)
    if codes is None or autograd_path(y):
        return None
    return "identity", "mae_parity", (y.detach().numpy(), *codes)
