"""Turn the estimators' ``fairness=`` parameter into a trainable loss term.

The loss objects come from :func:`skfair.losses.get_fairness_loss` (a name
or a loss object describing itself by ``role``, ``task``, ``requires_y``,
``requires_fit``, ``requires_embedding``; see :mod:`skfair.losses._registry`
for the contract). :class:`FairnessTerm` wraps one for an estimator: it
builds the adversary head when the loss needs one, and is registered as a
sub-module of the trained network so the head is trained by the same
optimizer and moved to the same device.
"""

from __future__ import annotations

import inspect

from torch import nn

from skfair.losses._modules import adversarial_term

__all__ = ["FairnessTerm", "make_fairness_term", "needs_embedding"]


class FairnessTerm(nn.Module):
    """A fairness loss bound to an estimator's network.

    ``forward(ctx)`` takes the batch context built by
    ``FairNetBase.get_fairness_term`` (``logits``, ``y``, ``groups``,
    ``n_groups``, ``per_sample_loss``, ``embedding``, ``sample_weight``) and
    returns the scalar term, according to the loss's ``role``:

    * ``"penalty"``: ``loss(logits, y, groups)``;
    * ``"reweight"``: ``loss(per_sample_loss, y, groups, sample_weight=w)``;
    * ``"adversarial"``: ``loss.adversary_term(head, embedding, y, groups,
      sample_weight=w)`` (``loss(head(embedding), y, groups, sample_weight=w)`` for a
      loss without that method) with ``head = loss.make_head(embedding_dim, n_groups)``.

    The estimator checked the group codes and the row weights once, at fit,
    so a loss whose ``forward`` takes ``check_input`` (e.g.
    :class:`~skfair.losses.AdversarialLoss`) is called with
    ``check_input=False``: no value check on every training step.

    Parameters
    ----------
    loss : FairnessLoss
        A fresh loss object (from ``get_fairness_loss``).
    n_groups : int
        Number of sensitive groups seen at fit.
    embedding_dim : int, optional
        Width of the network's embedding (adversarial losses).
    """

    def __init__(self, loss, *, n_groups, embedding_dim=None):
        super().__init__()
        self.loss = loss
        self.role = loss.role
        self.requires_y = bool(loss.requires_y)
        self.needs_embedding = bool(getattr(loss, "requires_embedding", False))
        self._unchecked = ({"check_input": False}
                           if "check_input" in inspect.signature(loss.forward).parameters
                           else {})
        self.head = None
        if self.needs_embedding:
            if n_groups < 2:
                raise ValueError(
                    f"fairness={type(loss).__name__} trains an adversary to predict the group "
                    f"and needs at least 2 sensitive groups in the training data, got {n_groups}."
                )
            if embedding_dim is None:
                raise ValueError(
                    f"fairness={type(loss).__name__} needs the network's embedding, but the "
                    "module returns a single tensor; return (output, embedding) from forward."
                )
            self.head = loss.make_head(int(embedding_dim), int(n_groups))

    def forward(self, ctx):
        y = ctx["y"] if self.requires_y else None
        groups, n_groups = ctx["groups"], ctx["n_groups"]
        if self.role == "reweight":
            return self.loss(ctx["per_sample_loss"], y, groups, n_groups=n_groups,
                             sample_weight=ctx["sample_weight"], **self._unchecked)
        if self.role == "adversarial":
            emb = ctx["embedding"]
            if emb.ndim != 2:  # e.g. a feature map: one row per sample
                emb = emb.reshape(emb.shape[0], -1)
            return adversarial_term(self.loss, self.head, emb, y, groups, n_groups=n_groups,
                                    sample_weight=ctx["sample_weight"], **self._unchecked)
        return self.loss(ctx["logits"], y, groups, n_groups=n_groups, **self._unchecked)


def make_fairness_term(fairness, *, task, n_groups, embedding_dim=None, params=None,
                       y_train=None, groups_train=None, n_outputs=1):
    """Build the :class:`FairnessTerm` of an estimator's ``fairness`` parameter.

    Parameters
    ----------
    fairness : None, str or loss object
        The estimator's ``fairness`` parameter.
    task : {"classification", "regression", "multilabel"}
        What the estimator predicts; the loss's ``task`` must match or be
        ``"any"``.
    n_groups : int
        Number of sensitive groups seen at fit.
    embedding_dim : int, optional
        Width of the module's embedding (adversarial losses).
    params : dict, optional
        ``fairness_params``: constructor parameters of the loss.
    y_train, groups_train : array-like, optional
        Training targets (as the network sees them) and group codes, for
        losses with ``requires_fit`` (bias amplification).
    n_outputs : int, default=1
        Outputs of a regressor; the regression penalties (``mean_parity``,
        ``mae_parity``) compare one prediction per row.

    Returns
    -------
    FairnessTerm or None
    """
    if fairness is None:
        return None
    from skfair.losses import get_fairness_loss

    loss = get_fairness_loss(fairness, **dict(params or {}))
    if loss.task not in (task, "any"):
        raise ValueError(
            f"fairness={fairness!r} is a loss for {loss.task} ({type(loss).__name__}); "
            f"this estimator does {task}."
        )
    if task == "regression" and loss.role == "penalty" and n_outputs > 1:
        raise ValueError(
            f"fairness={fairness!r} compares one prediction per row across groups; y has "
            f"{n_outputs} outputs. Fit one regressor per output, or use a fairness term "
            "that takes several outputs ('group_balanced', 'adversarial')."
        )
    if task == "classification" and loss.role == "penalty" and not getattr(
            loss, "from_logits", True):
        raise ValueError(
            f"fairness={fairness!r} is set with from_logits=False (it would read the "
            "network's logits as probabilities); the estimator hands its penalty the logits: "
            "leave from_logits=True (the default) in fairness / fairness_params."
        )
    if getattr(loss, "requires_fit", False):
        loss.fit(y_train, groups_train, n_groups=n_groups)
    return FairnessTerm(loss, n_groups=n_groups, embedding_dim=embedding_dim)


def needs_embedding(fairness):
    """Whether ``fairness`` (name or object) needs the network's embedding."""
    if fairness is None:
        return False
    if isinstance(fairness, str):
        from skfair.losses import FAIRNESS_LOSSES

        entry = FAIRNESS_LOSSES.get(fairness.lower())
        return bool(entry and getattr(entry[0], "requires_embedding", False))
    return bool(getattr(fairness, "requires_embedding", False))
