"""Compiled CPU kernels (numba) of the training objective ``task + lam * penalty``.

On a CPU, an eager training step of a small network (the MLP head on
embeddings) leaves little room for a fairness term: each of the few dozen
tensor operations of a fused penalty (:mod:`._fused`) costs a dispatch, and
run right after the network's matrix products they run cold, at two to three
times their isolated cost (``benchmarks/probe_step_overhead.py``). Here the
task loss, the penalty and their gradient with respect to the network's
outputs are each one compiled loop over the mini-batch, in float64
accumulators: two calls per step, whatever the penalty.

Every kernel writes into ``gx`` (the gradient of the objective with respect
to the outputs, for an upstream gradient of 1) and returns
``(value, status)``; ``status`` is :data:`OK`, or names the codes that fall
outside their range (:data:`BAD_Y`, :data:`BAD_GROUPS`), since compiled code
does not check its indices. The penalties read integer group codes (a soft
group assignment takes the torch path) and add ``lam`` times their gradient,
chained through the task's link (softmax, sigmoid or identity), to ``gx``.
The formulas are those of the torch cores beside each loss; the tests check
the two against each other and against the plain autograd references.

:func:`penalized_task_loss`, the losses called on their own (a penalty
without a task: :func:`penalty`), the adversary's cross-entropy and the
adversarial objective (:func:`adversary_objective`: the task, the adversary's
layers and its cross-entropy behind the reversal, one node) use these
kernels for float32 / float64 CPU tensors in eager mode when numba is
installed (:func:`skfair.losses._ops.cpu_kernels`). Setting the environment
variable ``SKFAIR_NUMBA=0`` turns them off (the torch fused nodes then run).
The kernels are compiled on first use and cached on disk by numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from ._fused import _single_backward
from ._ops import host_grad, is_one, scale_

__all__: list[str] = []

OK, BAD_Y, BAD_GROUPS = 0, 1, 2
# links: how a penalty's gradient w.r.t. what it reads reaches the outputs
IDENTITY, SOFTMAX, SIGMOID = 0, 1, 2

_jit = numba.njit(cache=True, nogil=True)


# ---------------------------------------------------------------------------
# Links: softmax of a row, sigmoid of a value
# ---------------------------------------------------------------------------


@_jit
def _softmax_into(x, i, P):
    """``P[i] = softmax(x[i])``; returns the row's max ``m`` and ``s = sum exp(x - m)``
    (its log-sum-exp is ``m + log(s)``)."""
    k_out = x.shape[1]
    m = float(x[i, 0])
    for k in range(1, k_out):
        m = max(m, float(x[i, k]))
    s = 0.0
    for k in range(k_out):
        e = math.exp(float(x[i, k]) - m)
        P[i, k] = e
        s += e
    inv = 1.0 / s
    for k in range(k_out):
        P[i, k] = P[i, k] * inv
    return m, s


@_jit
def _sigmoid(v):
    """``(sigmoid(v), exp(-|v|))``, without overflow."""
    e = math.exp(-abs(v))
    return (1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)), e


# ---------------------------------------------------------------------------
# Task losses: value, link output P, and the task's gradient into gx
# ---------------------------------------------------------------------------


@_jit
def _cross_entropy(x, y, rs, P, gx):
    n, k_out = x.shape
    uniform = rs.shape[0] == 0
    value = 0.0
    for i in range(n):
        c = y[i]
        if c < 0 or c >= k_out:
            return value, BAD_Y
        w = 1.0 / n if uniform else float(rs[i])
        m, s = _softmax_into(x, i, P)
        for k in range(k_out):
            gx[i, k] = w * P[i, k]
        gx[i, c] -= w
        value -= w * (float(x[i, c]) - m - math.log(s))
    return value, OK


@_jit
def _confusion_shift(x, y, rs, P, gx):
    """The cross-entropy of ``softmax(x)`` to the uniform distribution, from that to the
    targets ``y`` computed by :func:`_cross_entropy` (``P`` its softmax, codes checked):
    returns ``sum_i w_i (x_iy - mean_k x_ik)``, the difference of the two values (their
    log-sum-exp cancels), and writes the uniform one's gradient ``w (P - 1/K)`` to ``gx``."""
    n, k_out = x.shape
    uniform = rs.shape[0] == 0
    value = 0.0
    for i in range(n):
        w = 1.0 / n if uniform else float(rs[i])
        mean = 0.0
        for k in range(k_out):
            mean += float(x[i, k])
            gx[i, k] = w * (P[i, k] - 1.0 / k_out)
        value += w * (float(x[i, y[i]]) - mean / k_out)
    return value


