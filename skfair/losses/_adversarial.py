"""Adversarial sensitive regularizer (SensitiveNets, Morales et al. 2021) through
gradient reversal.

An adversary head predicts the sensitive group from the shared embedding; the
network is trained so that the adversary fails, which makes the embedding
agnostic to the sensitive attribute.

Equivalence with the min-max game
---------------------------------
The game is ``min_theta max_phi  L_task(theta) - lam * CE(phi, theta)``
with the adversary minimising ``CE`` (theta: encoder and main head, phi: the
adversary). With a gradient-reversal layer ``R`` of strength ``lam`` between
the embedding and the adversary, *one* backward pass of

    total = L_task + CE(adversary(R(embedding)), groups)

gives the adversary its own descent direction ``d CE / d phi`` and the encoder
``d L_task / d theta - lam * d CE / d theta``: exactly the gradients of the
game, so a single optimizer updates both players simultaneously
(Ganin & Lempitsky, 2015). Equivalently, ``strength=1`` and
``total = L_task + lam * CE`` gives the encoder the same gradient and scales
the adversary's gradient by ``lam`` (its learning rate under SGD; Adam is
invariant to that scale). ``AdversarialHead`` contains the reversal layer, so
the estimator only has to add ``lam * adversarial_loss(head(embedding), groups)``.

The confusion objective
-----------------------
Maximising the adversary's cross-entropy does not require the embedding to
lose the attribute: the encoder can make the adversary confidently *wrong*
(a relabelling of the groups), the adversary relearns the new code, and the
attribute stays linearly decodable throughout. ``kind="confusion"`` of
:class:`~skfair.losses.AdversarialLoss` (Alvi et al., 2018, "Turning a Blind
Eye"; the sensitive regularizer of SensitiveNets, Morales et al. 2021, likewise pushes the
detector's output to a fixed level) trains the adversary on its
cross-entropy as before, with the embedding held fixed, and the encoder, with
the adversary held fixed, on :func:`confusion_loss`: the cross-entropy of the
adversary's prediction to the uniform distribution over groups, lowest when
the adversary can only guess. ``AdversarialHead.confusion_logits`` gives the
two forward passes.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from ._ops import cpu_kernels, is_compiling
from ._validation import _check_tensor, check_codes, check_sample_weight, group_matrix

__all__ = [
    "AdversarialHead",
    "GradientReversal",
    "adversarial_loss",
    "confusion_loss",
    "grad_reverse",
]

#: forms of the adversarial objective (``AdversarialLoss(kind=...)``)
ADVERSARIAL_KINDS = ("reversal", "confusion")


def check_adversarial_kind(kind):
    """``kind`` if it names a form of the adversarial objective, else a ValueError."""
    if not isinstance(kind, str) or kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}.")
    return kind


def _check_strength(strength):
    if (isinstance(strength, bool) or not isinstance(strength, numbers.Real)
            or not 0 <= strength < float("inf")):
        raise ValueError(f"strength must be a finite non-negative real number, got "
                         f"{strength!r}.")
    return float(strength)


class _GradientReversalFunction(torch.autograd.Function):
    """Identity forward; ``-strength * grad`` backward."""

    @staticmethod
    def forward(x, strength):
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.strength = inputs[1]

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * -ctx.strength, None


class _ReversedLinear(torch.autograd.Function):
    """``linear(grad_reverse(x, strength), weight, bias)`` in one node: the reversal is
    folded into the layer's input gradient (``-strength * g @ weight``, scaling the small
    weight rather than the gradient), one pass over the embedding's gradient fewer."""

    @staticmethod
    def forward(ctx, x, weight, bias, strength):
        ctx.save_for_backward(x, weight)
        ctx.strength = strength
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x = grad.mm(weight * -ctx.strength) if need_x else None
        grad_w = grad.t().mm(x) if need_w else None
        grad_b = grad.sum(0) if need_b else None
        return grad_x, grad_w, grad_b, None


def grad_reverse(x, strength=1.0):
    """Identity in the forward pass, gradient times ``-strength`` backward.

    Parameters
    ----------
    x : Tensor
        Any tensor (typically an embedding).
    strength : float, default=1.0
        Non-negative scale ``lam`` of the reversed gradient.

    Returns
    -------
    Tensor
        ``x`` itself (a view) in the forward pass.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import grad_reverse
    >>> x = torch.ones(2, requires_grad=True)
    >>> grad_reverse(x, strength=0.5).sum().backward()
    >>> x.grad
    tensor([-0.5000, -0.5000])
    """
    return _GradientReversalFunction.apply(x, _check_strength(strength))


