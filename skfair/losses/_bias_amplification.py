"""Bias-amplification auxiliary loss for multi-label outputs (Choi et al.).

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks", section 3.2) add, for every label ``k``, ``| E_{p(x)}[1(h_k(x), gender)]
- (1/M) sum_i 1(y_ik, gender) |`` to the multi-label loss, to align the model's
label-group association with the training set's bias ``b(o, g) = c(o, g) / sum_g'
c(o, g')`` (its section 3.1; Zhao et al., 2017). Both readings are provided:
``kind="ratio"`` (default, Zhao et al.'s definition), ``b_pred(k, g) = sum_i p_ik s_ig / sum_i
p_ik`` against ``c(k, g) / sum_g' c(k, g')``, and ``kind="joint"`` (the literal
formula), ``b_pred(k, g) = mean_i p_ik s_ig`` against ``mean_i y_ik s_ig``. The loss
is ``sum_k sum_g |b_pred(k, g) - b_train(k, g)|`` (with two groups and the ratio,
twice the seed's one-gender term). The expectation runs over the rows handed in:
the batch, or samples drawn from a descriptive model (section 3.3) whose groups
are a group classifier's soft assignment.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ._validation import as_float, check_probs, group_matrix, masked_divide

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
        raise ValueError("Y must be a non-empty (n_samples, n_labels) label matrix, got shape "
                         f"{tuple(Y.shape)}.")
    if not bool(((Y == 0) | (Y == 1)).all()):  # NaN fails too
        raise ValueError("Y must be a binary label matrix (0 / 1 values only).")
    if not isinstance(groups, torch.Tensor):
        groups = np.asarray(groups)
        if groups.dtype.kind not in "biuf":
            raise TypeError(
                "groups must be integer group codes or a soft group assignment, got values of "
                f"dtype {groups.dtype}; encode labels first (e.g. with "
                "skfair.utils.encode_sensitive_features(...).codes).")
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
            warnings.warn(f"{n_missing} label(s) never occur in Y; their co-occurrence ratio "
                          "is undefined (NaN) and bias_amplification_loss leaves them out.",
                          UserWarning, stacklevel=2)
    return out.numpy() if as_numpy else out


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
    The ratio depends on the group composition of the rows, so it estimates the
    training-set target only on batches drawn like the training set (ordinary
    shuffling, not a group-balanced batch sampler).

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
    kind = _check_kind(kind)
    probs = check_probs(as_float(probs))
    n_samples, n_labels = probs.shape
    target, finite = _prepare_target(b_train, probs.dtype, probs.device)
    if target.shape[0] != n_labels:
        raise ValueError(f"b_train must have shape (n_labels={n_labels}, n_groups), got "
                         f"{tuple(target.shape)}.")
    if n_groups is not None and n_groups != target.shape[1]:
        raise ValueError(f"n_groups={n_groups} does not match b_train's {target.shape[1]} columns.")
    G, _ = group_matrix(groups, n_samples, target.shape[1], dtype=probs.dtype,
                        device=probs.device)
    mask = finite * (G.sum(0) > 0)  # defined targets of the groups present
    num = probs.T @ G  # (K, G): predicted co-occurrence mass
    if kind == "joint":
        b_pred = num / n_samples
    else:  # labels without predicted mass in the batch drop out
        b_pred, has_mass = masked_divide(num, probs.sum(0))
        mask = mask * has_mass.unsqueeze(1)
    return ((b_pred - target).abs() * mask).sum()


def _prepare_target(b_train, dtype, device):
    """``(target, finite)``: ``b_train`` with undefined cells set to 0, and their mask."""
    if not isinstance(b_train, torch.Tensor):
        b_train = np.asarray(b_train)
    b_train = torch.as_tensor(b_train, dtype=dtype, device=device)
    if b_train.ndim != 2:
        raise ValueError("b_train must be a 2-D (n_labels, n_groups) table, got shape "
                         f"{tuple(b_train.shape)}.")
    finite = torch.isfinite(b_train)
    return torch.where(finite, b_train, torch.zeros_like(b_train)), finite.to(dtype)
