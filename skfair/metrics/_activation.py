"""Activation-level bias detection (InsideBias, Serna et al.)."""

from __future__ import annotations

import numpy as np

from ._base import _encode, _group_labels, _to_numpy

__all__ = ["activation_ratio"]

_REDUCE = ("mean", "channel_max")


def activation_ratio(activations, *, sensitive_features, reduce="mean"):
    """Mean activation of a layer per group and its ratio to the highest group.

    InsideBias (Serna et al.) detects a biased network from how strongly one
    of its layers fires for each demographic group: the group activation
    ``lambda_g`` is the mean over the group's samples of the layer's activation
    summary, and ``Lambda_g = lambda_g / max_h lambda_h``. A group far below 1
    is represented more weakly by the layer, a sign of bias (Morales's lecture
    "Responsible AI: Understanding Bias in ML" shows 2.53 / 2.82 = 0.90), even
    from a handful of samples.

    Parameters
    ----------
    activations : array-like or torch.Tensor of shape (n_samples, ...)
        Activations of one layer for each sample (e.g. ``(n, C, H, W)`` after
        a ReLU, or ``(n, d)`` embeddings). Must be finite and, since ratios
        compare magnitudes, non-negative on average per group.
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per sample; several columns mean intersectional groups.
    reduce : {"mean", "channel_max"}, default="mean"
        Per-sample summary: ``"mean"`` averages every unit of the layer;
        ``"channel_max"`` takes each channel's maximum over its spatial
        positions (axis 1 is the channel axis) and averages over channels, the
        filter-peak summary of InsideBias. Both coincide for ``(n, d)`` input.

    Returns
    -------
    per_group : pandas.DataFrame
        Group attributes, ``n``, ``activation`` (``lambda_g``) and ``ratio``
        (``Lambda_g``, 1 for the most activated group). ``per_group["ratio"].min()``
        is a one-number summary.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.metrics import activation_ratio
    >>> acts = np.array([[2.0, 4.0], [3.0, 3.0], [1.0, 2.0], [2.0, 1.0]])
    >>> activation_ratio(acts, sensitive_features=["a", "a", "b", "b"])
      sensitive_feature_0  n  activation  ratio
    0                   a  2         3.0    1.0
    1                   b  2         1.5    0.5
    """
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be one of {_REDUCE}, got {reduce!r}.")
    acts = _to_numpy(activations)
    if acts.dtype.kind not in "biuf":
        raise ValueError(f"activations must be numeric, got dtype {acts.dtype}.")
    acts = acts.astype(np.float64, copy=False)
    if acts.ndim == 0 or acts.shape[0] == 0:
        raise ValueError("activations must have one entry (row) per sample.")
    if not np.isfinite(acts).all():
        raise ValueError("activations contain NaN or infinity.")
    n = acts.shape[0]
    flat = acts.reshape(n, -1) if acts.ndim > 1 else acts[:, None]
    if reduce == "channel_max" and acts.ndim > 2:
        summary = acts.reshape(n, acts.shape[1], -1).max(axis=2).mean(axis=1)
    else:
        summary = flat.mean(axis=1)
    enc = _encode(sensitive_features, n, metric="activation_ratio")
    lam = np.bincount(enc.codes, weights=summary, minlength=enc.n_groups) / enc.counts
    if (lam < 0).any():
        bad = _group_labels(enc, np.flatnonzero(lam < 0))
        raise ValueError(
            f"activation_ratio: groups {bad} have a negative mean activation; the ratio "
            "to the highest group needs non-negative activations (e.g. after a ReLU)."
        )
    top = lam.max()
    if top <= 0:
        raise ValueError("activation_ratio: every group's mean activation is 0.")
    frame = enc.groups.reset_index(drop=True).copy()
    frame["n"] = enc.counts.astype(np.int64)
    frame["activation"] = lam
    frame["ratio"] = lam / top
    return frame
