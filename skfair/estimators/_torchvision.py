"""A torchvision backbone with a new head, fine-tuned end to end."""

from __future__ import annotations

import os

import torch
from torch import nn

from ._cnn import as_image_batch
from ._mlp import _concat_extra

__all__ = ["TorchvisionBackbone"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _replace_last_linear(model):
    """Replace the model's last ``nn.Linear`` by ``Identity``; return its in_features."""
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    if last is None:
        raise ValueError("the torchvision model has no nn.Linear classifier layer to replace.")
    parent = model
    *path, leaf = last.split(".")
    for part in path:
        parent = getattr(parent, part)
    in_features = getattr(parent, leaf).in_features
    setattr(parent, leaf, nn.Identity())
    return in_features


class TorchvisionBackbone(nn.Module):
    """Any torchvision classification model with its classifier replaced.

    The model is built with ``torchvision.models.get_model(name, weights=...)``,
    its last linear layer is replaced by the identity (its input is the
    embedding) and a new linear head produces the outputs. Every parameter is
    trained (fine-tuning end to end).

    Parameters
    ----------
    name : str
        A name of ``torchvision.models.list_models()``, e.g. ``"resnet18"``.
    n_outputs : int
        Number of output units.
    weights : None, str, torchvision weights enum or path, default=None
        ``None`` (random initialisation), a torchvision weights enum or its
        name (``"DEFAULT"``, downloaded the torchvision way on machines that
        can), or the path of a local checkpoint (a ``state_dict`` of the full
        torchvision model, loaded before the head is replaced).
    normalize : bool, default=True
        Standardise the [0, 1] input with the ImageNet mean and std.
    dropout : float, default=0.0
        Dropout before the new head.
    n_extra : int, default=0
        Extra inputs concatenated to the embedding before the head.
    in_channels : int, default=3
        Channels expected (single-channel images are repeated to 3).

    Examples
    --------
    >>> import torch
    >>> from skfair.estimators import TorchvisionBackbone
    >>> net = TorchvisionBackbone("resnet18", n_outputs=2)
    >>> logits, emb = net(torch.rand(2, 3, 32, 32))
    >>> tuple(logits.shape), net.embedding_dim
    ((2, 2), 512)
    """

    def __init__(self, name, n_outputs, weights=None, normalize=True, dropout=0.0,
                 n_extra=0, in_channels=3):
        super().__init__()
        import torchvision

        if name not in torchvision.models.list_models():
            raise ValueError(
                f"module={name!r} is not a torchvision model name; see "
                "torchvision.models.list_models()."
            )
        checkpoint = None
        if isinstance(weights, str | os.PathLike) and os.path.exists(weights):
            checkpoint, weights = weights, None
        self.backbone = torchvision.models.get_model(name, weights=weights)
        if checkpoint is not None:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            self.backbone.load_state_dict(state)
        self.embedding_dim = _replace_last_linear(self.backbone)
        self.n_extra = int(n_extra)
        self.in_channels = int(in_channels)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(self.embedding_dim + self.n_extra, int(n_outputs))
        self.normalize = bool(normalize)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, X, extra=None):
        """Return ``(logits, embedding)`` for images ``X`` of shape (n, C, H, W)."""
        X = as_image_batch(X, self.in_channels)
        if X.shape[1] == 1:
            X = X.expand(-1, 3, -1, -1)
        if self.normalize:
            X = (X - self.mean) / self.std
        emb = self.backbone(X)
        h = _concat_extra(self.dropout(emb), extra, self.n_extra)
        return self.head(h), emb
