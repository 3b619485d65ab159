"""Group-balanced risk (Serna et al. 2022, SensitiveLoss): every group weighs the same."""

from __future__ import annotations

import torch

from ._validation import (
    as_float,
    check_non_negative,
    check_sample_weight,
    check_tensor,
    group_matrix,
)

__all__ = ["group_balanced_coefficients", "group_balanced_loss"]


def group_balanced_loss(per_sample_loss, groups, *, n_groups=None, sample_weight=None,
                        group_weights=None, check_input=True):
    """Mean over the groups present of each group's mean loss.

    ``L = sum_g w_g * m_g / sum_g w_g`` over the groups ``g`` present in the batch,
    with ``m_g`` the (sample-weighted) mean of ``per_sample_loss`` over group ``g``
    and ``w_g`` 1 (or ``group_weights[g]``): every group weighs the same whatever its
    size (Serna et al. 2022's sum of per-group losses, divided by the number of groups). For
    any task: per-sample cross-entropy, absolute error, binary cross-entropy, ...

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
    check_input : bool, default=True
        Check the values of ``sample_weight`` and ``group_weights`` (finite,
        non-negative; on CPU). The estimators pass False: they check the
        weights once, at fit.

    Returns
    -------
    loss : Tensor of shape ()
        Groups absent from the batch (or whose rows all weigh 0) drop out; 0 if
        no group has positive weight, never NaN.

    See Also
    --------
    group_balanced_coefficients : the row coefficients ``r`` of ``loss = per_sample_loss @ r``.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_balanced_loss
    >>> losses = torch.tensor([1.0, 1.0, 1.0, 4.0])
    >>> groups = torch.tensor([0, 0, 0, 1])
    >>> float(losses.mean()), float(group_balanced_loss(losses, groups))
    (1.75, 2.5)
    """
    if check_tensor(per_sample_loss, "per_sample_loss").ndim == 0 or (
            not per_sample_loss.is_floating_point()):
        raise ValueError(
            "per_sample_loss must be an unreduced floating tensor of shape (n_samples,) "
            f"(use reduction='none'), got shape {tuple(per_sample_loss.shape)} and dtype "
            f"{per_sample_loss.dtype}."
        )
    per_sample_loss = as_float(per_sample_loss)
    if per_sample_loss.ndim > 1:
        per_sample_loss = per_sample_loss.reshape(per_sample_loss.shape[0], -1).mean(1)
    if per_sample_loss.shape[0] == 0:
        raise ValueError("per_sample_loss is empty: a mini-batch needs at least one row.")
    r = _coefficients(groups, per_sample_loss.shape[0], n_groups, sample_weight, group_weights,
                      per_sample_loss.dtype, per_sample_loss.device, check_input)
    return per_sample_loss @ r


def group_balanced_coefficients(groups, n_samples, *, n_groups=None, sample_weight=None,
                                group_weights=None, dtype=torch.float32, device=None,
                                check_input=True):
    """Row coefficients ``r`` of the group-balanced risk, which is linear in the
    per-sample losses: ``group_balanced_loss(per_sample_loss, ...) == per_sample_loss @ r``.

    Parameters
    ----------
    groups, n_groups, sample_weight, group_weights, check_input
        As in :func:`group_balanced_loss`.
    n_samples : int
        Number of rows of the batch.
    dtype : torch.dtype, default=torch.float32
    device : torch.device, optional

    Returns
    -------
    r : Tensor of shape (n_samples,)
        Non-negative; sums to 1 (0 when no group has positive weight).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import group_balanced_coefficients
    >>> group_balanced_coefficients(torch.tensor([0, 0, 1]), 3)
    tensor([0.2500, 0.2500, 0.5000])
    """
    if device is None and isinstance(groups, torch.Tensor):
        device = groups.device
    return _coefficients(groups, n_samples, n_groups, sample_weight, group_weights, dtype,
                         device, check_input)


def _coefficients(groups, n_samples, n_groups, sample_weight, group_weights, dtype, device,
                  check_input):
    G, n_groups = group_matrix(groups, n_samples, n_groups, dtype=dtype, device=device)
    if sample_weight is None:
        mass = G.sum(0)
    else:
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype, G.device,
                                            check_values=check_input)
        mass = sample_weight @ G
    present = mass > 0
    if group_weights is None:
        w = present.to(dtype)
    else:
        check_tensor(group_weights, "group_weights")
        if group_weights.shape != (n_groups,):
            raise ValueError(f"group_weights must have shape ({n_groups},), got "
                             f"{tuple(group_weights.shape)}.")
        group_weights = group_weights.to(dtype=dtype, device=G.device)
        if check_input:
            check_non_negative(group_weights, "group_weights")
        w = group_weights * present
    # group g's rows share w_g / sum(w) of the risk, in proportion to their weights
    per_group = (w / torch.where(present, mass, torch.ones_like(mass))
                 / w.sum().clamp_min(torch.finfo(dtype).tiny))
    r = G @ per_group
    return r if sample_weight is None else r * sample_weight
