"""A small convolutional network for images trained from scratch."""

from __future__ import annotations

from torch import nn

from ._mlp import _concat_extra

__all__ = ["SmallCNN", "as_image_batch"]


def as_image_batch(X, in_channels=None):
    """Return a float ``(n, C, H, W)`` batch: uint8 is scaled to [0, 1],
    ``(n, H, W)`` gets a channel axis, channels-last input is moved first."""
    if X.ndim == 3:
        X = X.unsqueeze(1)
    if X.ndim != 4:
        raise ValueError(
            f"image networks expect inputs of shape (n, C, H, W), got {tuple(X.shape)}."
        )
    if in_channels is not None and X.shape[1] != in_channels and X.shape[-1] == in_channels:
        X = X.permute(0, 3, 1, 2)
    if X.dtype.is_floating_point:
        return X
    return X.float().div_(255.0)


class SmallCNN(nn.Module):
    """A few conv-ReLU-max-pool blocks, global average pooling and a head.

    Returns ``(logits, embedding)`` where the embedding is the hidden layer
    before the head. Attribute-aware estimators concatenate their extra inputs
    (one-hot sensitive attributes) to the embedding before the head, as in
    Xu et al. (2020).

    Parameters
    ----------
    in_channels : int
        Channels of the input images (``(n, C, H, W)``; ``uint8`` images are
        scaled to [0, 1]).
    n_outputs : int
        Number of output units.
    channels : tuple of int, default=(16, 32)
        Output channels of each conv block (3x3 convolution, ReLU, 2x2 max
        pooling; the last block is followed by global average pooling).
    embedding_dim : int, default=64
        Width of the hidden layer before the head.
    dropout : float, default=0.0
        Dropout before the head.
    n_extra : int, default=0
        Extra inputs concatenated to the embedding.
    batch_norm : bool, default=False
        Batch normalisation after each convolution (conv-BN-ReLU-pool); it
        makes a from-scratch network on small faces converge in about a dozen
        epochs (the benchmark's image backbone uses it).

    Examples
    --------
    >>> import torch
    >>> from skfair.estimators import SmallCNN
    >>> logits, emb = SmallCNN(3, 10, channels=(4,), embedding_dim=8)(torch.rand(2, 3, 16, 16))
    >>> tuple(logits.shape), tuple(emb.shape)
    ((2, 10), (2, 8))
    """

    def __init__(self, in_channels, n_outputs, channels=(16, 32), embedding_dim=64,
                 dropout=0.0, n_extra=0, batch_norm=False):
        super().__init__()
        self.in_channels = int(in_channels)
        self.n_extra = int(n_extra)
        blocks, width = [], self.in_channels
        for c in channels:
            blocks.append(nn.Conv2d(width, int(c), 3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(int(c)))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            width = int(c)
        blocks += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*blocks)
        self.embed = nn.Sequential(nn.Linear(width, int(embedding_dim)), nn.ReLU())
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(int(embedding_dim) + self.n_extra, int(n_outputs))
        self.embedding_dim = int(embedding_dim)

    def forward(self, X, extra=None):
        """Return ``(logits, embedding)`` for images ``X`` of shape (n, C, H, W)."""
        emb = self.embed(self.features(as_image_batch(X, self.in_channels)))
        h = _concat_extra(self.dropout(emb), extra, self.n_extra)
        return self.head(h), emb
