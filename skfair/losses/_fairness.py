"""Demographic-parity, equalized-odds and IoU fairness losses (Hänel et al. 2022).

All three take class probabilities ``probs`` of shape ``(B, K)`` for one
mini-batch (rows sum to 1; this is documented, not checked on every call
because the check would cost a reduction per step), optional integer targets
``y`` of shape ``(B,)`` and the sensitive groups, given either as ``(B,)``
int64 codes in ``[0, n_groups)`` or as a ``(B, n_groups)`` soft assignment
(rows are probabilities over the groups, e.g. a gender classifier's output on
samples drawn from a descriptive model).

Empty-cell rule
---------------
A group, or a (true class, group) cell, that has no row in the batch drops out
of that batch's term; every other cell still counts, and nothing becomes NaN.
When fewer than two groups are present the disparity is zero *by definition*
(one group cannot differ from itself): the losses then return an exact or
rounding-level zero with a finite gradient that is zero along the simplex
(the MI form's gradient w.r.t. ``probs`` is then a constant per row, which the
softmax removes). Divisions by counts are masked (``1 / count`` where
``count > 0``, else 0) and logarithms are ``log(max(x, tiny))``, so values and
gradients stay finite with missing groups and with probabilities that are
exactly zero.

Everything is vectorised with one-hot matrix products: no Python loop over
rows, no ``unique`` and no ``.item()``. Passing ``n_groups`` avoids the only
device synchronisation (inferring it from ``groups.max()``).

Implementation
--------------
Each loss exists twice: a readable autograd version (``_*_reference``, the
formulas above written out) and a fused *core* (``_ProjectionCore`` for
the L2 forms, ``_DPMICore``, ...) with a
hand-derived backward that uses a handful of operations (a fairness term
works on tiny tensors, where eager PyTorch's per-operation overhead, not the
arithmetic, is the cost), run as one autograd node by :mod:`._fused`. The
fused version is used whenever the group matrix does not itself require
gradients (always for integer codes); the tests check it against the
reference, values and gradients. The ``nn.Module`` wrappers also fold the
softmax into it (``from_logits``), and :func:`penalized_task_loss` folds the
cross-entropy in as well. The fused backward is not itself differentiable
(no double backward).
"""

from __future__ import annotations

import torch

from ._fused import Identity, Softmax, apply_penalty
from ._ops import (
    as_float,
    autograd_path,
    cpu_kernels,
    safe_inv,
    safe_log,
    scale_,
    softmax_rows,
    tiny,
)
from ._validation import (
    cell_indicators,
    check_probs,
    check_targets,
    group_codes,
    group_matrix,
    kernel_codes,
    one_hot_targets,
)

__all__ = [
    "demographic_parity_loss",
    "equalized_odds_loss",
    "iou_fairness_loss",
]

_KINDS = ("l2", "mi")


def _check_kind(kind):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    return kind


def _log_ratio(joint):
    """``log P(s, a) - log P(s) - log P(a)`` of the table(s) ``joint[..., s, a]``.

    Marginals are the table's own row and column sums; logs are floored at
    ``tiny`` so that empty cells give finite values and gradients.
    """
    ps = joint.sum(-1, keepdim=True)
    pa = joint.sum(-2, keepdim=True)
    return safe_log(joint) - safe_log(ps) - safe_log(pa)


def _masked_divide(num, den, present):
    """``num / den`` where ``present``; 0 elsewhere, with finite gradients."""
    return num / torch.where(present, den, torch.ones_like(den))


def _cell_matrix(Y, G):
    """(B, K) class one-hot x (B, G) groups -> (B, K * G) cell indicator."""
    n_samples = Y.shape[0]
    return (Y.unsqueeze(2) * G.unsqueeze(1)).reshape(n_samples, -1)


# ---------------------------------------------------------------------------
# Reference implementations (plain autograd; the formulas written out)
# ---------------------------------------------------------------------------


def _dp_reference(probs, G, kind):
    n_samples = probs.shape[0]
    sums = G.T @ probs  # (n_groups, K): sum of p over each group's rows
    if kind == "mi":
        joint = sums / n_samples
        return (joint * _log_ratio(joint)).sum()
    counts = G.sum(0)
    present = counts > 0
    means = _masked_divide(sums, counts.unsqueeze(1), present.unsqueeze(1))
    diff = (means - probs.mean(0)) * present.unsqueeze(1)
    return diff.pow(2).sum()


