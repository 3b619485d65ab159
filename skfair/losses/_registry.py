"""Look fairness losses up by name: the contract between losses and estimators.

:func:`get_fairness_loss` turns an estimator's ``fairness=`` parameter (a name, a
loss object, or ``None``) into a fresh :class:`FairnessLoss` module, whose class
attributes say how to use it:

``role``
    ``"penalty"``: ``total = task + lam * loss(outputs, y, groups, n_groups=G)`` on
    the raw outputs (DP, EO, IoU, bias amplification, mean / MAE parity).
    ``"reweight"``: ``total = task + lam * loss(per_row_task_loss, y, groups,
    n_groups=G, sample_weight=w)``, the group-balanced risk of the unreduced task
    loss (Serna et al. 2022; a large ``lam`` gives the pure balanced risk, up to scale).
    ``"adversarial"`` (``requires_embedding``): the estimator builds ``head =
    loss.make_head(embedding_dim, G)`` once, keeps it inside its network (one
    optimizer, one device) and adds ``lam * loss.adversary_term(head, embedding, y,
    groups, n_groups=G, sample_weight=w)``.
``task``
    ``"classification"`` (``(B, K)`` logits, or one binary logit), ``"multilabel"``
    (``(B, K)`` logits, sigmoid), ``"regression"`` (``(B,)`` or ``(B, 1)``) or
    ``"any"``; estimators reject a loss for another task.
``requires_y``, ``requires_fit``
    Whether ``y`` is read, and whether ``loss.fit(y_train, groups_train,
    n_groups=G)`` must run at the start of ``fit`` (bias amplification's target).

``groups`` are ``(B,)`` int64 codes (``encode_sensitive_features(...).codes``) or a
``(B, G)`` soft assignment; pass ``n_groups`` so that nothing synchronises per step.
Every call returns a finite scalar in at least float32, with absent groups and
cells left out.

Names: ``"dp_l2"``, ``"dp_mi"``, ``"eo_l2"``, ``"eo_mi"``, ``"iou"``,
``"iou_pairwise"``, ``"group_balanced"``, ``"adversarial"`` (gradient reversal),
``"adversarial_confusion"``, ``"bias_amplification"``, ``"mean_parity"``,
``"mae_parity"``.
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
            raise ValueError(f"Unknown fairness loss {fairness!r}; expected one of "
                             f"{sorted(FAIRNESS_LOSSES)}, a FairnessLoss object, or None.")
        cls, defaults = FAIRNESS_LOSSES[key]
        valid = cls._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(f"Invalid parameter(s) {unknown} for fairness loss {fairness!r} "
                             f"({cls.__name__}); valid: {valid}.")
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
