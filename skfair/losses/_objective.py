"""The training objective ``task loss + lam * fairness`` as one autograd node."""

from __future__ import annotations

import functools
import math
from numbers import Real

import torch
import torch.nn.functional as F

from ..utils._signature import takes_keyword
from ._fused import TASKS, StraightThroughBCETask, apply_objective
from ._modules import adversarial_term
from ._ops import as_float, cpu_kernels, is_compiling
from ._validation import _check_tensor, check_codes, check_sample_weight

__all__ = ["penalized_task_loss"]


def _check_outputs(outputs, task):
    _check_tensor(outputs, "outputs")
    if outputs.ndim != 2 or outputs.shape[0] == 0 or outputs.shape[1] == 0:
        raise ValueError(
            f"outputs must be a non-empty 2-D tensor (n_samples, n_outputs), got shape "
            f"{tuple(outputs.shape)}."
        )
    if not outputs.is_floating_point():
        raise TypeError(f"outputs must be floating point, got dtype {outputs.dtype}.")
    if task == "cross_entropy" and outputs.shape[1] < 2:
        raise ValueError(
            "task='cross_entropy' needs one logit per class (at least 2 columns), got "
            f"{outputs.shape[1]}."
        )
    return as_float(outputs)


def _check_y(y, outputs, task, check_input=True):
    _check_tensor(y, "y")
    n_samples = outputs.shape[0]
    if y.device != outputs.device:
        y = y.to(outputs.device)
    if task == "cross_entropy":
        if y.shape != (n_samples,) or y.is_floating_point() or y.dtype == torch.bool:
            raise ValueError(
                f"task='cross_entropy' needs y as ({n_samples},) integer class codes, got "
                f"shape {tuple(y.shape)} and dtype {y.dtype}."
            )
        # a bounds-checked gather: a code outside [0, K) (-100 included, which
        # F.cross_entropy would silently ignore) is a ValueError naming y
        y = y if y.dtype == torch.int64 else y.long()
        return check_codes(y, outputs.shape[1], "y") if check_input else y
    if y.numel() != outputs.numel():
        raise ValueError(
            f"task={task!r} needs y with the shape of outputs {tuple(outputs.shape)}, got "
            f"{tuple(y.shape)}."
        )
    if y.dtype != outputs.dtype:
        y = y.to(outputs.dtype)
    return y if y.shape == outputs.shape else y.reshape(outputs.shape)


def _row_scale(weight, n_samples, outputs):
    """``weight / n_samples`` (checked weights), or ``1 / n_samples`` for every row."""
    if weight is None:
        return torch.full((n_samples,), 1.0 / n_samples, dtype=outputs.dtype,
                          device=outputs.device)
    return weight * (1.0 / n_samples)


def _task_per_row(x, task, y):
    """Per-row task loss in plain autograd operations."""
    if task == "cross_entropy":
        return F.cross_entropy(x, y, reduction="none")
    if task == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(x, y, reduction="none").sum(1)
    err = x - y
    return (err.abs() if task == "l1" else err * err).mean(1)


def _task_value(x, task, y, row_scale):
    """``sum_i row_scale_i * task_i(x)`` in plain autograd operations (the form that
    ``torch.compile`` traces; the fused node computes the same)."""
    return torch.dot(_task_per_row(x, task, y), row_scale)


def _task_objective(x, task, spec, y, weight, kernels, plain):
    """The task loss alone: the CPU kernels' node, the plain autograd form (``plain``:
    under ``torch.compile`` or with weights that need gradients), or the torch fused node."""
    if kernels is not None:
        return kernels.objective(x, task, y, weight)
    row_scale = _row_scale(weight, x.shape[0], x)
    if plain:
        return _task_value(x, task, y, row_scale)
    return apply_objective(x, spec, y, row_scale)


def _needs_autograd(weight, groups):
    """Whether the row weights or a soft group assignment need gradients: the fused
    node differentiates with respect to the outputs only."""
    return ((weight is not None and weight.requires_grad)
            or (isinstance(groups, torch.Tensor) and groups.requires_grad)) and (
        torch.is_grad_enabled())


# by role: the method giving a loss's compiled form, and the one giving its torch form
_FORMS = {"penalty": ("_kernel_parts", "_penalty_parts"),
          "reweight": ("_kernel_parts", "row_coefficients"),
          "adversarial": ("_adversary_kernel_parts", "forward", "adversary_term")}


@functools.lru_cache(maxsize=64)
def _own_kernel(cls, role):
    """Whether ``cls`` defines its compiled form where it defines its torch form: a
    subclass that overrides ``_penalty_parts`` (``row_coefficients`` for a reweighting,
    ``forward`` or ``adversary_term`` for an adversarial loss) without the compiled form
    keeps its own computation."""
    kernel_form, *torch_forms = _FORMS[role]

    def owner(name):
        return next((c for c in cls.__mro__ if name in vars(c)), None)

    kernel_owner = owner(kernel_form)
    return kernel_owner is not None and all(owner(name) is kernel_owner
                                            for name in torch_forms)


