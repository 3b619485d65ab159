"""UCI Adult census income (``adult.data`` / ``adult.test``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import require_file, resolve_root, select_columns

__all__ = ["load_adult"]

SOURCE = "https://archive.ics.uci.edu/dataset/2/adult (UCI)"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CATEGORICAL = [c for c in COLUMNS[:-1] if c not in NUMERIC]
INCOME = ("<=50K", ">50K")
AGE_GROUP_EDGES = (-np.inf, 25, 46, np.inf)
AGE_GROUP_NAMES = ("<25", "25-45", ">45")

DESCR = """\
.. _adult_dataset:

Adult census income (UCI, local folder)
---------------------------------------

``adult.data`` (32,561 rows) and ``adult.test`` (16,281 rows) in UCI's
format: no header, comma + space separated, 15 columns ({columns}). The
first line of ``adult.test`` (``|1x3 Cross validator``) is skipped and the
trailing ``.`` of its labels (``>50K.``) removed.

Missing values: UCI writes them as ``?`` (in workclass, occupation and
native-country). Rows are kept; those cells are NaN in the categorical
columns of ``data`` and ``frame`` (``n_missing`` counts them per column). Use
an imputer (or ``SimpleImputer(strategy="constant")``) in the pipeline. The
sensitive columns have no missing values in the UCI files; if one had, it
would raise ``ValueError``.

``target`` is 1 for ``>50K`` (``target_names = ['<=50K', '>50K']``).
``sensitive`` holds ``sex``, ``race`` and ``age_group`` (age binned as
COMPAS's ``age_cat``: {groups}); ``data`` keeps all 14 features, sensitive
ones included (drop them in the pipeline if needed).

Source: {source}. Kohavi, "Scaling Up the Accuracy of Naive-Bayes
Classifiers: a Decision-Tree Hybrid", KDD 1996.
"""


def _check_fields(path, *, test):
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if (test and lineno == 1) or not line.strip():
                continue
            n = line.count(",") + 1
            if n != len(COLUMNS):
                raise ValueError(
                    f"{str(path)!r} line {lineno} has {n} fields, expected {len(COLUMNS)} "
                    "(UCI adult format, no header)."
                )


def _read(path, *, test):
    _check_fields(path, test=test)
    try:
        frame = pd.read_csv(
            path, header=None, names=COLUMNS, sep=",", skipinitialspace=True,
            na_values=["?"], keep_default_na=False, skiprows=1 if test else 0,
            skip_blank_lines=True, dtype={c: str for c in CATEGORICAL},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ValueError(f"could not parse {str(path)!r} in UCI adult format: {exc}") from exc
    frame = frame.dropna(how="all")
    income = frame["income"].astype(str).str.strip().str.rstrip(".")
    bad = sorted(set(income) - set(INCOME))
    if bad:
        raise ValueError(f"{str(path)!r}: unknown income label(s) {bad[:5]}; expected {INCOME}.")
    for col in NUMERIC:
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            raise ValueError(f"{str(path)!r}: column {col!r} has non-numeric values.")
        frame[col] = values.astype(np.int64)
    frame["income"] = pd.Categorical(income, categories=list(INCOME))
    return frame.reset_index(drop=True)


def _bunch(frame, sensitive, descr, split):
    for col in CATEGORICAL:
        frame[col] = pd.Categorical(frame[col])
    frame["age_group"] = pd.cut(frame["age"], bins=list(AGE_GROUP_EDGES),
                                labels=list(AGE_GROUP_NAMES), right=False)
    sens = frame[sensitive]
    if sens.isna().any().any():
        raise ValueError(f"adult: the sensitive column(s) {sensitive} have missing values.")
    return Bunch(
        data=frame[COLUMNS[:-1]],
        target=frame["income"].cat.codes.to_numpy().astype(np.int64),
        target_names=np.asarray(INCOME, dtype=object),
        feature_names=COLUMNS[:-1],
        sensitive=sens.reset_index(drop=True),
        frame=frame,
        n_missing=frame[COLUMNS[:-1]].isna().sum().loc[lambda s: s > 0].to_dict(),
        split=split,
        DESCR=descr,
    )


def load_adult(root=None, *, split="train", sensitive=("sex", "race", "age_group")):
    """Load the UCI Adult census income data from a local folder.

    Parameters
    ----------
    root : str or path-like, optional
        Folder with ``adult.data`` (and ``adult.test``). Defaults to
        ``get_data_dir() / "tabular"``.
    split : {"train", "test", "both"}, default="train"
        ``adult.data``, ``adult.test``, or a Bunch with ``train`` and ``test``.
    sensitive : str or sequence of str, default=("sex", "race", "age_group")
        Columns returned in ``sensitive`` (any column of ``frame``).

    Returns
    -------
    dataset : Bunch
        data : DataFrame
            The 14 features (categoricals for text columns, NaN where UCI
            has ``?``).
        target : ndarray of int64
            1 for ``>50K``.
        target_names, feature_names, sensitive, frame, n_missing, split, DESCR
            ``frame`` adds ``income`` and ``age_group``; ``n_missing`` counts
            missing cells per column.

        For ``split="both"``: a Bunch with ``train``, ``test`` and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder or a needed file is missing.
    ValueError
        When a file is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_adult
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "adult.data").write_text(
    ...     "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, "
    ...     "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\\n"
    ...     "50, ?, 83311, Bachelors, 13, Married-civ-spouse, ?, Husband, Black, "
    ...     "Female, 0, 0, 13, ?, >50K\\n")
    >>> ds = load_adult(root)
    >>> ds.target, ds.n_missing
    (array([0, 1]), {'workclass': 1, 'occupation': 1, 'native-country': 1})
    >>> ds.sensitive.astype(str).values.tolist()
    [['Male', 'White', '25-45'], ['Female', 'Black', '>45']]
    """
    root = resolve_root(root, "tabular", dataset="Adult", source=SOURCE)
    if split not in ("train", "test", "both"):
        raise ValueError(f"split must be 'train', 'test' or 'both', got {split!r}.")
    allowed = [*COLUMNS, "age_group"]
    sensitive = select_columns(pd.DataFrame(columns=allowed), sensitive, param="sensitive")
    descr = DESCR.format(columns=", ".join(COLUMNS), groups=", ".join(AGE_GROUP_NAMES),
                         source=SOURCE)
    parts = {}
    for name, file, test in (("train", "adult.data", False), ("test", "adult.test", True)):
        if split in (name, "both"):
            path = require_file(root / file, dataset="Adult", source=SOURCE, what="data file")
            parts[name] = _bunch(_read(path, test=test), sensitive, descr, name)
    if split != "both":
        return parts[split]
    # same categories in train and test so encoders agree
    for col in CATEGORICAL:
        cats = sorted(
            set(parts["train"].frame[col].cat.categories)
            | set(parts["test"].frame[col].cat.categories)
        )
        for part in parts.values():
            part.frame[col] = part.frame[col].cat.set_categories(cats)
            part.data = part.frame[COLUMNS[:-1]]
            part.sensitive = part.frame[sensitive].reset_index(drop=True)
    return Bunch(train=parts["train"], test=parts["test"], DESCR=descr)
