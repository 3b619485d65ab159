"""Image inputs for the transformers: decoding files, coercing arrays, batching.

Everything that turns "images" (arrays, file paths, the path column of a skfair
dataset ``Bunch``) into batches of ``(B, C, H, W)`` tensors lives here, so that
:class:`~skfair.transformers.EmbeddingExtractor` and :func:`read_images` share one
decoding and resizing path: an image gives the same pixels whether it arrives as
an array or as a (losslessly stored) file.
"""

import os
import queue
import threading
import warnings
from dataclasses import dataclass
from numbers import Integral

import joblib
import numpy as np
import torch
from PIL import Image

__all__ = ["read_images"]

#: ImageNet channel statistics (the normalisation of every torchvision classifier).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_ON_ERROR = ("raise", "skip", "nan")


@dataclass(frozen=True)
class Preprocessing:
    """How images are resized and normalised before the network.

    An image is resized so that its shorter side is ``resize_size`` (keeping
    the aspect ratio, antialiased), center-cropped to ``crop_size`` x
    ``crop_size``, scaled to ``[0, 1]`` and normalised with ``mean``/``std``.
    When ``resize_size == crop_size`` and the image is already square at that
    size, the pixels are left untouched.
    """

    crop_size: int
    resize_size: int
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    interpolation: str = "bilinear"


def resize_crop(images, prep):
    """Resize (shorter side) and center-crop a ``(..., C, H, W)`` tensor.

    The same call is used for array batches and for decoded files (one image
    at a time, as a batch of one), which is what makes both give identical
    pixels.
    """
    h, w = images.shape[-2:]
    if h == w == prep.crop_size and prep.resize_size == prep.crop_size:
        return images
    # torchvision imports torch._dynamo (seconds): only when an image is resized
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    if min(h, w) != prep.resize_size:
        images = TF.resize(
            images,
            [prep.resize_size],
            interpolation=InterpolationMode(prep.interpolation),
            antialias=True,
        )
    if images.shape[-2:] != (prep.crop_size, prep.crop_size):
        images = TF.center_crop(images, [prep.crop_size, prep.crop_size])
    return images


def read_image_file(path):
    """Decode one image file to a ``uint8`` ``(H, W, 3)`` RGB array.

    Grayscale (``L``, 16-bit ``I;16``) images are replicated to three channels,
    palette images are expanded, and the alpha channel of ``RGBA``/``LA``
    images is dropped (the colour values are kept as stored, as
    ``PIL.Image.convert("RGB")`` and torchvision's ``ImageFolder`` do).
    """
    with Image.open(path) as im:
        if im.mode.startswith("I;16"):
            gray = np.asarray(im, dtype=np.float64) / 257.0
            gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
            return np.repeat(gray[:, :, None], 3, axis=2)
        return np.array(im.convert("RGB"), dtype=np.uint8)


class _PathDataset(torch.utils.data.Dataset):
    """Decodes and resizes one file per item; failures are returned, not raised,
    so that the main process can name the file (or skip it) cleanly."""

    def __init__(self, paths, prep):
        self.paths = paths
        self.prep = prep

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        try:
            arr = read_image_file(self.paths[i])
            img = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
            img = resize_crop(img, self.prep)[0]
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            return i, None, f"{type(exc).__name__}: {exc}"
        return i, img, None


def _collate(items):
    ok = [(i, img) for i, img, _ in items if img is not None]
    errors = [(i, msg) for i, img, msg in items if img is None]
    index = np.asarray([i for i, _ in ok], dtype=np.intp)
    batch = torch.stack([img for _, img in ok]) if ok else None
    return index, batch, errors


