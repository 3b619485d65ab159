"""``nn.Module`` wrappers of the fairness losses with one uniform call.

Every wrapper is called as ``loss(input, y, groups, *, n_groups=None, ...)``
and returns a scalar tensor; ``y`` is ignored by the losses that do not need
it. What ``input`` is, and how the estimator combines the result with the task
loss, is given by class attributes (see :mod:`skfair.losses._registry` for the
full contract):

``role``
    ``"penalty"`` (``input`` = the network's logits; ``total = task + lam *
    loss``), ``"reweight"`` (``input`` = the per-sample task losses; the loss
    *is* a re-weighted task loss) or ``"adversarial"`` (``input`` = the
    adversary head's logits; the head comes from :meth:`AdversarialLoss.make_head`).
``task``
    ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"any"``.
``requires_y``
    Whether the targets are used.
``requires_fit``
    Whether :meth:`fit` must be called with the training targets and groups
    before training (the bias-amplification target ``b_train``).
``requires_embedding``
    Whether the estimator must build an extra head on its embedding.

The wrappers also implement ``get_params`` / ``set_params`` so that an
estimator's ``fairness=`` parameter can be cloned by scikit-learn and
grid-searched as ``fairness__kind``. (``kind`` is the *form* of a loss,
e.g. ``"l2"`` or ``"mi"``, as in the functions; ``role`` is how it combines.)
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ._adversarial import (
    AdversarialHead,
    adversarial_loss,
    check_adversarial_kind,
    confusion_loss,
)
from ._bias_amplification import (
    _ba_kernel_parts,
    _ba_parts,
    _bias_amplification,
    _prepare_target,
    cooccurrence_ratio,
)
from ._fairness import (
    _demographic_parity,
    _dp_kernel_parts,
    _dp_parts,
    _eo_kernel_parts,
    _eo_parts,
    _equalized_odds,
    _iou_fairness,
    _iou_kernel_parts,
    _iou_parts,
)
from ._fused import Identity, Sigmoid, Softmax
from ._group_balanced import group_balanced_coefficients, group_balanced_loss
from ._ops import as_float, is_compiling
from ._regression import (
    _mae_parity_kernel_parts,
    _mae_parity_parts,
    _mean_parity_kernel_parts,
    _mean_parity_parts,
    group_mae_parity_loss,
    group_mean_parity_loss,
)
from ._validation import kernel_codes

__all__ = [
    "AdversarialLoss",
    "BiasAmplificationLoss",
    "DemographicParityLoss",
    "EqualizedOddsLoss",
    "FairnessLoss",
    "GroupBalancedLoss",
    "IoUFairnessLoss",
    "MAEParityLoss",
    "MeanParityLoss",
]


def _class_input(x, from_logits):
    """(B, K) scores as they are; a (B,) or (B, 1) binary score -> two columns.

    A binary logit ``z`` becomes the logits ``(0, z)`` (softmax = sigmoid), a
    binary probability ``p`` the probabilities ``(1 - p, p)``.
    """
    x = as_float(x)
    if x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1):
        x = x.reshape(-1, 1)
        first = torch.zeros_like(x) if from_logits else 1 - x
        return torch.cat([first, x], dim=1)
    return x


def _require_groups(groups, name):
    if groups is None:
        raise ValueError(f"{name} needs the sensitive group codes: groups is None.")
    return groups


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
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep=True):
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}; valid: {valid}."
                )
            setattr(self, key, value)
        return self

    def _groups_count(self, n_groups):
        return self.n_groups if n_groups is None else n_groups

    def _need_y(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} needs the targets: y is None.")
        return y

    def _softmax_parts(self, parts_of, input, *args):
        """``(Softmax, core, args)`` of a class-probability penalty on the logits
        ``input``, or None (probabilities given, a single binary column, or a
        group matrix that needs gradients)."""
        if not (getattr(self, "from_logits", False) and input.ndim == 2 and input.shape[1] > 1):
            return None
        core, core_args = parts_of(as_float(input), *args)
        return None if core is None else (Softmax, core, core_args)

    def _penalty_parts(self, input, y, groups, n_groups):
        """The fused form of this penalty, for :func:`penalized_task_loss`.

        Returns ``(link, core, args)``: the loss's value on the raw network
        output ``input`` is ``core.forward(link.forward(input), *args)`` (see
        :mod:`skfair.losses._fused`). ``None`` when the loss has no fused form
        for this input; the caller then calls the module itself.
        """
        return None

    def _softmax_kernel_parts(self, parts_of, input, *args):
        """``parts_of(input, *args)`` on logits with several columns, else None."""
        if not (getattr(self, "from_logits", False) and input.ndim == 2 and input.shape[1] > 1):
            return None
        return parts_of(input, *args)

    def _kernel_parts(self, input, y, groups, n_groups):
        """The compiled CPU form of this penalty, for :func:`penalized_task_loss`.

        Returns ``(link, kernel, args)``: the name of the link the kernel chains its
        gradient through (``"softmax"``, ``"sigmoid"``, ``"identity"``, or ``"any"``
        for a reweighting), the name of the kernel in :mod:`skfair.losses._kernels`
        and its arguments (integer group codes as an ndarray). ``None`` when the loss
        has no compiled form for these inputs; the caller then takes the torch path.
        A subclass that overrides ``_penalty_parts`` (or ``row_coefficients``) is not
        given the compiled form of its parent.
        """
        return None

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

    requires_y = False

    def __init__(self, kind="l2", *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.from_logits = from_logits

    def _penalty_parts(self, input, y, groups, n_groups):
        return self._softmax_parts(_dp_parts, input,
                                   _require_groups(groups, "DemographicParityLoss"),
                                   self.kind, self._groups_count(n_groups))

    def _kernel_parts(self, input, y, groups, n_groups):
        return self._softmax_kernel_parts(_dp_kernel_parts, input,
                                          _require_groups(groups, "DemographicParityLoss"),
                                          self.kind, self._groups_count(n_groups))

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return _demographic_parity(
            _class_input(input, self.from_logits),
            _require_groups(groups, "DemographicParityLoss"),
            self.kind,
            self._groups_count(n_groups),
            from_logits=self.from_logits,
        )


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
    >>> loss = EqualizedOddsLoss(kind="mi")
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]])
    >>> y, groups = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 1, 1])
    >>> float(loss(logits, y, groups)) > 0
    True
    """

    requires_y = True

    def __init__(self, kind="l2", *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.from_logits = from_logits

    def _penalty_parts(self, input, y, groups, n_groups):
        return self._softmax_parts(_eo_parts, input, self._need_y(y),
                                   _require_groups(groups, "EqualizedOddsLoss"),
                                   self.kind, self._groups_count(n_groups))

    def _kernel_parts(self, input, y, groups, n_groups):
        return self._softmax_kernel_parts(_eo_kernel_parts, input, self._need_y(y),
                                          _require_groups(groups, "EqualizedOddsLoss"),
                                          self.kind, self._groups_count(n_groups))

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return _equalized_odds(
            _class_input(input, self.from_logits),
            self._need_y(y),
            _require_groups(groups, "EqualizedOddsLoss"),
            self.kind,
            self._groups_count(n_groups),
            from_logits=self.from_logits,
        )


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

    def _penalty_parts(self, input, y, groups, n_groups):
        return self._softmax_parts(_iou_parts, input, self._need_y(y),
                                   _require_groups(groups, "IoUFairnessLoss"),
                                   self.pairwise, self._groups_count(n_groups))

    def _kernel_parts(self, input, y, groups, n_groups):
        return self._softmax_kernel_parts(_iou_kernel_parts, input, self._need_y(y),
                                          _require_groups(groups, "IoUFairnessLoss"),
                                          self.pairwise, self._groups_count(n_groups))

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return _iou_fairness(
            _class_input(input, self.from_logits),
            self._need_y(y),
            _require_groups(groups, "IoUFairnessLoss"),
            self.pairwise,
            self._groups_count(n_groups),
            from_logits=self.from_logits,
        )


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
    >>> loss = GroupBalancedLoss()
    >>> float(loss(torch.tensor([1.0, 1.0, 4.0]), None, torch.tensor([0, 0, 1])))
    2.5
    """

    role = "reweight"
    task = "any"
    requires_y = False

    def __init__(self, *, n_groups=None):
        super().__init__(n_groups=n_groups)

    def row_coefficients(self, groups, n_samples, *, n_groups=None, sample_weight=None,
                         dtype=torch.float32, device=None, check_input=True):
        """Row coefficients ``r`` with ``loss(per_sample) == per_sample @ r``.

        The group-balanced risk is linear in the per-sample losses;
        :func:`penalized_task_loss` folds ``lam * r`` into the task's row
        weights instead of computing the term separately, and passes its
        ``check_input`` (see :func:`group_balanced_coefficients`).

        Returns
        -------
        Tensor of shape (n_samples,)
        """
        return group_balanced_coefficients(
            _require_groups(groups, "GroupBalancedLoss"), n_samples,
            n_groups=self._groups_count(n_groups), sample_weight=sample_weight,
            dtype=dtype, device=device, check_input=check_input,
        )

    def _kernel_parts(self, input, y, groups, n_groups):
        codes = kernel_codes(_require_groups(groups, "GroupBalancedLoss"), input.shape[0],
                             self._groups_count(n_groups))
        return None if codes is None else ("any", "group_balanced", codes)

    def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None):
        return group_balanced_loss(
            input,
            _require_groups(groups, "GroupBalancedLoss"),
            n_groups=self._groups_count(n_groups),
            sample_weight=sample_weight,
        )


class AdversarialLoss(FairnessLoss):
    """Adversarial sensitive regularizer; see :class:`AdversarialHead`.

    ``role = "adversarial"``, ``requires_embedding = True``: the estimator
    builds the adversary with :meth:`make_head` (and keeps it inside its
    network so that it is trained by the same optimizer and moved to the same
    device), feeds it the embedding, and adds ``lam * loss.adversary_term(head,
    embedding, y, groups)``.

    Two forms of the game (``kind``):

    * ``"reversal"`` (Ganin & Lempitsky, 2015): the adversary's cross-entropy,
      ``loss(head(embedding), y, groups)``, whose gradient the head's
      gradient-reversal layer turns against the embedding: the encoder maximises
      the adversary's cross-entropy.
    * ``"confusion"`` (Alvi et al., 2018): the adversary is trained on its
      cross-entropy with the embedding held fixed, and the embedding, with the
      adversary held fixed, on :func:`~skfair.losses.confusion_loss` scaled by
      ``strength``: it pushes the adversary's prediction towards chance rather
      than towards the wrong group, which a relabelling of the groups achieves
      without removing them from the embedding (module notes of
      ``skfair.losses._adversarial``). Its value is ``CE + strength * confusion``.
      Registered as ``"adversarial_confusion"``.

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
        The form of the game (above); grid-searched as ``fairness__kind``.
    n_groups : int, optional
        Number of sensitive groups (the adversary's outputs).

    Examples
    --------
    >>> import torch
    >>> from skfair.losses import AdversarialLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = AdversarialLoss(hidden=8)
    >>> head = loss.make_head(in_features=4, n_groups=2)
    >>> value = loss(head(torch.randn(6, 4)), None, torch.tensor([0, 1, 0, 1, 0, 1]))
    >>> value.shape
    torch.Size([])
    """

    role = "adversarial"
    task = "any"
    requires_y = False
    requires_embedding = True

    def __init__(self, hidden=(64,), strength=1.0, dropout=0.0, *, kind="reversal",
                 n_groups=None):
        super().__init__(n_groups=n_groups)
        self.hidden = hidden
        self.strength = strength
        self.dropout = dropout
        self.kind = kind

    def make_head(self, in_features, n_groups=None):
        """Build the adversary :class:`AdversarialHead` for an embedding size.

        Parameters
        ----------
        in_features : int
            Size of the embedding fed to the adversary.
        n_groups : int, optional
            Number of groups; defaults to ``self.n_groups``.

        Returns
        -------
        AdversarialHead
        """
        n_groups = self._groups_count(n_groups)
        if n_groups is None:
            raise ValueError("AdversarialLoss.make_head needs n_groups.")
        check_adversarial_kind(self.kind)
        return AdversarialHead(
            in_features, n_groups, hidden=self.hidden, strength=self.strength, dropout=self.dropout
        )

    def adversary_term(self, head, embedding, y=None, groups=None, **kwargs):
        """The adversarial term of an adversary ``head`` on ``embedding``.

        ``"reversal"``: ``self(head(embedding), y, groups, **kwargs)``.
        ``"confusion"``: ``self(own, y, groups, **kwargs) + head.strength *
        confusion_loss(fixed)`` with ``own, fixed = head.confusion_logits(embedding)``
        (see :meth:`AdversarialHead.confusion_logits`).

        Parameters
        ----------
        head : AdversarialHead
            From :meth:`make_head` (``"confusion"`` needs its ``confusion_logits``).
        embedding : Tensor of shape (B, in_features)
        y, groups : Tensor
            As for :meth:`forward`.
        **kwargs
            ``n_groups``, ``sample_weight``, ``check_input``: passed to
            :meth:`forward` (and the last two to the confusion term).

        Returns
        -------
        Tensor of shape ()

        Examples
        --------
        >>> import torch
        >>> from skfair.losses import AdversarialLoss
        >>> _ = torch.manual_seed(0)
        >>> loss = AdversarialLoss(hidden=8, kind="confusion")
        >>> head = loss.make_head(in_features=4, n_groups=2)
        >>> embedding = torch.randn(6, 4, requires_grad=True)
        >>> term = loss.adversary_term(head, embedding, None, torch.tensor([0, 1] * 3))
        >>> term.backward()
        >>> embedding.grad.shape
        torch.Size([6, 4])
        """
        if check_adversarial_kind(self.kind) == "reversal":
            return self(head(embedding), y, groups, **kwargs)
        split = getattr(head, "confusion_logits", None)
        if split is None:
            raise TypeError(
                f"AdversarialLoss(kind='confusion') needs an adversary with "
                f"confusion_logits (an AdversarialHead), got {type(head).__name__}.")
        own, fixed = split(embedding)
        confusion = confusion_loss(fixed, sample_weight=kwargs.get("sample_weight"),
                                   check_input=kwargs.get("check_input", True))
        return torch.add(self(own, y, groups, **kwargs), confusion, alpha=head.strength)

    def _adversary_kernel_parts(self, head, embedding, groups, n_groups):
        """The compiled CPU form of :meth:`adversary_term`, for
        :func:`penalized_task_loss`: ``(codes, params, strength, confusion)``, the integer
        group codes (ndarray), the head's layers, its strength and whether the game is
        the confusion one; None when the head or the groups have no such form (the
        caller then composes the two). A subclass that overrides ``forward`` or
        ``adversary_term`` is not given the compiled form."""
        params = head._kernel_layers(embedding) if isinstance(head, AdversarialHead) else None
        if (params is None or groups is None or groups.is_floating_point()
                or groups.dtype == torch.bool):
            return None
        width = params[-1].shape[0]
        n_groups = self._groups_count(n_groups)
        if n_groups is not None and n_groups != width:
            raise ValueError(
                f"n_groups={n_groups} does not match the adversary's {width} outputs.")
        codes = kernel_codes(groups, embedding.shape[0], width)
        if codes is None:
            return None
        return codes[0], params, head.strength, check_adversarial_kind(self.kind) == "confusion"

    def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None,
                check_input=True):
        return adversarial_loss(
            as_float(input),
            _require_groups(groups, "AdversarialLoss"),
            n_groups=self._groups_count(n_groups),
            sample_weight=sample_weight,
            check_input=check_input,
        )


def adversarial_term(loss, head, embedding, y, groups, **kwargs):
    """The term of an adversarial ``loss`` (``role="adversarial"``) on ``embedding``:
    ``loss.adversary_term(head, embedding, y, groups, **kwargs)``, or for a loss without
    that method (a user's own) ``loss(head(embedding), y, groups, **kwargs)``."""
    term = getattr(loss, "adversary_term", None)
    if term is None:
        return loss(head(embedding), y, groups, **kwargs)
    return term(head, embedding, y, groups, **kwargs)


class BiasAmplificationLoss(FairnessLoss):
    """Bias-amplification auxiliary loss on multi-label logits.

    See :func:`bias_amplification_loss`. ``requires_fit = True``: call
    :meth:`fit` with the training label matrix and groups (or pass
    ``b_train``) before training.

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
    requires_y = False
    requires_fit = True

    def __init__(self, kind="ratio", b_train=None, *, from_logits=True, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.kind = kind
        self.b_train = b_train
        self.from_logits = from_logits
        self.register_buffer("b_train_", None)

    def fit(self, Y, groups, *, n_groups=None):
        """Compute ``b_train_`` from the training label matrix and groups.

        Parameters
        ----------
        Y : array-like or Tensor of shape (n_samples, n_labels)
            Binary training labels.
        groups : array-like or Tensor of shape (n_samples,) or (n_samples, n_groups)
            Training group codes or soft assignment.
        n_groups : int, optional
            Number of groups.

        Returns
        -------
        self
        """
        if self.b_train is not None:
            b = self.b_train
        else:
            if isinstance(Y, torch.Tensor):
                Y = Y.detach().cpu()
            if isinstance(groups, torch.Tensor):
                groups = groups.detach().cpu()
            b = cooccurrence_ratio(Y, groups, n_groups=self._groups_count(n_groups), kind=self.kind)
        self.b_train_ = torch.as_tensor(b, dtype=torch.float32)
        self._prepared = None
        return self

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .double(): re-prepare lazily
        self._prepared = None
        return super()._apply(fn, *args, **kwargs)

    def set_params(self, **params):
        """Set constructor parameters; a new ``kind`` or ``b_train`` drops the
        fitted ``b_train_`` (call :meth:`fit` again)."""
        stale = any(k in params and params[k] is not getattr(self, k)
                    for k in ("kind", "b_train"))
        super().set_params(**params)
        if stale:
            self.b_train_ = None
            self._prepared = None
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        # the target comes with the state, whatever this module held (None before a fit,
        # another label count): take its shape, then let torch copy the values
        key = prefix + "b_train_"
        if key in state_dict and isinstance(state_dict[key], torch.Tensor):
            device = None if self.b_train_ is None else self.b_train_.device
            self.b_train_ = torch.empty_like(state_dict[key], device=device)
        self._prepared = None
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def _target(self, input):
        """``(b_train_, prepared)`` for the dtype and device of ``input``."""
        b = self.b_train_
        if b is None:
            if self.b_train is None:
                raise RuntimeError(
                    "BiasAmplificationLoss needs b_train: call fit(Y, groups) first or pass "
                    "b_train=."
                )
            self.fit(None, None)
            b = self.b_train_
        if is_compiling():
            # not cached: a tensor stored on the module while tracing is an output of the
            # compiled graph, which CUDA graphs (mode="reduce-overhead") overwrite on the
            # next replay; the two small ops fuse into the graph instead
            return b, _prepare_target(b, input.dtype, input.device)
        prepared = getattr(self, "_prepared", None)
        if (
            prepared is None
            or prepared[0].dtype != input.dtype
            or (prepared[0].device != input.device)
        ):
            prepared = self._prepared = _prepare_target(b, input.dtype, input.device)
        return b, prepared

    def _penalty_parts(self, input, y, groups, n_groups):
        if not self.from_logits:
            return None
        input = as_float(input)
        b, prepared = self._target(input)
        core, args = _ba_parts(
            input, _require_groups(groups, "BiasAmplificationLoss"), b,
            self._groups_count(n_groups), self.kind, from_logits=True, prepared=prepared,
        )
        return None if core is None else (Sigmoid, core, args)

    def _kernel_parts(self, input, y, groups, n_groups):
        if not self.from_logits:
            return None
        _, prepared = self._target(input)
        return _ba_kernel_parts(input, _require_groups(groups, "BiasAmplificationLoss"),
                                self._groups_count(n_groups), self.kind, prepared)

    def _penalty_on_probs(self, probs, groups, n_groups):
        """The loss on per-label probabilities ``probs`` (whatever ``from_logits``
        says): :func:`penalized_task_loss`'s straight-through indicator under
        ``torch.compile``."""
        b, prepared = self._target(probs)
        return _bias_amplification(
            probs, _require_groups(groups, "BiasAmplificationLoss"), b,
            self._groups_count(n_groups), self.kind, from_logits=False, prepared=prepared,
        )

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        input = as_float(input)
        b, prepared = self._target(input)
        return _bias_amplification(
            input,
            _require_groups(groups, "BiasAmplificationLoss"),
            b,
            self._groups_count(n_groups),
            self.kind,
            from_logits=self.from_logits,
            prepared=prepared,
        )


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
    requires_y = False

    def __init__(self, *, n_groups=None):
        super().__init__(n_groups=n_groups)

    def _penalty_parts(self, input, y, groups, n_groups):
        core, (_, G) = _mean_parity_parts(as_float(input),
                                          _require_groups(groups, "MeanParityLoss"),
                                          self._groups_count(n_groups))
        return None if core is None else (Identity, core, (G,))

    def _kernel_parts(self, input, y, groups, n_groups):
        return _mean_parity_kernel_parts(input, _require_groups(groups, "MeanParityLoss"),
                                         self._groups_count(n_groups))

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return group_mean_parity_loss(
            as_float(input),
            _require_groups(groups, "MeanParityLoss"),
            n_groups=self._groups_count(n_groups),
        )


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

    def __init__(self, *, n_groups=None):
        super().__init__(n_groups=n_groups)

    def _penalty_parts(self, input, y, groups, n_groups):
        core, (_, y, G) = _mae_parity_parts(as_float(input), self._need_y(y),
                                            _require_groups(groups, "MAEParityLoss"),
                                            self._groups_count(n_groups))
        return None if core is None else (Identity, core, (y, G))

    def _kernel_parts(self, input, y, groups, n_groups):
        return _mae_parity_kernel_parts(input, self._need_y(y),
                                        _require_groups(groups, "MAEParityLoss"),
                                        self._groups_count(n_groups))

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        return group_mae_parity_loss(
            as_float(input),
            self._need_y(y),
            _require_groups(groups, "MAEParityLoss"),
            n_groups=self._groups_count(n_groups),
        )
