"""``nn.Module`` wrappers of the fairness losses with one uniform call,
``loss(input, y, groups, *, n_groups=None, ...)``; the class attributes ``role``,
``task``, ``requires_y``, ``requires_fit`` and ``requires_embedding`` tell an
estimator how to use them (the contract is in :mod:`skfair.losses._registry`).
``get_params`` / ``set_params`` let scikit-learn clone an estimator's ``fairness=``
and grid-search ``fairness__kind`` (``kind`` is the *form* of a loss, e.g. ``"l2"``
or ``"mi"``; ``role`` is how it combines with the task loss).
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ._adversarial import AdversarialHead, adversarial_loss, check_adversarial_kind, confusion_loss
from ._bias_amplification import bias_amplification_loss, cooccurrence_ratio
from ._fairness import demographic_parity_loss, equalized_odds_loss, iou_fairness_loss
from ._group_balanced import group_balanced_loss
from ._regression import group_mae_parity_loss, group_mean_parity_loss
from ._validation import as_float, check_probs, check_tensor

__all__ = ["AdversarialLoss", "BiasAmplificationLoss", "DemographicParityLoss",
           "EqualizedOddsLoss", "FairnessLoss", "GroupBalancedLoss", "IoUFairnessLoss",
           "MAEParityLoss", "MeanParityLoss"]


def _class_probs(x, from_logits):
    """Class probabilities of (B, K) scores (softmax of logits); a (B,) or (B, 1) binary
    score is two columns: the logits ``(0, z)`` (softmax = sigmoid), or the
    probabilities ``(1 - p, p)``."""
    name = "logits" if from_logits else "probs"
    x = as_float(check_tensor(x, name))
    if x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1):
        x = x.reshape(-1, 1)
        x = torch.cat([torch.zeros_like(x) if from_logits else 1 - x, x], dim=1)
    x = check_probs(x, name)
    return torch.softmax(x, dim=1) if from_logits else x


class FairnessLoss(nn.Module):
    """Base class of the fairness-loss modules (see the module notes).

    Parameters
    ----------
    n_groups : int, optional
        Number of sensitive groups; a call's ``n_groups=`` overrides it.
        Passing it avoids a device synchronisation per step.
    """

    role = "penalty"
    task = "classification"
    requires_y = False
    requires_fit = False
    requires_embedding = False

    def __init__(self, *, n_groups=None):
        super().__init__()
        self.n_groups = n_groups

    @classmethod
    def _get_param_names(cls):
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep=True):
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid: {valid}.")
            setattr(self, key, value)
        return self

    def _groups_count(self, n_groups):
        return self.n_groups if n_groups is None else n_groups

    def _groups(self, groups):
        if groups is None:
            raise ValueError(f"{type(self).__name__} needs the sensitive group codes: groups "
                             "is None.")
        return groups

    def _need_y(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} needs the targets: y is None.")
        return y

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())


class DemographicParityLoss(FairnessLoss):
    """Demographic-parity loss on logits; see :func:`demographic_parity_loss`.

    Parameters
    ----------
    kind : {"l2", "mi"}, default="l2"
        The L2 or mutual-information form.
    from_logits : bool, default=True
        Whether the input is logits (softmax applied; a single column or a 1-D
        input is a binary logit) or already probabilities.
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import DemographicParityLoss
    >>> loss = DemographicParityLoss(kind="l2", n_groups=2)
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(loss(logits, None, torch.tensor([0, 1]))), 4)
    0.58
    """

    def __init__(self, kind="l2", *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.from_logits = from_logits

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return demographic_parity_loss(_class_probs(input, self.from_logits),
                                       self._groups(groups), self.kind,
                                       n_groups=self._groups_count(n_groups))


class EqualizedOddsLoss(FairnessLoss):
    """Equalized-odds loss on logits; see :func:`equalized_odds_loss`.

    Parameters
    ----------
    kind : {"l2", "mi"}, default="l2"
        The L2 or mutual-information form.
    from_logits : bool, default=True
        Whether the input is logits or already probabilities.
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import EqualizedOddsLoss
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]])
    >>> y, groups = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 1, 1])
    >>> float(EqualizedOddsLoss(kind="mi")(logits, y, groups)) > 0
    True
    """

    requires_y = True

    def __init__(self, kind="l2", *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.from_logits = from_logits

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return equalized_odds_loss(_class_probs(input, self.from_logits), self._need_y(y),
                                   self._groups(groups), self.kind,
                                   n_groups=self._groups_count(n_groups))


class IoUFairnessLoss(FairnessLoss):
    """IoU fairness loss on logits; see :func:`iou_fairness_loss`.

    Parameters
    ----------
    pairwise : bool, default=False
        Compare groups pairwise instead of each group with the whole batch.
    from_logits : bool, default=True
        Whether the input is logits or already probabilities.
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import IoUFairnessLoss
    >>> loss = IoUFairnessLoss(pairwise=True)
    >>> logits = torch.zeros(4, 3)
    >>> float(loss(logits, torch.tensor([0, 1, 2, 0]), torch.tensor([0, 0, 1, 1])))
    0.0
    """

    requires_y = True

    def __init__(self, pairwise=False, *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.pairwise = pairwise
        self.from_logits = from_logits

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return iou_fairness_loss(_class_probs(input, self.from_logits), self._need_y(y),
                                 self._groups(groups), self.pairwise,
                                 n_groups=self._groups_count(n_groups))


class GroupBalancedLoss(FairnessLoss):
    """Group-balanced risk of per-sample task losses; see :func:`group_balanced_loss`.

    ``role = "reweight"``: its ``input`` is the *unreduced* task loss
    (``reduction="none"``), for any task.

    Parameters
    ----------
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import GroupBalancedLoss
    >>> float(GroupBalancedLoss()(torch.tensor([1.0, 1.0, 4.0]), None, torch.tensor([0, 0, 1])))
    2.5
    """

    role = "reweight"
    task = "any"

    def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None,
                check_input=True):
        return group_balanced_loss(input, self._groups(groups),
                                   n_groups=self._groups_count(n_groups),
                                   sample_weight=sample_weight, check_input=check_input)


class AdversarialLoss(FairnessLoss):
    """Adversarial sensitive regularizer; see :class:`AdversarialHead`.

    ``role = "adversarial"``: the estimator builds the adversary with
    :meth:`make_head`, keeps it inside its network (same optimizer, same device)
    and adds ``lam * loss.adversary_term(head, embedding, y, groups)``. Two forms
    of the game (``kind``, module notes of ``skfair.losses._adversarial``):
    ``"reversal"`` (Ganin & Lempitsky, 2015), the adversary's cross-entropy behind
    the head's gradient reversal; ``"confusion"`` (Alvi et al., 2018; registered as
    ``"adversarial_confusion"``), its cross-entropy on the embedding held fixed plus
    ``strength`` times :func:`~skfair.losses.confusion_loss` through the adversary
    held fixed.

    Parameters
    ----------
    hidden : int or sequence of int, default=(64,)
        Hidden sizes of the adversary.
    strength : float, default=1.0
        Scale of the embedding's gradient: the gradient-reversal strength
        (``"reversal"``), the confusion term's weight (``"confusion"``).
    dropout : float, default=0.0
        Dropout inside the adversary.
    kind : {"reversal", "confusion"}, default="reversal"
        The form of the game; grid-searched as ``fairness__kind``.
    n_groups : int, optional
        Number of sensitive groups (the adversary's outputs).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import AdversarialLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = AdversarialLoss(hidden=8, kind="confusion")
    >>> head = loss.make_head(in_features=4, n_groups=2)
    >>> embedding = torch.randn(6, 4, requires_grad=True)
    >>> loss.adversary_term(head, embedding, None, torch.tensor([0, 1] * 3)).backward()
    >>> embedding.grad.shape
    torch.Size([6, 4])
    """

    role = "adversarial"
    task = "any"
    requires_embedding = True

    def __init__(self, hidden=(64,), strength=1.0, dropout=0.0, *, kind="reversal",
                 n_groups=None):
        super().__init__(n_groups=n_groups)
        self.hidden = hidden
        self.strength = strength
        self.dropout = dropout
        self.kind = kind

    def make_head(self, in_features, n_groups=None):
        """The adversary (an :class:`AdversarialHead`) of an embedding of ``in_features``
        for ``n_groups`` groups (default ``self.n_groups``)."""
        n_groups = self._groups_count(n_groups)
        if n_groups is None:
            raise ValueError("AdversarialLoss.make_head needs n_groups.")
        check_adversarial_kind(self.kind)
        return AdversarialHead(in_features, n_groups, hidden=self.hidden,
                               strength=self.strength, dropout=self.dropout)

    def adversary_term(self, head, embedding, y=None, groups=None, **kwargs):
        """The term of the adversary ``head`` on ``embedding``: ``self(head(embedding), y,
        groups, **kwargs)`` for ``"reversal"``; for ``"confusion"``, with ``own, fixed =
        head.confusion_logits(embedding)``, ``self(own, ...) + head.strength *
        confusion_loss(fixed)``. ``kwargs`` (``n_groups``, ``sample_weight``,
        ``check_input``) go to :meth:`forward` and the last two to the confusion term."""
        if check_adversarial_kind(self.kind) == "reversal":
            return self(head(embedding), y, groups, **kwargs)
        split = getattr(head, "confusion_logits", None)
        if split is None:
            raise TypeError("AdversarialLoss(kind='confusion') needs an adversary with "
                            f"confusion_logits (an AdversarialHead), got {type(head).__name__}.")
        own, fixed = split(embedding)
        confusion = confusion_loss(fixed, sample_weight=kwargs.get("sample_weight"),
                                   check_input=kwargs.get("check_input", True))
        return torch.add(self(own, y, groups, **kwargs), confusion, alpha=head.strength)

    def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None,
                check_input=True):
        return adversarial_loss(as_float(input), self._groups(groups),
                                n_groups=self._groups_count(n_groups),
                                sample_weight=sample_weight, check_input=check_input)


def adversarial_term(loss, head, embedding, y, groups, **kwargs):
    """The term of an adversarial ``loss`` on ``embedding``: its ``adversary_term``, or
    ``loss(head(embedding), y, groups, **kwargs)`` for a loss without one."""
    term = getattr(loss, "adversary_term", None)
    if term is None:
        return loss(head(embedding), y, groups, **kwargs)
    return term(head, embedding, y, groups, **kwargs)


class BiasAmplificationLoss(FairnessLoss):
    """Bias-amplification auxiliary loss on multi-label logits.

    See :func:`bias_amplification_loss`. ``requires_fit = True``: call
    :meth:`fit` with the training label matrix and groups (or pass ``b_train``)
    before training.

    Parameters
    ----------
    kind : {"ratio", "joint"}, default="ratio"
        Co-occurrence ratio (Zhao et al. 2017) or rate (Choi et al., section 3.2).
    b_train : array-like of shape (n_labels, n_groups), optional
        A precomputed target; otherwise :meth:`fit` computes it.
    from_logits : bool, default=True
        Whether the input is logits (sigmoid applied) or probabilities.
    n_groups : int, optional
        Number of sensitive groups.

    Attributes
    ----------
    b_train_ : Tensor of shape (n_labels, n_groups)
        The target used (a buffer, so it follows ``.to(device)``).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import BiasAmplificationLoss
    >>> Y = torch.tensor([[1, 0], [1, 1], [0, 1], [0, 1]])
    >>> groups = torch.tensor([0, 0, 1, 1])
    >>> loss = BiasAmplificationLoss().fit(Y, groups)
    >>> loss.b_train_
    tensor([[1.0000, 0.0000],
            [0.3333, 0.6667]])
    >>> float(loss(torch.zeros(4, 2), None, groups)) > 0
    True
    """

    task = "multilabel"
    requires_fit = True

    def __init__(self, kind="ratio", b_train=None, *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.b_train = b_train
        self.from_logits = from_logits
        self.register_buffer("b_train_", None)

    def fit(self, Y, groups, *, n_groups=None):
        """Compute ``b_train_`` (:func:`cooccurrence_ratio`) from the binary training
        labels ``Y`` (n_samples, n_labels) and their group codes or soft assignment,
        or take ``b_train`` when given. Returns ``self``."""
        if self.b_train is not None:
            b = self.b_train
        else:
            Y = Y.detach().cpu() if isinstance(Y, torch.Tensor) else Y
            groups = groups.detach().cpu() if isinstance(groups, torch.Tensor) else groups
            b = cooccurrence_ratio(Y, groups, n_groups=self._groups_count(n_groups),
                                   kind=self.kind)
        self.b_train_ = torch.as_tensor(b, dtype=torch.float32)
        return self

    def set_params(self, **params):
        """Set constructor parameters; a new ``kind`` or ``b_train`` drops the
        fitted ``b_train_`` (call :meth:`fit` again)."""
        stale = any(k in params and params[k] is not getattr(self, k)
                    for k in ("kind", "b_train"))
        super().set_params(**params)
        if stale:
            self.b_train_ = None
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args):
        # the target comes with the state, whatever this module held (None before a fit,
        # another label count): take its shape, then let torch copy the values
        key = prefix + "b_train_"
        if isinstance(state_dict.get(key), torch.Tensor):
            device = None if self.b_train_ is None else self.b_train_.device
            self.b_train_ = torch.empty_like(state_dict[key], device=device)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def target(self):
        """The fitted target ``b_train_`` (computed from ``b_train`` if not yet fitted)."""
        if self.b_train_ is None:
            if self.b_train is None:
                raise RuntimeError("BiasAmplificationLoss needs b_train: call fit(Y, groups) "
                                   "first or pass b_train=.")
            self.fit(None, None)
        return self.b_train_

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        input = as_float(input)
        return bias_amplification_loss(torch.sigmoid(input) if self.from_logits else input,
                                       self._groups(groups), self.target(),
                                       n_groups=self._groups_count(n_groups), kind=self.kind)


class MeanParityLoss(FairnessLoss):
    """Penalty on group mean predictions; see :func:`group_mean_parity_loss`.

    Parameters
    ----------
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import MeanParityLoss
    >>> pred = torch.tensor([[20.0], [22.0], [30.0], [32.0]])
    >>> float(MeanParityLoss()(pred, None, torch.tensor([0, 0, 1, 1])))
    50.0
    """

    task = "regression"

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return group_mean_parity_loss(input, self._groups(groups),
                                      n_groups=self._groups_count(n_groups))


class MAEParityLoss(FairnessLoss):
    """Pairwise gap of group MAEs; see :func:`group_mae_parity_loss`.

    Parameters
    ----------
    n_groups : int, optional
        Number of sensitive groups.

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import MAEParityLoss
    >>> pred, y = torch.tensor([1.0, 3.0, 5.0, 5.0]), torch.tensor([2.0, 3.0, 1.0, 5.0])
    >>> float(MAEParityLoss()(pred, y, torch.tensor([0, 0, 1, 1])))
    1.5
    """

    task = "regression"
    requires_y = True

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return group_mae_parity_loss(input, self._need_y(y), self._groups(groups),
                                     n_groups=self._groups_count(n_groups))
