"""APPA-REAL: apparent and real age plus the ChaLearn fairness metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import (
    image_bunch,
    read_csv_checked,
    require_file,
    resolve_root,
    select_columns,
    warn_skipped,
)

__all__ = ["load_appa_real"]

SOURCE = (
    "https://chalearnlap.cvc.uab.cat/dataset/26/description/ (APPA-REAL) and the "
    "ChaLearn fair age estimation challenge for allcategories_*.csv"
)
SPLITS = ("train", "valid", "test")
GT_COLUMNS = ["file_name", "num_ratings", "apparent_age_avg", "apparent_age_std", "real_age"]
META_COLUMNS = ["file", "gender", "race", "makeup", "time", "happiness"]
#: Preferred category order of known metadata values; other values follow, sorted.
KNOWN_ORDER = {
    "gender": ["male", "female"],
    "race": ["caucasian", "afroamerican", "asian"],
    "happiness": ["happy", "slightly", "neutral", "other"],
}
AGE_GROUP_EDGES = (0, 20, 40, 60, np.inf)
AGE_GROUP_NAMES = ("<20", "20-40", "40-60", ">=60")

DESCR = """\
.. _appa_real_dataset:

APPA-REAL with ChaLearn fairness metadata (local folder)
--------------------------------------------------------

Parsed files, in the release's own layout under ``root``, per split
``train`` / ``valid`` / ``test``:

* ``gt_avg_<split>.csv`` with columns ``file_name, num_ratings,
  apparent_age_avg, apparent_age_std, real_age`` (one row per image).
* ``allcategories_<split>.csv`` (the ChaLearn LAP 2020 fair age estimation
  metadata) with columns ``file, gender, race, makeup, time, happiness``.
  Values are kept as written (stripped, lower-cased) as categoricals; known
  values come first in the order gender male/female, race
  caucasian/afroamerican/asian, happiness happy/slightly/neutral/other.
  ``happiness`` is the expression attribute. Rows of ``gt_avg`` with no
  metadata are skipped with one warning counting them; a metadata cell that
  is empty raises ``ValueError`` naming the file. ``metadata=False`` reads
  ``gt_avg`` alone.

``age_group`` bins ``real_age`` as the challenge's bias score does: {groups}
(left-closed). Image paths: ``<split>/<file_name>_face.jpg`` (the cropped
face, ``face=True``) or ``<split>/<file_name>``.