class ImageInput:
    """Validated images: a uint8 ``(n, H, W, C)`` array, a float ``(n, C, H, W)``
    array in ``[0, 1]``, or a 1-D array of file paths.

    ``check_range``: a float array whose value range is still to be checked;
    :meth:`batches` checks each batch as it slices it (see :func:`as_image_input`),
    unless its caller checks the batches itself (``check_range=False``).
    """

    def __init__(self, kind, data, *, check_range=False):
        self.kind = kind  # "uint8" | "float" | "paths"
        self.data = data
        self.check_range = bool(check_range)

    def __len__(self):
        return len(self.data)

    def fingerprint(self):
        """A hashable summary of the content (cache key): array bytes, or for
        files their path, size and modification time."""
        if self.kind != "paths":
            return ("array", self.kind, joblib.hash(self.data))
        stats = []
        for p in self.data:
            try:
                st = os.stat(p)
                stats.append((p, st.st_size, st.st_mtime_ns))
            except OSError:
                stats.append((p, None, None))
        return ("paths", joblib.hash(stats))

    def batches(self, batch_size, prep, *, num_workers=0, pin_memory=False, check_range=True):
        """Yield ``(row_index, tensor (B, C, H, W) or None, errors)``.

        ``row_index`` gives the input rows of the tensor's images; ``errors``
        lists ``(row, message)`` for files that could not be read. Arrays are
        sliced, files are decoded by ``num_workers`` processes (or in a
        background thread when ``num_workers=0``). A float array still to be
        range-checked is checked batch by batch, in that thread. With
        ``pin_memory`` (a CUDA device) an array batch keeps the array's memory
        layout: the pinned copy and the device copy keep it, and a channels-last
        array reaches the GPU in the layout the network runs in, with no copy to
        C order on the host and none back on the device. Without it (the CPU)
        a float batch is copied to C order here, off the network's thread.
        ``check_range=False`` leaves the range check of a float array that needs
        one (``self.check_range``) to the caller, e.g. on the device, where it
        costs a fraction of the host's reductions (see
        :func:`check_float_bounds`).
        """
        if self.kind == "paths":
            loader = torch.utils.data.DataLoader(
                _PathDataset(self.data, prep),
                batch_size=batch_size,
                shuffle=False,
                num_workers=num_workers,
                collate_fn=_collate,
                pin_memory=pin_memory,
            )
            if num_workers > 0:
                yield from loader
            else:
                yield from _prefetch(loader)
            return
        yield from _prefetch(
            self._array_batches(batch_size, prep, pin_memory, check_range=check_range)
        )

    def _array_batches(self, batch_size, prep, pin_memory, *, check_range=True):
        X = self.data
        for start in range(0, len(X), batch_size):
            stop = min(start + batch_size, len(X))
            xb = X[start:stop]
            if self.kind == "uint8":
                # same memory layout as a decoded file: (H, W, 3) rows, permuted
                if xb.shape[-1] == 1:
                    xb = np.repeat(xb, 3, axis=-1)
                xb = torch.from_numpy(_writable(xb[..., :3])).permute(0, 3, 1, 2)
            else:
                xb = xb[:, :3]  # alpha dropped (a view)
                if self.check_range and check_range:
                    _check_float_range(xb, batch_label(start, stop))
                if not pin_memory:  # the CPU network takes C order: copy here, in this thread
                    xb = np.ascontiguousarray(xb)
                xb = torch.from_numpy(_writable(xb))
                if xb.shape[1] == 1:
                    xb = xb.expand(-1, 3, -1, -1)
            xb = resize_crop(xb, prep)
            if pin_memory:
                xb = xb.pin_memory()
            yield np.arange(start, stop), xb, []


def _writable(a):
    """An array ``torch.from_numpy`` wraps as it is: a view of ``a`` itself, whatever
    its strides (a channels-last float array stays channels-last: the pinned copy
    and the device keep that layout, and the network takes it as it is). A copy,
    in C order, only of a read-only, misaligned or negatively strided array."""
    if a.flags.writeable and a.flags.aligned and all(st >= 0 for st in a.strides):
        return a
    return np.array(a, order="C")


def batch_label(start, stop):
    """How an error names the input rows ``start:stop`` of a batch."""
    return f"X[{start}:{stop}]"


def _check_float_range(x, what):
    """``ValueError`` unless every value of the float array ``x`` is in ``[0, 1]``
    (NaN fails). NumPy's reductions take any strides at full speed (torch's
    ``aminmax`` is five times slower on a channels-last array on one core)."""
    check_float_bounds(float(x.min()), float(x.max()), what)


def check_float_bounds(lo, hi, what):
    """``ValueError`` naming ``what`` unless ``[lo, hi]``, the smallest and largest
    values of float images, lies in ``[0, 1]`` (a NaN bound fails).

    Examples
    --------
    >>> check_float_bounds(0.0, 1.0, "X")
    >>> check_float_bounds(0.0, float("nan"), "X[4:6]")
    Traceback (most recent call last):
    ...
    ValueError: X[4:6]: float images must hold values in [0, 1] (finite); got min=0.0, max=nan. ...
    """
    if not (lo >= -1e-6 and hi <= 1 + 1e-6):
        raise ValueError(
            f"{what}: float images must hold values in [0, 1] (finite); got min={lo}, "
            f"max={hi}. Scale uint8 pixels with X / 255 or pass the uint8 array."
        )


