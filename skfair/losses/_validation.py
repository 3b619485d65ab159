"""Cheap input checks and group-indicator construction shared by the losses.

The checks here look only at shapes and dtypes, never at values, so they do
not force a device synchronisation on a GPU (no ``.item()``, no ``unique``).
The exceptions: inferring ``n_groups`` from the codes when it is not given
(pass ``n_groups`` to avoid it), and the value check of ``sample_weight``,
which runs on CPU tensors only (see :func:`check_sample_weight`).
"""

from __future__ import annotations

import functools
import numbers

import torch

from ._ops import is_compiling

__all__: list[str] = []


def _check_tensor(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    return x


def check_probs(probs, name="probs"):
    """Check a (B, K) floating tensor with B >= 1 and K >= 1."""
    _check_tensor(probs, name)
    if probs.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D tensor of shape (n_samples, n_classes), "
            f"got shape {tuple(probs.shape)}."
        )
    if not probs.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {probs.dtype}.")
    if probs.shape[0] == 0:
        raise ValueError(f"{name} is empty: a mini-batch needs at least one row.")
    if probs.shape[1] == 0:
        raise ValueError(f"{name} has no columns (n_classes=0).")
    return probs


def check_vector(x, n_samples, name):
    """Check a 1-D floating tensor of length ``n_samples`` (a (B, 1) column is flattened)."""
    _check_tensor(x, name)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D tensor of shape (n_samples,), got shape {tuple(x.shape)}."
        )
    if n_samples is not None and x.shape[0] != n_samples:
        raise ValueError(f"{name} has {x.shape[0]} rows, expected {n_samples}.")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}.")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty: a mini-batch needs at least one row.")
    return x


def check_sample_weight(sample_weight, n_samples, dtype, device, *, check_values=True):
    """Validate ``(B,)`` row weights; return them in ``dtype`` on ``device``.

    Negative or non-finite weights are a ``ValueError``. That check reads
    values, so it runs on CPU tensors in eager mode only (on a GPU it would
    synchronise every step), and ``check_values=False`` skips it for callers
    that checked them already (the estimators, once at fit).
    """
    _check_tensor(sample_weight, "sample_weight")
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {tuple(sample_weight.shape)}."
        )
    if sample_weight.dtype != dtype or sample_weight.device != device:
        sample_weight = sample_weight.to(dtype=dtype, device=device)
    if check_values:
        check_non_negative(sample_weight, "sample_weight")
    return sample_weight


def check_non_negative(weights, name):
    """``ValueError`` naming ``name`` unless every value is finite and non-negative.

    The check reads values, so it runs on CPU tensors in eager mode only (on a
    GPU it would synchronise every step)."""
    if weights.device.type == "cpu" and not is_compiling() and weights.numel():
        lo, hi = (float(v) for v in torch.aminmax(weights.detach()))
        if not (lo >= 0 and hi < float("inf")):  # NaN fails both
            raise ValueError(
                f"{name} must be finite and non-negative; got values in [{lo}, {hi}]."
            )
    return weights


def check_targets(y, n_samples, name="y"):
    """Check (B,) integer class codes; returns them as int64."""
    _check_tensor(y, name)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be a 1-D tensor of {n_samples} class codes, got shape {tuple(y.shape)}."
        )
    if y.is_floating_point() or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class codes (int64), got dtype {y.dtype}.")
    return y if y.dtype == torch.int64 else y.long()


def _check_n(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}.")
    return int(n)


def _cached_when_eager(build):
    """Decorate a constant-table builder: cached (built once, outside autograd and
    inference mode) in eager mode; built afresh under ``torch.compile``, where the
    table becomes a constant of the compiled graph."""
    @functools.lru_cache(maxsize=64)
    def cached(*args):
        with torch.inference_mode(False), torch.no_grad():
            return build(*args)

    @functools.wraps(build)
    def get(*args):
        return build(*args) if is_compiling() else cached(*args)

    return get


@_cached_when_eager
def _eye(n, dtype, device):
    """Identity matrix; rows are the one-hot codes."""
    return torch.eye(n, dtype=dtype, device=device)


def _rows(table, codes, name):
    """``table[codes]`` for (B,) int64 codes into the ``n`` rows of ``table``: one
    bounds-checked gather, a ``ValueError`` naming ``name`` for a code outside ``[0, n)``."""
    try:
        return table.index_select(0, codes)
    except (IndexError, RuntimeError) as exc:  # CPU checks bounds eagerly; CUDA asserts
        raise ValueError(
            f"{name} must hold codes in [0, {table.shape[0]}); got a code outside that "
            f"range ({exc})."
        ) from None


def _one_hot(codes, n, dtype, name):
    """(B,) int64 codes -> (B, n) float one-hot (one bounds-checked row gather)."""
    return _rows(_eye(n, dtype, codes.device), codes, name)


def one_hot_targets(y, n_classes, dtype):
    """(B,) class codes -> (B, n_classes) float one-hot."""
    return _one_hot(y, n_classes, dtype, "y")


@_cached_when_eager
def _arange(n, device):
    """``arange(n)`` (int64): indexing it range-checks codes in one small op."""
    return torch.arange(n, device=device)