def _eo_reference(probs, Y, G, kind):
    n_classes, n_groups = Y.shape[1], G.shape[1]
    Z = _cell_matrix(Y, G)
    S = (Z.T @ probs).reshape(n_classes, n_groups, n_classes)  # [true b, group c, pred a]
    counts = Z.sum(0).reshape(n_classes, n_groups)
    class_counts = counts.sum(1)
    class_present = class_counts > 0
    if kind == "mi":
        joint = _masked_divide(S, class_counts[:, None, None], class_present[:, None, None])
        return (joint * _log_ratio(joint)).sum()
    present = counts > 0
    cell_mean = _masked_divide(S, counts.unsqueeze(2), present.unsqueeze(2))
    class_mean = _masked_divide(S.sum(1), class_counts.unsqueeze(1), class_present.unsqueeze(1))
    diff = (cell_mean - class_mean.unsqueeze(1)) * present.unsqueeze(2)
    return diff.pow(2).sum()


def _iou_table(probs, Y, G):
    """Class-averaged soft IoU of the whole batch (row 0) and of each group."""
    n_classes = probs.shape[1]
    W = torch.cat([torch.ones_like(G[:, :1]), G], dim=1)
    inter, pred, true = (W.T @ torch.cat([probs * Y, probs, Y], dim=1)).split(n_classes, 1)
    union = pred + true - inter
    valid = union > 0
    iou = _masked_divide(inter, union, valid)
    iou_mean = iou.sum(1) / valid.sum(1).clamp_min(1)
    present = true[1:].sum(1) > 0  # group mass (rows of Y sum to 1)
    return iou_mean[0], iou_mean[1:] * present, present


def _iou_reference(probs, Y, G, pairwise):
    overall, per_group, present = _iou_table(probs, Y, G)
    mask = present.to(per_group.dtype)
    n_present = mask.sum()
    if not pairwise:
        return ((per_group - overall).pow(2) * mask).sum() / n_present.clamp_min(1)
    diff = (per_group.unsqueeze(0) - per_group.unsqueeze(1)).pow(2)
    pair_mask = mask.unsqueeze(0) * mask.unsqueeze(1)
    # the full matrix counts every unordered pair twice and has a zero diagonal
    return (diff * pair_mask).sum() / (n_present * (n_present - 1)).clamp_min(1)


# ---------------------------------------------------------------------------
# Fused autograd functions (hand-derived backward, few operations)
# ---------------------------------------------------------------------------


def _fused_log_ratio(J):
    """Fewer-op ``_log_ratio`` for the fused functions (no autograd inside)."""
    outer = J.sum(-1, keepdim=True) * J.sum(-2, keepdim=True)
    return J.clamp_min(tiny(J.dtype)).div_(outer.clamp_min_(tiny(J.dtype))).log_()


class _ProjectionCore:
    """Fused ``||A^T P||_F^2``: the L2 parity penalties are squared norms of a linear map
    of ``P``. ``A`` of shape (B, m) is built from the batch's labels and groups (no
    gradient), so the value is one matrix product and the gradient ``2 A (A^T P)`` one
    more (see :func:`_dp_l2_map`, :func:`_eo_l2_map`)."""

    @staticmethod
    def forward(P, A):
        D = A.T @ P
        flat = D.view(-1)
        return torch.dot(flat, flat), (P, A, D)

    @staticmethod
    def backward(state, grad):
        P, A, D = state
        # beta=0: P only gives the shape of the result
        if isinstance(grad, float):  # a number (on CPU): folded into alpha
            return torch.addmm(P, A, D, beta=0, alpha=2 * grad)
        return torch.addmm(P, A, D * grad, beta=0, alpha=2)


def _dp_l2_map(G):
    """``A`` of the L2 demographic-parity penalty: column ``g`` is ``G_g / n_g -
    present_g / B``, so ``(A^T P)[g]`` is group ``g``'s mean of ``P`` minus the batch
    mean, and 0 for a group absent from the batch."""
    counts = G.sum(0)
    inv = safe_inv(counts)  # soft groups may weigh less than one row
    return (G * inv).sub_(counts.sign_(), alpha=1.0 / G.shape[0])


def _eo_l2_map(Z, C):
    """``A`` of the L2 equalized-odds penalty: column ``(b, c)`` is ``Z / n_bc - C *
    present_bc / n_b``, so ``(A^T P)[(b, c)]`` is the mean of ``P`` over cell ``(b, c)``
    minus the mean over class ``b``, and 0 for a cell absent from the batch. ``Z``: the
    rows' (soft) cell indicators; ``C``: their mass on every cell of their class."""
    counts = Z.sum(0)
    class_counts = C.sum(0)  # n_b, repeated for every cell of class b
    return torch.addcmul(Z * safe_inv(counts), C,
                         counts.sign_().mul_(safe_inv(class_counts)), value=-1)


