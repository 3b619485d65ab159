"""The training objective ``task loss + lam * fairness term`` of one mini-batch."""

from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn.functional as F

from ..utils._signature import takes_keyword
from ._bias_amplification import bias_amplification_loss
from ._modules import BiasAmplificationLoss, adversarial_term
from ._validation import as_float, check_codes, check_sample_weight, check_tensor, is_compiling

__all__ = ["penalized_task_loss"]

TASKS = ("cross_entropy", "binary_cross_entropy", "l1", "mse")


def _check_outputs(outputs, task):
    if check_tensor(outputs, "outputs").ndim != 2 or 0 in outputs.shape:
        raise ValueError("outputs must be a non-empty 2-D tensor (n_samples, n_outputs), got "
                         f"shape {tuple(outputs.shape)}.")
    if not outputs.is_floating_point():
        raise TypeError(f"outputs must be floating point, got dtype {outputs.dtype}.")
    if task == "cross_entropy" and outputs.shape[1] < 2:
        raise ValueError("task='cross_entropy' needs one logit per class (at least 2 columns), "
                         f"got {outputs.shape[1]}.")
    return as_float(outputs)


def _check_y(y, outputs, task, check_input):
    y, n_samples = check_tensor(y, "y").to(outputs.device), outputs.shape[0]
    if task == "cross_entropy":
        if y.shape != (n_samples,) or y.is_floating_point() or y.dtype == torch.bool:
            raise ValueError(f"task='cross_entropy' needs y as ({n_samples},) integer class "
                             f"codes, got shape {tuple(y.shape)} and dtype {y.dtype}.")
        # F.cross_entropy would silently ignore a row coded -100
        return check_codes(y.long(), outputs.shape[1], "y") if check_input else y.long()
    if y.numel() != outputs.numel():
        raise ValueError(f"task={task!r} needs y with the shape of outputs "
                         f"{tuple(outputs.shape)}, got {tuple(y.shape)}.")
    return y.to(outputs.dtype).reshape(outputs.shape)


def _task_per_row(x, task, y):
    if task == "cross_entropy":
        return F.cross_entropy(x, y, reduction="none")
    if task == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(x, y, reduction="none").sum(1)
    err = x - y
    return (err.abs() if task == "l1" else err * err).mean(1)