def _kernel_parts(penalty, role, x, y, groups, n_groups):
    """``penalty._kernel_parts(...)`` (validated inputs for the kernels), or None."""
    if not _own_kernel(type(penalty), role):
        return None
    return penalty._kernel_parts(x, y, groups, n_groups)


@functools.lru_cache(maxsize=64)
def _takes_check_input(method):
    """Whether a reweighting penalty's ``row_coefficients`` (the plain function) takes
    ``check_input`` (a user's may not)."""
    return takes_keyword(method, "check_input")


def _straight_through_input(x, cut):
    """``1[x > cut]`` forward, the sigmoid's gradient backward (plain autograd)."""
    p = torch.sigmoid(x)
    return (x > cut).to(x.dtype) + (p - p.detach())


def _straight_through_task(threshold, task):
    """The task of ``straight_through_threshold=threshold`` (validated)."""
    if task != "binary_cross_entropy":
        raise ValueError(
            "straight_through_threshold applies to task='binary_cross_entropy' only, got "
            f"task={task!r}."
        )
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0 < threshold < 1:
        raise ValueError(
            f"straight_through_threshold must be a probability in (0, 1) or None, got "
            f"{threshold!r}."
        )
    return StraightThroughBCETask(math.log(threshold / (1.0 - threshold)))


def _check_embedding(embedding, head, penalty, n_samples):
    """The adversary's input as ``(B, D)`` (a ``(B, ...)`` tensor flattened per row)."""
    if embedding is None or head is None:
        raise TypeError(
            f"penalty={type(penalty).__name__} is an adversarial term: pass the network's "
            "embedding and the adversary that reads it (embedding=..., head=..., e.g. "
            "head = penalty.make_head(embedding_dim, n_groups))."
        )
    _check_tensor(embedding, "embedding")
    if embedding.ndim < 2 or embedding.shape[0] != n_samples:
        raise ValueError(
            f"embedding must have one row per sample, shape ({n_samples}, ...), got "
            f"{tuple(embedding.shape)}."
        )
    return embedding if embedding.ndim == 2 else embedding.reshape(n_samples, -1)


def _adversarial_objective(x, task, spec, y, groups, weight, penalty, lam, n_groups,
                           embedding, head, kernels, plain, check_input):
    """``task + lam * penalty(head(embedding), y, groups)``: one node by the CPU kernels
    when the adversary has their form, else the task's node plus the adversary's graph."""
    embedding = _check_embedding(embedding, head, penalty, x.shape[0])
    if groups is None:
        raise ValueError(f"penalty={type(penalty).__name__} needs the sensitive groups: "
                         "groups is None.")
    parts = None
    if (kernels is not None and embedding.dtype == x.dtype
            and _own_kernel(type(penalty), "adversarial")):
        parts = penalty._adversary_kernel_parts(head, embedding, groups, n_groups)
    if parts is not None:
        codes, params, strength, confusion = parts
        return kernels.adversary_objective(x, task, y, weight, embedding, params, strength,
                                           lam, codes, confusion=confusion)
    task_value = _task_objective(x, task, spec, y, weight, kernels, plain)
    kwargs = {}
    if not check_input and not is_compiling() and _takes_check_input(
            getattr(penalty.forward, "__func__", penalty.forward)):
        kwargs["check_input"] = False
    y_term = y if getattr(penalty, "requires_y", True) else None
    return task_value + lam * adversarial_term(penalty, head, embedding, y_term, groups,
                                               n_groups=n_groups, sample_weight=weight,
                                               **kwargs)


