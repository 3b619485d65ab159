"""Data augmentation for the image networks: flips, crops, colour/lighting jitter,
inversion -- a grid-searchable parameter object applied per batch on the device."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

__all__ = ["Augmentation"]

# torchvision's luma weights (rgb_to_grayscale)
_LUMA = (0.2989, 0.587, 0.114)


def _gray(x):
    r, g, b = x.unbind(dim=1)
    return (r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2]).unsqueeze(1)


def _rgb_to_hsv(x):
    """(B, 3, H, W) in [0, 1] -> h, s, v each (B, H, W); torchvision's algorithm."""
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    eqc = maxc == minc
    crange = maxc - minc
    ones = torch.ones_like(maxc)
    s = crange / torch.where(eqc, ones, maxc)
    div = torch.where(eqc, ones, crange)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    is_b = ~is_r & ~is_g
    h = is_r * (bc - gc) + is_g * (2.0 + rc - bc) + is_b * (4.0 + gc - rc)
    h = torch.fmod(h / 6.0 + 1.0, 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    h6 = h * 6
    i = torch.floor(h6)
    f = h6 - i
    i = i.to(torch.int64).remainder(6)
    p = ((1.0 - s) * v).clamp(0.0, 1.0)
    q = ((1.0 - s * f) * v).clamp(0.0, 1.0)
    t = ((1.0 - s * (1.0 - f)) * v).clamp(0.0, 1.0)
    vpqt = torch.stack((v, p, q, t), dim=1)  # (B, 4, H, W)
    table = torch.tensor(
        [[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]], device=h.device
    )
    select = table[:, i].moveaxis(0, 1)  # (B, 3, H, W)
    return vpqt.gather(1, select)


def _factor_range(name, value):
    """ColorJitter convention: ``b`` -> ``[max(0, 1 - b), 1 + b]``; or ``(lo, hi)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not (0 <= value[0] <= value[1]):
            raise ValueError(
                f"{name} must be a float >= 0 or (min, max) with 0 <= min <= max; got {value!r}."
            )
        return float(value[0]), float(value[1])
    if not isinstance(value, Real) or value < 0:
        raise ValueError(f"{name} must be a float >= 0 or a (min, max) pair; got {value!r}.")
    return max(0.0, 1.0 - float(value)), 1.0 + float(value)


def _hue_range(value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not (-0.5 <= value[0] <= value[1] <= 0.5):
            raise ValueError(
                f"hue must be in [0, 0.5] or (min, max) within [-0.5, 0.5]; got {value!r}."
            )
        return float(value[0]), float(value[1])
    if not isinstance(value, Real) or not 0 <= value <= 0.5:
        raise ValueError(f"hue must be in [0, 0.5] or a (min, max) pair; got {value!r}.")
    return -float(value), float(value)


def _pair(name, value, low, high, *, allow_none=False):
    if value is None and allow_none:
        return None
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Real) for v in value)
        and low < value[0] <= value[1] <= high
    )
    if not ok:
        raise ValueError(
            f"{name} must be a (min, max) pair with {low} < min <= max <= {high}"
            f"{' or None' if allow_none else ''}; got {value!r}."
        )
    return float(value[0]), float(value[1])


class Augmentation(BaseEstimator):
    """Random flips, crops, colour/lighting jitter and inversion for image batches.

    A parameter object: its parameters grid-search like an estimator's
    (``augmentation__brightness``), and calling it on a ``(B, C, H, W)`` float
    batch in ``[0, 1]`` returns an augmented batch on the same device, each
    image with its own random parameters (vectorised: no Python loop over the
    images). Apply it before normalisation, in a network's training step.
    :meth:`build` returns the same augmentation as torchvision v2 transforms
    for per-image pipelines (``Dataset`` / ``DataLoader``).

    Parameters
    ----------
    hflip : float in [0, 1], default=0.5
        Probability of a horizontal flip.
    crop_scale : (float, float) or None, default=(0.8, 1.0)
        Random resized crop: fraction of the image area kept, resized back to
        the input size (torchvision's ``RandomResizedCrop`` sampling, bilinear).
        ``None`` disables cropping.
    crop_ratio : (float, float), default=(3/4, 4/3)
        Range of the crop's aspect ratio.
    brightness, contrast, saturation : float or (float, float), default=0.2, 0.2, 0.0
        Jitter strength as in ``ColorJitter``: ``b`` draws a factor in
        ``[max(0, 1 - b), 1 + b]``; a pair gives the range. 0 disables.
    hue : float in [0, 0.5] or (float, float), default=0.0
        Hue shift drawn in ``[-hue, hue]`` (or the given range).
    invert : float in [0, 1], default=0.0
        Probability of inverting an image (``1 - x``; Venkatesh et al.'s
        "Frowning upon Bias" used 0.5).
    random_state : int, RandomState instance or None, default=None
        Seeds a ``torch.Generator`` per device, so a sequence of calls is
        reproducible; ``None`` uses torch's global generator.

    See Also
    --------
    PixelInverter : deterministic or train-only inversion as a transformer.

    Notes
    -----
    Operations run in this order: crop, flip, brightness, contrast,
    saturation, hue, inversion (torchvision's ``ColorJitter`` shuffles the four
    jitters; a fixed order keeps a batch reproducible). Each jitter is the
    formula of torchvision's functional kernel with a per-image factor, e.g.
    contrast blends an image with the mean of its grayscale version. Crops are
    sampled like ``RandomResizedCrop`` (10 tries, then the central crop) but
    with sub-pixel boxes, and resampled with ``torchvision.ops.roi_align``.
    Grayscale batches (``C = 1``) skip saturation and hue.

    Examples
    --------
    >>> import torch
    >>> from skfair.transformers import Augmentation
    >>> aug = Augmentation(hflip=1.0, crop_scale=None, brightness=0, contrast=0,
    ...                    random_state=0)
    >>> x = torch.rand(4, 3, 8, 8)
    >>> torch.equal(aug(x), x.flip(-1))
    True
    >>> aug.set_params(brightness=0.3).build()
    Compose(
          RandomHorizontalFlip(p=1.0)
          ColorJitter(brightness=(0.7, 1.3))
    )
    """

    _parameter_constraints: dict = {
        "hflip": [Interval(Real, 0, 1, closed="both")],
        "crop_scale": [tuple, list, None],
        "crop_ratio": [tuple, list],
        "brightness": [Interval(Real, 0, None, closed="left"), tuple, list],
        "contrast": [Interval(Real, 0, None, closed="left"), tuple, list],
        "saturation": [Interval(Real, 0, None, closed="left"), tuple, list],
        "hue": [Interval(Real, 0, 0.5, closed="both"), tuple, list],
        "invert": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        hflip=0.5,
        crop_scale=(0.8, 1.0),
        crop_ratio=(3 / 4, 4 / 3),
        brightness=0.2,
        contrast=0.2,
        saturation=0.0,
        hue=0.0,
        invert=0.0,
        random_state=None,
    ):
        self.hflip = hflip
        self.crop_scale = crop_scale
        self.crop_ratio = crop_ratio
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.invert = invert
        self.random_state = random_state

    def _ranges(self):
        self._validate_params()
        return {
            "crop_scale": _pair("crop_scale", self.crop_scale, 0.0, 1.0, allow_none=True),
            "crop_ratio": _pair("crop_ratio", self.crop_ratio, 0.0, math.inf),
            "brightness": _factor_range("brightness", self.brightness),
            "contrast": _factor_range("contrast", self.contrast),
            "saturation": _factor_range("saturation", self.saturation),
            "hue": _hue_range(self.hue),
        }

    def build(self, size=None):
        """The same augmentation as a torchvision v2 ``Compose`` for single images.

        Parameters
        ----------
        size : int or (int, int), optional
            Output size of the random resized crop (required when
            ``crop_scale`` is set).

        Returns
        -------
        transform : torchvision.transforms.v2.Compose
            Uses torch's global random generator (``random_state`` is not applied).
        """
        from torchvision.transforms import v2  # imports torch._dynamo: only when used

        r = self._ranges()
        steps = []
        if r["crop_scale"] is not None:
            if size is None:
                raise ValueError(
                    "build(size=...) needs the crop's output size when crop_scale is set."
                )
            steps.append(
                v2.RandomResizedCrop(
                    size, scale=r["crop_scale"], ratio=r["crop_ratio"], antialias=True
                )
            )
        if self.hflip > 0:
            steps.append(v2.RandomHorizontalFlip(p=self.hflip))
        jitter = {
            name: r[name]
            for name, neutral in [
                ("brightness", (1.0, 1.0)),
                ("contrast", (1.0, 1.0)),
                ("saturation", (1.0, 1.0)),
                ("hue", (0.0, 0.0)),
            ]
            if r[name] != neutral
        }
        if jitter:
            steps.append(v2.ColorJitter(**jitter))
        if self.invert > 0:
            steps.append(v2.RandomInvert(p=self.invert))
        return v2.Compose(steps or [v2.Identity()])

    def _generator(self, device):
        if self.random_state is None:
            return None
        gens = self.__dict__.setdefault("_generators", {})
        key = (str(device), repr(self.random_state))
        if key not in gens:
            if isinstance(self.random_state, Integral):
                seed = int(self.random_state)
            else:
                seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            gens[key] = torch.Generator(device=device).manual_seed(seed)
        return gens[key]

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: pickling leaves this object as it is
        state.pop("_generators", None)
        return state

    def __call__(self, images):
        """Augment a batch.

        Parameters
        ----------
        images : torch.Tensor of float, shape (B, C, H, W) or (C, H, W)
            Values in ``[0, 1]``, on any device.

        Returns
        -------
        augmented : torch.Tensor
            Same shape, dtype and device.
        """
        r = self._ranges()
        if not isinstance(images, torch.Tensor) or not images.is_floating_point():
            raise TypeError(
                "Augmentation expects a float torch.Tensor (B, C, H, W) in [0, 1]; got "
                f"{getattr(images, 'dtype', type(images).__name__)}. Convert uint8 with "
                "x.float() / 255."
            )
        single = images.ndim == 3
        x = images.unsqueeze(0) if single else images
        if x.ndim != 4:
            raise ValueError(
                f"Augmentation expects (B, C, H, W) images; got shape {tuple(images.shape)}."
            )
        n, c = x.shape[:2]
        color = [
            k for k in ("saturation", "hue") if r[k] != ((0.0, 0.0) if k == "hue" else (1.0, 1.0))
        ]
        if color and c not in (1, 3):
            raise ValueError(f"saturation/hue jitter needs 1 or 3 channels; got {c}.")
        if n == 0:
            return images
        gen = self._generator(x.device)

        def uniform(lo, hi):
            u = torch.rand(n, generator=gen, device=x.device, dtype=torch.float32)
            return (lo + (hi - lo) * u).to(x.dtype)

        with torch.no_grad():
            if r["crop_scale"] is not None:
                x = self._crop(x, r["crop_scale"], r["crop_ratio"], gen)
            if self.hflip > 0:
                flip = uniform(0.0, 1.0) < self.hflip
                x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
            if r["brightness"] != (1.0, 1.0):
                f = uniform(*r["brightness"]).view(n, 1, 1, 1)
                x = (x * f).clamp(0, 1)
            if r["contrast"] != (1.0, 1.0):
                f = uniform(*r["contrast"]).view(n, 1, 1, 1)
                gray = _gray(x) if c == 3 else x
                mean = gray.mean(dim=(1, 2, 3), keepdim=True)
                x = (x * f + mean * (1 - f)).clamp(0, 1)
            if r["saturation"] != (1.0, 1.0) and c == 3:
                f = uniform(*r["saturation"]).view(n, 1, 1, 1)
                x = (x * f + _gray(x) * (1 - f)).clamp(0, 1)
            if r["hue"] != (0.0, 0.0) and c == 3:
                shift = uniform(*r["hue"]).float().view(n, 1, 1)
                h, s, v = _rgb_to_hsv(x.float())
                x = _hsv_to_rgb(torch.remainder(h + shift, 1.0), s, v).to(x.dtype)
            if self.invert > 0:
                inv = uniform(0.0, 1.0) < self.invert
                x = torch.where(inv.view(n, 1, 1, 1), 1 - x, x)
        return x[0] if single else x

    @staticmethod
    def _crop(x, scale, ratio, gen, tries=10):
        """Per-image random resized crop (RandomResizedCrop's sampling)."""
        n, _, height, width = x.shape
        dev = x.device
        area = float(height * width)
        rand = torch.rand(3, n, tries, generator=gen, device=dev, dtype=torch.float32)
        target = area * (scale[0] + (scale[1] - scale[0]) * rand[0])
        log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
        aspect = torch.exp(log_lo + (log_hi - log_lo) * rand[1])
        w = torch.sqrt(target * aspect)
        h = torch.sqrt(target / aspect)
        valid = (w <= width) & (h <= height)
        first = valid.to(torch.uint8).argmax(dim=1, keepdim=True)
        w = w.gather(1, first)[:, 0]
        h = h.gather(1, first)[:, 0]
        # fallback (no valid try): the central crop with the ratio clamped
        in_ratio = width / height
        if in_ratio < ratio[0]:
            fw, fh = width, width / ratio[0]
        elif in_ratio > ratio[1]:
            fw, fh = height * ratio[1], height
        else:
            fw, fh = width, height
        ok = valid.any(dim=1)
        w = torch.where(ok, w, torch.full_like(w, fw))
        h = torch.where(ok, h, torch.full_like(h, fh))
        offsets = torch.rand(2, n, generator=gen, device=dev, dtype=torch.float32)
        x0 = torch.where(ok, offsets[0] * (width - w), (width - w) / 2)
        y0 = torch.where(ok, offsets[1] * (height - h), (height - h) / 2)
        idx = torch.arange(n, device=dev, dtype=torch.float32)
        boxes = torch.stack([idx, x0, y0, x0 + w, y0 + h], dim=1)
        from torchvision.ops import roi_align  # imports torch._dynamo: only when used

        out = roi_align(
            x.float(),
            boxes,
            output_size=(height, width),
            spatial_scale=1.0,
            sampling_ratio=-1,
            aligned=True,
        )
        return out.to(x.dtype)