@_jit
def _binary_cross_entropy(x, Y, rs, P, gx):
    n, k_out = x.shape
    uniform = rs.shape[0] == 0
    value = 0.0
    for i in range(n):
        w = 1.0 / n if uniform else float(rs[i])
        for k in range(k_out):
            v = float(x[i, k])
            t = float(Y[i, k])
            p, e = _sigmoid(v)
            P[i, k] = p
            value += w * (max(v, 0.0) - v * t + math.log1p(e))
            gx[i, k] = w * (p - t)
    return value, OK


@_jit
def _regression(x, y, rs, square, gx):
    n, n_out = x.shape
    uniform = rs.shape[0] == 0
    value = 0.0
    for i in range(n):
        w = (1.0 / n if uniform else float(rs[i])) / n_out
        for j in range(n_out):
            e = float(x[i, j]) - float(y[i, j])
            if square:
                value += w * e * e
                gx[i, j] = 2.0 * w * e
            else:
                value += w * abs(e)
                gx[i, j] = w * np.sign(e)
    return value, OK


@_jit
def _group_balanced_scale(g, n_groups, w, lam, rs):
    """Row scale ``w_i / B + lam * r_i`` of the group-balanced reweighting into ``rs``."""
    n = g.shape[0]
    weighted = w.shape[0] > 0
    mass = np.zeros(n_groups)
    for i in range(n):
        c = g[i]
        if c < 0 or c >= n_groups:
            return 0.0, BAD_GROUPS
        mass[c] += float(w[i]) if weighted else 1.0
    present = 0
    for c in range(n_groups):
        if mass[c] != 0:
            present += 1
    scale = 1.0 / max(present, 1)
    for i in range(n):
        wi = float(w[i]) if weighted else 1.0
        coef = scale / mass[g[i]] if mass[g[i]] != 0 else 0.0
        rs[i] = wi / n + lam * coef * wi
    return 0.0, OK


# ---------------------------------------------------------------------------
# Links: lam * (gradient w.r.t. the link output) chained into gx, one row
# ---------------------------------------------------------------------------


@_jit
def _chain_row(P, i, gp, lam, gx, link):
    """``gx[i] += lam * (d z / d x)^T gp`` for row ``i``: ``P`` is the link's output."""
    if link == SOFTMAX:
        dot = 0.0
        for a in range(P.shape[1]):
            dot += P[i, a] * gp[a]
        for a in range(P.shape[1]):
            gx[i, a] += lam * P[i, a] * (gp[a] - dot)
    elif link == SIGMOID:
        for a in range(P.shape[1]):
            p = float(P[i, a])
            gx[i, a] += lam * gp[a] * (p - p * p)
    else:
        for a in range(P.shape[1]):
            gx[i, a] += lam * gp[a]


@_jit
def _link_only(x, link, P, gx):
    """``P = link(x)`` and ``gx = 0``: the inputs of a penalty without a task loss."""
    n, k_out = x.shape
    for i in range(n):
        if link == SOFTMAX:
            _softmax_into(x, i, P)
        elif link == SIGMOID:
            for k in range(k_out):
                P[i, k] = _sigmoid(float(x[i, k]))[0]
        else:
            for k in range(k_out):
                P[i, k] = x[i, k]
        for k in range(k_out):
            gx[i, k] = 0.0
    return 0.0, OK


@_jit
def _group_sums(P, g, n_groups):
    """Per-group row counts and sums of ``P``; ``n[0] = -1`` for a bad code."""
    n = np.zeros(n_groups)
    S = np.zeros((n_groups, P.shape[1]))
    for i in range(P.shape[0]):
        c = g[i]
        if c < 0 or c >= n_groups:
            n[0] = -1.0
            return n, S
        n[c] += 1.0
        for a in range(P.shape[1]):
            S[c, a] += P[i, a]
    return n, S


