"""Adversarial sensitive regularizer (SensitiveNets, Morales et al. 2021) through
gradient reversal.

An adversary head predicts the sensitive group from the shared embedding; the
network is trained so that the adversary fails. The game ``min_theta max_phi
L_task(theta) - lam * CE(phi, theta)`` needs no alternating updates: with a
gradient-reversal layer of strength ``lam`` between the embedding and the
adversary, one backward pass of ``L_task + CE(adversary(R(embedding)), groups)``
gives the adversary ``d CE / d phi`` and the encoder ``d L_task / d theta - lam *
d CE / d theta``, the gradients of the game (Ganin & Lempitsky, 2015).

Maximising the adversary's cross-entropy does not require the embedding to lose
the attribute: the encoder can make the adversary confidently *wrong* (a
relabelling of the groups). The confusion objective (Alvi et al., 2018, "Turning
a Blind Eye"; ``AdversarialLoss(kind="confusion")``) trains the adversary on its
cross-entropy with the embedding held fixed, and the encoder, with the adversary
held fixed, on :func:`confusion_loss`, lowest when the adversary can only guess
(:meth:`AdversarialHead.confusion_logits` gives the two forward passes).
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_codes, check_sample_weight, check_tensor, group_matrix

__all__ = ["AdversarialHead", "GradientReversal", "adversarial_loss", "confusion_loss",
           "grad_reverse"]

#: forms of the adversarial objective (``AdversarialLoss(kind=...)``)
ADVERSARIAL_KINDS = ("reversal", "confusion")


def check_adversarial_kind(kind):
    """``kind`` if it names a form of the adversarial objective, else a ValueError."""
    if not isinstance(kind, str) or kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}.")
    return kind


def _check_strength(strength):
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not (
            0 <= strength < float("inf")):
        raise ValueError(f"strength must be a finite non-negative real number, got {strength!r}.")
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
        A view of ``x``.

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

    ``embedding -> GradientReversal(strength) -> MLP -> group logits``; adding
    :func:`adversarial_loss` of its output to the task loss plays the min-max game.

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
        return self.net(self.reversal(embedding))

    def confusion_logits(self, embedding):
        """The adversary's group logits twice, without the reversal: ``own`` on the
        embedding held fixed (its loss trains the adversary only) and ``fixed`` with
        the adversary's parameters held fixed (its loss trains the embedding only).

        Parameters
        ----------
        embedding : Tensor of shape (B, in_features)

        Returns
        -------
        own, fixed : Tensor of shape (B, n_groups)
        """
        params = {name: p.detach() for name, p in self.net.named_parameters()}
        return (self.net(embedding.detach()),
                torch.func.functional_call(self.net, params, (embedding,)))


def adversarial_loss(adversary_logits, groups, *, n_groups=None, sample_weight=None,
                     check_input=True):
    """Cross-entropy of the adversary's group prediction.

    Add ``lam * adversarial_loss(head(embedding), groups)`` to the task loss, where
    ``head`` is an :class:`AdversarialHead` (which reverses the embedding's gradient).

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
        Check the values of integer ``groups`` (codes in ``[0, n_groups)``) and of
        ``sample_weight`` (finite, non-negative; on CPU); the estimators check both
        once, at fit, and pass False. Shapes and dtypes are always checked.

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
    logits = _check_logits(adversary_logits, 1)
    n_samples, width = logits.shape
    if n_groups is not None and n_groups != width:
        raise ValueError(f"n_groups={n_groups} does not match the adversary's {width} outputs.")
    if check_tensor(groups, "groups").ndim == 1:
        groups = groups.to(logits.device)
        if groups.shape[0] != n_samples:
            raise ValueError(f"groups has {groups.shape[0]} rows, expected {n_samples}.")
        if groups.is_floating_point():
            raise TypeError(f"groups codes must be int64, got dtype {groups.dtype}.")
        if check_input:  # F.cross_entropy would drop a row coded -100 silently
            check_codes(groups.long(), width, "groups")
        per_row = F.cross_entropy(logits, groups.long(), reduction="none")
    else:
        target, _ = group_matrix(groups, n_samples, width, dtype=logits.dtype,
                                 device=logits.device)
        per_row = -(target * F.log_softmax(logits, dim=1)).sum(1)
    return _weighted_mean(per_row, sample_weight, check_input)


def _check_logits(logits, min_groups):
    check_tensor(logits, "adversary_logits")
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] < min_groups:
        raise ValueError("adversary_logits must be a non-empty (n_samples, n_groups) tensor "
                         f"with n_groups >= {min_groups}, got shape {tuple(logits.shape)}.")
    if not logits.is_floating_point():
        raise TypeError(f"adversary_logits must be a floating tensor, got dtype {logits.dtype}.")
    return logits


def _weighted_mean(per_row, sample_weight, check_input):
    """The mean of ``per_row``, weighted by ``sample_weight`` (checked) when given; an
    all-zero weight vector gives 0 rather than NaN."""
    if sample_weight is None:
        return per_row.mean()
    sample_weight = check_sample_weight(sample_weight, per_row.shape[0], per_row.dtype,
                                        per_row.device, check_values=check_input)
    return (sample_weight @ per_row) / sample_weight.sum().clamp_min(
        torch.finfo(per_row.dtype).tiny)


def confusion_loss(adversary_logits, *, sample_weight=None, check_input=True):
    """Cross-entropy of the adversary's prediction to the uniform distribution.

    ``mean_i [logsumexp_g z_ig - mean_g z_ig]``: ``log G`` when the adversary
    predicts every group with probability ``1 / G``, more the more it favours one.
    The encoder's side of the confusion objective (module notes); no group labels.

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
    logits = _check_logits(adversary_logits, 2)
    per_row = torch.logsumexp(logits, 1) - logits.mean(1)
    return _weighted_mean(per_row, sample_weight, check_input)
