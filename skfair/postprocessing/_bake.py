"""Fold a fitted group-wise rule into a skfair network, so that the deployed network
predicts with the rule and needs no wrapper (OxonFair's approach for deep networks,
Delaney et al. 2024)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted
from torch import nn

__all__ = ["EmbeddingGroupClassifier", "GroupOffsetHead", "bake_rule"]


def _head_of(network):
    """The output layer (``head``) of a fitted skfair network estimator."""
    check_is_fitted(network, "net_")
    body = network.net_.module_.body
    head = getattr(body, "head", None)
    if not isinstance(head, nn.Module):
        raise TypeError(
            f"the network {type(body).__name__} has no output layer named 'head'; the "
            "rule can be baked into skfair's MLP, SmallCNN and TorchvisionBackbone."
        )
    return body, head


def head_inputs(network, X):
    """What the network's output layer receives for ``X`` (its embedding), float64."""
    _, head = _head_of(network)
    seen = []
    hook = head.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach()))
    try:
        network._forward_outputs(X)
    finally:
        hook.remove()
    return torch.cat(seen).cpu().numpy().astype(np.float64)


class EmbeddingGroupClassifier(ClassifierMixin, BaseEstimator):
    """Predict the sensitive group from a fitted network's embedding.

    The group classifier of ``FairThresholdClassifier(..., groups="inferred")``
    when the rule is to be baked into the network with :func:`bake_rule`: a
    linear classifier on the input of the network's output layer, which
    becomes a second head of the network (OxonFair's group head).

    Parameters
    ----------
    network : fitted FairNetClassifier
        The network whose embedding is used (not refitted; a clone of this
        classifier refers to the same network).
    classifier : classifier, default=None
        A linear classifier with ``coef_`` and ``intercept_``; ``None`` means
        ``LogisticRegression(max_iter=1000)``.

    Attributes
    ----------
    classifier_ : classifier
        Fitted on the embeddings.
    classes_ : ndarray
        The group codes.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.estimators import FairNetClassifier
    >>> from skfair.postprocessing import EmbeddingGroupClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32"); s = (X[:, 1] > 0).astype(int)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> net = FairNetClassifier(hidden_sizes=(8,), max_epochs=5, device="cpu",
    ...                         random_state=0).fit(X, y)
    >>> EmbeddingGroupClassifier(net).fit(X, s).predict(X[:3]).shape
    (3,)
    """

    def __init__(self, network, classifier=None):
        self.network = network
        self.classifier = classifier

    def __sklearn_clone__(self):
        # the network is fitted and shared, never re-created: a clone (e.g. in the
        # cross-validation of inferred groups) refers to the same network
        classifier = None if self.classifier is None else clone(self.classifier)
        return type(self)(self.network, classifier)

    def fit(self, X, y):
        """Fit the classifier on the network's embeddings of ``X``.

        Parameters
        ----------
        X : array-like
            Network inputs.
        y : array-like of shape (n_samples,)
            Group codes.

        Returns
        -------
        self : object
        """
        clf = LogisticRegression(max_iter=1000) if self.classifier is None else self.classifier
        self.classifier_ = clone(clf).fit(head_inputs(self.network, X), y)
        for attr in ("coef_", "intercept_"):
            if not hasattr(self.classifier_, attr):
                raise TypeError(
                    f"classifier {type(clf).__name__} has no {attr}; the group head must be "
                    "linear to become a layer of the network."
                )
        self.classes_ = self.classifier_.classes_
        return self

    def predict(self, X):
        """Group of each row.

        Parameters
        ----------
        X : array-like
            Network inputs.

        Returns
        -------
        groups : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classifier_.predict(head_inputs(self.network, X))


class GroupOffsetHead(nn.Module):
    """An output layer plus a group head: ``head(h) + offsets[group(h)]``.

    ``group(h)`` is the argmax of a linear group head (for two groups, the
    sign of its single output), mapped to the rows of ``offsets``. The output
    keeps the shape of ``head``'s, so the network is used as before.

    Parameters
    ----------
    head : nn.Module
        The original output layer.
    group_weight, group_bias : Tensor
        The linear group head (``(K, d)`` and ``(K,)``; ``K = 1`` for two
        groups).
    group_codes : Tensor of int64
        Row of ``offsets`` for each output of the group head.
    offsets : Tensor of shape (n_groups, n_outputs)
        Added to the outputs.
    """

    def __init__(self, head, group_weight, group_bias, group_codes, offsets):
        super().__init__()
        self.head = head
        self.group = nn.Linear(group_weight.shape[1], group_weight.shape[0])
        with torch.no_grad():
            self.group.weight.copy_(group_weight)
            self.group.bias.copy_(group_bias)
        self.register_buffer("group_codes", group_codes)
        self.register_buffer("offsets", offsets)

    def forward(self, h):
        z = self.group(h)
        k = (z[:, 0] > 0).long() if z.shape[1] == 1 else torch.argmax(z, dim=1)
        return self.head(h) + self.offsets[self.group_codes[k]]


def bake_rule(fair_classifier):
    """A copy of the wrapped network that predicts with the fitted rule.

    The rule of a :class:`FairThresholdClassifier` adds offsets ``b[g]`` to the
    log-probabilities; since ``log softmax`` differs from the network's logits
    by a per-row constant, adding ``b[g]`` to the logits gives the same
    predictions. With inferred groups whose classifier is an
    :class:`EmbeddingGroupClassifier` of the same network, the group head
    becomes part of the output layer (:class:`GroupOffsetHead`), so the
    returned network predicts fairly from the inputs alone, with no sensitive
    features and no wrapper. A rule fitted without sensitive features (one
    group) is a bias shift of the output layer.

    Parameters
    ----------
    fair_classifier : fitted FairThresholdClassifier
        Fitted with ``prefit=True`` on a fitted skfair network classifier
        (``FairNetClassifier``; scores from ``predict_proba``), with
        ``groups="inferred"`` and ``group_estimator=EmbeddingGroupClassifier(
        that network)``, or without sensitive features.

    Returns
    -------
    network : FairNetClassifier
        A deep copy of ``fair_classifier.estimator_`` whose ``predict`` and
        ``predict_proba`` equal ``fair_classifier``'s (up to float32 rounding
        of rows exactly at a threshold).

    Raises
    ------
    ValueError
        For given groups (the network does not see them) or a group
        classifier that is not an embedding head of this network.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.estimators import FairNetClassifier
    >>> from skfair.postprocessing import (EmbeddingGroupClassifier,
    ...                                    FairThresholdClassifier, bake_rule)
    >>> rng = np.random.RandomState(0)
    >>> s = rng.randint(0, 2, 600)
    >>> X = (rng.normal(size=(600, 3)) + s[:, None]).astype("float32")
    >>> y = (X[:, 0] + rng.normal(size=600) > 1).astype(int)
    >>> net = FairNetClassifier(hidden_sizes=(8,), max_epochs=10, device="cpu",
    ...                         random_state=0).fit(X[:300], y[:300])
    >>> fair = FairThresholdClassifier(net, prefit=True, groups="inferred",
    ...                                group_estimator=EmbeddingGroupClassifier(net),
    ...                                tolerance=0.05, random_state=0)
    >>> fair = fair.fit(X[300:], y[300:], sensitive_features=s[300:])
    >>> baked = bake_rule(fair)
    >>> bool((baked.predict(X) == fair.predict(X)).mean() > 0.99)
    True
    """
    check_is_fitted(fair_classifier)
    net = fair_classifier.estimator_
    if fair_classifier.response_method == "decision_function" or not hasattr(
            net, "predict_proba"):
        raise ValueError("bake_rule needs a rule fitted on the network's predict_proba.")
    body, head = _head_of(net)
    offsets = fair_classifier.offsets_
    if not np.isfinite(offsets).all():  # a constant group: a large finite offset
        offsets = np.clip(offsets, -1e4, 1e4)
    if fair_classifier.groups == "inferred":
        ge = fair_classifier.group_estimator_
        if not isinstance(ge, EmbeddingGroupClassifier) or ge.network is not net:
            raise ValueError(
                "bake_rule with groups='inferred' needs group_estimator="
                "EmbeddingGroupClassifier(network) for the same fitted network, so that the "
                "group classifier can become a head of the network."
            )
        weight, bias = ge.classifier_.coef_, np.atleast_1d(ge.classifier_.intercept_)
        codes = np.asarray(ge.classes_, dtype=np.int64)
    elif fair_classifier._coder is None:  # one group: a bias shift
        weight, bias, codes = np.zeros((1, _in_features(head))), np.zeros(1), np.zeros(2, int)
    else:
        raise ValueError(
            "bake_rule cannot bake a rule for given groups: the network does not receive the "
            "sensitive features. Fit the rule with groups='inferred' and "
            "group_estimator=EmbeddingGroupClassifier(network)."
        )
    if weight.shape[0] == 1 and len(codes) == 1:  # a single group seen: its offsets
        codes = np.repeat(codes, 2)
    baked = copy.deepcopy(net)
    new_body = baked.net_.module_.body
    old = new_body.head
    param = next(old.parameters())
    as_tensor = lambda a, dt=param.dtype: torch.as_tensor(a, dtype=dt, device=param.device)  # noqa: E731
    new_body.head = GroupOffsetHead(old, as_tensor(weight), as_tensor(bias),
                                    as_tensor(codes, torch.int64), as_tensor(offsets))
    return baked


def _in_features(head):
    return head.in_features if hasattr(head, "in_features") else next(
        head.parameters()).shape[1]
