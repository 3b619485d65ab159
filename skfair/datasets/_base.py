"""Helpers shared by the real-data loaders: folders, errors, images, Bunches."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..utils import get_data_dir

__all__ = []

#: How each image loader treats an image that cannot be decoded.
ON_ERROR_OPTIONS = ("warn", "raise")


def resolve_root(root, default_subdir, *, dataset, source):
    """Return ``root`` (or ``get_data_dir() / default_subdir``) as an existing folder.

    Raises ``FileNotFoundError`` naming the folder and where the data comes from.
    """
    path = get_data_dir() / default_subdir if root is None else Path(root).expanduser()
    path = path.resolve()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise FileNotFoundError(
            f"{dataset} folder {str(path)!r} {what}. skfair never downloads data: "
            f"get {dataset} from {source}, unpack it and pass its folder as root= "
            "(or set SKFAIR_DATA_DIR)."
        )
    return path


def require_file(path, *, dataset, source, what="label file"):
    """Raise ``FileNotFoundError`` naming ``path`` when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{dataset} {what} {str(path)!r} does not exist. Expected the dataset's own "
            f"layout as distributed at {source}."
        )
    return path


def read_csv_checked(path, *, required, **kwargs):
    """``pandas.read_csv`` whose failures and missing columns name the file."""
    try:
        frame = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"could not parse {str(path)!r} as CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{str(path)!r} lacks the column(s) {missing}; found {list(frame.columns)}."
        )
    return frame


def decode_category(codes, mapping, *, column, path):
    """Integer codes -> ordered Categorical of readable names; unknown codes raise."""
    codes = pd.Series(codes)
    unknown = sorted(set(codes.dropna().tolist()) - set(mapping))
    if unknown:
        raise ValueError(
            f"{str(path)!r}: column {column!r} has unknown code(s) {unknown[:10]}; "
            f"expected {sorted(mapping)}."
        )
    names = list(dict.fromkeys(mapping.values()))
    return pd.Categorical(codes.map(mapping), categories=names)


def check_on_error(on_error):
    if on_error not in ON_ERROR_OPTIONS:
        raise ValueError(f"on_error must be one of {ON_ERROR_OPTIONS}, got {on_error!r}.")


def check_image_size(image_size):
    """``None``, an int or an ``(height, width)`` pair -> ``None`` or ``(h, w)``."""
    if image_size is None:
        return None
    if isinstance(image_size, int | np.integer) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif isinstance(image_size, tuple | list) and len(image_size) == 2:
        size = tuple(int(s) for s in image_size)
    else:
        raise TypeError(
            f"image_size must be None, an int or a (height, width) pair, got {image_size!r}."
        )
    if min(size) < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}.")
    return size


def _decode_one(path, size):
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def load_images(paths, image_size, *, on_error="warn", n_jobs=None):
    """Decode images into float32 ``(n, 3, H, W)`` in [0, 1].

    Returns ``(images, ok)`` where ``ok`` is a boolean mask of the paths that
    decoded. Unreadable images raise ``ValueError`` (``on_error="raise"``) or
    are skipped with one warning counting them (``"warn"``). Without
    ``image_size`` all images must share one size.
    """
    from joblib import Parallel, delayed

    size = check_image_size(image_size)
    check_on_error(on_error)

    def safe(path):
        try:
            return _decode_one(path, size)
        except (OSError, ValueError, SyntaxError) as exc:  # PIL's decode errors
            if on_error == "raise":
                raise ValueError(f"could not decode image {str(path)!r}: {exc}") from exc
            return None

    arrays = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(safe)(p) for p in paths)
    ok = np.array([a is not None for a in arrays], dtype=bool)
    bad = [str(p) for p, good in zip(paths, ok, strict=True) if not good]
    if bad:
        warnings.warn(
            f"skipped {len(bad)} unreadable image(s) (on_error='warn'), e.g. {bad[:3]}.",
            UserWarning,
            stacklevel=3,
        )
    kept = [a for a in arrays if a is not None]
    if not kept:
        shape = (0, 3, *(size if size is not None else (0, 0)))
        return np.zeros(shape, dtype=np.float32), ok
    shapes = {a.shape for a in kept}
    if len(shapes) > 1:
        raise ValueError(
            f"images have different sizes {sorted(shapes)[:5]}; pass image_size= to resize them."
        )
    images = np.stack(kept).transpose(0, 3, 1, 2).astype(np.float32)
    images /= 255.0
    return images, ok


def select_columns(frame, columns, *, param, allowed=None):
    """Validate a column name or list of names of ``frame``."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    allowed = list(frame.columns) if allowed is None else list(allowed)
    bad = [c for c in cols if c not in allowed]
    if bad or not cols:
        raise ValueError(f"{param}={columns!r}: unknown column(s) {bad}; choose from {allowed}.")
    return cols


def target_array(series):
    """Target as an ndarray plus its names: categorical -> int codes + categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), np.asarray(
            series.cat.categories, dtype=object
        )
    return series.to_numpy(), None


def image_bunch(frame, *, target, sensitive, descr, return_images, image_size, on_error,
                n_jobs, extra=None):
    """Assemble the Bunch of an image dataset from a frame with a ``path`` column."""
    frame = frame.reset_index(drop=True)
    images = None
    if return_images:
        images, ok = load_images(
            frame["path"].tolist(), image_size, on_error=on_error, n_jobs=n_jobs
        )
        frame = frame.loc[ok].reset_index(drop=True)
    y, target_names = target_array(frame[target])
    paths = frame["path"].to_numpy(dtype=object)
    bunch = Bunch(
        data=images.reshape(len(images), -1) if images is not None else paths,
        images=images,
        paths=paths,
        target=y,
        target_names=target_names,
        sensitive=frame[list(sensitive)].reset_index(drop=True),
        frame=frame,
        DESCR=descr,
    )
    if extra:
        bunch.update(extra)
    return bunch


def warn_skipped(n, what, examples, *, stacklevel=3):
    """One warning counting ``n`` skipped items."""
    if n:
        warnings.warn(
            f"skipped {n} {what}, e.g. {list(examples)[:3]}.", UserWarning, stacklevel=stacklevel
        )
