"""UTKFace: age, gender and race encoded in the file names."""

from __future__ import annotations

import re

import pandas as pd

from ._base import image_bunch, resolve_root, select_columns, warn_skipped

__all__ = ["load_utkface", "parse_utkface_name"]

SOURCE = "https://susanqq.github.io/UTKFace/ (non-commercial research use)"

#: UTKFace's gender codes.
GENDERS = {0: "Male", 1: "Female"}
#: UTKFace's race codes ("Others": Hispanic, Latino, Middle Eastern, ...).
RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}

_NAME = re.compile(
    r"^(?P<age>\d{1,3})_(?P<gender>\d)_(?P<race>\d)_(?P<datetime>\d+)\.jpg(?:\.chip\.jpg)?$",
    re.IGNORECASE,
)
_IMAGE_SUFFIXES = (".jpg", ".jpeg")

DESCR = """\
.. _utkface_dataset:

UTKFace (local folder)
----------------------

Face crops whose labels are in the file name,
``[age]_[gender]_[race]_[date&time].jpg`` (the aligned-and-cropped release
appends ``.chip.jpg``): age in years (0-116), gender 0 Male / 1 Female, race
0 White / 1 Black / 2 Asian / 3 Indian / 4 Others, date&time as
yyyymmddHHMMSSFFF (kept as text). Every ``*.jpg`` / ``*.jpeg`` file of the
folder (not its sub-folders) is a candidate; names that do not parse (a missing
field, an unknown code) are skipped with one warning counting them.

Source: {source}. Zhang, Song, Qi, "Age Progression/Regression by Conditional
Adversarial Autoencoder", CVPR 2017.
"""


def parse_utkface_name(name):
    """Parse one UTKFace file name.

    Parameters
    ----------
    name : str
        A file name such as ``"26_1_2_20170116174525125.jpg.chip.jpg"``.

    Returns
    -------
    labels : dict or None
        ``age`` (int), ``gender`` and ``race`` (readable names) and
        ``datetime`` (str); ``None`` when the name does not follow the format.

    Examples
    --------
    >>> from skfair.datasets import parse_utkface_name
    >>> parse_utkface_name("26_1_2_20170116174525125.jpg.chip.jpg")
    {'age': 26, 'gender': 'Female', 'race': 'Asian', 'datetime': '20170116174525125'}
    >>> parse_utkface_name("61_1_20170109142408075.jpg.chip.jpg") is None
    True
    """
    m = _NAME.match(name)
    if m is None:
        return None
    gender, race = int(m["gender"]), int(m["race"])
    if gender not in GENDERS or race not in RACES:
        return None
    return {
        "age": int(m["age"]),
        "gender": GENDERS[gender],
        "race": RACES[race],
        "datetime": m["datetime"],
    }


def load_utkface(root=None, *, target="age", sensitive=("gender", "race"),
                 return_images=False, image_size=None, on_error="warn", n_jobs=None):
    """Load UTKFace from a local folder; labels come from the file names.

    Parameters
    ----------
    root : str or path-like, optional
        Folder holding the images (e.g. ``UTKFace/`` or ``crop_part1/``).
        Defaults to ``get_data_dir() / "utkface" / "images"``.
    target : {"age", "gender", "race"}, default="age"
        Column returned as ``target``: ages in years (int), or the integer
        codes of a categorical (names in ``target_names``).
    sensitive : str or sequence of str, default=("gender", "race")
        Columns of ``frame`` returned in ``sensitive``.
    return_images : bool, default=False
        Decode the images (PIL) into ``images``; otherwise only paths.
    image_size : int or (height, width), optional
        Resize decoded images (bilinear); ``None`` keeps their size, which
        must then be the same for all.
    on_error : {"warn", "raise"}, default="warn"
        Unreadable images (when decoding): skipped with one warning counting
        them, or a ``ValueError``.
    n_jobs : int, optional
        Threads used to decode images (joblib).

    Returns
    -------
    dataset : Bunch
        data : ndarray
            File paths (object array of str), or the flattened decoded images
            ``(n, 3 * H * W)`` float32 when ``return_images=True``.
        images : ndarray of shape (n, 3, H, W), float32, or None
            Decoded RGB images in [0, 1], channels first.
        paths : ndarray of str
            File paths, always.
        target : ndarray of shape (n,)
            The ``target`` column.
        target_names : ndarray or None
            Category names when the target is categorical.
        sensitive : DataFrame
            The ``sensitive`` columns (categoricals).
        frame : DataFrame
            Columns ``path``, ``age``, ``gender``, ``race``, ``datetime``, rows
            sorted by file name.
        n_skipped : int
            File names that did not parse.
        DESCR : str
            What was parsed and how, the source and the reference.

    Raises
    ------
    FileNotFoundError
        When ``root`` is not a folder.

    Warns
    -----
    UserWarning
        Once, counting the file names that do not parse (and once more for
        unreadable images when decoding).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_utkface
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["26_1_2_20170116174525125.jpg.chip.jpg", "3_0_0_20170110.jpg"]:
    ...     _ = (folder / name).write_bytes(b"")
    >>> ds = load_utkface(folder)
    >>> ds.frame[["age", "gender", "race"]]
       age  gender   race
    0   26  Female  Asian
    1    3    Male  White
    """
    root = resolve_root(root, "utkface/images", dataset="UTKFace", source=SOURCE)
    rows, bad = [], []
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        lower = path.name.lower()
        if not lower.endswith(_IMAGE_SUFFIXES):
            continue
        labels = parse_utkface_name(path.name)
        if labels is None:
            bad.append(path.name)
            continue
        rows.append({"path": str(path), **labels})
    warn_skipped(len(bad), "UTKFace file(s) whose names do not parse "
                 "as age_gender_race_datetime.jpg", bad)
    frame = pd.DataFrame(rows, columns=["path", "age", "gender", "race", "datetime"])
    frame["age"] = frame["age"].astype("int64")
    frame["gender"] = pd.Categorical(frame["gender"], categories=list(GENDERS.values()))
    frame["race"] = pd.Categorical(frame["race"], categories=list(RACES.values()))
    target = select_columns(frame, target, param="target",
                            allowed=["age", "gender", "race"])[0]
    sensitive = select_columns(frame, sensitive, param="sensitive",
                               allowed=["age", "gender", "race"])
    return image_bunch(
        frame, target=target, sensitive=sensitive, descr=DESCR.format(source=SOURCE),
        return_images=return_images, image_size=image_size, on_error=on_error,
        n_jobs=n_jobs, extra={"n_skipped": len(bad)},
    )
