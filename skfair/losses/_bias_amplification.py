"""Bias-amplification auxiliary loss for multi-label outputs (Choi et al.).

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks", section 3.2) add, for every label ``k``, the auxiliary term
``| E_{p(x)}[1(h_k(x), gender)] - (1/M) sum_i 1(y_ik, gender) |`` to the
multi-label loss and sums it over labels, aiming to align the model's
label-gender association with the training set's bias
``b(o, g) = c(o, g) / sum_g' c(o, g')`` of its section 3.1 (Zhao et al.,
2017). Both readings are provided:

* ``kind="ratio"`` (default, Zhao et al.'s definition): the co-occurrence *ratio*.
  ``b_pred(k, g) = sum_i p_ik s_ig / sum_i p_ik`` on the batch's soft
  predictions against ``b_train(k, g) = c(k, g) / sum_g' c(k, g')``.
* ``kind="joint"`` (the literal formula of section 3.2): the co-occurrence
  *rate* ``b_pred(k, g) = mean_i p_ik s_ig`` against
  ``b_train(k, g) = mean_i y_ik s_ig``.

The loss is ``sum_k sum_g |b_pred(k, g) - b_train(k, g)|``. Choi et al. write
the term for one gender; with two groups and ``kind="ratio"`` the two groups'
terms are equal, so the sum over ``g`` is twice their value.

The expectation is taken over the rows handed in: the batch's own soft
predictions, or the predictions on samples drawn from a descriptive model
(Choi et al., section 3.3), whose group is then a soft assignment given by a
group classifier: ``groups`` accepts a ``(B, G)`` probability matrix as well
as ``(B,)`` codes.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ._fused import Identity, Sigmoid, apply_penalty
from ._ops import as_float, autograd_path, cpu_kernels, safe_inv, scale_
from ._validation import check_probs, group_matrix, kernel_codes

__all__ = ["bias_amplification_loss", "cooccurrence_ratio"]

_KINDS = ("ratio", "joint")


def _check_kind(kind):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    return kind


def cooccurrence_ratio(Y, groups, *, n_groups=None, kind="ratio"):
    """Training-set label-group co-occurrence ``b_train(k, g)``.

    Parameters
    ----------
    Y : array-like or Tensor of shape (n_samples, n_labels)
        Binary label matrix (1 = label present).
    groups : array-like or Tensor of shape (n_samples,) or (n_samples, n_groups)
        Integer group codes, or a soft group assignment.
    n_groups : int, optional
        Number of groups; inferred from the codes when omitted.
    kind : {"ratio", "joint"}, default="ratio"
        ``"ratio"``: ``c(k, g) / sum_g' c(k, g')`` (Zhao et al., 2017; rows sum
        to 1). ``"joint"``: ``c(k, g) / n_samples`` (Choi et al., section 3.2).

    Returns
    -------
    b_train : ndarray or Tensor of shape (n_labels, n_groups)
        float64 ndarray for array input, a float Tensor for Tensor input.
        With ``kind="ratio"`` a label that never occurs has an undefined ratio:
        its row is NaN and a warning names how many labels that is;
        :func:`bias_amplification_loss` leaves such labels out.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.losses import cooccurrence_ratio
    >>> Y = np.array([[1, 0], [1, 1], [1, 0], [0, 1]])
    >>> groups = np.array([0, 0, 1, 1])
    >>> cooccurrence_ratio(Y, groups)
    array([[0.6667, 0.3333],
           [0.5   , 0.5   ]])
    """
    kind = _check_kind(kind)
    as_numpy = not isinstance(Y, torch.Tensor)
    if as_numpy:
        Y = torch.as_tensor(np.asarray(Y, dtype=np.float64))
    elif not Y.is_floating_point():
        Y = Y.double()
    if Y.ndim != 2 or Y.shape[0] == 0:
        raise ValueError(
            f"Y must be a non-empty (n_samples, n_labels) label matrix, got shape {tuple(Y.shape)}."
        )
    if not bool(((Y == 0) | (Y == 1)).all()):  # NaN fails too
        raise ValueError("Y must be a binary label matrix (0 / 1 values only).")
    if not isinstance(groups, torch.Tensor):
        groups = np.asarray(groups)
        if groups.dtype.kind not in "biuf":
            raise TypeError(
                f"groups must be integer group codes or a soft group assignment, got values "
                f"of dtype {groups.dtype}; encode labels first (e.g. with "
                "skfair.utils.encode_sensitive_features(...).codes)."
            )
        groups = torch.as_tensor(groups)
    G, n_groups = group_matrix(groups, Y.shape[0], n_groups, dtype=Y.dtype, device=Y.device)
    counts = Y.T @ G  # (K, G)
    if kind == "joint":
        out = counts / Y.shape[0]
    else:
        totals = counts.sum(1, keepdim=True)
        out = counts / totals
        n_missing = int((totals[:, 0] == 0).sum())
        if n_missing:
            warnings.warn(
                f"{n_missing} label(s) never occur in Y; their co-occurrence ratio is "
                "undefined (NaN) and bias_amplification_loss leaves them out.",
                UserWarning,
                stacklevel=2,
            )
    return out.numpy() if as_numpy else out


class _BiasAmplificationCore:
    """Fused bias amplification on per-label probabilities ``P`` (see :mod:`._fused`)."""

    @staticmethod
    def forward(P, G, target, finite, ratio):
        mask = finite * G.sum(0).sign()  # defined targets of groups present
        num = P.T @ G  # (K, G): predicted co-occurrence mass
        if ratio:
            inv = safe_inv(P.sum(0)).unsqueeze(1)  # (K, 1); 0 for labels without mass
            b_pred = num.mul_(inv)
            mask = mask * inv.sign()
        else:
            inv = None
            b_pred = num.mul_(1.0 / P.shape[0])
        R = (b_pred - target).mul_(mask)
        return R.abs().sum(), (G, R.sign_(), b_pred, inv, 1.0 / P.shape[0])

    @staticmethod
    def backward(state, grad):
        G, sign, b_pred, inv, scale = state
        if inv is None:
            return (G @ sign.T).mul_(grad * scale)
        # b(k, g) = sum_i p_ik G_ig / sum_i p_ik, so
        # d b(k, g) / d p_ik = (G_ig - b(k, g)) / sum_i p_ik
        gb = sign * inv
        return scale_(torch.addmm((gb * b_pred).sum(1), G, gb.T, beta=-1), grad)


def bias_amplification_loss(probs, groups, b_train, *, n_groups=None, kind="ratio"):
    """Bias-amplification auxiliary loss ``sum_k sum_g |b_pred(k,g) - b_train(k,g)|``.

    Parameters
    ----------
    probs : Tensor of shape (B, K)
        Independent per-label probabilities (sigmoid outputs); rows need not
        sum to 1.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes, or a soft group assignment (e.g. a group classifier's
        probabilities on samples from a descriptive model).
    b_train : Tensor or array of shape (K, G)
        Target co-occurrence from :func:`cooccurrence_ratio` (same ``kind``).
        Non-finite entries (labels absent from training) are left out.
    n_groups : int, optional
        Number of groups; taken from ``b_train.shape[1]`` when omitted (so no
        device synchronisation is needed).
    kind : {"ratio", "joint"}, default="ratio"
        ``"ratio"``: ``b_pred(k, g) = sum_i p_ik s_ig / sum_i p_ik``;
        ``"joint"``: ``b_pred(k, g) = mean_i p_ik s_ig`` (see module notes).

    Returns
    -------
    loss : Tensor of shape ()
        Cells of groups absent from the batch drop out, as do labels with no
        predicted mass in the batch (``kind="ratio"``); never NaN.

    Notes
    -----
    The ratio depends on the group composition of the rows it is computed on,
    so it estimates the training-set target only on batches drawn like the
    training set (ordinary shuffling, not a group-balanced batch sampler).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import bias_amplification_loss
    >>> b_train = torch.tensor([[0.5, 0.5], [0.8, 0.2]])
    >>> probs = torch.tensor([[0.9, 0.6], [0.3, 0.2]])
    >>> groups = torch.tensor([0, 1])
    >>> round(float(bias_amplification_loss(probs, groups, b_train)), 4)
    0.6
    """
    return _bias_amplification(as_float(probs), groups, b_train, n_groups, kind,
                               from_logits=False)


def _prepare_target(b_train, dtype, device):
    """``(target, finite)``: ``b_train`` with undefined cells set to 0, and their mask."""
    if isinstance(b_train, torch.Tensor):
        b_train = b_train.to(dtype=dtype, device=device)
    else:
        b_train = torch.as_tensor(np.asarray(b_train), dtype=dtype, device=device)
    if b_train.ndim != 2:
        raise ValueError(
            f"b_train must be a 2-D (n_labels, n_groups) table, got shape {tuple(b_train.shape)}."
        )
    finite = torch.isfinite(b_train)
    return torch.where(finite, b_train, torch.zeros_like(b_train)), finite.to(dtype)


def _check_target_shape(target, n_labels, n_groups):
    """``n_groups`` checked against the ``(n_labels, n_groups)`` target (or taken from it)."""
    if target.shape[0] != n_labels:
        raise ValueError(
            f"b_train must have shape (n_labels={n_labels}, n_groups), got {tuple(target.shape)}."
        )
    if n_groups is None:
        return target.shape[1]
    if n_groups != target.shape[1]:
        raise ValueError(f"n_groups={n_groups} does not match b_train's {target.shape[1]} columns.")
    return n_groups


def _ba_kernel_parts(x, groups, n_groups, kind, prepared, name="logits"):
    """``("sigmoid", "bias_amplification", args)``: the compiled CPU form on logits
    ``x`` with the prepared target (see :mod:`._kernels`), or None."""
    x = check_probs(x, name)
    kind = _check_kind(kind)
    target, finite = prepared
    n_groups = _check_target_shape(target, x.shape[1], n_groups)
    codes = kernel_codes(groups, x.shape[0], n_groups)
    if codes is None:
        return None
    return "sigmoid", "bias_amplification", (*codes, target.numpy(), finite.numpy(),
                                              kind == "ratio")


def _ba_parts(x, groups, b_train, n_groups, kind, from_logits, prepared=None):
    """Validated inputs ``(core, (G, target, finite, ratio))``; ``core`` is None when the
    group matrix needs gradients (plain autograd)."""
    x = check_probs(x, "logits" if from_logits else "probs")
    kind = _check_kind(kind)
    n_samples, n_labels = x.shape
    if prepared is None:
        prepared = _prepare_target(b_train, x.dtype, x.device)
    target, finite = prepared
    n_groups = _check_target_shape(target, n_labels, n_groups)
    G, _ = group_matrix(groups, n_samples, n_groups, dtype=x.dtype, device=x.device)
    core = None if autograd_path(G) else _BiasAmplificationCore
    return core, (G, target, finite, kind == "ratio")


def _bias_amplification(x, groups, b_train, n_groups, kind, from_logits, prepared=None):
    kernels = cpu_kernels(x)
    if kernels is not None:  # (_ba_kernel_parts checks x)
        if prepared is None:
            prepared = _prepare_target(b_train, x.dtype, x.device)
        parts = _ba_kernel_parts(x, groups, n_groups, kind, prepared,
                                 name="logits" if from_logits else "probs")
        if parts is not None:
            return kernels.penalty(x, "sigmoid" if from_logits else "identity", parts[1],
                                   parts[2])
    core, args = _ba_parts(x, groups, b_train, n_groups, kind, from_logits, prepared)
    if core is not None:
        return apply_penalty(x, Sigmoid if from_logits else Identity, core, *args)
    G, target, finite, ratio = args
    probs = torch.sigmoid(x) if from_logits else x
    mask = finite * (G.sum(0) > 0)
    num = probs.T @ G
    if not ratio:
        b_pred = num / x.shape[0]
    else:
        den = probs.sum(0, keepdim=True).T  # (K, 1)
        has_mass = den > 0
        b_pred = num / torch.where(has_mass, den, torch.ones_like(den))
        mask = mask * has_mass
    return ((b_pred - target).abs() * mask).sum()
