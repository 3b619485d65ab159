"""Small numeric helpers shared by the losses (safe logs, masked inverses, softmax).

The fused autograd functions of the losses are written with few, small
tensor operations because a fairness term on a mini-batch works on tiny
tensors, where the per-operation overhead of eager PyTorch (not the
arithmetic) dominates the cost of a training step.
"""

from __future__ import annotations

import functools
import importlib
import os
import warnings

import torch

__all__: list[str] = []


try:  # torch >= 2.3
    from torch.compiler import is_compiling
except ImportError:  # pragma: no cover - torch < 2.3
    from torch._dynamo import is_compiling
# ``is_compiling()``: whether torch.compile (dynamo) is tracing the caller. Under
# torch.compile the losses take their plain autograd form: the compiler derives and fuses
# its backward pass, which the hand-written fused nodes would hide from it.


def autograd_path(*tensors):
    """Whether a loss takes its plain autograd form: under ``torch.compile``, or
    when an input that the fused nodes treat as constant (e.g. a soft group
    assignment) needs gradients."""
    return is_compiling() or any(t is not None and t.requires_grad for t in tensors)


def as_float(x):
    """A half-precision (float16 / bfloat16) tensor in float32; anything else as it is.

    The fairness statistics are computed in float32 at least: under mixed
    precision a batch's group means and logs lose several per cent in bfloat16.
    """
    if isinstance(x, torch.Tensor) and x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x


def tiny(dtype):
    """Smallest positive normal number of ``dtype`` (the floor of the safe logs)."""
    return torch.finfo(dtype).tiny


def safe_log(x):
    """``log(max(x, tiny))``: finite value and gradient at ``x == 0``."""
    return torch.log(x.clamp_min(tiny(x.dtype)))


def safe_inv(x):
    """``1 / x`` where ``x != 0`` and 0 elsewhere (for non-negative counts; no grad)."""
    return x.reciprocal().nan_to_num_(0.0, 0.0, 0.0)


def host_grad(grad):
    """The upstream gradient of a fused node's scalar, as a Python number on CPU.

    On CPU reading it costs no device synchronisation, and the fused backward
    passes then fold it into their scale factors, or skip the multiplication
    when it is exactly 1 (``loss.backward()`` on the loss itself): a few
    operations fewer per step. On other devices it stays a tensor.
    """
    if grad.device.type == "cpu" and grad.dim() == 0:
        return float(grad)
    return grad


def is_one(grad):
    """Whether ``grad`` is the number 1 (see :func:`host_grad`); never reads a tensor."""
    return isinstance(grad, float) and grad == 1.0


def scaled(t, grad):
    """``t * grad`` (a new tensor), or ``t`` itself when ``grad`` is the number 1."""
    return t if is_one(grad) else t * grad


def scale_(t, grad):
    """``t *= grad`` in place, skipped when ``grad`` is the number 1."""
    return t if is_one(grad) else t.mul_(grad)


def softmax_rows(x):
    """Softmax over dim 1 of a (B, K) tensor.

    On CPU, ``torch.softmax(x, dim=1)`` over a short last dimension (a few
    classes) pays a per-row overhead; the same softmax taken over dim 0 of the
    transposed view runs a column-vectorised kernel, forward and backward,
    several times faster on a (256, 10) batch. The result is the transposed
    view back (same values, non-contiguous).
    """
    if x.device.type == "cpu":
        return torch.softmax(x.T, dim=0).T
    return torch.softmax(x, dim=1)


def log_softmax_rows(x):
    """``log_softmax`` over dim 1 of a (B, K) tensor (the transposed trick of
    :func:`softmax_rows` on CPU)."""
    if x.device.type == "cpu":
        return torch.log_softmax(x.T, dim=0).T
    return torch.log_softmax(x, dim=1)


@functools.cache
def _load_kernels():
    """:mod:`skfair.losses._kernels` (compiled CPU kernels), or None without numba or with the
    environment variable ``SKFAIR_NUMBA`` set to ``0``."""
    if os.environ.get("SKFAIR_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        kernels = importlib.import_module(f"{__package__}._kernels")
    except ImportError:  # numba missing: the torch fused nodes
        return None
    except (RuntimeError, OSError) as exc:  # e.g. no writable cache directory for numba
        warnings.warn(
            f"skfair's compiled CPU kernels are unavailable ({exc}); the losses use the "
            "torch fused nodes (slower on a CPU). Set NUMBA_CACHE_DIR to a writable "
            "directory, or SKFAIR_NUMBA=0 to silence this.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return kernels


def cpu_kernels(x):
    """The compiled kernels for the outputs ``x`` (a float32 / float64 CPU tensor, in eager
    mode), or None."""
    if is_compiling() or not isinstance(x, torch.Tensor) or x.device.type != "cpu":
        return None
    kernels = _load_kernels()
    return kernels if kernels is not None and x.dtype in kernels.DTYPES else None