class GradientReversal(nn.Module):
    """Gradient-reversal layer (Ganin & Lempitsky, 2015) as a module.

    Parameters
    ----------
    strength : float, default=1.0
        Non-negative scale ``lam`` of the reversed gradient; may be changed
        between steps (e.g. a warm-up schedule).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import GradientReversal
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> (3 * GradientReversal(strength=2.0)(x)).sum().backward()
    >>> x.grad
    tensor([-6., -6.])
    """

    def __init__(self, strength=1.0):
        super().__init__()
        self.strength = _check_strength(strength)

    def forward(self, x):
        return grad_reverse(x, self.strength)

    def extra_repr(self):
        return f"strength={self.strength}"


def _as_hidden(hidden):
    if hidden is None:
        return ()
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    hidden = tuple(hidden)
    if not all(isinstance(h, numbers.Integral) and h >= 1 for h in hidden):
        raise ValueError(f"hidden must be a positive int or a sequence of them, got {hidden!r}.")
    return tuple(int(h) for h in hidden)


class AdversarialHead(nn.Module):
    """Adversary that predicts the sensitive group from an embedding.

    ``embedding -> GradientReversal(strength) -> MLP -> group logits``. Train
    it with :func:`adversarial_loss` added to the task loss; the reversal layer
    turns that single objective into the min-max game (see module notes).

    Parameters
    ----------
    in_features : int
        Size of the embedding.
    n_groups : int
        Number of sensitive groups (>= 2).
    hidden : int or sequence of int, default=(64,)
        Hidden layer sizes of the adversary (``()`` for a linear adversary).
    strength : float, default=1.0
        Strength of the gradient reversal (``lam``).
    dropout : float, default=0.0
        Dropout after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import AdversarialHead, adversarial_loss
    >>> _ = torch.manual_seed(0)
    >>> head = AdversarialHead(8, n_groups=3, hidden=16)
    >>> embedding = torch.randn(5, 8, requires_grad=True)
    >>> adv_logits = head(embedding)
    >>> adv_logits.shape
    torch.Size([5, 3])
    >>> adversarial_loss(adv_logits, torch.tensor([0, 1, 2, 0, 1])).backward()
    """

    def __init__(self, in_features, n_groups, hidden=(64,), strength=1.0, dropout=0.0):
        super().__init__()
        if not isinstance(in_features, numbers.Integral) or in_features < 1:
            raise ValueError(f"in_features must be a positive int, got {in_features!r}.")
        if not isinstance(n_groups, numbers.Integral) or n_groups < 2:
            raise ValueError(f"n_groups must be an int >= 2, got {n_groups!r}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.reversal = GradientReversal(strength)
        layers = []
        width = int(in_features)
        for h in _as_hidden(hidden):
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(float(dropout)))
            width = h
        layers.append(nn.Linear(width, int(n_groups)))
        self.net = nn.Sequential(*layers)

    @property
    def strength(self):
        """Strength of the gradient reversal."""
        return self.reversal.strength

    @strength.setter
    def strength(self, value):
        self.reversal.strength = _check_strength(value)

    def forward(self, embedding):
        first = self.net[0]
        if (is_compiling() or embedding.ndim != 2 or not isinstance(first, nn.Linear)
                or first._forward_hooks or first._forward_pre_hooks):
            return self.net(self.reversal(embedding))
        # eager: the reversal and the first layer in one node (same values and gradients)
        h = _ReversedLinear.apply(embedding, first.weight, first.bias, self.reversal.strength)
        for i, layer in enumerate(self.net):
            if i:
                h = layer(h)
        return h

    def confusion_logits(self, embedding):
        """The adversary's group logits twice, without the reversal, for the confusion
        objective: ``(own, fixed)``.

        ``own`` is computed from the embedding held fixed (``embedding.detach()``): its
        loss trains the adversary only. ``fixed`` is computed with the adversary's
        parameters held fixed: its loss trains the embedding only.

        Parameters
        ----------
        embedding : Tensor of shape (B, in_features)

        Returns
        -------
        own, fixed : Tensor of shape (B, n_groups)

        Examples
        --------
        >>> import torch
        >>> from skfair.losses import AdversarialHead, adversarial_loss, confusion_loss
        >>> _ = torch.manual_seed(0)
        >>> head = AdversarialHead(8, n_groups=2, hidden=())
        >>> embedding = torch.randn(4, 8, requires_grad=True)
        >>> own, fixed = head.confusion_logits(embedding)
        >>> term = adversarial_loss(own, torch.tensor([0, 1, 0, 1])) + confusion_loss(fixed)
        >>> term.backward()
        >>> bool(torch.equal(own, fixed))
        True
        """
        net = self.net
        own = net(embedding.detach())
        params = {name: p.detach() for name, p in net.named_parameters()}
        return own, torch.func.functional_call(net, params, (embedding,))

    def _kernel_layers(self, embedding):
        """The adversary's parameters ``[W1, b1, ..., WL, bL]`` for the compiled CPU
        objective (:func:`skfair.losses.penalized_task_loss`), or None.

        That objective computes ``Linear (ReLU Linear)*`` behind the reversal itself, so
        it takes the head only as built here: no subclass ``forward``, no hooks, biases
        on every layer, active dropout nowhere, parameters of the embedding's dtype and
        device. Anything else runs through :meth:`forward`.
        """
        modules = self._modules  # (plain dict reads: this runs on every training step)
        reversal, net = modules["reversal"], modules["net"]
        if (type(self).forward is not AdversarialHead.forward
                or type(reversal) is not GradientReversal or embedding.ndim != 2
                or _global_hooks() or _has_hooks(self) or _has_hooks(reversal)
                or _has_hooks(net)):
            return None
        params = []
        after_relu = True  # where a Linear layer may come
        dtype, device = embedding.dtype, embedding.device
        for layer in net._modules.values():
            kind = type(layer)
            if _has_hooks(layer):
                return None
            if kind is nn.Linear and after_relu:
                weight, bias = layer._parameters["weight"], layer._parameters["bias"]
                if (bias is None or weight.dtype != dtype or weight.device != device
                        or bias.dtype != dtype):
                    return None
                params += (weight, bias)
                after_relu = False
            elif kind is nn.ReLU and not after_relu:
                after_relu = True
            elif not (kind is nn.Dropout and after_relu and (layer.p == 0 or not self.training)):
                return None
        return None if after_relu else params


