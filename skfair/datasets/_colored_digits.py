"""The embedded default: scikit-learn's digits, upsampled and coloured with a bias.

The "Colored MNIST" idea of Kim et al. (2019), built from the 1,797 8x8
handwritten digits that ship with scikit-learn, so it needs no download.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["COLOR_NAMES", "COLOR_PALETTE", "color_label_agreement", "make_colored_digits"]

#: Names of the palette colours, ordered so that any prefix is well separated
#: (``n_colors=2`` gives red/green, ``3`` adds blue, ...).
COLOR_NAMES = (
    "red", "green", "blue", "yellow", "magenta", "cyan", "orange", "purple", "white", "lime",
)

#: RGB values in [0, 1] of :data:`COLOR_NAMES`, shape ``(10, 3)``.
COLOR_PALETTE = np.array(
    [
        [0.95, 0.10, 0.10],  # red
        [0.10, 0.80, 0.15],  # green
        [0.15, 0.35, 1.00],  # blue
        [0.95, 0.90, 0.10],  # yellow
        [0.95, 0.15, 0.85],  # magenta
        [0.10, 0.90, 0.95],  # cyan
        [1.00, 0.55, 0.00],  # orange
        [0.55, 0.20, 0.90],  # purple
        [0.95, 0.95, 0.95],  # white
        [0.60, 1.00, 0.30],  # lime
    ],
    dtype=np.float32,
)

N_DIGIT_CLASSES = 10

DESCR_TEMPLATE = """\
.. _colored_digits_dataset:

Colored digits (biased, embedded)
---------------------------------

scikit-learn's 1,797 handwritten 8x8 digits (``sklearn.datasets.load_digits``),
upsampled bilinearly to {size}x{size}, randomly shifted by up to {shift} pixel(s),
coloured and corrupted with Gaussian pixel noise (std {noise}). The grey level
of a pixel (ink = 1, paper = 0) multiplies the sample's colour, so strokes are
coloured and the background is black; noise is added per channel and the
result is clipped to [0, 1].

Every label ``k`` has an assigned colour ``label_colors[k] = k % n_colors``
({n_colors} colours: {names}). In the training split a fraction ``bias =
{bias}`` of every label's samples carries the label's colour (an exact count,
``round(bias * n_k)``, chosen at random); the others get a colour drawn
uniformly among the remaining {n_other} colour(s). In the test split colours
are balanced within every label (each colour used as equally often as counts
allow, in random order), so colour is independent of the label and the
colour-label agreement is close to chance, ``1 / n_colors``.

The original digits are split once (stratified by label, ``test_size``) so no
source digit appears in both splits; with ``n_samples`` larger than 1,797,
source digits are reused and differ only by their random shift, colour and
noise.

Layout: ``images`` is float32 ``(n_samples, 3, H, W)`` (channels first, RGB,
values in [0, 1]), ``data`` the same memory flattened to ``(n_samples,
3 * H * W)``. The sensitive attribute is ``color`` (a categorical of colour
names).