@_jit
def _cell_sums(P, y, g, n_groups):
    """Counts and sums of ``P`` per (true class, group) cell, flattened ``b * G + c``;
    ``status`` names a bad code."""
    k_out = P.shape[1]
    n = np.zeros(k_out * n_groups)
    S = np.zeros((k_out * n_groups, k_out))
    for i in range(P.shape[0]):
        b, c = y[i], g[i]
        if b < 0 or b >= k_out:
            return n, S, BAD_Y
        if c < 0 or c >= n_groups:
            return n, S, BAD_GROUPS
        cell = b * n_groups + c
        n[cell] += 1.0
        for a in range(k_out):
            S[cell, a] += P[i, a]
    return n, S, OK


@_jit
def _log_ratio(J, tiny):
    """``log(max(J, tiny) / max(ps * pa, tiny))`` of a (rows, cols) joint table."""
    rows, cols = J.shape
    ps = np.zeros(rows)
    pa = np.zeros(cols)
    for r in range(rows):
        for a in range(cols):
            ps[r] += J[r, a]
            pa[a] += J[r, a]
    LR = np.empty((rows, cols))
    for r in range(rows):
        for a in range(cols):
            LR[r, a] = math.log(max(J[r, a], tiny) / max(ps[r] * pa[a], tiny))
    return LR


# ---------------------------------------------------------------------------
# Penalties on class probabilities (softmax link)
# ---------------------------------------------------------------------------


@_jit
def _dp_l2(P, g, n_groups, lam, gx, link):
    n_rows, k_out = P.shape
    n, S = _group_sums(P, g, n_groups)
    if n[0] < 0:
        return 0.0, BAD_GROUPS
    mean = np.zeros(k_out)
    for c in range(n_groups):
        for a in range(k_out):
            mean[a] += S[c, a] / n_rows
    D = np.zeros((n_groups, k_out))
    col = np.zeros(k_out)
    value = 0.0
    for c in range(n_groups):
        if n[c] > 0:
            for a in range(k_out):
                d = S[c, a] / n[c] - mean[a]
                D[c, a] = d
                col[a] += d
                value += d * d
    gp = np.empty(k_out)
    for i in range(n_rows):
        c = g[i]
        for a in range(k_out):
            gp[a] = 2.0 * (D[c, a] / n[c] - col[a] / n_rows)
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


@_jit
def _dp_mi(P, g, n_groups, tiny, lam, gx, link):
    n_rows, k_out = P.shape
    n, J = _group_sums(P, g, n_groups)
    if n[0] < 0:
        return 0.0, BAD_GROUPS
    J /= n_rows
    LR = _log_ratio(J, tiny)
    value = 0.0
    for c in range(n_groups):
        for a in range(k_out):
            value += J[c, a] * LR[c, a]
    gp = np.empty(k_out)
    for i in range(n_rows):
        for a in range(k_out):
            gp[a] = (LR[g[i], a] - 1.0) / n_rows
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


@_jit
def _eo_l2(P, y, g, n_groups, lam, gx, link):
    n_rows, k_out = P.shape
    n, S, status = _cell_sums(P, y, g, n_groups)
    if status != OK:
        return 0.0, status
    nb = np.zeros(k_out)
    Sb = np.zeros((k_out, k_out))
    for cell in range(k_out * n_groups):
        b = cell // n_groups
        nb[b] += n[cell]
        for a in range(k_out):
            Sb[b, a] += S[cell, a]
    D = np.zeros((k_out * n_groups, k_out))
    Db = np.zeros((k_out, k_out))
    value = 0.0
    for cell in range(k_out * n_groups):
        if n[cell] > 0:
            b = cell // n_groups
            for a in range(k_out):
                d = S[cell, a] / n[cell] - Sb[b, a] / nb[b]
                D[cell, a] = d
                Db[b, a] += d
                value += d * d
    gp = np.empty(k_out)
    for i in range(n_rows):
        b = y[i]
        cell = b * n_groups + g[i]
        for a in range(k_out):
            gp[a] = 2.0 * (D[cell, a] / n[cell] - Db[b, a] / nb[b])
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


