"""ProPublica's COMPAS two-year recidivism data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._base import read_csv_checked, require_file, resolve_root, select_columns

__all__ = ["load_compas"]

SOURCE = "https://github.com/propublica/compas-analysis (compas-scores-two-years.csv)"
FILE = "compas-scores-two-years.csv"
FEATURES = [
    "sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
    "priors_count", "c_charge_degree",
]
CATEGORICAL = ["sex", "age_cat", "race", "c_charge_degree", "score_text"]
AGE_CAT_ORDER = ["Less than 25", "25 - 45", "Greater than 45"]
REQUIRED = [*FEATURES, "two_year_recid", "decile_score"]

DESCR = """\
.. _compas_dataset:

COMPAS two-year recidivism (ProPublica, local folder)
-----------------------------------------------------

``compas-scores-two-years.csv`` as published by ProPublica (7,214 rows, 53
columns, two of them duplicated by name: pandas reads the second
``decile_score`` and ``priors_count`` as ``decile_score.1`` and
``priors_count.1``). ``frame`` holds every column; ``data`` holds the usual
features {features} (no COMPAS score and no column recorded after the
screening, which would leak the outcome). ``target`` is ``two_year_recid``
(1 = re-offended within two years). ``sensitive`` holds ``race``, ``sex`` and
``age_cat`` (categoricals).

``propublica_filter=True`` applies ProPublica's own row filter
(``-30 <= days_b_screening_arrest <= 30``, ``is_recid != -1``,
``c_charge_degree != 'O'``, ``score_text != 'N/A'``), which keeps 6,172 rows of
the published file, and warns with the number of rows dropped; by default
all rows are kept.

Source: {source}. Angwin, Larson, Mattu, Kirchner, "Machine Bias",
ProPublica 2016.
"""


def load_compas(root=None, *, sensitive=("race", "sex", "age_cat"), propublica_filter=False):
    """Load ProPublica's COMPAS ``compas-scores-two-years.csv`` from a local folder.

    Parameters
    ----------
    root : str or path-like, optional
        Folder with ``compas-scores-two-years.csv``. Defaults to
        ``get_data_dir() / "tabular"``.
    sensitive : str or sequence of str, default=("race", "sex", "age_cat")
        Columns returned in ``sensitive``.
    propublica_filter : bool, default=False
        Apply ProPublica's analysis filter (warns with the rows dropped).

    Returns
    -------
    dataset : Bunch
        ``data`` (DataFrame of the features), ``target`` (int64
        ``two_year_recid``), ``target_names``, ``feature_names``,
        ``sensitive``, ``frame`` (all columns) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        When the folder or the CSV is missing.
    ValueError
        When the CSV is malformed (names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skfair.datasets import load_compas
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "compas-scores-two-years.csv").write_text(
    ...     "sex,age,age_cat,race,juv_fel_count,juv_misd_count,juv_other_count,"
    ...     "priors_count,c_charge_degree,decile_score,two_year_recid\\n"
    ...     "Male,69,Greater than 45,Other,0,0,0,0,F,1,0\\n"
    ...     "Female,24,Less than 25,African-American,0,0,1,4,M,8,1\\n")
    >>> ds = load_compas(root)
    >>> ds.target, ds.sensitive.astype(str).values.tolist()
    (array([0, 1]), [['Other', 'Male', 'Greater than 45'], ['African-American', \
'Female', 'Less than 25']])
    """
    root = resolve_root(root, "tabular", dataset="COMPAS", source=SOURCE)
    path = require_file(root / FILE, dataset="COMPAS", source=SOURCE, what="data file")
    frame = read_csv_checked(path, required=REQUIRED, low_memory=False)
    target = pd.to_numeric(frame["two_year_recid"], errors="coerce")
    if target.isna().any() or not target.isin([0, 1]).all():
        raise ValueError(f"{str(path)!r}: two_year_recid must be 0 or 1 in every row.")
    if propublica_filter:
        needed = ["days_b_screening_arrest", "is_recid", "score_text"]
        missing = [c for c in needed if c not in frame]
        if missing:
            raise ValueError(f"{str(path)!r} lacks {missing}, needed by propublica_filter.")
        keep = (
            frame["days_b_screening_arrest"].between(-30, 30)
            & (frame["is_recid"] != -1)
            & (frame["c_charge_degree"] != "O")
            & (frame["score_text"].notna())
            & (frame["score_text"] != "N/A")
        )
        warnings.warn(
            f"propublica_filter dropped {int((~keep).sum())} of {len(frame)} COMPAS rows.",
            UserWarning, stacklevel=2,
        )
        frame, target = frame[keep].reset_index(drop=True), target[keep].reset_index(drop=True)
    for col in CATEGORICAL:
        if col in frame:
            cats = AGE_CAT_ORDER if col == "age_cat" else None
            frame[col] = pd.Categorical(frame[col], categories=cats)
    sensitive = select_columns(frame, sensitive, param="sensitive")
    sens = frame[sensitive]
    if sens.isna().any().any():
        raise ValueError(f"{str(path)!r}: the sensitive column(s) {sensitive} have missing "
                         "or unexpected values.")
    return Bunch(
        data=frame[FEATURES],
        target=target.to_numpy().astype(np.int64),
        target_names=np.asarray(["no recidivism", "recidivism"], dtype=object),
        feature_names=list(FEATURES),
        sensitive=sens.reset_index(drop=True),
        frame=frame,
        DESCR=DESCR.format(features=", ".join(FEATURES), source=SOURCE),
    )