def penalized_task_loss(outputs, y, groups=None, *, task="cross_entropy", penalty=None,
                        lam=1.0, sample_weight=None, n_groups=None,
                        straight_through_threshold=None, check_input=True, embedding=None,
                        head=None):
    """Task loss plus ``lam`` times a fairness penalty, fused into one autograd node.

    Computes ``sum_i w_i * task_i / B + lam * penalty`` for a mini-batch of
    ``B`` rows, the objective of :class:`~skfair.estimators.FairNetClassifier`
    and its siblings. Numerically it is the same as writing
    ``(w * per_sample_task_loss).mean() + lam * penalty(outputs, y, groups)``,
    but the task loss and the penalties of :mod:`skfair.losses` share one
    softmax (or sigmoid) and one hand-derived backward pass, which on the tiny
    tensors of a fairness term costs a fraction of the separate operations.

    Parameters
    ----------
    outputs : Tensor of shape (B, n_outputs)
        Raw network outputs: logits for the classification tasks, predictions
        for the regression ones.
    y : Tensor
        Targets: ``(B,)`` int64 class codes (``"cross_entropy"``), a ``(B, K)``
        0/1 label matrix (``"binary_cross_entropy"``), or values of the shape of
        ``outputs`` (``"l1"``, ``"mse"``; a ``(B,)`` vector for one output).
    groups : Tensor of shape (B,) int64, or (B, G) float, optional
        Sensitive group codes; required with a penalty.
    task : {"cross_entropy", "binary_cross_entropy", "l1", "mse"}, default="cross_entropy"
        The task loss per row: cross-entropy; binary cross-entropy summed over
        the labels; absolute or squared error averaged over the outputs.
    penalty : FairnessLoss, optional
        A loss of :mod:`skfair.losses` with ``role="penalty"`` (e.g.
        :class:`EqualizedOddsLoss`), :class:`GroupBalancedLoss`
        (``role="reweight"``: its row coefficients are added to the row
        weights), or :class:`AdversarialLoss` (``role="adversarial"``, with
        ``embedding`` and ``head``: the term is ``penalty.adversary_term(head,
        embedding, y, groups, sample_weight=...)``, e.g. ``penalty(head(embedding),
        y, groups, ...)`` for ``kind="reversal"``). A penalty without a fused form for these
        outputs (e.g. a user loss object) is called as ``penalty(outputs, y,
        groups, n_groups=...)`` and added. ``None`` gives the task loss alone.
    lam : float, default=1.0
        Weight of the penalty (>= 0).
    sample_weight : Tensor of shape (B,), optional
        Row weights of the task loss (and of the group-balanced risk). Weights
        (or a soft ``groups`` assignment) that require gradients get them: the
        loss is then computed in plain autograd operations instead of the fused
        node, which differentiates with respect to ``outputs`` only.
    n_groups : int, optional
        Number of groups; pass it in training loops.
    straight_through_threshold : float in (0, 1), optional
        ``task="binary_cross_entropy"`` only: the penalty reads the predicted
        labels ``1[sigmoid(outputs) > threshold]`` instead of the probabilities,
        and its gradient flows back through the sigmoid (a straight-through
        estimator, the same as feeding the penalty ``hard + p - p.detach()``).
        The penalty must have a fused sigmoid form (e.g.
        :class:`BiasAmplificationLoss` on logits). ``None`` (default): the
        penalty reads the probabilities.
    check_input : bool, default=True
        Check the values of ``y`` (class codes in range) and ``sample_weight``
        (finite, non-negative; on CPU). Shapes and dtypes are always checked.
        False is handed on to a reweighting penalty's ``row_coefficients``
        when it takes a ``check_input`` keyword.
        The estimators pass False: they validate both once, at fit, and the
        check would cost every training step a few small operations.
    embedding : Tensor of shape (B, D) or (B, ...), optional
        An adversarial penalty only: the network's embedding that the adversary
        reads (flattened per row).
    head : AdversarialHead, optional
        An adversarial penalty only: the adversary (``penalty.make_head(D,
        n_groups)``), its gradient reversal included. Eager on a CPU with the
        compiled kernels, the task, the adversary's layers, its cross-entropy and
        the reversal form one autograd node (same value and gradients as the sum);
        a head of another kind, with hooks or active dropout takes the sum.

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

    The adversarial regularizer reads the network's embedding through its head:

    >>> from skfair.losses import AdversarialLoss
    >>> _ = torch.manual_seed(0)
    >>> adversary = AdversarialLoss(hidden=(8,))
    >>> head = adversary.make_head(in_features=3, n_groups=2)
    >>> embedding = torch.randn(4, 3, requires_grad=True)
    >>> loss = penalized_task_loss(logits, y, groups, penalty=adversary, lam=0.5,
    ...                            embedding=embedding, head=head)
    >>> same = F.cross_entropy(logits, y) + 0.5 * adversary(head(embedding), y, groups)
    >>> bool(torch.isclose(loss, same))
    True
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}.")
    if isinstance(lam, bool) or not isinstance(lam, Real) or not 0 <= lam < float("inf"):
        raise ValueError(f"lam must be a finite non-negative real number, got {lam!r}.")
    spec = TASKS[task]
    if straight_through_threshold is not None:
        spec = _straight_through_task(straight_through_threshold, task)
    x = _check_outputs(outputs, task)
    y = _check_y(y, x, task, check_input)
    weight = None if sample_weight is None else check_sample_weight(
        sample_weight, x.shape[0], x.dtype, x.device, check_values=check_input)
    # under torch.compile: plain autograd operations, whose backward the compiler derives
    # and fuses (the fused node would hide the penalty from it); also when the weights or
    # the soft groups need gradients, which the fused node does not give
    differentiable = _needs_autograd(weight, groups)
    plain = differentiable or is_compiling()
    # eager on the CPU: the compiled kernels when numba is there (see _kernels)
    kernels = None if plain else cpu_kernels(x)
    if isinstance(penalty, str):
        raise TypeError(
            f"penalty must be a loss object, got the name {penalty!r}; build it with "
            f"skfair.losses.get_fairness_loss({penalty!r})."
        )
    role = None if penalty is None else getattr(penalty, "role", "penalty")
    if (embedding is not None or head is not None) and role != "adversarial":
        raise TypeError(
            "embedding and head are the inputs of an adversarial penalty (role "
            f"'adversarial'); got penalty={type(penalty).__name__ if role else None}."
        )
    if penalty is None or lam == 0:
        return _task_objective(x, task, spec, y, weight, kernels, plain)
    if groups is None:
        raise ValueError(f"penalty={type(penalty).__name__} needs the sensitive groups: "
                         "groups is None.")
    kernel_parts = None
    if kernels is not None and role in ("penalty", "reweight"):
        kernel_parts = _kernel_parts(penalty, role, x, y, groups, n_groups)
    if role == "reweight":
        coefficients = getattr(penalty, "row_coefficients", None)
        if coefficients is None:
            raise TypeError(
                f"A reweighting penalty needs a row_coefficients method; "
                f"{type(penalty).__name__} has none."
            )
        if kernel_parts is not None and kernel_parts[1] == "group_balanced":
            codes, n = kernel_parts[2]
            rs = kernels.group_balanced_scale(
                codes, n, kernels.row_weights(weight, x), lam, x.shape[0], x)
            return kernels.objective(x, task, y, rs=rs)
        row_scale = _row_scale(weight, x.shape[0], x)
        if differentiable:  # the penalty itself, whose gradient reaches groups and weights
            return _task_value(x, task, y, row_scale) + lam * penalty(
                _task_per_row(x, task, y), y, groups, n_groups=n_groups, sample_weight=weight)
        kwargs = {}
        # (under torch.compile no value is checked: the signature is not inspected there)
        if not check_input and not plain and _takes_check_input(
                getattr(coefficients, "__func__", coefficients)):
            kwargs["check_input"] = False  # the weights were checked (or skipped) above
        r = coefficients(groups, x.shape[0], n_groups=n_groups, sample_weight=weight,
                         dtype=x.dtype, device=x.device, **kwargs)
        scale = row_scale.add(r, alpha=float(lam))
        return _task_value(x, task, y, scale) if plain else apply_objective(x, spec, y, scale)
    if role == "adversarial":
        if straight_through_threshold is not None:
            raise TypeError("straight_through_threshold needs a penalty that reads "
                            f"per-label probabilities; {type(penalty).__name__} is adversarial.")
        return _adversarial_objective(x, task, spec, y, groups, weight, penalty, lam, n_groups,
                                      embedding, head, kernels, plain, check_input)
    if role != "penalty":
        raise TypeError(
            f"penalized_task_loss takes penalties with role 'penalty', 'reweight' or "
            f"'adversarial'; {type(penalty).__name__} has role {role!r}."
        )
    if kernel_parts is not None and kernel_parts[0] == kernels.link_of(task):
        _, name, args = kernel_parts
        cut = None if straight_through_threshold is None else spec.cut
        return kernels.objective(x, task, y, weight, lam=lam, penalty=name, args=args, cut=cut)
    row_scale = _row_scale(weight, x.shape[0], x)
    if plain:
        if straight_through_threshold is None:
            value = penalty(x, y, groups, n_groups=n_groups)
        else:
            on_probs = getattr(penalty, "_penalty_on_probs", None)
            if on_probs is None:
                raise TypeError(
                    f"straight_through_threshold needs a penalty that reads per-label "
                    f"probabilities (e.g. BiasAmplificationLoss); {type(penalty).__name__} "
                    "has no such form."
                )
            value = on_probs(_straight_through_input(x, spec.cut), groups, n_groups)
        return _task_value(x, task, y, row_scale) + lam * value
    parts_of = getattr(penalty, "_penalty_parts", None)
    parts = None if parts_of is None else parts_of(x, y, groups, n_groups)
    if parts is not None and parts[0] is spec.link:
        link, core, args = parts
        return apply_objective(x, spec, y, row_scale, float(lam), core, *args)
    if straight_through_threshold is not None:
        raise TypeError(
            f"straight_through_threshold needs a penalty with a fused sigmoid form (e.g. "
            f"BiasAmplificationLoss on logits with integer group codes); "
            f"{type(penalty).__name__} has none for these inputs."
        )
    value = penalty(x, y, groups, n_groups=n_groups)
    return apply_objective(x, spec, y, row_scale) + lam * value