class _DPMICore:
    """Fused mutual-information demographic parity on probabilities ``P``."""

    @staticmethod
    def forward(P, G):
        scale = 1.0 / P.shape[0]
        J = (G.T @ P).mul_(scale)  # joint of (group, prediction)
        LR = _fused_log_ratio(J)
        return (J * LR).sum(), (G, LR, scale)

    @staticmethod
    def backward(state, grad):
        G, LR, scale = state
        # d MI / d J = log J - log P(s) - log P(a) - 1, and J = G^T P / B
        return G @ (LR - 1).mul_(grad * scale)


class _EOMICore:
    """Fused mutual-information equalized odds; ``Z`` is the (class, group) cell matrix."""

    @staticmethod
    def forward(P, Z, n_groups):
        n_classes = P.shape[1]
        ZT = Z.T
        S = (ZT @ P).view(n_classes, n_groups, n_classes)  # [true b, group c, pred a]
        counts = ZT.sum(1, keepdim=True).view(n_classes, n_groups, 1)
        inv_class = safe_inv(counts.sum(1, keepdim=True))  # (K, 1, 1)
        J = S.mul_(inv_class)  # per-class joint of (group, prediction)
        LR = _fused_log_ratio(J)
        return (J * LR).sum(), (Z, LR, inv_class)

    @staticmethod
    def backward(state, grad):
        Z, LR, inv_class = state
        gS = scale_((LR - 1).mul_(inv_class), grad)
        return Z @ gS.view(Z.shape[1], -1)


class _IoUCore:
    """Fused IoU fairness on probabilities ``P`` with one-hot targets ``Y``."""

    @staticmethod
    def forward(P, Y, G, pairwise):
        n_classes = P.shape[1]
        GT = G.T
        V = torch.cat([P * Y, P, Y], dim=1)
        M = torch.cat([V.sum(0, keepdim=True), GT @ V])  # row 0: the whole batch, then groups
        inter, pred, true = M.split(n_classes, 1)
        union = pred.add(true).sub_(inter)
        inv_u = safe_inv(union)
        iou = inter * inv_u
        inv_nv = union.sign_().sum(1).clamp_min_(1).reciprocal_()  # 1 / classes with a union
        iou_mean = iou.sum(1).mul_(inv_nv)
        present = GT.sum(1).sign_()
        n_present = present.sum()
        per_group = iou_mean[1:]
        if pairwise:
            weighted = present * per_group
            s1 = weighted.sum()
            inv_pairs = (n_present * (n_present - 1)).clamp_min_(1).reciprocal_()
            # mean over ordered pairs of (i_g - i_h)^2 = 2 (m sum i^2 - (sum i)^2) / (m (m - 1))
            loss = (torch.dot(weighted, per_group) * n_present - s1 * s1).mul_(inv_pairs * 2)
            loss = loss.clamp_min_(0)
            g_groups = (per_group * n_present).sub_(s1).mul_(present).mul_(inv_pairs * 4)
            g_overall = torch.zeros_like(s1)
        else:
            diff = per_group - iou_mean[0]
            inv_m = n_present.clamp_min(1).reciprocal_()
            weighted = present.mul_(diff)
            loss = torch.dot(weighted, diff).mul_(inv_m)
            g_groups = weighted.mul_(inv_m * 2)
            g_overall = -g_groups.sum()
        return loss, (G, Y, g_overall, g_groups, inv_nv, inv_u, iou)

    @staticmethod
    def backward(state, grad):
        G, Y, g_overall, g_groups, inv_nv, inv_u, iou = state
        n_classes = Y.shape[1]
        g_mean = scale_(torch.cat([g_overall.view(1), g_groups]).mul_(inv_nv), grad)
        gr = inv_u * g_mean.unsqueeze(1)
        # d iou / d inter = (1 + iou) / union ; d iou / d pred = -iou / union
        X = torch.cat([gr + gr * iou, gr.mul_(iou).neg_()], dim=1)  # (1 + n, 2K)
        A = torch.addmm(X[:1], G, X[1:])  # whole-batch row applies to every sample
        g_a, g_b = A.split(n_classes, 1)
        return g_a.mul_(Y).add_(g_b)


def _link(from_logits):
    return Softmax if from_logits else Identity