_END = object()


def _prefetch(iterable, depth=2):
    """Run ``iterable`` in a background thread, ``depth`` items ahead, so that
    decoding, slicing and pinning overlap with the network's forward pass."""
    q = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item):
        """Queue ``item`` unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put(("__error__", exc))

    thread = threading.Thread(target=produce, daemon=True, name="skfair-prefetch")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, tuple) and len(item) == 2 and item[0] == "__error__":
                raise item[1]
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


def as_image_input(X, *, param="X", defer_range_check=False):
    """Validate images and return an :class:`ImageInput`.

    Accepted: a uint8 array ``(n, H, W, C)`` or ``(n, H, W)`` with ``C`` in
    ``{1, 3, 4}``; a float array ``(n, C, H, W)`` or ``(n, H, W)`` in
    ``[0, 1]`` (checked on the channels kept: a float alpha channel is dropped
    unchecked, as uint8 alpha is); a list/array/Series of file paths (``str`` or
    path-like); a one-column DataFrame of paths; a skfair dataset ``Bunch`` (its
    ``images`` array when present, else its ``data``).

    ``defer_range_check=True`` leaves a float array's ``[0, 1]`` check to
    :meth:`ImageInput.batches`, batch by batch on its background thread, where
    it overlaps with the network instead of passing over the whole array before
    the first batch (``EmbeddingExtractor.transform``); the error then names the
    batch's rows.
    """
    if isinstance(X, dict) and ("images" in X or "data" in X):  # sklearn Bunch
        images = X.get("images")
        X = images if images is not None else X.get("data")
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise TypeError(
                f"{param} is a DataFrame with {X.shape[1]} columns; pass the single "
                "column of image paths (e.g. X['path'])."
            )
        X = X.iloc[:, 0]
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # Series
        X = X.to_numpy()
    if isinstance(X, (str, os.PathLike)):
        raise TypeError(
            f"{param} is a single path {str(X)!r}; pass a list of image paths (or an array "
            "of images)."
        )
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, (list, tuple)):
        if len(X) and all(_is_path(x) for x in X):
            return ImageInput("paths", np.asarray([os.fspath(x) for x in X], dtype=object))
        if len(X) == 0:
            _raise_empty(param)
        X = np.asarray(X) if not any(_is_path(x) for x in X) else np.asarray(X, dtype=object)
    if not isinstance(X, np.ndarray):
        raise TypeError(
            f"{param} must be an array of images or a list of image paths; got {type(X).__name__}."
        )
    if X.ndim == 0 or len(X) == 0:
        _raise_empty(param)
    if X.dtype.kind in "OUS":
        if X.ndim != 1:
            raise ValueError(f"{param}: an array of paths must be 1-D; got shape {X.shape}.")
        bad = [x for x in X if not _is_path(x)]
        if bad:
            raise TypeError(
                f"{param} must hold image paths (str or path-like); found "
                f"{type(bad[0]).__name__} value {bad[0]!r}."
            )
        return ImageInput("paths", np.asarray([os.fspath(x) for x in X], dtype=object))
    if X.dtype == np.uint8:
        if X.ndim == 3:
            X = X[..., None]
        if X.ndim != 4 or X.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"{param}: uint8 images must have shape (n, H, W, C) with C in {{1, 3, 4}} "
                f"(or (n, H, W) for grayscale); got {X.shape}. Float images are (n, C, H, W)."
            )
        return ImageInput("uint8", X)
    if X.dtype.kind == "f":
        if X.ndim == 3:
            X = X[:, None]
        if X.ndim != 4 or X.shape[1] not in (1, 3, 4):
            raise ValueError(
                f"{param}: float images must have shape (n, C, H, W) with C in {{1, 3, 4}} "
                f"(or (n, H, W) for grayscale); got {X.shape}. uint8 images are (n, H, W, C)."
            )
        X = X.astype(np.float32, copy=False)
        if not defer_range_check:  # the channels the network sees (alpha is dropped)
            _check_float_range(X[:, :3], param)
        return ImageInput("float", X, check_range=defer_range_check)
    raise TypeError(
        f"{param} must be uint8 (n, H, W, C) or float (n, C, H, W) images or image paths; "
        f"got an array of dtype {X.dtype}."
    )


def _raise_empty(param):
    raise ValueError(f"{param} contains no images (0 samples); at least one is required.")


def format_errors(errors, paths, limit=3):
    """``'a.jpg' (row 3): OSError: ...`` for the first ``limit`` errors."""
    shown = [f"{paths[i]!r} (row {i}): {msg}" for i, msg in errors[:limit]]
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return "; ".join(shown) + more


def _side_of_first_readable(paths, on_error):
    """The side of the first readable image (which must be square); unreadable ones
    before it raise (``on_error="raise"``) or are passed over (the decoding pass
    reports them)."""
    errors = []
    for i, path in enumerate(paths):
        try:
            first = read_image_file(path)
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            errors.append((i, f"{type(exc).__name__}: {exc}"))
            if on_error == "raise":
                raise ValueError(
                    "could not read image file " + format_errors(errors, paths, limit=1)
                ) from exc
            continue
        if first.shape[0] != first.shape[1]:
            raise ValueError(f"size is required: {path!r} is not square ({first.shape[:2]}).")
        return first.shape[0]
    raise ValueError(
        f"none of the {len(paths)} image files could be read: "
        + format_errors(errors, paths)
    )


def read_images(paths, *, size=None, num_workers=0, on_error="raise"):
    """Decode image files into one uint8 ``(n, size, size, 3)`` array.

    Decoding and resizing follow :class:`EmbeddingExtractor`: grayscale is
    replicated to RGB, alpha is dropped, and each image's shorter side is
    resized to ``size`` (antialiased bilinear) before a center crop to
    ``size`` x ``size``. Use it to feed array-only steps (such as
    :class:`PixelInverter`) from a list of paths, e.g. through a
    :class:`~sklearn.preprocessing.FunctionTransformer`.

    Parameters
    ----------
    paths : list of str or path-like, or 1-D array of them
        Image files.
    size : int, optional
        Output side length. By default the side of the first image, which must
        then be square.
    num_workers : int, default=0
        Decoding processes (``torch.utils.data.DataLoader`` workers).
    on_error : {"raise", "skip"}, default="raise"
        ``"raise"``: an unreadable file raises a ``ValueError`` naming it.
        ``"skip"``: unreadable files are left out and a warning gives their count
        and names (the output then has fewer rows than ``paths``).

    Returns
    -------
    images : ndarray of uint8, shape (n_read, size, size, 3)

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skfair.transformers import read_images
    >>> folder = tempfile.mkdtemp()
    >>> paths = []
    >>> for k, shape in enumerate([(20, 30, 3), (40, 40)]):
    ...     path = os.path.join(folder, f"{k}.png")
    ...     Image.fromarray(np.zeros(shape, dtype=np.uint8)).save(path)
    ...     paths.append(path)
    >>> read_images(paths, size=16).shape
    (2, 16, 16, 3)
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")
    if size is not None and (not isinstance(size, Integral) or size < 1):
        raise ValueError(f"size must be a positive int or None; got {size!r}.")
    if not isinstance(num_workers, Integral) or num_workers < 0:
        raise ValueError(f"num_workers must be a non-negative int; got {num_workers!r}.")
    source = as_image_input(paths, param="paths")
    if source.kind != "paths":
        raise TypeError("paths must be image file paths; got an array of images.")
    if size is None:
        size = _side_of_first_readable(source.data, on_error)
    prep = Preprocessing(crop_size=int(size), resize_size=int(size))
    out = np.empty((len(source), size, size, 3), dtype=np.uint8)
    keep = np.zeros(len(source), dtype=bool)
    errors = []
    for index, batch, errs in source.batches(64, prep, num_workers=num_workers):
        if errs and on_error == "raise":
            raise ValueError(
                "could not read image file " + format_errors(errs, source.data, limit=1)
            )
        errors.extend(errs)
        if batch is not None:
            out[index] = batch.permute(0, 2, 3, 1).numpy()
            keep[index] = True
    if errors:
        warnings.warn(
            f"read_images: skipped {len(errors)} of {len(source)} unreadable image files: "
            + format_errors(errors, source.data),
            UserWarning,
        )
        out = out[keep]
    return out
