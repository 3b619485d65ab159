"""Fairness penalties for regression (e.g. age estimation).

Group-balanced MAE is :func:`~skfair.losses.group_balanced_loss` applied to
per-sample absolute errors. The two penalties here follow the empty-group
rule of the classification losses: groups absent from the batch drop out and
fewer than two groups present give exactly 0 (never NaN).
"""

from __future__ import annotations

from ._validation import as_float, check_tensor, check_vector, group_matrix, masked_divide

__all__ = ["group_mae_parity_loss", "group_mean_parity_loss"]


def _group_means(values, groups, n_groups):
    """Mean of ``values`` (B,) over each group's rows, and which groups are present."""
    G, _ = group_matrix(groups, values.shape[0], n_groups, dtype=values.dtype,
                        device=values.device)
    means, present = masked_divide((values @ G).unsqueeze(1), G.sum(0))
    return means[:, 0], present


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
    pred = check_vector(as_float(pred), None, "pred")
    means, present = _group_means(pred, groups, n_groups)
    return ((means - pred.mean()).pow(2) * present).sum()


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
    pred = check_vector(as_float(pred), None, "pred")
    y = check_vector(check_tensor(y, "y").to(dtype=pred.dtype, device=pred.device),
                     pred.shape[0], "y")
    mae, present = _group_means((pred - y).abs(), groups, n_groups)
    mask = present.to(pred.dtype)
    n_present = mask.sum()
    diff = (mae.unsqueeze(0) - mae.unsqueeze(1)).abs() * mask.unsqueeze(0) * mask.unsqueeze(1)
    return diff.sum() / (n_present * (n_present - 1)).clamp_min(1)