Source: {source}. Agustsson et al., "Apparent and real age estimation in still
images with deep residual regressors on APPA-REAL database", FG 2017; Clapes et
al., "From apparent to real age: gender, age, ethnic, makeup, and expression
bias analysis in real age estimation", CVPRW 2018.
"""


def _key(name):
    name = str(name).strip()
    return name[: -len("_face.jpg")] if name.endswith("_face.jpg") else name


def _categorical(values, column):
    values = values.astype(str).str.strip().str.lower()
    seen = sorted(set(values))
    known = [v for v in KNOWN_ORDER.get(column, []) if v in seen]
    return pd.Categorical(values, categories=known + [v for v in seen if v not in known])


def load_appa_real(root=None, *, split=None, target="apparent_age_avg",
                   sensitive=("gender", "race", "happiness", "age_group"), metadata=True,
                   face=True, return_images=False, image_size=None, on_error="warn",
                   n_jobs=None):
    """Load APPA-REAL ages and the gender / ethnicity / expression metadata.

    Parameters
    ----------
    root : str or path-like, optional
        APPA-REAL folder. Defaults to ``get_data_dir() / "appa-real"``.
    split : {"train", "valid", "test"}, optional
        Keep one split; ``None`` reads every split whose ``gt_avg`` exists.
    target : {"apparent_age_avg", "real_age"}, default="apparent_age_avg"
        Regression target (float).
    sensitive : str or sequence of str, default=("gender", "race", "happiness", "age_group")
        Columns returned in ``sensitive`` (metadata columns need
        ``metadata=True``).
    metadata : bool, default=True
        Join ``allcategories_<split>.csv``; required when ``True``.
    face : bool, default=True
        Paths of the cropped faces (``*_face.jpg``) or the full images.
    return_images, image_size, on_error, n_jobs
        As in :func:`load_utkface`.

    Returns
    -------
    dataset : Bunch
        ``data``, ``images``, ``paths``, ``target``, ``sensitive``,
        ``frame`` (``path``, ``file_name``, ``split``, the ``gt_avg`` columns,
        ``age_group`` and the metadata columns), ``n_skipped`` and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder, a ``gt_avg`` file or (with ``metadata=True``) an
        ``allcategories`` file is missing.
    ValueError
        When a CSV is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_appa_real
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "gt_avg_test.csv").write_text(
    ...     "file_name,num_ratings,apparent_age_avg,apparent_age_std,real_age\\n"
    ...     "005613.jpg,38,27.5,4.1,25\\n")
    >>> _ = (root / "allcategories_test.csv").write_text(
    ...     "file,gender,race,makeup,time,happiness\\n"
    ...     "005613.jpg,female,asian,makeup,modern,happy\\n")
    >>> ds = load_appa_real(root)
    >>> ds.target, ds.sensitive.iloc[0].tolist()
    (array([27.5]), ['female', 'asian', 'happy', '20-40'])
    """
    root = resolve_root(root, "appa-real", dataset="APPA-REAL", source=SOURCE)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be None or one of {SPLITS}, got {split!r}.")
    splits = [split] if split is not None else [
        s for s in SPLITS if (root / f"gt_avg_{s}.csv").is_file()
    ]
    if not splits:
        raise FileNotFoundError(
            f"APPA-REAL folder {str(root)!r} holds no gt_avg_{{train,valid,test}}.csv. "
            f"Get the data from {SOURCE}."
        )
    parts, skipped = [], []
    for s in splits:
        gt_path = require_file(root / f"gt_avg_{s}.csv", dataset="APPA-REAL", source=SOURCE)
        gt = read_csv_checked(gt_path, required=GT_COLUMNS, dtype={"file_name": str})
        for col in GT_COLUMNS[1:]:
            if not pd.api.types.is_numeric_dtype(gt[col]) or gt[col].isna().any():
                raise ValueError(f"{str(gt_path)!r}: column {col!r} must be numeric, no gaps.")
        gt.insert(1, "split", s)
        if metadata:
            meta_path = require_file(root / f"allcategories_{s}.csv", dataset="APPA-REAL",
                                     source=SOURCE, what="metadata file")
            meta = read_csv_checked(meta_path, required=META_COLUMNS, dtype=str)
            if meta[META_COLUMNS].isna().any().any():
                raise ValueError(f"{str(meta_path)!r} has empty metadata cells.")
            meta = meta[META_COLUMNS].assign(_key=meta["file"].map(_key)).drop(columns="file")
            if meta["_key"].duplicated().any():
                raise ValueError(f"{str(meta_path)!r} lists an image twice.")
            gt["_key"] = gt["file_name"].map(_key)
            merged = gt.merge(meta, on="_key", how="left", indicator=True)
            lost = merged["_merge"] == "left_only"
            skipped += merged.loc[lost, "file_name"].tolist()
            gt = merged.loc[~lost].drop(columns=["_key", "_merge"])
        parts.append(gt)
    warn_skipped(len(skipped), "APPA-REAL image(s) without allcategories metadata", skipped)
    frame = pd.concat(parts, ignore_index=True)
    frame["split"] = pd.Categorical(frame["split"], categories=list(SPLITS))
    suffix = "_face.jpg" if face else ""
    frame.insert(0, "path", [
        str(root / s / f"{f}{suffix}") for s, f in zip(frame["split"], frame["file_name"],
                                                       strict=True)
    ])
    frame["age_group"] = pd.cut(frame["real_age"], bins=list(AGE_GROUP_EDGES),
                                labels=list(AGE_GROUP_NAMES), right=False)
    if metadata:
        for col in META_COLUMNS[1:]:
            frame[col] = _categorical(frame[col], col)
    labels = ["age_group", *(META_COLUMNS[1:] if metadata else [])]
    target = select_columns(frame, target, param="target",
                            allowed=["apparent_age_avg", "real_age"])[0]
    sensitive = select_columns(frame, sensitive, param="sensitive", allowed=labels)
    return image_bunch(
        frame, target=target, sensitive=sensitive,
        descr=DESCR.format(groups=", ".join(AGE_GROUP_NAMES), source=SOURCE),
        return_images=return_images, image_size=image_size, on_error=on_error,
        n_jobs=n_jobs, extra={"n_skipped": len(skipped)},
    )
