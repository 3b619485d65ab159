"""Group-balanced risk (Serna et al. 2022, SensitiveLoss): every group weighs the same."""

from __future__ import annotations

import torch

from ._ops import as_float, safe_inv, tiny
from ._validation import _check_tensor, check_non_negative, check_sample_weight, group_matrix

__all__ = ["group_balanced_coefficients", "group_balanced_loss"]


def group_balanced_loss(
    per_sample_loss, groups, *, n_groups=None, sample_weight=None, group_weights=None
):
    """Mean over the groups present of each group's mean loss.

    ``L = sum_g w_g * m_g / sum_g w_g`` over the groups ``g`` present in the
    batch, where ``m_g`` is the (sample-weighted) mean of ``per_sample_loss``
    over the rows of group ``g`` and ``w_g`` is 1 (or ``group_weights[g]``).
    Plain mean loss weighs a group by its size; this weighs every group
    equally, as the sum of per-group losses of Serna et al. (2022) (divided by the
    number of groups, so its scale matches the plain mean).

    Works for any task: pass per-sample cross-entropy, per-sample absolute
    error (group-balanced MAE for regression), or per-sample binary
    cross-entropy of a multi-label model.

    Parameters
    ----------
    per_sample_loss : Tensor of shape (B,) or (B, ...)
        Unreduced task loss; trailing dimensions (e.g. labels of a multi-label
        model) are averaged first.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes in ``[0, n_groups)``, or a soft group assignment.
    n_groups : int, optional
        Number of groups; pass it to avoid inferring it on every call.
    sample_weight : Tensor of shape (B,), optional
        Non-negative row weights applied within each group's mean.
    group_weights : Tensor of shape (n_groups,), optional
        Non-negative weight of each group in the mean over groups; renormalised
        over the groups present.

    Returns
    -------
    loss : Tensor of shape ()
        Groups absent from the batch (or whose rows all have zero weight) drop
        out; the result is never NaN. If no group has positive weight the
        result is 0 (nothing to learn from that batch).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_balanced_loss
    >>> losses = torch.tensor([1.0, 1.0, 1.0, 4.0])
    >>> groups = torch.tensor([0, 0, 0, 1])
    >>> float(losses.mean()), float(group_balanced_loss(losses, groups))
    (1.75, 2.5)
    """
    _check_tensor(per_sample_loss, "per_sample_loss")
    if per_sample_loss.ndim == 0 or not per_sample_loss.is_floating_point():
        raise ValueError(
            "per_sample_loss must be an unreduced floating tensor of shape (n_samples,) "
            f"(use reduction='none'), got shape {tuple(per_sample_loss.shape)} and dtype "
            f"{per_sample_loss.dtype}."
        )
    per_sample_loss = as_float(per_sample_loss)
    if per_sample_loss.ndim > 1:
        per_sample_loss = per_sample_loss.reshape(per_sample_loss.shape[0], -1).mean(1)
    n_samples = per_sample_loss.shape[0]
    if n_samples == 0:
        raise ValueError("per_sample_loss is empty: a mini-batch needs at least one row.")
    dtype, device = per_sample_loss.dtype, per_sample_loss.device
    G, sample_weight, group_weights = _check_weights(
        groups, n_samples, n_groups, sample_weight, group_weights, dtype, device
    )
    if any(t is not None and t.requires_grad for t in (G, sample_weight, group_weights)):
        return _group_balanced_reference(per_sample_loss, G, sample_weight, group_weights)
    # The loss is linear in the per-sample losses: sum_i r_i * loss_i, with the
    # row coefficients r depending only on the groups and weights.
    return torch.dot(per_sample_loss, _coefficients(G, sample_weight, group_weights))


def group_balanced_coefficients(groups, n_samples, *, n_groups=None, sample_weight=None,
                                group_weights=None, dtype=torch.float32, device=None,
                                check_input=True):
    """Row coefficients ``r`` of the group-balanced risk: ``loss = per_sample_loss @ r``.

    The risk of :func:`group_balanced_loss` is linear in the per-sample
    losses; the coefficients depend only on the groups and weights (no
    gradient flows through them).

    Parameters
    ----------
    groups, n_groups, sample_weight, group_weights
        As in :func:`group_balanced_loss`.
    n_samples : int
        Number of rows of the batch.
    dtype : torch.dtype, default=torch.float32
    device : torch.device, optional
    check_input : bool, default=True
        Check the values of ``sample_weight`` and ``group_weights`` (finite,
        non-negative; on CPU).
        Shapes and dtypes are always checked. :func:`penalized_task_loss`
        passes its own ``check_input``: the estimators check the weights once,
        at fit.

    Returns
    -------
    r : Tensor of shape (n_samples,)
        Non-negative; sums to 1 over the rows with positive weight (0 when no
        group has positive weight).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_balanced_coefficients
    >>> group_balanced_coefficients(torch.tensor([0, 0, 1]), 3)
    tensor([0.2500, 0.2500, 0.5000])
    """
    if device is None and isinstance(groups, torch.Tensor):
        device = groups.device
    G, sample_weight, group_weights = _check_weights(
        groups, n_samples, n_groups, sample_weight, group_weights, dtype, device,
        check_values=check_input,
    )
    with torch.no_grad():
        return _coefficients(G, sample_weight, group_weights)


def _check_weights(groups, n_samples, n_groups, sample_weight, group_weights, dtype, device,
                   check_values=True):
    G, n_groups = group_matrix(groups, n_samples, n_groups, dtype=dtype, device=device)
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype, device,
                                            check_values=check_values)
    if group_weights is not None:
        _check_tensor(group_weights, "group_weights")
        if group_weights.shape != (n_groups,):
            raise ValueError(
                f"group_weights must have shape ({n_groups},), got {tuple(group_weights.shape)}."
            )
        group_weights = group_weights.to(dtype=dtype, device=device)
        if check_values:
            check_non_negative(group_weights, "group_weights")
    return G, sample_weight, group_weights


def _coefficients(G, sample_weight, group_weights):
    with torch.no_grad():
        mass = G.T.sum(1) if sample_weight is None else sample_weight @ G
        if group_weights is None:  # every group present weighs 1 (safe_inv: 0 if absent)
            coef = safe_inv(mass).div_(torch.count_nonzero(mass).clamp_min_(1))
        else:
            w = group_weights * mass.sign()
            coef = safe_inv(mass).mul_(w).div_(w.sum().clamp_min(tiny(mass.dtype)))
        r = G @ coef
        if sample_weight is not None:
            r.mul_(sample_weight)
    return r


def _group_balanced_reference(per_sample_loss, G, sample_weight, group_weights):
    """The formula with autograd (used when the weights or groups need gradients)."""
    if sample_weight is None:
        mass = G.sum(0)
        total = per_sample_loss @ G
    else:
        mass = sample_weight @ G
        total = (sample_weight * per_sample_loss) @ G
    present = mass > 0
    group_mean = total / torch.where(present, mass, torch.ones_like(mass))
    w = present.to(mass.dtype) if group_weights is None else group_weights * present
    return (w * group_mean).sum() / w.sum().clamp_min(tiny(mass.dtype))