@_jit
def _eo_mi(P, y, g, n_groups, tiny, lam, gx, link):
    n_rows, k_out = P.shape
    n, S, status = _cell_sums(P, y, g, n_groups)
    if status != OK:
        return 0.0, status
    inv_class = np.zeros(k_out)
    for b in range(k_out):
        nb = 0.0
        for c in range(n_groups):
            nb += n[b * n_groups + c]
        inv_class[b] = 1.0 / nb if nb > 0 else 0.0
    LR = np.empty((k_out * n_groups, k_out))
    value = 0.0
    for b in range(k_out):
        J = S[b * n_groups:(b + 1) * n_groups] * inv_class[b]  # joint of (group, prediction)
        LRb = _log_ratio(J, tiny)
        LR[b * n_groups:(b + 1) * n_groups] = LRb
        for c in range(n_groups):
            for a in range(k_out):
                value += J[c, a] * LRb[c, a]
    gp = np.empty(k_out)
    for i in range(n_rows):
        b = y[i]
        cell = b * n_groups + g[i]
        for a in range(k_out):
            gp[a] = (LR[cell, a] - 1.0) * inv_class[b]
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


@_jit
def _iou(P, y, g, n_groups, pairwise, lam, gx, link):
    n_rows, k_out = P.shape
    R = n_groups + 1  # row 0: the whole batch, then the groups
    inter = np.zeros((R, k_out))
    pred = np.zeros((R, k_out))
    true = np.zeros((R, k_out))
    count = np.zeros(n_groups)
    for i in range(n_rows):
        b, c = y[i], g[i]
        if b < 0 or b >= k_out:
            return 0.0, BAD_Y
        if c < 0 or c >= n_groups:
            return 0.0, BAD_GROUPS
        count[c] += 1.0
        for a in range(k_out):
            pred[0, a] += P[i, a]
            pred[c + 1, a] += P[i, a]
        inter[0, b] += P[i, b]
        inter[c + 1, b] += P[i, b]
        true[0, b] += 1.0
        true[c + 1, b] += 1.0
    inv_u = np.zeros((R, k_out))
    iou = np.zeros((R, k_out))
    inv_nv = np.empty(R)
    iou_mean = np.zeros(R)
    for r in range(R):
        nv = 0.0
        for a in range(k_out):
            union = pred[r, a] + true[r, a] - inter[r, a]
            if union != 0:
                inv_u[r, a] = 1.0 / union
                nv += 1.0 if union > 0 else -1.0
            iou[r, a] = inter[r, a] * inv_u[r, a]
        inv_nv[r] = 1.0 / max(nv, 1.0)
        for a in range(k_out):
            iou_mean[r] += iou[r, a]
        iou_mean[r] *= inv_nv[r]
    m = 0.0
    for c in range(n_groups):
        if count[c] > 0:
            m += 1.0
    g_mean = np.zeros(R)  # d loss / d iou_mean
    value = 0.0
    if pairwise:
        inv_pairs = 1.0 / max(m * (m - 1.0), 1.0)
        s1 = 0.0
        s2 = 0.0
        for c in range(n_groups):
            if count[c] > 0:
                s1 += iou_mean[c + 1]
                s2 += iou_mean[c + 1] * iou_mean[c + 1]
        value = max((s2 * m - s1 * s1) * 2.0 * inv_pairs, 0.0)
        for c in range(n_groups):
            if count[c] > 0:
                g_mean[c + 1] = (iou_mean[c + 1] * m - s1) * 4.0 * inv_pairs
    else:
        inv_m = 1.0 / max(m, 1.0)
        for c in range(n_groups):
            if count[c] > 0:
                d = iou_mean[c + 1] - iou_mean[0]
                value += d * d * inv_m
                g_mean[c + 1] = 2.0 * d * inv_m
                g_mean[0] -= 2.0 * d * inv_m
    # d iou / d inter = (1 + iou) / union ; d iou / d pred = -iou / union
    Xa = np.empty((R, k_out))
    Xb = np.empty((R, k_out))
    for r in range(R):
        for a in range(k_out):
            gr = inv_u[r, a] * g_mean[r] * inv_nv[r]
            Xa[r, a] = gr + gr * iou[r, a]
            Xb[r, a] = -gr * iou[r, a]
    gp = np.empty(k_out)
    for i in range(n_rows):
        b, c = y[i], g[i] + 1
        for a in range(k_out):
            gp[a] = Xb[0, a] + Xb[c, a]
        gp[b] += Xa[0, b] + Xa[c, b]
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