def _with_kernels(x, parts_of, *args, from_logits):
    """The penalty by the compiled CPU kernels (one node), or None: no kernels for ``x``,
    or no compiled form for these inputs (``parts_of`` gives it)."""
    kernels = cpu_kernels(x)
    if kernels is None:
        return None
    parts = parts_of(x, *args, name="logits" if from_logits else "probs")
    if parts is None:
        return None
    return kernels.penalty(x, parts[0] if from_logits else "identity", parts[1], parts[2])


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
        Number of groups. Inferred from ``groups`` when omitted (a device
        synchronisation on GPU for codes); pass it in training loops.

    Returns
    -------
    loss : Tensor of shape ()
        Non-negative scalar; 0 when the group-wise mean predictions agree, and
        0 when fewer than two groups are present in the batch.

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
    return _demographic_parity(as_float(probs), groups, kind, n_groups, from_logits=False)


def _dp_parts(x, groups, kind, n_groups, from_logits=True):
    """Validated inputs: ``(core, args)`` for the fused path, or ``(None, args)`` of the
    autograd reference when the group matrix needs gradients."""
    x = check_probs(x, "logits" if from_logits else "probs")
    kind = _check_kind(kind)
    G, _ = group_matrix(groups, x.shape[0], n_groups, dtype=x.dtype, device=x.device)
    if autograd_path(G):
        return None, (softmax_rows(x) if from_logits else x, G, kind)
    if kind == "mi":
        return _DPMICore, (G,)
    return _ProjectionCore, (_dp_l2_map(G),)


def _dp_kernel_parts(x, groups, kind, n_groups, name="logits"):
    """``("softmax", kernel name, args)`` of the compiled CPU form on logits ``x`` (see
    :mod:`._kernels`), or None (the torch path takes the inputs)."""
    check_probs(x, name)
    kind = _check_kind(kind)
    codes = kernel_codes(groups, x.shape[0], n_groups)
    return None if codes is None else ("softmax", f"dp_{kind}", codes)


def _demographic_parity(x, groups, kind, n_groups, from_logits):
    value = _with_kernels(x, _dp_kernel_parts, groups, kind, n_groups, from_logits=from_logits)
    if value is not None:
        return value
    core, args = _dp_parts(x, groups, kind, n_groups, from_logits)
    if core is None:
        return _dp_reference(*args)
    return apply_penalty(x, _link(from_logits), core, *args)


def _prepare_targets(probs, y, groups, n_groups):
    n_samples, n_classes = probs.shape
    y = check_targets(y, n_samples)
    if y.device != probs.device:
        y = y.to(probs.device)
    G, n_groups = group_matrix(groups, n_samples, n_groups, dtype=probs.dtype, device=probs.device)
    return one_hot_targets(y, n_classes, probs.dtype), G


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
        Non-negative scalar. Cells absent from the batch drop out; a class
        with fewer than two groups present contributes 0.

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
    return _equalized_odds(as_float(probs), y, groups, kind, n_groups, from_logits=False)


def _eo_parts(x, y, groups, kind, n_groups, from_logits=True):
    """Validated inputs: ``(core, args)`` for the fused path, or ``(None, args)`` of the
    autograd reference when the group matrix needs gradients."""
    x = check_probs(x, "logits" if from_logits else "probs")
    kind = _check_kind(kind)
    n_samples, n_classes = x.shape
    if isinstance(groups, torch.Tensor) and groups.ndim == 1 and not autograd_path():
        # integer codes: the cell indicators straight from the codes (fewer operations)
        y = check_targets(y, n_samples)
        if y.device != x.device:
            y = y.to(x.device)
        codes, n_groups = group_codes(groups, n_samples, n_groups, device=x.device)
        Z, C = cell_indicators(y, codes, n_classes, n_groups, x.dtype,
                               with_classes=kind == "l2")
    else:
        Y, G = _prepare_targets(x, y, groups, n_groups)
        if autograd_path(G):
            return None, (softmax_rows(x) if from_logits else x, Y, G, kind)
        n_groups = G.shape[1]
        Z = _cell_matrix(Y, G)
        if kind == "l2":  # each row's group mass, on every cell of its class
            mass = Z.view(n_samples, n_classes, n_groups).sum(2, keepdim=True)
            C = mass.expand(-1, -1, n_groups).reshape(n_samples, -1)
    if kind == "mi":
        return _EOMICore, (Z, n_groups)
    return _ProjectionCore, (_eo_l2_map(Z, C),)