@_cached_when_eager
def _class_of_cell(n_classes, n_groups, dtype, device):
    """``(K, K * G)`` 0/1 matrix: row ``b`` marks the cells ``(b, c)`` of class ``b``."""
    return torch.eye(n_classes, dtype=dtype, device=device).repeat_interleave(n_groups, 1)


def check_codes(codes, n, name):
    """Raise a ``ValueError`` naming ``name`` unless every code is in ``[0, n)``.

    One bounds-checked gather on a cached ``arange(n)``: no ``.item()``, so no
    device synchronisation (on CUDA a bad code is a device-side assert).
    """
    _rows(_arange(n, codes.device), codes, name)
    return codes


def group_codes(groups, n_samples, n_groups=None, *, device=None, check_range=True):
    """Validate ``(B,)`` integer group codes; returns ``(codes int64, n_groups)``.

    ``n_groups`` is inferred as ``groups.max() + 1`` when not given (a device
    synchronisation on GPU). With ``check_range`` the codes are checked to lie
    in ``[0, n_groups)``.
    """
    _check_tensor(groups, "groups")
    if device is not None and groups.device != device:
        groups = groups.to(device)
    if groups.ndim != 1:
        raise ValueError(f"groups codes must be 1-D, got shape {tuple(groups.shape)}.")
    if groups.shape[0] != n_samples:
        raise ValueError(f"groups has {groups.shape[0]} rows, expected {n_samples}.")
    if groups.is_floating_point() or groups.dtype.is_complex or groups.dtype == torch.bool:
        raise TypeError(
            "groups must be int64 group codes of shape (n_samples,) or a floating soft "
            f"assignment of shape (n_samples, n_groups); got a 1-D {groups.dtype} tensor."
        )
    if groups.dtype != torch.int64:
        groups = groups.long()
    if n_groups is None:
        n_groups = int(groups.max()) + 1
    n_groups = _check_n(n_groups, "n_groups")
    if check_range:
        check_codes(groups, n_groups, "groups")
    return groups, n_groups


def kernel_codes(groups, n_samples, n_groups=None):
    """``(codes, n_groups)`` of ``(B,)`` integer group codes on the CPU as an int64
    ndarray, for the compiled CPU kernels (which check the range themselves); None for
    a soft assignment or codes on another device (the torch path takes them)."""
    _check_tensor(groups, "groups")
    if groups.ndim != 1 or groups.device.type != "cpu":
        return None
    codes, n_groups = group_codes(groups, n_samples, n_groups, check_range=False)
    return codes.numpy(), n_groups


def cell_indicators(y, codes, n_classes, n_groups, dtype, *, with_classes=True):
    """(class, group) cell indicators of ``B`` rows with validated int64 ``codes``.

    Returns ``Z`` of shape ``(B, K * G)``, the one-hot of the row's cell
    ``y * G + group``, and ``C`` of the same shape, marking every cell of the
    row's class (``None`` without ``with_classes``); ``y`` is range-checked here.
    """
    if with_classes:
        C = _rows(_class_of_cell(n_classes, n_groups, dtype, y.device), y, "y")
    else:
        C = None
        check_codes(y, n_classes, "y")
    cells = torch.add(codes, y, alpha=n_groups)
    return _eye(n_classes * n_groups, dtype, y.device).index_select(0, cells), C


def group_matrix(groups, n_samples, n_groups=None, *, dtype=torch.float32, device=None):
    """Turn group codes or a soft group assignment into a (B, G) weight matrix.

    Parameters
    ----------
    groups : Tensor
        ``(B,)`` integer group codes, or ``(B, G)`` floating soft assignment
        whose rows are probabilities over the groups (not checked per call).
    n_samples : int
        Expected number of rows ``B``.
    n_groups : int, optional
        Number of groups ``G``. Inferred as ``groups.max() + 1`` for codes
        (a device synchronisation on GPU) or from the column count of a soft
        assignment.
    dtype : torch.dtype
        Floating dtype of the returned matrix.
    device : torch.device, optional
        Device to move ``groups`` to (a no-op when already there).

    Returns
    -------
    G : Tensor of shape (B, n_groups)
    n_groups : int
    """
    _check_tensor(groups, "groups")
    if device is not None and groups.device != device:
        groups = groups.to(device)
    if groups.ndim == 1:
        # the one-hot's bounds-checked gather checks the range
        groups, n_groups = group_codes(groups, n_samples, n_groups, check_range=False)
        return _one_hot(groups, n_groups, dtype, "groups"), n_groups
    if groups.ndim == 2:
        if groups.shape[0] != n_samples:
            raise ValueError(f"groups has {groups.shape[0]} rows, expected {n_samples}.")
        if not groups.is_floating_point():
            raise TypeError(
                "A 2-D groups tensor is a soft group assignment and must be floating point, "
                f"got dtype {groups.dtype}."
            )
        if n_groups is not None and n_groups != groups.shape[1]:
            raise ValueError(
                f"n_groups={n_groups} does not match the {groups.shape[1]} columns of the "
                "soft group assignment."
            )
        return groups.to(dtype), _check_n(groups.shape[1], "n_groups")
    raise ValueError(
        "groups must be a (n_samples,) tensor of codes or a (n_samples, n_groups) soft "
        f"assignment, got shape {tuple(groups.shape)}."
    )
