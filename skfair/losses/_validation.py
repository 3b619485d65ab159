"""Input checks and group indicators shared by the losses.

The checks look at shapes and dtypes. The value checks never call ``.item()``:
codes are range-checked by a bounds-checked gather (on CUDA a bad code is a
device-side assert), and weights are checked for finite non-negative values on
CPU tensors in eager mode only. Inferring ``n_groups`` from the codes is the one
device synchronisation; pass ``n_groups`` in training loops to avoid it.
"""

from __future__ import annotations

import numbers

import torch
from torch.compiler import is_compiling

__all__: list[str] = []


def as_float(x):
    """A half-precision tensor in float32 (the fairness statistics lose several per cent
    in bfloat16); anything else as it is."""
    if isinstance(x, torch.Tensor) and x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x


def safe_log(x):
    """``log(max(x, tiny))``: finite value and gradient at ``x == 0``."""
    return torch.log(x.clamp_min(torch.finfo(x.dtype).tiny))


def masked_divide(num, den):
    """``num / den`` where ``den > 0`` and 0 elsewhere (finite gradients); ``den`` has the
    shape of ``num`` without its last dimension. Returns the quotient and ``den > 0``."""
    present = den > 0
    return num / torch.where(present, den, torch.ones_like(den)).unsqueeze(-1), present


def check_tensor(x, name):
    """``x`` if it is a tensor, else a TypeError naming ``name``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    return x


def check_probs(probs, name="probs"):
    """Check a (B, K) floating tensor with B >= 1 and K >= 1."""
    check_tensor(probs, name)
    if probs.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor of shape (n_samples, n_classes), "
                         f"got shape {tuple(probs.shape)}.")
    if not probs.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {probs.dtype}.")
    if probs.shape[0] == 0:
        raise ValueError(f"{name} is empty: a mini-batch needs at least one row.")
    if probs.shape[1] == 0:
        raise ValueError(f"{name} has no columns (n_classes=0).")
    return probs


def check_vector(x, n_samples, name):
    """Check a 1-D floating tensor of length ``n_samples`` (a (B, 1) column is flattened)."""
    check_tensor(x, name)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D tensor of shape (n_samples,), got shape {tuple(x.shape)}.")
    if n_samples is not None and x.shape[0] != n_samples:
        raise ValueError(f"{name} has {x.shape[0]} rows, expected {n_samples}.")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}.")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty: a mini-batch needs at least one row.")
    return x


def check_non_negative(weights, name):
    """``ValueError`` naming ``name`` unless every value is finite and non-negative
    (checked on CPU tensors in eager mode only: on a GPU it would synchronise)."""
    if weights.device.type == "cpu" and not is_compiling() and weights.numel():
        lo, hi = (float(v) for v in torch.aminmax(weights.detach()))
        if not (lo >= 0 and hi < float("inf")):  # NaN fails both
            raise ValueError(
                f"{name} must be finite and non-negative; got values in [{lo}, {hi}].")
    return weights


def check_sample_weight(sample_weight, n_samples, dtype, device, *, check_values=True):
    """``(B,)`` row weights in ``dtype`` on ``device``; ``check_values``: finite and
    non-negative (see :func:`check_non_negative`)."""
    check_tensor(sample_weight, "sample_weight")
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got "
                         f"{tuple(sample_weight.shape)}.")
    if sample_weight.dtype != dtype or sample_weight.device != device:
        sample_weight = sample_weight.to(dtype=dtype, device=device)
    return check_non_negative(sample_weight, "sample_weight") if check_values else sample_weight


def check_codes(codes, n, name):
    """``ValueError`` naming ``name`` unless every code is in ``[0, n)`` (one
    bounds-checked gather, no device synchronisation)."""
    one_hot(codes, n, torch.float32, name)
    return codes


def one_hot(codes, n, dtype, name):
    """(B,) int64 codes -> (B, n) float one-hot; a code outside ``[0, n)`` is a
    ``ValueError`` naming ``name``."""
    try:
        return torch.eye(n, dtype=dtype, device=codes.device).index_select(0, codes)
    except (IndexError, RuntimeError) as exc:  # CPU checks bounds eagerly; CUDA asserts
        raise ValueError(f"{name} must hold codes in [0, {n}); got a code outside that "
                         f"range ({exc}).") from None


def _on(codes, device):
    """Integer ``codes`` as int64 on ``device`` (no copy, no dispatch when they are)."""
    if codes.dtype != torch.int64 or codes.device != device:
        codes = codes.to(device=device, dtype=torch.int64)
    return codes


def _check_n(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}.")
    return int(n)


def check_targets(y, n_samples, n_classes, dtype, device, name="y"):
    """(B,) integer class codes in ``[0, n_classes)`` -> their (B, n_classes) one-hot."""
    check_tensor(y, name)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"{name} must be a 1-D tensor of {n_samples} class codes, got shape "
                         f"{tuple(y.shape)}.")
    if y.is_floating_point() or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class codes (int64), got dtype {y.dtype}.")
    return one_hot(_on(y, device), n_classes, dtype, name)


def group_matrix(groups, n_samples, n_groups=None, *, dtype=torch.float32, device=None):
    """``(G, n_groups)``: ``(B,)`` integer codes as their (B, n_groups) one-hot, or a
    ``(B, n_groups)`` floating soft assignment (rows are probabilities over the groups,
    not checked) as it is, in ``dtype`` on ``device``. ``n_groups`` is inferred as
    ``groups.max() + 1`` for codes when not given (a device synchronisation on GPU)."""
    check_tensor(groups, "groups")
    if device is not None and groups.device != device:
        groups = groups.to(device)
    if groups.ndim not in (1, 2):
        raise ValueError("groups must be a (n_samples,) tensor of codes or a (n_samples, "
                         f"n_groups) soft assignment, got shape {tuple(groups.shape)}.")
    if groups.shape[0] != n_samples:
        raise ValueError(f"groups has {groups.shape[0]} rows, expected {n_samples}.")
    if groups.ndim == 2:
        if not groups.is_floating_point():
            raise TypeError("A 2-D groups tensor is a soft group assignment and must be "
                            f"floating point, got dtype {groups.dtype}.")
        if n_groups is not None and n_groups != groups.shape[1]:
            raise ValueError(f"n_groups={n_groups} does not match the {groups.shape[1]} "
                             "columns of the soft group assignment.")
        return groups.to(dtype), _check_n(groups.shape[1], "n_groups")
    if groups.is_floating_point() or groups.dtype.is_complex or groups.dtype == torch.bool:
        raise TypeError(
            "groups must be int64 group codes of shape (n_samples,) or a floating soft "
            f"assignment of shape (n_samples, n_groups); got a 1-D {groups.dtype} tensor.")
    groups = _on(groups, groups.device)
    n_groups = _check_n(int(groups.max()) + 1 if n_groups is None else n_groups, "n_groups")
    return one_hot(groups, n_groups, dtype, "groups"), n_groups