# ---------------------------------------------------------------------------
# Bias amplification (sigmoid link) and the regression penalties (identity link)
# ---------------------------------------------------------------------------


@_jit
def _bias_amplification(Z, P, g, n_groups, target, finite, ratio, lam, gx, link):
    n_rows, k_out = Z.shape
    n, S = _group_sums(Z, g, n_groups)  # S[c, k]: predicted co-occurrence mass
    if n[0] < 0:
        return 0.0, BAD_GROUPS
    inv = np.zeros(k_out)
    for k in range(k_out):
        total = 0.0
        for c in range(n_groups):
            total += S[c, k]
        inv[k] = (1.0 / total if total != 0 else 0.0) if ratio else 1.0 / n_rows
    # b_pred in the outputs' dtype, as the torch node: with hard (straight-through)
    # predictions b_pred often ties with the target, and the tie must give sign 0 there too
    b_pred = np.empty((k_out, n_groups), Z.dtype)
    gb = np.zeros((k_out, n_groups))  # sign(R) * d b_pred / d num
    value = 0.0
    for k in range(k_out):
        for c in range(n_groups):
            b_pred[k, c] = S[c, k] * inv[k]
            if finite[k, c] != 0 and n[c] > 0 and inv[k] != 0:
                r = float(b_pred[k, c] - target[k, c])
                value += abs(r)
                gb[k, c] = np.sign(r) * inv[k]
    shift = np.zeros(k_out)  # ratio: sum_g gb * b_pred (the denominator's gradient)
    if ratio:
        for k in range(k_out):
            for c in range(n_groups):
                shift[k] += gb[k, c] * b_pred[k, c]
    gp = np.empty(k_out)
    for i in range(n_rows):
        for k in range(k_out):
            gp[k] = gb[k, g[i]] - shift[k]
        _chain_row(P, i, gp, lam, gx, link)
    return value, OK


@_jit
def _mean_parity(z, g, n_groups, lam, gx):
    n_rows = z.shape[0]
    n, S = _group_sums(z, g, n_groups)
    if n[0] < 0:
        return 0.0, BAD_GROUPS
    mean = 0.0
    for c in range(n_groups):
        mean += S[c, 0] / n_rows
    D = np.zeros(n_groups)
    total = 0.0
    value = 0.0
    for c in range(n_groups):
        if n[c] > 0:
            D[c] = S[c, 0] / n[c] - mean
            total += D[c]
            value += D[c] * D[c]
    for i in range(n_rows):
        c = g[i]
        gx[i, 0] += lam * 2.0 * (D[c] / n[c] - total / n_rows)
    return value, OK


@_jit
def _mae_parity(z, y, g, n_groups, lam, gx):
    n_rows = z.shape[0]
    n = np.zeros(n_groups)
    mae = np.zeros(n_groups)
    for i in range(n_rows):
        c = g[i]
        if c < 0 or c >= n_groups:
            return 0.0, BAD_GROUPS
        n[c] += 1.0
        mae[c] += abs(float(z[i, 0]) - float(y[i]))
    m = 0.0
    for c in range(n_groups):
        if n[c] > 0:
            mae[c] /= n[c]
            m += 1.0
    inv_pairs = 1.0 / max(m * (m - 1.0), 1.0)
    g_mae = np.zeros(n_groups)
    value = 0.0
    for c in range(n_groups):
        if n[c] > 0:
            for h in range(n_groups):
                if n[h] > 0:
                    value += abs(mae[c] - mae[h]) * inv_pairs
                    g_mae[c] += np.sign(mae[c] - mae[h])
            g_mae[c] *= 2.0 * inv_pairs / n[c]
    for i in range(n_rows):
        gx[i, 0] += lam * g_mae[g[i]] * np.sign(float(z[i, 0]) - float(y[i]))
    return value, OK


# ---------------------------------------------------------------------------
# Python side: checked calls and the autograd node
# ---------------------------------------------------------------------------


def _raise_for(status, n_classes, n_groups, y_name="y"):
    if status == BAD_Y:
        raise ValueError(
            f"{y_name} must hold codes in [0, {n_classes}); got a code outside that range."
        )
    if status == BAD_GROUPS:
        raise ValueError(
            f"groups must hold codes in [0, {n_groups}); got a code outside that range."
        )


