"""Demographic-parity, equalized-odds and IoU fairness losses (Hänel et al. 2022).

Each takes class probabilities ``probs`` (B, K) of one mini-batch (rows sum to 1;
not checked per call), integer targets ``y`` (B,) where needed, and the groups as
(B,) int64 codes or a (B, G) soft assignment (rows are probabilities over the
groups, e.g. a group classifier's output). Each is a statistic per group (mean
prediction, joint table of group and prediction, soft IoU) from one-hot matrix
products and a penalty of how the groups differ; autograd differentiates it.

A group, or (true class, group) cell, with no row in the batch drops out of the
batch's term, and nothing becomes NaN (masked divisions, ``log(max(x, tiny))``);
with fewer than two groups present the loss is zero.
"""

from __future__ import annotations

import torch

from ._validation import (
    as_float,
    check_probs,
    check_targets,
    group_matrix,
    safe_log,
)

__all__ = ["demographic_parity_loss", "equalized_odds_loss", "iou_fairness_loss"]

_KINDS = ("l2", "mi")


def _check_kind(kind):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    return kind


def _inputs(probs, y, groups, n_groups):
    """Validated ``(probs, one-hot y or None, group matrix)`` in at least float32."""
    probs = check_probs(as_float(probs))
    n_samples, n_classes = probs.shape
    G, _ = group_matrix(groups, n_samples, n_groups, dtype=probs.dtype, device=probs.device)
    if y is None:
        return probs, None, G
    Y = check_targets(y, n_samples, n_classes, probs.dtype, probs.device)
    return probs, Y, G


def _mean_gaps(W, R, probs):
    """For each column ``c`` of the row weights ``W`` (a group, or a (class, group) cell):
    the ``W[:, c]``-weighted mean of ``probs`` minus the ``R[:, c]``-weighted mean (the
    batch's, or the class's), and 0 for a column without weight. The gaps are linear in
    ``probs``: ``A.T @ probs``, with ``A`` built from the weights alone."""
    w_mass, r_mass = W.sum(0), R.sum(0)
    present = w_mass > 0
    A = (W / torch.where(present, w_mass, 1) - R / torch.where(r_mass > 0, r_mass, 1)) * present
    return A.T @ probs


def _mutual_information(joint):
    """``sum joint * log(joint / (P(s) P(a)))`` of the table(s) ``joint[..., s, a]``."""
    marginals = joint.sum(-1, keepdim=True) * joint.sum(-2, keepdim=True)  # P(s) P(a)
    return (joint * (safe_log(joint) - safe_log(marginals))).sum()


def demographic_parity_loss(probs, groups, kind="l2", *, n_groups=None):
    """Differentiable demographic-parity loss on a mini-batch.

    ``kind="l2"``: the sum over classes ``a`` and groups ``b`` present in the
    batch of ``(mean_{s=b} p_a - mean p_a) ** 2``.

    ``kind="mi"``: the mutual information ``H(S) + H(Yhat) - H(S, Yhat)``
    between the predicted class and the group, with the joint
    ``P(s, a) = mean_i onehot(s_i)[s] * p_i[a]`` (natural logarithm).

    Parameters
    ----------
    probs : Tensor of shape (B, K)
        Class probabilities (rows sum to 1, not re-checked per call).
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes in ``[0, n_groups)``, or a soft group assignment.
    kind : {"l2", "mi"}, default="l2"
        The L2 form or the mutual-information form.
    n_groups : int, optional
        Number of groups; inferred from codes when omitted (a device
        synchronisation on GPU): pass it in training loops.

    Returns
    -------
    loss : Tensor of shape ()
        Non-negative; 0 when the groups' mean predictions agree.

    See Also
    --------
    equalized_odds_loss : the same disparity within each true class.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import demographic_parity_loss
    >>> probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    >>> groups = torch.tensor([0, 0, 1, 1])
    >>> round(float(demographic_parity_loss(probs, groups)), 4)
    0.25
    >>> round(float(demographic_parity_loss(probs, groups, kind="mi")), 4)
    0.1325
    """
    kind = _check_kind(kind)
    probs, _, G = _inputs(probs, None, groups, n_groups)
    if kind == "mi":  # the joint of (group, prediction)
        return _mutual_information(G.T @ probs / probs.shape[0])
    gaps = _mean_gaps(G, torch.ones_like(G[:, :1]), probs)  # group mean - batch mean
    return (gaps * gaps).sum()


