"""Look fairness losses up by name: the contract between losses and estimators.

:func:`get_fairness_loss` turns an estimator's ``fairness=`` parameter (a
name, a loss object, or ``None``) into a fresh :class:`FairnessLoss` module.

Contract for estimators
-----------------------
Each loss object ``loss`` carries class attributes that say what it needs:

``loss.role``
    * ``"penalty"`` -- ``loss(logits, y, groups, n_groups=G)`` on the main
      head's raw outputs; ``total = task_loss + lam * penalty``.
      (DP, EO, IoU, bias amplification, mean/MAE parity.)
    * ``"reweight"`` -- ``loss(per_sample_task_loss, y, groups, n_groups=G,
      sample_weight=w)`` where ``per_sample_task_loss`` is the unreduced task
      loss (``reduction="none"``, shape ``(B,)`` or ``(B, n_labels)``). The
      result is the group-balanced task risk (Serna et al. 2022). Recommended use,
      uniform with the penalties: ``total = task_loss + lam * balanced``
      (``lam=0``: plain risk; large ``lam``: the pure group-balanced risk of
      Serna et al., up to scale). An estimator may instead replace the task loss
      by the balanced one outright.
    * ``"adversarial"`` -- ``loss.requires_embedding`` is True. At
      initialisation the estimator builds ``head = loss.make_head(in_features,
      n_groups)`` (an :class:`AdversarialHead`, gradient reversal included)
      and keeps it *inside* its network, so the one optimizer trains it and
      ``.to(device)`` moves it. Each step: ``total = task_loss + lam *
      loss.adversary_term(head, embedding, y, groups, n_groups=G,
      sample_weight=w)`` (``loss(head(embedding), ...)`` for the gradient
      reversal; a loss without ``adversary_term`` is called that way).
``loss.task``
    ``"classification"`` (input ``(B, K)`` logits, softmax applied; a ``(B,)``
    or ``(B, 1)`` input is one binary logit), ``"multilabel"`` (``(B, K)``
    logits, sigmoid applied), ``"regression"`` (``(B,)`` or ``(B, 1)``
    predictions) or ``"any"``. Estimators reject a loss whose task is neither
    theirs nor ``"any"``. ``from_logits=False`` on a wrapper means its input
    is already probabilities.
``loss.requires_y``
    Whether ``y`` (int64 class codes, or float regression targets) is used;
    otherwise ``None`` may be passed.
``loss.requires_fit``
    Whether ``loss.fit(y_train, groups_train, n_groups=G)`` must run once at
    the start of ``fit`` (bias amplification: it computes ``b_train_``).

Common to all: ``groups`` is a ``(B,)`` int64 tensor of codes from
:func:`skfair.utils.encode_sensitive_features` (``enc.codes``) or a ``(B, G)``
soft assignment; ``n_groups=enc.n_groups`` should always be passed (or set as
the object's ``n_groups``) so that no device synchronisation happens per step
and groups absent from a batch are known to be absent. Every call returns a
scalar tensor, finite, with groups and (class, group) cells absent from the
batch left out. Fairness statistics are computed in at least float32 (half
inputs are upcast). Loss modules are ``nn.Module`` objects: move them with
``.to(device)`` (only :class:`BiasAmplificationLoss` holds a tensor). They
have ``get_params``/``set_params`` so scikit-learn can clone them and grid
searches can reach ``fairness__kind``.

Names
-----
``"dp_l2"``, ``"dp_mi"``, ``"eo_l2"``, ``"eo_mi"``, ``"iou"``,
``"iou_pairwise"``, ``"group_balanced"``, ``"adversarial"`` (gradient reversal),
``"adversarial_confusion"`` (``AdversarialLoss(kind="confusion")``),
``"bias_amplification"``, ``"mean_parity"``, ``"mae_parity"``.
"""

from __future__ import annotations

import copy

from ._modules import (
    AdversarialLoss,
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
)

__all__ = ["FAIRNESS_LOSSES", "get_fairness_loss"]

#: name -> (class, default constructor parameters)
FAIRNESS_LOSSES = {
    "dp_l2": (DemographicParityLoss, {"kind": "l2"}),
    "dp_mi": (DemographicParityLoss, {"kind": "mi"}),
    "eo_l2": (EqualizedOddsLoss, {"kind": "l2"}),
    "eo_mi": (EqualizedOddsLoss, {"kind": "mi"}),
    "iou": (IoUFairnessLoss, {"pairwise": False}),
    "iou_pairwise": (IoUFairnessLoss, {"pairwise": True}),
    "group_balanced": (GroupBalancedLoss, {}),
    "adversarial": (AdversarialLoss, {}),
    "adversarial_confusion": (AdversarialLoss, {"kind": "confusion"}),
    "bias_amplification": (BiasAmplificationLoss, {}),
    "mean_parity": (MeanParityLoss, {}),
    "mae_parity": (MAEParityLoss, {}),
}

_ATTRIBUTES = ("role", "task", "requires_y")


def get_fairness_loss(fairness, **params):
    """Return a fresh fairness-loss module for a name or an object.

    Parameters
    ----------
    fairness : str, FairnessLoss, object or None
        A registered name (see module notes), a loss object (deep-copied so the
        caller's object is never mutated; any object with the attributes
        ``role``, ``task`` and ``requires_y`` is accepted), or ``None`` (no
        fairness term; ``None`` is returned).
    **params
        Constructor parameters overriding the name's defaults, e.g.
        ``n_groups=4`` or ``strength=0.5``; for an object, passed to its
        ``set_params`` on the copy.

    Returns
    -------
    FairnessLoss or None

    Raises
    ------
    ValueError
        For an unknown name or parameter.
    TypeError
        For an object that does not describe itself (see module notes).

    Examples
    --------
    >>> from skfair.losses import get_fairness_loss
    >>> loss = get_fairness_loss("eo_mi", n_groups=3)
    >>> loss
    EqualizedOddsLoss(from_logits=True, kind='mi', n_groups=3)
    >>> loss.role, loss.task, loss.requires_y
    ('penalty', 'classification', True)
    >>> get_fairness_loss("adversarial").role
    'adversarial'
    """
    if fairness is None:
        if params:
            raise ValueError("get_fairness_loss(None) takes no parameters.")
        return None
    if isinstance(fairness, str):
        key = fairness.lower()
        if key not in FAIRNESS_LOSSES:
            raise ValueError(
                f"Unknown fairness loss {fairness!r}; expected one of "
                f"{sorted(FAIRNESS_LOSSES)}, a FairnessLoss object, or None."
            )
        cls, defaults = FAIRNESS_LOSSES[key]
        valid = cls._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"Invalid parameter(s) {unknown} for fairness loss {fairness!r} "
                f"({cls.__name__}); valid: {valid}."
            )
        return cls(**{**defaults, **params})
    missing = [a for a in _ATTRIBUTES if not hasattr(fairness, a)]
    if missing or not callable(fairness):
        raise TypeError(
            "fairness must be a loss name, None, or a callable loss object with the "
            f"attributes {_ATTRIBUTES} (e.g. a skfair.losses.FairnessLoss); "
            f"got {type(fairness).__name__}"
            + (f" missing {missing}." if missing else ", which is not callable.")
        )
    obj = copy.deepcopy(fairness)
    if params:
        if not hasattr(obj, "set_params"):
            raise TypeError(f"{type(obj).__name__} has no set_params; cannot apply {params}.")
        obj.set_params(**params)
    return obj
