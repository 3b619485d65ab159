"""FairFace: label CSVs (``file, age, gender, race, service_test``) or a JSON list."""

from __future__ import annotations

import json

import pandas as pd

from ._base import (
    image_bunch,
    read_csv_checked,
    require_file,
    resolve_root,
    select_columns,
)

__all__ = ["load_fairface"]

SOURCE = "https://github.com/joojs/fairface (CC BY 4.0)"

#: FairFace's nine age bins, in order.
AGE_BINS = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")
#: FairFace writes the last bin "more than 70" in its CSVs.
_AGE_ALIASES = {"more than 70": "70+"}
GENDERS = ("Male", "Female")
#: FairFace's seven race groups.
RACES = (
    "White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian",
    "Middle Eastern",
)
_CSV_NAMES = {"train": "fairface_label_train.csv", "val": "fairface_label_val.csv"}

DESCR = """\
.. _fairface_dataset:

FairFace (local folder)
-----------------------

Two layouts are read:

* The official label CSVs ``fairface_label_train.csv`` and
  ``fairface_label_val.csv`` (columns ``file, age, gender, race,
  service_test``; ``file`` is relative to the folder, e.g. ``train/1.jpg``).
  ``split`` is ``train`` or ``val``.
* A JSON list ``ground_truth.json`` of records with ``filename``, ``age``,
  ``gender`` (and ``race``, ``id`` when present); images in ``images/`` next to
  it (or beside it). ``split`` is ``all``.

``age`` is an ordered categorical of the nine bins {bins} ("more than 70" is
read as "70+"); ``gender`` Male/Female; ``race`` the seven FairFace groups.
Values outside these raise ``ValueError`` naming the file.

Source: {source}. Karkkainen and Joo, "FairFace: Face Attribute Dataset for
Balanced Race, Gender, and Age", WACV 2021.
"""


def _categorical(values, categories, *, column, path, aliases=None):
    values = pd.Series(values, dtype=object).map(
        lambda v: (aliases or {}).get(str(v).strip(), str(v).strip()) if pd.notna(v) else v
    )
    unknown = sorted(set(values.dropna()) - set(categories))
    if values.isna().any():
        raise ValueError(f"{str(path)!r}: column {column!r} has missing values.")
    if unknown:
        raise ValueError(
            f"{str(path)!r}: column {column!r} has unknown value(s) {unknown[:10]}; "
            f"expected {list(categories)}."
        )
    return pd.Categorical(values, categories=list(categories), ordered=column == "age")


def _read_json(path):
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"could not parse {str(path)!r} as JSON: {exc}") from exc
    if isinstance(records, dict):  # {"annotations": [...]} or {filename: {...}}
        lists = [v for v in records.values() if isinstance(v, list)]
        if len(lists) == 1:
            records = lists[0]
        elif all(isinstance(v, dict) for v in records.values()):
            records = [{"filename": k, **v} for k, v in records.items()]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{str(path)!r} must hold a JSON list of records (objects).")
    frame = pd.DataFrame.from_records(records)
    missing = [c for c in ("filename", "age", "gender") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{str(path)!r}: records lack the key(s) {missing}; found {list(frame.columns)}."
        )
    image_dir = path.parent / "images"
    image_dir = image_dir if image_dir.is_dir() else path.parent
    frame["path"] = [str(image_dir / f) for f in frame["filename"]]
    frame["split"] = "all"
    return frame.rename(columns={"filename": "file"})


def load_fairface(root=None, *, split=None, target="age", sensitive=None,
                  return_images=False, image_size=None, on_error="warn", n_jobs=None):
    """Load FairFace labels (CSV or JSON form) from a local folder.

    Parameters
    ----------
    root : str or path-like, optional
        Folder holding ``ground_truth.json`` or ``fairface_label_*.csv``.
        Defaults to ``get_data_dir() / "fairface-540"``.
    split : {"train", "val"}, optional
        CSV layout only: keep one split. ``None`` keeps all rows (column
        ``split`` in ``frame``).
    target : {"age", "gender", "race"}, default="age"
        Column returned as ``target`` (integer codes; names in
        ``target_names``).
    sensitive : str or sequence of str, optional
        Columns returned in ``sensitive``; default ``("gender", "race")``, or
        ``("gender",)`` when the labels carry no race (the JSON form).
    return_images, image_size, on_error, n_jobs
        As in :func:`load_utkface`.

    Returns
    -------
    dataset : Bunch
        ``data`` (paths, or flattened images), ``images``, ``paths``,
        ``target``, ``target_names``, ``sensitive``, ``frame`` (columns
        ``path``, ``file``, ``age``, ``gender``, [``race``,
        ``service_test``], ``split``, ...) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder or its label file is missing.
    ValueError
        When a label file is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_fairface
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "fairface_label_val.csv").write_text(
    ...     "file,age,gender,race,service_test\\n"
    ...     "val/1.jpg,3-9,Male,East Asian,False\\n"
    ...     "val/2.jpg,more than 70,Female,White,True\\n")
    >>> ds = load_fairface(folder)
    >>> ds.frame[["file", "age", "gender", "race"]]
            file   age  gender        race
    0  val/1.jpg   3-9    Male  East Asian
    1  val/2.jpg   70+  Female       White
    >>> ds.target, list(ds.target_names[ds.target])
    (array([1, 8]), ['3-9', '70+'])
    """
    root = resolve_root(root, "fairface-540", dataset="FairFace", source=SOURCE)
    json_path = root / "ground_truth.json"
    csv_paths = {s: root / name for s, name in _CSV_NAMES.items() if (root / name).is_file()}
    if json_path.is_file():
        frame, label_file = _read_json(json_path), json_path
        if split not in (None, "all"):
            raise ValueError(
                f"split={split!r}: {str(json_path)!r} has no splits; use split=None."
            )
    elif csv_paths:
        if split is not None and split not in _CSV_NAMES:
            raise ValueError(f"split must be None, 'train' or 'val', got {split!r}.")
        if split is not None:
            csv_paths = {split: require_file(
                root / _CSV_NAMES[split], dataset="FairFace", source=SOURCE
            )}
        parts = []
        for s, path in csv_paths.items():
            part = read_csv_checked(path, required=["file", "age", "gender", "race"])
            part["split"] = s
            part["path"] = [str(root / f) for f in part["file"]]
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True)
        label_file = " and ".join(str(p) for p in csv_paths.values())
    else:
        raise FileNotFoundError(
            f"FairFace folder {str(root)!r} holds neither ground_truth.json nor "
            f"{' / '.join(_CSV_NAMES.values())}. Get the labels from {SOURCE}."
        )
    frame["age"] = _categorical(frame["age"], AGE_BINS, column="age", path=label_file,
                                aliases=_AGE_ALIASES)
    frame["gender"] = _categorical(frame["gender"], GENDERS, column="gender", path=label_file)
    label_cols = ["age", "gender"]
    if "race" in frame.columns:
        frame["race"] = _categorical(frame["race"], RACES, column="race", path=label_file)
        label_cols.append("race")
    if sensitive is None:
        sensitive = [c for c in ("gender", "race") if c in frame.columns]
    target = select_columns(frame, target, param="target", allowed=label_cols)[0]
    sensitive = select_columns(frame, sensitive, param="sensitive", allowed=label_cols)
    first = ["path", "file", *label_cols]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return image_bunch(
        frame, target=target, sensitive=sensitive,
        descr=DESCR.format(bins=", ".join(AGE_BINS), source=SOURCE),
        return_images=return_images, image_size=image_size, on_error=on_error,
        n_jobs=n_jobs,
    )