Reference: Kim, Kim, Kim, Kim, Kim. "Learning Not to Learn: Training Deep
Neural Networks with Biased Data", CVPR 2019.
"""


def _bilinear_matrix(n_in, n_out):
    """Matrix ``M`` (n_out, n_in) so that ``M @ v`` resamples ``v`` bilinearly.

    Pixel centres are aligned as in PIL / ``align_corners=False``; edges clamp.
    """
    x = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    x = np.clip(x, 0.0, n_in - 1)
    lo = np.floor(x).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = x - lo
    M = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(M, (rows, lo), 1.0 - w)
    np.add.at(M, (rows, hi), w)
    return M


def _upsample(gray, size):
    """Bilinear resize of ``(n, h, w)`` images to ``(n, size, size)``."""
    My = _bilinear_matrix(gray.shape[1], size)
    Mx = _bilinear_matrix(gray.shape[2], size)
    return np.einsum("hi,nij,wj->nhw", My, gray, Mx, optimize=True)


def _shift(gray, max_shift, rng):
    """Shift every image by its own integer offset in ``[-max_shift, max_shift]``."""
    if max_shift == 0:
        return gray
    n, h, w = gray.shape
    padded = np.pad(gray, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy = rng.integers(0, 2 * max_shift + 1, size=n)
    dx = rng.integers(0, 2 * max_shift + 1, size=n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _draw_pool(pool, n, rng):
    """``n`` indices from ``pool``: whole random permutations, then a partial one."""
    reps = -(-n // len(pool))
    order = np.concatenate([rng.permutation(pool) for _ in range(reps)])
    return order[:n]


def _train_colors(target, label_colors, bias, n_colors, rng):
    """Assigned colour for exactly ``round(bias * n_k)`` rows of each label ``k``."""
    colors = np.empty(len(target), dtype=np.int64)
    for k in np.unique(target):
        idx = np.flatnonzero(target == k)
        n_aligned = int(round(bias * len(idx)))
        aligned = rng.permutation(len(idx)) < n_aligned
        own = label_colors[k]
        # uniform among the n_colors - 1 other colours
        other = rng.integers(0, n_colors - 1, size=len(idx))
        other = other + (other >= own)
        colors[idx] = np.where(aligned, own, other)
    return colors


def _test_colors(target, n_colors, rng):
    """Colours balanced within every label: colour independent of label."""
    colors = np.empty(len(target), dtype=np.int64)
    for k in np.unique(target):
        idx = np.flatnonzero(target == k)
        start = rng.integers(n_colors)  # which colours get the remainder
        balanced = (start + np.arange(len(idx))) % n_colors
        colors[idx] = rng.permutation(balanced)
    return colors


def _render(gray, colors, noise, rng):
    """Colour grey images ``(n, H, W)`` with palette rows ``colors``: ``(n, 3, H, W)``."""
    rgb = COLOR_PALETTE[colors][:, :, None, None] * gray[:, None, :, :].astype(np.float32)
    if noise > 0:
        rgb += rng.normal(0.0, noise, size=rgb.shape).astype(np.float32)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    return rgb


def color_label_agreement(target, color, label_colors):
    """Fraction of samples whose colour is the colour assigned to their label.

    Parameters
    ----------
    target : array-like of shape (n_samples,)
        Integer labels.
    color : array-like of shape (n_samples,)
        Colour of every sample, as palette indices or as names (strings or a
        categorical, matched against the values of ``label_colors``).
    label_colors : mapping or array-like
        Colour assigned to each label: ``label_colors[k]`` is label ``k``'s
        colour (an index or a name, same kind as ``color``).

    Returns
    -------
    agreement : float
        In [0, 1]. ``bias`` in a biased training split, about
        ``1 / n_colors`` when colour is independent of the label.

    Raises
    ------
    ValueError
        When ``target`` and ``color`` differ in length or are empty, or a
        label has no entry in ``label_colors``.

    Examples
    --------
    >>> from skfair.datasets import color_label_agreement
    >>> color_label_agreement([0, 1, 1, 0], ["red", "green", "red", "red"],
    ...                       {0: "red", 1: "green"})
    0.75
    """
    target = np.asarray(target)
    color = np.asarray(color, dtype=object)
    if target.ndim != 1 or target.shape != color.shape:
        raise ValueError(
            f"target and color must be 1-D of the same length, got shapes "
            f"{target.shape} and {color.shape}."
        )
    if target.size == 0:
        raise ValueError("target and color are empty; agreement is undefined.")
    if not hasattr(label_colors, "keys"):
        label_colors = dict(enumerate(np.asarray(label_colors, dtype=object).tolist()))
    try:
        expected = np.array([label_colors[k] for k in target.tolist()], dtype=object)
    except (KeyError, IndexError) as exc:
        raise ValueError(f"label_colors has no colour for label {exc.args[0]!r}.") from None
    return float(np.mean(expected == color))


def _split_bunch(images, target, colors, aligned, source, *, names, label_colors, descr,
                 split, bias):
    n = len(target)
    color = pd.Categorical.from_codes(colors, categories=list(names))
    sensitive = pd.DataFrame({"color": color})
    frame = pd.DataFrame(
        {
            "target": target,
            "color": color,
            "aligned": aligned,
            "source_index": source,
        }
    )
    return Bunch(
        images=images,
        data=images.reshape(n, -1),
        target=target,
        sensitive=sensitive,
        frame=frame,
        target_names=np.arange(N_DIGIT_CLASSES),
        color_names=list(names),
        palette=COLOR_PALETTE[: len(names)].copy(),
        label_colors=dict(enumerate(names[c] for c in label_colors)),
        split=split,
        bias=bias if split == "train" else None,
        DESCR=descr,
    )


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left"), None],
        "bias": [Interval(Real, 0, 1, closed="both")],
        "n_colors": [Interval(Integral, 2, len(COLOR_NAMES), closed="both")],
        "image_size": [Interval(Integral, 8, None, closed="left")],
        "split": [StrOptions({"train", "test", "both"})],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "max_shift": [Interval(Integral, 0, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_colored_digits(
    *,
    n_samples=None,
    bias=0.9,
    n_colors=10,
    image_size=28,
    split="train",
    test_size=0.3,
    noise=0.15,
    max_shift=None,
    random_state=None,
):
    """Biased coloured digits: colour predicts the label in train, not in test.

    scikit-learn's 8x8 digits are upsampled (bilinear) to ``image_size``,
    shifted at random, and their strokes coloured (black background) with
    Gaussian pixel noise. Each label ``k`` has the assigned colour
    ``k % n_colors``; in the training split exactly ``round(bias * n_k)`` of
    label ``k``'s samples carry it and the rest a uniformly drawn other
    colour; in the test split colours are balanced within every label, so
    colour and label are independent. ``color`` is the sensitive attribute.
    The full description is in the returned ``DESCR``.

    Parameters
    ----------
    n_samples : int, optional
        Total number of images over train and test. ``None`` uses every
        source digit exactly once (1,797). Larger values reuse source digits
        with fresh shifts, colours and noise (deterministic augmentation).
    bias : float in [0, 1], default=0.9
        Fraction of training samples whose colour is their label's colour.
        ``1 / n_colors`` gives an unbiased training set.
    n_colors : int in [2, 10], default=10
        Number of colours; labels share colours when it is below 10
        (``label_colors[k] = k % n_colors``).
    image_size : int >= 8, default=28
        Height and width of the images.
    split : {"train", "test", "both"}, default="train"
        Which split to return. Both splits are always generated from the same
        random draws, so ``split="train"`` returns the ``train`` part of
        ``split="both"`` for the same ``random_state``.
    test_size : float in (0, 1), default=0.3
        Fraction of source digits (and of ``n_samples``) in the test split.
    noise : float >= 0, default=0.15
        Standard deviation of the Gaussian noise added to every channel
        before clipping to [0, 1].
    max_shift : int, optional
        Largest random translation in pixels (per axis, zero fill). ``None``
        means ``image_size // 8`` (one source pixel).
    random_state : int, RandomState instance or None, default=None
        Seed for the split, shifts, colours and noise.

    Returns
    -------
    dataset : Bunch
        For ``split="train"`` or ``"test"``:

        images : ndarray of shape (n, 3, image_size, image_size), float32
            RGB images, channels first, values in [0, 1].
        data : ndarray of shape (n, 3 * image_size ** 2), float32
            ``images`` flattened (a view of the same memory).
        target : ndarray of shape (n,), int64
            The digit, 0-9.
        sensitive : DataFrame
            One column ``color``: categorical colour names.
        frame : DataFrame
            Columns ``target``, ``color``, ``aligned`` (colour equals the
            label's colour) and ``source_index`` (row of ``load_digits``).
        target_names, color_names, palette, label_colors :
            Labels 0-9, the ``n_colors`` colour names, their RGB values
            ``(n_colors, 3)`` and the mapping label -> assigned colour name.
        split, bias, DESCR :
            The split name, the training bias (``None`` for test) and the
            description.

        For ``split="both"``: a Bunch with ``train`` and ``test`` (Bunches as
        above) plus ``color_names``, ``palette``, ``label_colors`` and
        ``DESCR``.

    See Also
    --------
    color_label_agreement : the agreement of colour and label.
    dataset_summary : group sizes, label distribution and agreement.

    Examples
    --------
    >>> from skfair.datasets import make_colored_digits, color_label_agreement
    >>> ds = make_colored_digits(bias=0.95, image_size=16, split="both", random_state=0)
    >>> ds.train.images.shape, ds.train.images.dtype
    ((1257, 3, 16, 16), dtype('float32'))
    >>> ds.test.images.shape
    (540, 3, 16, 16)
    >>> round(color_label_agreement(ds.train.target, ds.train.sensitive["color"],
    ...                             ds.label_colors), 2)
    0.95
    >>> round(color_label_agreement(ds.test.target, ds.test.sensitive["color"],
    ...                             ds.label_colors), 2)
    0.1
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    if max_shift is None:
        max_shift = image_size // 8
    names = COLOR_NAMES[:n_colors]
    label_colors = np.arange(N_DIGIT_CLASSES) % n_colors

    digits = load_digits()
    gray_src = digits.images / 16.0
    all_target = digits.target.astype(np.int64)
    pool_train, pool_test = train_test_split(
        np.arange(len(all_target)),
        test_size=test_size,
        stratify=all_target,
        random_state=int(rng.integers(2**31 - 1)),
    )
    if n_samples is None:
        n_train, n_test = len(pool_train), len(pool_test)
    else:
        n_test = min(max(int(round(test_size * n_samples)), 1), n_samples - 1)
        n_train = n_samples - n_test

    descr = DESCR_TEMPLATE.format(
        size=image_size, shift=max_shift, noise=noise, n_colors=n_colors,
        names=", ".join(names), bias=bias, n_other=n_colors - 1,
    )
    parts = {}
    for part, pool, n in (("train", pool_train, n_train), ("test", pool_test, n_test)):
        source = _draw_pool(np.sort(pool), n, rng)
        target = all_target[source]
        if part == "train":
            colors = _train_colors(target, label_colors, bias, n_colors, rng)
        else:
            colors = _test_colors(target, n_colors, rng)
        gray = _shift(_upsample(gray_src[source], image_size), max_shift, rng)
        images = _render(np.clip(gray, 0.0, 1.0), colors, noise, rng)
        aligned = colors == label_colors[target]
        parts[part] = _split_bunch(
            images, target, colors, aligned, source, names=names,
            label_colors=label_colors, descr=descr, split=part, bias=bias,
        )
    if split != "both":
        return parts[split]
    return Bunch(
        train=parts["train"],
        test=parts["test"],
        color_names=list(names),
        palette=COLOR_PALETTE[:n_colors].copy(),
        label_colors=parts["train"].label_colors,
        bias=bias,
        DESCR=descr,
    )