def _targets_and_codes(x, y, groups, n_groups):
    """``(y ndarray, codes ndarray, n_groups)`` for the CPU kernels, or None."""
    y = check_targets(y, x.shape[0])
    codes = kernel_codes(groups, x.shape[0], n_groups)
    if codes is None or y.device.type != "cpu":
        return None
    return (y.numpy(), *codes)


def _eo_kernel_parts(x, y, groups, kind, n_groups, name="logits"):
    """``("softmax", kernel name, args)`` of the compiled CPU form, or None."""
    check_probs(x, name)
    kind = _check_kind(kind)
    args = _targets_and_codes(x, y, groups, n_groups)
    return None if args is None else ("softmax", f"eo_{kind}", args)


def _equalized_odds(x, y, groups, kind, n_groups, from_logits):
    value = _with_kernels(x, _eo_kernel_parts, y, groups, kind, n_groups,
                          from_logits=from_logits)
    if value is not None:
        return value
    core, args = _eo_parts(x, y, groups, kind, n_groups, from_logits)
    if core is None:
        return _eo_reference(*args)
    return apply_penalty(x, _link(from_logits), core, *args)


def _soft_iou(probs, y, groups, n_groups=None):
    """Soft IoU averaged over classes, overall and per group.

    With the soft confusion matrix ``CM[k, j] = sum_i p_i(k) 1[y_i = j]``,
    ``IoU_k = CM[k, k] / (row_k + col_k - CM[k, k])``: the diagonal is
    ``sum_i p_i(k) 1[y_i = k]``, the row sum ``sum_i p_i(k)`` and the column sum
    the number of rows of class ``k``. Classes whose union is zero are left
    out of the mean over classes.

    Returns
    -------
    overall : Tensor of shape ()
    per_group : Tensor of shape (n_groups,)
        0 for groups absent from the batch (masked by ``present``).
    present : Tensor of shape (n_groups,) bool
    """
    probs = check_probs(probs)
    Y, G = _prepare_targets(probs, y, groups, n_groups)
    return _iou_table(probs, Y, G)


def iou_fairness_loss(probs, y, groups, pairwise=False, *, n_groups=None):
    """Differentiable IoU fairness loss on a mini-batch (Hänel et al. 2022).

    The soft IoU of each class (intersection over union of predicted
    probability mass and true rows), averaged over classes, is computed for
    the whole batch and for each group present. The loss is the mean over the
    present groups of ``(IoU_group - IoU_overall) ** 2``, or with
    ``pairwise=True`` the mean over pairs of present groups of
    ``(IoU_g - IoU_h) ** 2``.

    Hänel et al. write the non-pairwise loss as a *sum* over groups; the mean
    used here equals that sum divided by the number of groups
    present, so ``lam`` does not have to change with the number of groups.

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
        Non-negative scalar; 0 when fewer than two groups are present.
        Classes with a zero union (absent from truth and predictions) are left
        out of that IoU's mean over classes.

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
    return _iou_fairness(as_float(probs), y, groups, pairwise, n_groups, from_logits=False)


def _iou_parts(x, y, groups, pairwise, n_groups, from_logits=True):
    """Validated inputs: ``(_IoUCore, args)`` for the fused path, or ``(None, args)`` of
    the autograd reference when the group matrix needs gradients."""
    if not isinstance(pairwise, bool):
        raise TypeError(f"pairwise must be a bool, got {pairwise!r}.")
    x = check_probs(x, "logits" if from_logits else "probs")
    Y, G = _prepare_targets(x, y, groups, n_groups)
    if autograd_path(G):
        return None, (softmax_rows(x) if from_logits else x, Y, G, pairwise)
    return _IoUCore, (Y, G, pairwise)


def _iou_kernel_parts(x, y, groups, pairwise, n_groups, name="logits"):
    """``("softmax", "iou", args)`` of the compiled CPU form, or None."""
    if not isinstance(pairwise, bool):
        raise TypeError(f"pairwise must be a bool, got {pairwise!r}.")
    check_probs(x, name)
    args = _targets_and_codes(x, y, groups, n_groups)
    return None if args is None else ("softmax", "iou", (*args, pairwise))


def _iou_fairness(x, y, groups, pairwise, n_groups, from_logits):
    value = _with_kernels(x, _iou_kernel_parts, y, groups, pairwise, n_groups,
                          from_logits=from_logits)
    if value is not None:
        return value
    core, args = _iou_parts(x, y, groups, pairwise, n_groups, from_logits)
    if core is None:
        return _iou_reference(*args)
    return apply_penalty(x, _link(from_logits), core, *args)