def _straight_through_cut(threshold, task):
    """The logit of the threshold of ``straight_through_threshold`` (validated)."""
    if task != "binary_cross_entropy":
        raise ValueError("straight_through_threshold applies to task='binary_cross_entropy' "
                         f"only, got task={task!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0 < threshold < 1:
        raise ValueError("straight_through_threshold must be a probability in (0, 1) or None, "
                         f"got {threshold!r}.")
    return math.log(threshold / (1.0 - threshold))


def _check_embedding(embedding, head, penalty, n_samples):
    """The adversary's input as ``(B, D)`` (a ``(B, ...)`` tensor flattened per row)."""
    if embedding is None or head is None:
        raise TypeError(
            f"penalty={type(penalty).__name__} is an adversarial term: pass the network's "
            "embedding and the adversary that reads it (embedding=..., head=..., e.g. "
            "head = penalty.make_head(embedding_dim, n_groups)).")
    check_tensor(embedding, "embedding")
    if embedding.ndim < 2 or embedding.shape[0] != n_samples:
        raise ValueError(f"embedding must have one row per sample, shape ({n_samples}, ...), "
                         f"got {tuple(embedding.shape)}.")
    return embedding.reshape(n_samples, -1)


def penalized_task_loss(outputs, y, groups=None, *, task="cross_entropy", penalty=None,
                        lam=1.0, sample_weight=None, n_groups=None,
                        straight_through_threshold=None, check_input=True, embedding=None,
                        head=None):
    """Task loss plus ``lam`` times a fairness term, for one mini-batch.

    ``sum_i w_i * task_i / B + lam * term`` for a mini-batch of ``B`` rows, the
    objective of the estimators, with the term of the penalty's ``role`` (see
    :func:`get_fairness_loss`): ``penalty(outputs, y, groups)``, ``penalty(task_i,
    y, groups, sample_weight=w)`` or ``penalty.adversary_term(head, embedding, y,
    groups, sample_weight=w)``.

    Parameters
    ----------
    outputs : Tensor of shape (B, n_outputs)
        Raw network outputs (logits, or predictions for regression).
    y : Tensor
        ``(B,)`` int64 class codes (``"cross_entropy"``), a ``(B, K)`` 0/1 label
        matrix (``"binary_cross_entropy"``), or values of the shape of ``outputs``.
    groups : Tensor of shape (B,) int64, or (B, G) float, optional
        Sensitive group codes; required with a penalty.
    task : {"cross_entropy", "binary_cross_entropy", "l1", "mse"}, default="cross_entropy"
        The per-row task loss (binary cross-entropy summed over the labels,
        absolute and squared errors averaged over the outputs).
    penalty : FairnessLoss or callable, optional
        A loss of :mod:`skfair.losses`, or any callable ``penalty(outputs, y,
        groups, n_groups=...)``. ``None``: the task loss alone.
    lam : float, default=1.0
        Weight of the fairness term (>= 0).
    sample_weight : Tensor of shape (B,), optional
        Row weights of the task loss (and of the group-balanced risk).
    n_groups : int, optional
        Number of groups; pass it in training loops.
    straight_through_threshold : float in (0, 1), optional
        With a :class:`BiasAmplificationLoss` on logits and
        ``task="binary_cross_entropy"``: the penalty reads the predicted labels
        ``1[sigmoid(outputs) > threshold]``, its gradient flowing through the
        sigmoid (straight-through: ``hard + p - p.detach()``).
    check_input : bool, default=True
        Check the values of ``y`` (codes in range) and ``sample_weight`` (finite,
        non-negative; on CPU); False is passed on to a penalty whose ``forward``
        takes ``check_input``. Shapes and dtypes are always checked.
    embedding, head : Tensor of shape (B, ...), AdversarialHead, optional
        An adversarial penalty's input (flattened per row) and adversary
        (``penalty.make_head(D, n_groups)``).

    Returns
    -------
    loss : Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> import torch.nn.functional as F
    >>> from skfair.losses import EqualizedOddsLoss, penalized_task_loss
    >>> logits = torch.tensor([[2.0, 0.0], [0.5, 1.0], [0.0, 1.5], [1.0, 1.0]],
    ...                       requires_grad=True)
    >>> y, groups = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 0, 1, 1])
    >>> loss = penalized_task_loss(logits, y, groups, penalty=EqualizedOddsLoss(), lam=0.5)
    >>> same = F.cross_entropy(logits, y) + 0.5 * EqualizedOddsLoss()(logits, y, groups)
    >>> bool(torch.isclose(loss, same))
    True
    >>> loss.backward()

    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}.")
    if isinstance(lam, bool) or not isinstance(lam, Real) or not 0 <= lam < float("inf"):
        raise ValueError(f"lam must be a finite non-negative real number, got {lam!r}.")
    cut = (None if straight_through_threshold is None
           else _straight_through_cut(straight_through_threshold, task))
    x = _check_outputs(outputs, task)
    y = _check_y(y, x, task, check_input)
    weight = None if sample_weight is None else check_sample_weight(
        sample_weight, x.shape[0], x.dtype, x.device, check_values=check_input)
    per_row = _task_per_row(x, task, y)
    value = per_row.mean() if weight is None else (weight * per_row).mean()
    if isinstance(penalty, str):
        raise TypeError(f"penalty must be a loss object, got the name {penalty!r}; build it "
                        f"with skfair.losses.get_fairness_loss({penalty!r}).")
    role = None if penalty is None else getattr(penalty, "role", "penalty")
    if (embedding is not None or head is not None) and role != "adversarial":
        raise TypeError("embedding and head are the inputs of an adversarial penalty (role "
                        f"'adversarial'); got penalty={type(penalty).__name__ if role else None}.")
    if penalty is None or lam == 0:
        return value
    if groups is None:
        raise ValueError(f"penalty={type(penalty).__name__} needs the sensitive groups: "
                         "groups is None.")
    unchecked = {}
    if not check_input and not is_compiling() and takes_keyword(
            getattr(penalty, "forward", penalty), "check_input"):
        unchecked["check_input"] = False
    if role == "reweight":
        term = penalty(per_row, y, groups, n_groups=n_groups, sample_weight=weight, **unchecked)
    elif role == "adversarial":
        if cut is not None:
            raise TypeError("straight_through_threshold needs a penalty that reads per-label "
                            f"probabilities; {type(penalty).__name__} is adversarial.")
        embedding = _check_embedding(embedding, head, penalty, x.shape[0])
        term = adversarial_term(penalty, head, embedding,
                                y if getattr(penalty, "requires_y", True) else None, groups,
                                n_groups=n_groups, sample_weight=weight, **unchecked)
    elif role != "penalty":
        raise TypeError(f"penalized_task_loss takes penalties with role 'penalty', 'reweight' "
                        f"or 'adversarial'; {type(penalty).__name__} has role {role!r}.")
    elif cut is not None:
        if not (isinstance(penalty, BiasAmplificationLoss) and penalty.from_logits):
            raise TypeError("straight_through_threshold needs a BiasAmplificationLoss on "
                            f"logits (from_logits=True); got {penalty!r}.")
        p = torch.sigmoid(x)
        hard = (x > cut).to(x.dtype) + (p - p.detach())
        term = bias_amplification_loss(hard, groups, penalty.target(), kind=penalty.kind,
                                       n_groups=penalty._groups_count(n_groups))
    else:
        term = penalty(x, y, groups, n_groups=n_groups)
    return value + lam * term