def _checked(result, n_classes=None, n_groups=None, y_name="y"):
    value, status = result
    if status != OK:
        _raise_for(status, n_classes, n_groups, y_name)
    return value


# "no row weights" (every row weighs 1 / B), by the dtype of the outputs
_NO_WEIGHTS = {torch.float32: np.empty(0, np.float32), torch.float64: np.empty(0, np.float64)}

DTYPES = tuple(_NO_WEIGHTS)


class _Task:
    """A task loss on the CPU: ``run(x, rs, gx) -> (value, z, P)`` with ``z`` what the
    penalty reads and ``P`` the output of the link its gradient chains through. The names
    of the links (``"softmax"``, ``"sigmoid"``, ``"identity"``) are tasks without a loss:
    a penalty alone."""

    def __init__(self, name, y, cut=None, y_name="y"):
        self.name, self.y, self.cut, self.y_name = name, y, cut, y_name

    def run(self, x, rs, gx):
        name = self.name
        if name in _LINK_CODES:
            P = np.empty_like(x)
            _link_only(x, _LINK_CODES[name], P, gx)
            return 0.0, P, P
        if name == "cross_entropy":
            P = np.empty_like(x)
            value = _checked(_cross_entropy(x, self.y, rs, P, gx), x.shape[1],
                             y_name=self.y_name)
            return value, P, P
        if name == "binary_cross_entropy":
            P = np.empty_like(x)
            value = _checked(_binary_cross_entropy(x, self.y, rs, P, gx))
            z = P if self.cut is None else (x > self.cut).astype(x.dtype)
            return value, z, P
        value = _checked(_regression(x, self.y, rs, name == "mse", gx))
        return value, x, None


_LINKS = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "l1": "identity",
          "mse": "identity"}
_LINK_CODES = {"identity": IDENTITY, "softmax": SOFTMAX, "sigmoid": SIGMOID}


def link_of(task):
    """The link (``"softmax"``, ``"sigmoid"`` or ``"identity"``) of a task name."""
    return _LINKS.get(task, task)


def _tiny(P):
    return float(np.finfo(P.dtype).tiny)


def _penalty(name, z, P, lam, gx, args, link):
    """The value of penalty ``name`` on ``z`` (codes checked); ``lam`` times its gradient,
    chained through ``link`` (whose output is ``P``), is added to ``gx``."""
    if name == "dp_l2":
        codes, G = args
        return _checked(_dp_l2(P, codes, G, lam, gx, link), None, G)
    if name == "dp_mi":
        codes, G = args
        return _checked(_dp_mi(P, codes, G, _tiny(P), lam, gx, link), None, G)
    if name == "eo_l2":
        y, codes, G = args
        return _checked(_eo_l2(P, y, codes, G, lam, gx, link), P.shape[1], G)
    if name == "eo_mi":
        y, codes, G = args
        return _checked(_eo_mi(P, y, codes, G, _tiny(P), lam, gx, link), P.shape[1], G)
    if name == "iou":
        y, codes, G, pairwise = args
        return _checked(_iou(P, y, codes, G, pairwise, lam, gx, link), P.shape[1], G)
    if name == "bias_amplification":
        codes, G, target, finite, ratio = args
        return _checked(_bias_amplification(z, P, codes, G, target, finite, ratio, lam, gx,
                                            link), None, G)
    if name == "mean_parity":
        codes, G = args
        return _checked(_mean_parity(z, codes, G, lam, gx), None, G)
    if name == "mae_parity":
        y, codes, G = args
        return _checked(_mae_parity(z, y, codes, G, lam, gx), None, G)
    raise ValueError(f"unknown penalty kernel {name!r}")  # pragma: no cover - internal


def row_weights(weight, x):
    """The row weights as an ndarray (an empty one for "every row weighs 1")."""
    return _NO_WEIGHTS[x.dtype] if weight is None else weight.detach().numpy()


def normalised_weights(weight, n_rows, x):
    """Row scale ``w / sum(w)`` of a weighted mean (empty: the plain mean); an all-zero
    ``w`` gives 0 rather than NaN."""
    if weight is None:
        return _NO_WEIGHTS[x.dtype]
    w = weight.detach().numpy()
    return w * (1.0 / max(float(w.sum()), float(np.finfo(w.dtype).tiny)))


