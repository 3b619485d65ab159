"""RAF-DB (basic): emotion labels plus manual gender / race / age annotations."""

from __future__ import annotations

import pandas as pd

from ._base import (
    decode_category,
    image_bunch,
    require_file,
    resolve_root,
    select_columns,
    warn_skipped,
)

__all__ = ["load_rafdb"]

SOURCE = "http://www.whdeng.cn/raf/model1.html (RAF-DB basic, research use on request)"

#: RAF-DB's basic emotion labels (1-7 in the file).
EMOTIONS = {
    1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happiness", 5: "Sadness", 6: "Anger",
    7: "Neutral",
}
GENDERS = {0: "Male", 1: "Female", 2: "Unsure"}
RACES = {0: "Caucasian", 1: "African-American", 2: "Asian"}
AGES = {0: "0-3", 1: "4-19", 2: "20-39", 3: "40-69", 4: "70+"}
N_LANDMARKS = 5

DESCR = """\
.. _rafdb_dataset:

RAF-DB basic (local folder)
---------------------------

Parsed files, in the release's own layout under ``root`` (the ``basic``
folder):

* ``EmoLabel/list_patition_label.txt`` (sic): ``<image> <label>`` per line,
  e.g. ``train_00001.jpg 5``; labels 1-7 are Surprise, Fear, Disgust,
  Happiness, Sadness, Anger, Neutral. ``split`` is the name's prefix
  (``train`` / ``test``).
* ``Annotation/manual/<stem>_manu_attri.txt``: {n_landmarks} landmark lines
  (``x y``), then the gender line (0 male, 1 female, 2 unsure), the race line
  (0 Caucasian, 1 African-American, 2 Asian) and the age line (0: 0-3,
  1: 4-19, 2: 20-39, 3: 40-69, 4: 70+). Images without this file are skipped
  with one warning counting them; a file with fewer than 8 lines, a
  non-integer or an unknown code raises ``ValueError`` naming the file.

Image paths: ``Image/aligned/<stem>_aligned.jpg`` (``aligned=True``) or
``Image/original/<image>``.

Source: {source}. Li, Deng, Du, "Reliable Crowdsourcing and Deep
Locality-Preserving Learning for Expression Recognition in the Wild", CVPR 2017.
"""


def _read_labels(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) not in EMOTIONS:
                raise ValueError(
                    f"{str(path)!r} line {lineno}: expected '<image> <label 1-7>', got "
                    f"{line.strip()!r}."
                )
            rows.append((parts[0], int(parts[1])))
    if not rows:
        raise ValueError(f"{str(path)!r} holds no labels.")
    return rows


def _read_attributes(path):
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh if line.strip()]
    if len(lines) < N_LANDMARKS + 3:
        raise ValueError(
            f"{str(path)!r} has {len(lines)} non-empty lines; expected {N_LANDMARKS} landmark "
            "lines then gender, race and age lines."
        )
    try:
        gender, race, age = (int(v) for v in lines[N_LANDMARKS:N_LANDMARKS + 3])
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r}: the gender, race and age lines must be integers ({exc})."
        ) from exc
    return gender, race, age


def load_rafdb(root=None, *, split=None, aligned=True, target="emotion",
               sensitive=("gender", "race", "age"), return_images=False, image_size=None,
               on_error="warn", n_jobs=None):
    """Load RAF-DB (basic) labels and manual attributes from a local folder.

    Parameters
    ----------
    root : str or path-like, optional
        The ``basic`` folder (holding ``EmoLabel/`` and ``Annotation/``).
        Defaults to ``get_data_dir() / "rafdb" / "basic"``.
    split : {"train", "test"}, optional
        Keep one split; ``None`` keeps all.
    aligned : bool, default=True
        Paths of the aligned 100x100 faces or of the original images.
    target : {"emotion", "gender", "race", "age"}, default="emotion"
        Column returned as ``target`` (integer codes; names in
        ``target_names``).
    sensitive : str or sequence of str, default=("gender", "race", "age")
        Columns returned in ``sensitive``.
    return_images, image_size, on_error, n_jobs
        As in :func:`load_utkface`.

    Returns
    -------
    dataset : Bunch
        ``data``, ``images``, ``paths``, ``target``, ``target_names``,
        ``sensitive``, ``frame`` (``path``, ``file``, ``split``, ``emotion``,
        ``gender``, ``race``, ``age``; categoricals), ``n_skipped`` and
        ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder or the label list is missing.
    ValueError
        When a label or attribute file is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_rafdb
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "EmoLabel").mkdir(); (root / "Annotation" / "manual").mkdir(parents=True)
    >>> _ = (root / "EmoLabel" / "list_patition_label.txt").write_text("test_0001.jpg 4\\n")
    >>> _ = (root / "Annotation" / "manual" / "test_0001_manu_attri.txt").write_text(
    ...     "1 2\\n3 4\\n5 6\\n7 8\\n9 10\\n1\\n2\\n3\\n")
    >>> load_rafdb(root).frame[["file", "split", "emotion", "gender", "race", "age"]]
                file split    emotion  gender   race    age
    0  test_0001.jpg  test  Happiness  Female  Asian  40-69
    """
    root = resolve_root(root, "rafdb/basic", dataset="RAF-DB", source=SOURCE)
    label_path = require_file(root / "EmoLabel" / "list_patition_label.txt",
                              dataset="RAF-DB", source=SOURCE)
    if split is not None and split not in ("train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}.")
    rows, missing = [], []
    for name, emotion in _read_labels(label_path):
        stem = name.rsplit(".", 1)[0]
        part = stem.split("_", 1)[0]
        if split is not None and part != split:
            continue
        attr = root / "Annotation" / "manual" / f"{stem}_manu_attri.txt"
        if not attr.is_file():
            missing.append(attr.name)
            continue
        gender, race, age = _read_attributes(attr)
        image = (root / "Image" / "aligned" / f"{stem}_aligned.jpg" if aligned
                 else root / "Image" / "original" / name)
        rows.append((str(image), name, part, emotion, gender, race, age, str(attr)))
    warn_skipped(len(missing), "RAF-DB image(s) without a manual attribute file", missing)
    raw = pd.DataFrame(
        rows, columns=["path", "file", "split", "emotion", "gender", "race", "age", "_attr"]
    )
    frame = raw[["path", "file", "split"]].copy()
    frame["emotion"] = decode_category(raw["emotion"], EMOTIONS, column="emotion",
                                       path=label_path)
    for col, mapping in (("gender", GENDERS), ("race", RACES), ("age", AGES)):
        bad = ~raw[col].isin(list(mapping))
        if bad.any():
            raise ValueError(
                f"{raw.loc[bad, '_attr'].iloc[0]!r}: unknown {col} code "
                f"{raw.loc[bad, col].iloc[0]}; expected {mapping}."
            )
        frame[col] = decode_category(raw[col], mapping, column=col, path=label_path)
    frame["age"] = frame["age"].cat.as_ordered()
    labels = ["emotion", "gender", "race", "age"]
    target = select_columns(frame, target, param="target", allowed=labels)[0]
    sensitive = select_columns(frame, sensitive, param="sensitive", allowed=labels)
    return image_bunch(
        frame, target=target, sensitive=sensitive,
        descr=DESCR.format(n_landmarks=N_LANDMARKS, source=SOURCE),
        return_images=return_images, image_size=image_size, on_error=on_error,
        n_jobs=n_jobs, extra={"n_skipped": len(missing)},
    )
