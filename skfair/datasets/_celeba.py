"""CelebA: ``list_attr_celeba.txt`` (+ ``list_eval_partition.txt``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import image_bunch, require_file, resolve_root, select_columns

__all__ = ["load_celeba"]

SOURCE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (non-commercial research use)"
PARTITIONS = {0: "train", 1: "valid", 2: "test"}

DESCR = """\
.. _celeba_dataset:

CelebA (local folder)
---------------------

Parsed files, in the dataset's own layout under ``root``:

* ``list_attr_celeba.txt`` (required; also searched in ``Anno/``): line 1 the
  number of images, line 2 the 40 attribute names, then one line per image,
  ``<file> <40 values in {{-1, 1}}>`` separated by any whitespace. Values
  become 0/1 integers in ``frame``; a derived ``gender`` column
  (Female/Male, from ``Male``) is added. A count that disagrees with the rows,
  a row with the wrong number of fields or a value other than -1/1 raises
  ``ValueError`` naming the file.
* ``list_eval_partition.txt`` (optional; also in ``Eval/``): ``<file> <0|1|2>``
  for train / valid / test, giving the ``split`` column.

Images are expected in ``img_align_celeba/`` (or ``Img/img_align_celeba/``).

Source: {source}. Liu, Luo, Wang, Tang, "Deep Learning Face Attributes in
the Wild", ICCV 2015.
"""


def _find(root, name, subdirs):
    for sub in ("", *subdirs):
        path = root / sub / name
        if path.is_file():
            return path
    return root / name


def _read_attributes(path):
    with open(path, encoding="utf-8") as fh:
        lines = [line.split() for line in fh if line.strip()]
    if len(lines) < 2 or len(lines[0]) != 1 or not lines[0][0].isdigit():
        raise ValueError(
            f"{str(path)!r} does not start with the image count on line 1 and the "
            "attribute names on line 2 (CelebA's list_attr_celeba.txt format)."
        )
    count, names, rows = int(lines[0][0]), lines[1], lines[2:]
    if count != len(rows):
        raise ValueError(f"{str(path)!r} announces {count} images but holds {len(rows)} rows.")
    bad = [i for i, r in enumerate(rows) if len(r) != len(names) + 1]
    if bad:
        raise ValueError(
            f"{str(path)!r}: line {bad[0] + 3} has {len(rows[bad[0]])} fields, expected "
            f"{len(names) + 1} (file name and {len(names)} attributes)."
        )
    try:
        values = np.array([r[1:] for r in rows], dtype=np.int64).reshape(len(rows), len(names))
    except ValueError as exc:
        raise ValueError(f"{str(path)!r}: non-integer attribute value ({exc}).") from exc
    if not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{str(path)!r}: attribute values must be -1 or 1.")
    frame = pd.DataFrame((values == 1).astype(np.int64), columns=names)
    frame.insert(0, "file", [r[0] for r in rows])
    return frame, names


def _read_partition(path):
    try:
        part = pd.read_csv(path, sep=r"\s+", header=None, names=["file", "partition"],
                           dtype={"file": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"could not parse {str(path)!r}: {exc}") from exc
    if part["partition"].isna().any() or not part["partition"].isin(PARTITIONS).all():
        raise ValueError(f"{str(path)!r}: partitions must be 0 (train), 1 (valid) or 2 (test).")
    return part


def load_celeba(root=None, *, split=None, target="Smiling", sensitive=("gender",),
                return_images=False, image_size=None, on_error="warn", n_jobs=None):
    """Load CelebA's 40 binary attributes (and partitions) from a local folder.

    Parameters
    ----------
    root : str or path-like, optional
        CelebA folder. Defaults to ``get_data_dir() / "celeba"``.
    split : {"train", "valid", "test"}, optional
        Keep one partition (needs ``list_eval_partition.txt``); ``None``
        keeps all rows.
    target : str or list of str, default="Smiling"
        One attribute (``target`` is 0/1 of shape ``(n,)``), several, or
        ``"all"`` (multi-label ``(n, k)`` 0/1; names in ``target_names``).
    sensitive : str or sequence of str, default=("gender",)
        Columns returned in ``sensitive``: ``gender`` or any attribute
        (e.g. ``"Young"``).
    return_images, image_size, on_error, n_jobs
        As in :func:`load_utkface`.

    Returns
    -------
    dataset : Bunch
        ``data``, ``images``, ``paths``, ``target``, ``target_names``,
        ``sensitive``, ``frame`` (``path``, ``file``, the 40 attributes as
        0/1, ``gender``, [``split``]), ``attribute_names`` and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder or ``list_attr_celeba.txt`` is missing, or ``split``
        is given without ``list_eval_partition.txt``.
    ValueError
        When a file is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_celeba
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "list_attr_celeba.txt").write_text(
    ...     "2\\nMale Smiling\\n000001.jpg -1  1\\n000002.jpg  1 -1\\n")
    >>> ds = load_celeba(folder)
    >>> ds.target, list(ds.sensitive["gender"])
    (array([1, 0]), ['Female', 'Male'])
    """
    root = resolve_root(root, "celeba", dataset="CelebA", source=SOURCE)
    attr_path = require_file(_find(root, "list_attr_celeba.txt", ("Anno",)),
                             dataset="CelebA", source=SOURCE)
    frame, names = _read_attributes(attr_path)
    if "Male" in names:
        frame["gender"] = pd.Categorical(
            np.where(frame["Male"] == 1, "Male", "Female"), categories=["Female", "Male"]
        )
    part_path = _find(root, "list_eval_partition.txt", ("Eval",))
    if part_path.is_file():
        part = _read_partition(part_path)
        mapping = dict(zip(part["file"], part["partition"], strict=True))
        missing = [f for f in frame["file"] if f not in mapping]
        if missing:
            raise ValueError(
                f"{str(part_path)!r} has no partition for {len(missing)} image(s) of "
                f"{str(attr_path)!r}, e.g. {missing[:3]}."
            )
        frame["split"] = pd.Categorical(
            [PARTITIONS[mapping[f]] for f in frame["file"]], categories=list(PARTITIONS.values())
        )
    if split is not None:
        if split not in PARTITIONS.values():
            raise ValueError(f"split must be None, 'train', 'valid' or 'test', got {split!r}.")
        if "split" not in frame:
            require_file(part_path, dataset="CelebA", source=SOURCE,
                         what="partition file (needed for split=)")
        frame = frame[frame["split"] == split]
    image_dir = next(
        (root / d for d in ("img_align_celeba", "Img/img_align_celeba") if (root / d).is_dir()),
        root / "img_align_celeba",
    )
    frame.insert(0, "path", [str(image_dir / f) for f in frame["file"]])
    label_cols = [*names, *(["gender"] if "gender" in frame else [])]
    targets = select_columns(frame, names if target == "all" else target, param="target",
                             allowed=names)
    sensitive = select_columns(frame, sensitive, param="sensitive", allowed=label_cols)
    bunch = image_bunch(
        frame, target=targets[0], sensitive=sensitive, descr=DESCR.format(source=SOURCE),
        return_images=return_images, image_size=image_size, on_error=on_error,
        n_jobs=n_jobs, extra={"attribute_names": list(names)},
    )
    if target == "all" or not isinstance(target, str):
        bunch.target = bunch.frame[targets].to_numpy()
        bunch.target_names = np.asarray(targets, dtype=object)
    return bunch