def _has_hooks(module):
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or getattr(module, "_backward_pre_hooks", None))


def _global_hooks():
    """Whether module hooks registered for every module are in place."""
    mod = nn.modules.module
    return any(getattr(mod, name, None) for name in (
        "_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
        "_global_backward_pre_hooks"))


def _kernels_for(logits, sample_weight):
    """The compiled CPU kernels for the adversary's cross-entropy, or None (another
    device, ``torch.compile``, or weights that need gradients)."""
    if sample_weight is not None and sample_weight.requires_grad:
        return None
    return cpu_kernels(logits)


def adversarial_loss(adversary_logits, groups, *, n_groups=None, sample_weight=None,
                     check_input=True):
    """Cross-entropy of the adversary's group prediction.

    Add ``lam * adversarial_loss(head(embedding), groups)`` to the task loss,
    where ``head`` is an :class:`AdversarialHead` (which reverses the gradient
    flowing back into the embedding).

    Parameters
    ----------
    adversary_logits : Tensor of shape (B, G)
        Unnormalised group scores of the adversary.
    groups : Tensor of shape (B,) int64, or (B, G) float
        Group codes, or a soft group assignment (then the cross-entropy with
        soft targets).
    n_groups : int, optional
        Number of groups; must equal ``adversary_logits.shape[1]`` if given.
    sample_weight : Tensor of shape (B,), optional
        Row weights; the loss is their weighted mean.
    check_input : bool, default=True
        Check the values of integer ``groups`` (codes in ``[0, n_groups)``) and
        of ``sample_weight`` (finite, non-negative; on CPU). Shapes and dtypes
        are always checked. The estimators pass False: they check both once,
        at fit.

    Returns
    -------
    loss : Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import adversarial_loss
    >>> logits = torch.zeros(4, 2)
    >>> round(float(adversarial_loss(logits, torch.tensor([0, 1, 1, 0]))), 4)
    0.6931
    """
    _check_tensor(adversary_logits, "adversary_logits")
    if adversary_logits.ndim != 2 or adversary_logits.shape[0] == 0:
        raise ValueError(
            "adversary_logits must be a non-empty (n_samples, n_groups) tensor, got shape "
            f"{tuple(adversary_logits.shape)}."
        )
    n_samples, width = adversary_logits.shape
    if n_groups is not None and n_groups != width:
        raise ValueError(f"n_groups={n_groups} does not match the adversary's {width} outputs.")
    _check_tensor(groups, "groups")
    if groups.ndim == 1:
        if groups.device != adversary_logits.device:
            groups = groups.to(adversary_logits.device)
        if groups.shape[0] != n_samples:
            raise ValueError(f"groups has {groups.shape[0]} rows, expected {n_samples}.")
        if groups.is_floating_point():
            raise TypeError(f"groups codes must be int64, got dtype {groups.dtype}.")
        if groups.dtype != torch.int64:
            groups = groups.long()
        kernels = _kernels_for(adversary_logits, sample_weight)
        if kernels is not None:  # one compiled node (it checks the codes itself)
            if sample_weight is not None:
                sample_weight = check_sample_weight(
                    sample_weight, n_samples, adversary_logits.dtype, adversary_logits.device,
                    check_values=check_input)
            return kernels.objective(adversary_logits, "cross_entropy", groups,
                                     rs=kernels.normalised_weights(sample_weight, n_samples,
                                                                   adversary_logits),
                                     y_name="groups")
        if check_input:  # F.cross_entropy would drop a row coded -100 silently
            groups = check_codes(groups, width, "groups")
        per_row = F.cross_entropy(adversary_logits, groups, reduction="none")
    else:
        target, _ = group_matrix(
            groups, n_samples, width, dtype=adversary_logits.dtype, device=adversary_logits.device
        )
        per_row = -(target * F.log_softmax(adversary_logits, dim=1)).sum(1)
    return _weighted_mean(per_row, sample_weight, check_input)