def group_balanced_scale(codes, n_groups, weight, lam, n_rows, x):
    """Row scale of the task: ``w / B + lam * r`` with the group-balanced coefficients
    ``r`` of the codes and the row weights ``weight`` (see :func:`row_weights`)."""
    rs = np.empty(n_rows, _NO_WEIGHTS[x.dtype].dtype)
    _checked(_group_balanced_scale(codes, n_groups, weight, float(lam), rs), None, n_groups)
    return rs


def _output_grad(gx, grad):
    """``grad * gx`` as a new tensor (``grad`` from :func:`host_grad`).

    Always a fresh array: autograd may keep the returned tensor as a leaf's ``.grad`` and
    add into it, and a retained graph (e.g. gradcheck) runs the backward pass again.
    """
    if is_one(grad):
        return torch.from_numpy(gx.copy())
    if isinstance(grad, float):
        return torch.from_numpy(gx * grad)
    return torch.from_numpy(gx) * grad


class _KernelObjective(torch.autograd.Function):
    """``task(x) + lam * penalty(z)`` by the CPU kernels, one autograd node."""

    @staticmethod
    def forward(ctx, x, task, rs, lam, penalty, args):
        xn = x.detach().numpy()
        gx = np.empty_like(xn)
        value, z, P = task.run(xn, rs, gx)
        if penalty is not None:
            link = _LINK_CODES[link_of(task.name)]
            value += lam * _penalty(penalty, z, P, lam, gx, args, link)
        ctx.gx = gx
        return torch.tensor(value, dtype=x.dtype)

    @staticmethod
    @_single_backward
    def backward(ctx, grad):
        return _output_grad(ctx.gx, host_grad(grad)), None, None, None, None, None


def objective(x, task, y, weight=None, *, lam=0.0, penalty=None, args=(), cut=None, rs=None,
              y_name="y"):
    """``sum_i w_i * task_i(x) / B + lam * penalty``, one autograd node on a CPU tensor.

    ``task`` is a task name of :func:`penalized_task_loss`, ``y`` its targets and
    ``weight`` the row weights (tensors, checked by the caller), ``penalty`` the name of
    a penalty kernel with its ``args`` (see :func:`_penalty`), ``cut`` the logit
    threshold of the straight-through indicator, and ``rs`` a ready row scale
    (ndarray) that replaces ``weight / B``; ``y_name`` names the targets in errors.
    """
    if rs is None:
        rs = row_weights(weight, x)
        if weight is not None:
            rs = rs * (1.0 / x.shape[0])
    yn = y.detach().numpy()
    return _KernelObjective.apply(x, _Task(task, yn, cut, y_name), rs, float(lam), penalty,
                                  args)


def penalty(x, link, name, args):
    """A penalty alone on ``link(x)``, one autograd node on a CPU tensor (see
    :func:`objective`; ``link`` is ``"softmax"``, ``"sigmoid"`` or ``"identity"``)."""
    return _KernelObjective.apply(x, _Task(link, None), _NO_WEIGHTS[x.dtype], 1.0, name, args)


# ---------------------------------------------------------------------------
# The adversarial regularizer: task + lam * adversary cross-entropy, one node
# ---------------------------------------------------------------------------


_ZERO = {dtype: torch.zeros((), dtype=dtype) for dtype in DTYPES}


def _scaled_product(a, b, alpha, out_shape):
    """``alpha * (a @ b)``, the scale folded into the matrix product (one operation)."""
    return torch.addmm(_ZERO[a.dtype].expand(out_shape), a, b, beta=0, alpha=alpha)


