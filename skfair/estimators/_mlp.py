"""A multi-layer perceptron head, the default network of the estimators."""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

__all__ = ["MLP"]


def _activation(name):
    table = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "elu": nn.ELU}
    if name not in table:
        raise ValueError(f"activation must be one of {sorted(table)}, got {name!r}.")
    return table[name]()


def _check_hidden_sizes(hidden_sizes):
    """``hidden_sizes`` as a tuple of positive ints (``ValueError`` otherwise)."""
    sizes = (hidden_sizes,) if isinstance(hidden_sizes, numbers.Integral) else hidden_sizes
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1
            for h in sizes):
        raise ValueError(
            f"hidden_sizes must be a sequence of positive ints (layer widths), got "
            f"{hidden_sizes!r}."
        )
    return tuple(int(h) for h in sizes)


class MLP(nn.Module):
    """Fully connected network returning ``(logits, embedding)``.

    Inputs of any shape ``(n, ...)`` are flattened. The embedding is the
    output of the last hidden layer (the input itself when ``hidden_sizes`` is
    empty); it is what the adversarial fairness regularizer looks at. Extra
    per-row inputs (the one-hot sensitive attributes of the attribute-aware
    estimators) are concatenated to the flattened input.

    Parameters
    ----------
    n_features : int
        Number of input features (product of the non-batch dimensions).
    n_outputs : int
        Number of output units (classes, labels or regression targets).
    hidden_sizes : tuple of int, default=(100,)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    activation : {"relu", "gelu", "tanh", "elu"}, default="relu"
        Hidden activation.
    n_extra : int, default=0
        Number of extra input features concatenated to ``X`` (passed to
        :meth:`forward` as ``extra``).

    Attributes
    ----------
    embedding_dim : int
        Width of the embedding returned by :meth:`forward`.

    Examples
    --------
    >>> import torch
    >>> from skfair.estimators import MLP
    >>> net = MLP(4, 3, hidden_sizes=(8,))
    >>> logits, emb = net(torch.zeros(5, 4))
    >>> tuple(logits.shape), tuple(emb.shape)
    ((5, 3), (5, 8))
    """

    def __init__(self, n_features, n_outputs, hidden_sizes=(100,), dropout=0.0,
                 activation="relu", n_extra=0):
        super().__init__()
        self.n_features = int(n_features)
        self.n_extra = int(n_extra)
        layers = []
        width = self.n_features + self.n_extra
        for size in _check_hidden_sizes(hidden_sizes):
            layers += [nn.Linear(width, size), _activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(width, int(n_outputs))
        self.embedding_dim = width

    def forward(self, X, extra=None):
        """Return ``(logits, embedding)``.

        Parameters
        ----------
        X : Tensor of shape (n, ...)
            Inputs, flattened to ``(n, n_features)``.
        extra : Tensor of shape (n, n_extra), optional
            Required when ``n_extra > 0``.
        """
        h = X.reshape(X.shape[0], -1)
        if not h.is_floating_point():
            h = h.float()
        if h.shape[1] != self.n_features:
            raise ValueError(
                f"MLP expects {self.n_features} input features, got {h.shape[1]} "
                f"(input shape {tuple(X.shape)})."
            )
        h = _concat_extra(h, extra, self.n_extra)
        emb = self.hidden(h)
        return self.head(emb), emb


def _concat_extra(h, extra, n_extra):
    """Concatenate the extra inputs to the features ``h`` (checked)."""
    if n_extra == 0:
        if extra is not None and extra.shape[1] != 0:
            raise ValueError("extra inputs were given to a network built with n_extra=0.")
        return h
    if extra is None:
        raise ValueError(f"this network was built with n_extra={n_extra} extra inputs; "
                         "pass them as extra=.")
    if extra.shape[1] != n_extra:
        raise ValueError(f"extra has {extra.shape[1]} columns, expected {n_extra}.")
    return torch.cat([h, extra.to(h.dtype)], dim=1)


def _n_flat(shape):
    return int(math.prod(shape))