def _weighted_mean(per_row, sample_weight, check_input):
    """The mean of ``per_row``, weighted by ``sample_weight`` (checked) when given; an
    all-zero weight vector gives 0 rather than NaN."""
    if sample_weight is None:
        return per_row.mean()
    sample_weight = check_sample_weight(sample_weight, per_row.shape[0], per_row.dtype,
                                        per_row.device, check_values=check_input)
    return torch.dot(sample_weight, per_row) / sample_weight.sum().clamp_min(
        torch.finfo(per_row.dtype).tiny
    )


def confusion_loss(adversary_logits, *, sample_weight=None, check_input=True):
    """Cross-entropy of the adversary's prediction to the uniform distribution.

    ``mean_i [logsumexp_g z_ig - mean_g z_ig]``: ``log G`` when the adversary
    predicts every group with probability ``1 / G``, and more the more it
    favours one. The encoder side of the confusion objective
    (``AdversarialLoss(kind="confusion")``, module notes): minimised through an
    adversary held fixed, it removes what that adversary reads from the
    embedding instead of inverting it. It needs no group labels.

    Parameters
    ----------
    adversary_logits : Tensor of shape (B, G)
        Unnormalised group scores of the adversary.
    sample_weight : Tensor of shape (B,), optional
        Row weights; the loss is their weighted mean.
    check_input : bool, default=True
        Check the values of ``sample_weight`` (finite, non-negative; on CPU).

    Returns
    -------
    loss : Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import confusion_loss
    >>> round(float(confusion_loss(torch.zeros(3, 2))), 4)  # log 2: at chance
    0.6931
    >>> round(float(confusion_loss(torch.tensor([[4.0, 0.0]]))), 4)
    2.0181
    """
    _check_tensor(adversary_logits, "adversary_logits")
    if adversary_logits.ndim != 2 or adversary_logits.shape[0] == 0 or (
            adversary_logits.shape[1] < 2):
        raise ValueError(
            "adversary_logits must be a non-empty (n_samples, n_groups) tensor with "
            f"n_groups >= 2, got shape {tuple(adversary_logits.shape)}."
        )
    if not adversary_logits.is_floating_point():
        raise TypeError(
            f"adversary_logits must be a floating tensor, got dtype {adversary_logits.dtype}.")
    per_row = torch.logsumexp(adversary_logits, 1) - adversary_logits.mean(1)
    return _weighted_mean(per_row, sample_weight, check_input)
