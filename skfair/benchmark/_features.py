"""Image features for the benchmark: a backbone trained on the training split only.

No pretrained weights can be downloaded where the benchmark usually runs, so
the default image features come from a small convolutional network trained for
the benchmark's task on the *training split only* (validation and test images
are never seen), then read at its penultimate layer. With ``weights=`` a
pretrained torchvision enum name or a local checkpoint is used instead, through
:class:`skfair.transformers.EmbeddingExtractor`, and nothing is trained.
"""

from __future__ import annotations

import numpy as np
import torch

from ..estimators._net import _as_input

__all__ = [
    "cnn_channels",
    "embed_images",
    "extract_pretrained",
    "train_backbone",
]


def cnn_channels(image_size):
    """Conv widths of the benchmark's CNN for square images of this side: up to four
    blocks (16, 32, 64, 128), fewer for tiny images so the map stays at least 2x2."""
    n_blocks = int(max(1, min(4, np.floor(np.log2(max(int(image_size), 2))) - 1)))
    return (16, 32, 64, 128)[:n_blocks]


def train_backbone(images, y, *, kind, backbone="cnn", epochs=12, batch_size=64, lr=2e-3,
                   augment=True, device="cpu", random_state=0, verbose=0):
    """Train an image network for the task on the training images.

    Parameters
    ----------
    images : ndarray of shape (n, C, H, W), float32 in [0, 1]
        Training images only.
    y : ndarray of shape (n,)
        Training targets.
    kind : {"binary", "multiclass", "regression"}
        The task.
    backbone : str, default="cnn"
        ``"cnn"`` (:class:`skfair.estimators.SmallCNN` with batch normalisation,
        embedding 128) or a torchvision model name trained
        from scratch (``weights=None``), e.g. ``"resnet18"``.
    epochs, batch_size, lr : int, int, float
        Training schedule (Adam, weight decay 1e-4).
    augment : bool, default=True
        Random flips, crops and brightness/contrast jitter
        (:class:`skfair.transformers.Augmentation`).
    device : str, default="cpu"
    random_state : int, default=0
    verbose : int, default=0
        skorch's epoch table when positive.

    Returns
    -------
    estimator : FairNetClassifier or FairNetRegressor
        The fitted network; :func:`embed_images` reads its embedding.
    """
    from skfair.estimators import FairNetClassifier, FairNetRegressor
    from skfair.transformers import Augmentation

    if backbone == "cnn":
        module, params = "cnn", {"channels": cnn_channels(images.shape[-1]),
                                 "embedding_dim": 128, "batch_norm": True}
    else:
        module, params = backbone, {"weights": None}
    common = dict(
        module=module, module_params=params, max_epochs=int(epochs), lr=lr,
        batch_size=batch_size, weight_decay=1e-4, device=device, random_state=random_state,
        verbose=verbose,
        augmentation=(Augmentation(hflip=0.5, crop_scale=(0.8, 1.0), brightness=0.2,
                                   contrast=0.2, random_state=random_state)
                      if augment else None),
    )
    if kind == "regression":
        est = FairNetRegressor(loss="l1", **common)
        target = np.asarray(y, dtype=np.float32)
    else:
        est = FairNetClassifier(**common)
        target = np.asarray(y)
    return est.fit(np.ascontiguousarray(images, dtype=np.float32), target)


def embed_images(estimator, images, *, batch_size=256):
    """Penultimate-layer embedding of a network trained by :func:`train_backbone`.

    Parameters
    ----------
    estimator : fitted FairNetClassifier or FairNetRegressor
        Its module returns ``(outputs, embedding)``.
    images : ndarray of shape (n, C, H, W)
    batch_size : int, default=256

    Returns
    -------
    features : ndarray of shape (n, embedding_dim), float32
    """
    body = estimator.net_.module_.body
    device = next(body.parameters()).device
    was_training = body.training
    body.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            # uint8 scaled to [0, 1] as in the estimator's own forward pass
            x = _as_input(torch.as_tensor(np.ascontiguousarray(images[start:start + batch_size]),
                                          device=device)).float()
            res = body(x)
            emb = res[1] if isinstance(res, tuple | list) else res
            out.append(emb.reshape(emb.shape[0], -1).float().cpu().numpy())
    body.train(was_training)
    return np.concatenate(out).astype(np.float32, copy=False)


def extract_pretrained(images_by_split, *, backbone, weights, image_size, device, random_state,
                       progress=False):
    """Embeddings from a pretrained or local checkpoint (no training).

    Parameters
    ----------
    images_by_split : dict of str -> ndarray (n, C, H, W)
    backbone : str
        torchvision model name (``"resnet18"``, ``"resnet50"``, ...).
    weights : str
        A torchvision weights name (``"DEFAULT"``, ``"IMAGENET1K_V1"``) or a
        local checkpoint path.
    image_size : int
        Network input side.
    device : str
    random_state : int
    progress : bool, default=False

    Returns
    -------
    features : dict of str -> ndarray (n, d), float32
    extractor : EmbeddingExtractor
    """
    from skfair.transformers import EmbeddingExtractor

    extractor = EmbeddingExtractor(
        backbone=backbone, weights=weights, image_size=image_size, device=device,
        progress=progress, random_state=random_state,
    )
    first = next(iter(images_by_split.values()))
    extractor.fit(first[:1])
    feats = {k: extractor.transform(v).astype(np.float32) for k, v in images_by_split.items()}
    return feats, extractor