class _KernelAdversaryObjective(torch.autograd.Function):
    """``task(x) + lam * CE(adversary(R(embedding)), groups)`` in one autograd node.

    The adversary is ``Linear (ReLU Linear)*`` with the gradient reversal ``R`` (strength
    ``s``) before it. The task and the adversary's cross-entropy run on the kernels;
    the adversary's layers on torch's matrix products, in the forward pass and again in
    the backward pass, where the upstream gradient, ``lam`` and ``-s`` are folded into
    the products' scale. One node instead of the reversal, each layer, each activation,
    the two losses and their sum: on the MLP head, most of the adversarial term's fixed
    cost per step.

    With ``confusion`` (``AdversarialLoss(kind="confusion")``) the node computes
    ``task(x) + lam * (CE(adversary(embedding), groups) + s * confusion(...))`` from
    the one forward pass: the adversary's parameters get the gradient of its
    cross-entropy, the embedding that of the confusion term (no reversal), chained
    through the same layers.
    """

    @staticmethod
    def forward(ctx, x, embedding, task, rs, lam, codes, adv_rs, strength, confusion,
                *params):
        xn = x.detach().numpy()
        gx = np.empty_like(xn)
        value = task.run(xn, rs, gx)[0]
        h = embedding.detach()
        acts = [h]
        n_layers = len(params) // 2
        for i in range(n_layers):
            h = torch.addmm(params[2 * i + 1].detach(), h, params[2 * i].detach().t())
            if i < n_layers - 1:
                h.relu_()
            acts.append(h)
        a = h.numpy()
        ga = np.empty_like(a)
        P = np.empty_like(a)
        ce = _checked(_cross_entropy(a, codes, adv_rs, P, ga), a.shape[1], y_name="groups")
        adversary, gu = ce, None
        if confusion:  # the embedding's own term (from the softmax above), its gradient gu
            gu = np.empty_like(a)
            adversary += strength * (ce + _confusion_shift(a, codes, adv_rs, P, gu))
        value += lam * adversary
        ctx.gx, ctx.ga, ctx.gu, ctx.acts = gx, ga, gu, acts
        ctx.weights = [params[2 * i].detach() for i in range(n_layers)]
        ctx.lam, ctx.strength = lam, strength
        return torch.tensor(value, dtype=x.dtype)

    @staticmethod
    @_single_backward
    def backward(ctx, grad):
        grad = host_grad(grad)
        needs = ctx.needs_input_grad
        gx = _output_grad(ctx.gx, grad) if needs[0] else None
        c = ctx.lam * grad  # the scale of the adversary's gradients
        d = torch.from_numpy(ctx.ga)
        # the embedding's own chain (confusion), else the reversed cross-entropy's
        du = None if ctx.gu is None or not needs[1] else torch.from_numpy(ctx.gu)
        weights, acts = ctx.weights, ctx.acts
        grads = [None] * (2 * len(weights))
        g_embedding = None
        for i in reversed(range(len(weights))):
            w, h_in = weights[i], acts[i]
            if needs[9 + 2 * i]:
                grads[2 * i] = _scaled_product(d.t(), h_in, c, w.shape)
            if needs[10 + 2 * i]:
                grads[2 * i + 1] = scale_(d.sum(0), c)
            if i:  # through the layer, then the ReLU (its output is h_in)
                d = torch.ops.aten.threshold_backward(d.mm(w), h_in, 0)
                if du is not None:
                    du = torch.ops.aten.threshold_backward(du.mm(w), h_in, 0)
            elif needs[1]:  # through the first layer (and the reversal)
                g_embedding = (_scaled_product(d, w, -ctx.strength * c, h_in.shape)
                               if du is None else
                               _scaled_product(du, w, ctx.strength * c, h_in.shape))
        return (gx, g_embedding, None, None, None, None, None, None, None, *grads)


def adversary_objective(x, task, y, weight, embedding, params, strength, lam, codes,
                        y_name="y", *, confusion=False):
    """``sum_i w_i * task_i(x) / B + lam * CE(adversary(embedding), codes)``, one autograd
    node on CPU tensors.

    ``params`` are the adversary's layers ``[W1, b1, ..., WL, bL]`` (``Linear`` layers
    with a ReLU between two), reached through a gradient reversal of ``strength``;
    ``codes`` the integer group codes (ndarray, range-checked here) and ``weight`` the
    row weights (a weighted mean in the adversary's cross-entropy, as in
    :func:`skfair.losses.adversarial_loss`). See :func:`objective` for the task. With
    ``confusion``, the confusion game instead (``+ lam * strength * confusion``, no
    reversal; see :class:`_KernelAdversaryObjective`).
    """
    n_rows = x.shape[0]
    rs = row_weights(weight, x)
    if weight is not None:
        rs = rs * (1.0 / n_rows)
    adv_rs = normalised_weights(weight, n_rows, x)
    return _KernelAdversaryObjective.apply(
        x, embedding, _Task(task, y.detach().numpy(), None, y_name), rs, float(lam), codes,
        adv_rs, float(strength), bool(confusion), *params)