def equalized_odds_loss(probs, y, groups, kind="l2", *, n_groups=None):
    """Differentiable equalized-odds loss on a mini-batch.

    ``kind="l2"``: the sum over predicted classes ``a``, true classes ``b`` and
    groups ``c`` of ``(mean_{y=b, s=c} p_a - mean_{y=b} p_a) ** 2`` over the
    (true class, group) cells present in the batch.

    ``kind="mi"``: the mutual information between predicted class and group
    computed within each true class ``b`` and summed over the classes present,
    ``sum_b H(Yhat | y=b) + H(S | y=b) - H(Yhat, S | y=b)`` (Hänel et al. 2022).

    Parameters
    ----------
    probs : Tensor of shape (B, K)
        Class probabilities (rows sum to 1, not re-checked per call).
    y : Tensor of shape (B,) int64
        True class codes in ``[0, K)``.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes in ``[0, n_groups)``, or a soft group assignment.
    kind : {"l2", "mi"}, default="l2"
        The L2 form or the mutual-information form.
    n_groups : int, optional
        Number of groups; pass it to avoid inferring it on every call.

    Returns
    -------
    loss : Tensor of shape ()
        Non-negative; a class with fewer than two groups present adds 0.

    See Also
    --------
    demographic_parity_loss : the unconditional version.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import equalized_odds_loss
    >>> probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> groups = torch.tensor([0, 1, 0, 1])
    >>> round(float(equalized_odds_loss(probs, y, groups)), 4)
    0.13
    """
    kind = _check_kind(kind)
    probs, Y, G = _inputs(probs, y, groups, n_groups)
    n_samples, n_classes = probs.shape
    W = Y.unsqueeze(2) * G.unsqueeze(1)  # W[i, b, c]: row i's weight in cell (b, c)
    if kind == "mi":  # per true class, the joint of (group, prediction)
        sums = W.flatten(1).T @ probs  # (K * G, K)
        class_mass = W.sum((0, 2))
        joint = sums.view(n_classes, -1) / torch.where(class_mass > 0, class_mass, 1)[:, None]
        return _mutual_information(joint.view(n_classes, -1, n_classes))
    # cell mean - class mean; R[i, (b, c)] is row i's weight in class b
    R = W.sum(2, keepdim=True).expand_as(W)
    gaps = _mean_gaps(W.flatten(1), R.flatten(1), probs)
    return (gaps * gaps).sum()


def _soft_iou(probs, y, groups, n_groups=None):
    """Class-averaged soft IoU ``(overall, per_group, present)`` of the batch and of
    each group (0 for an absent group). With ``CM[k, j] = sum_i p_i(k) 1[y_i = j]``,
    ``IoU_k = CM[k, k] / (row_k + col_k - CM[k, k])``; classes with a zero union
    are left out of the mean over classes."""
    probs, Y, G = _inputs(probs, y, groups, n_groups)
    WT = torch.cat([torch.ones_like(G[:, :1]), G], dim=1).T  # row 0: the whole batch
    inter, pred, true = WT @ (probs * Y), WT @ probs, WT @ Y
    union = pred + true - inter
    valid = union > 0
    iou = inter / torch.where(valid, union, 1)
    iou_mean = iou.sum(1) / valid.sum(1).clamp_min(1)
    present = true[1:].sum(1) > 0  # group mass (rows of Y sum to 1)
    return iou_mean[0], iou_mean[1:] * present, present


def iou_fairness_loss(probs, y, groups, pairwise=False, *, n_groups=None):
    """Differentiable IoU fairness loss on a mini-batch (Hänel et al. 2022).

    The soft IoU of each class (intersection over union of predicted mass and
    true rows), averaged over classes, for the whole batch and each group
    present; the loss is the mean over present groups of ``(IoU_group -
    IoU_overall) ** 2``, or with ``pairwise=True`` the mean over pairs of present
    groups of ``(IoU_g - IoU_h) ** 2``. (Hänel et al. write a sum over groups; the
    mean keeps ``lam`` independent of the number of groups.)

    Parameters
    ----------
    probs : Tensor of shape (B, K)
        Class probabilities (rows sum to 1, not re-checked per call).
    y : Tensor of shape (B,) int64
        True class codes in ``[0, K)``.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes in ``[0, n_groups)``, or a soft group assignment.
    pairwise : bool, default=False
        Compare groups pairwise instead of each group with the whole batch.
    n_groups : int, optional
        Number of groups; pass it to avoid inferring it on every call.

    Returns
    -------
    loss : Tensor of shape ()
        Non-negative.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import iou_fairness_loss
    >>> probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    >>> y = torch.tensor([0, 1, 0, 1])
    >>> groups = torch.tensor([0, 0, 1, 1])
    >>> round(float(iou_fairness_loss(probs, y, groups)), 4)
    0.0328
    """
    if not isinstance(pairwise, bool):
        raise TypeError(f"pairwise must be a bool, got {pairwise!r}.")
    overall, per_group, present = _soft_iou(probs, y, groups, n_groups)
    mask = present.to(per_group.dtype)
    n_present = mask.sum()
    if not pairwise:
        gaps = (per_group - overall) * mask
        return (gaps * gaps).sum() / n_present.clamp_min(1)
    diff = (per_group.unsqueeze(0) - per_group.unsqueeze(1)).pow(2)
    # the full matrix counts every unordered pair twice and has a zero diagonal
    return (diff * mask.unsqueeze(0) * mask.unsqueeze(1)).sum() / (
        n_present * (n_present - 1)).clamp_min(1)
