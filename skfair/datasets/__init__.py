"""Datasets: the embedded biased colored digits and loaders for real data.

Every function returns a scikit-learn :class:`~sklearn.utils.Bunch` with at
least ``data`` (or ``images``), ``target``, ``sensitive`` (a DataFrame, one
column per sensitive attribute), ``frame`` and ``DESCR``. Loaders read a local
folder the user downloaded; nothing is ever downloaded.
"""

from ._adult import load_adult
from ._appa_real import load_appa_real
from ._celeba import load_celeba
from ._colored_digits import (
    COLOR_NAMES,
    COLOR_PALETTE,
    color_label_agreement,
    make_colored_digits,
)
from ._compas import load_compas
from ._fairface import load_fairface
from ._multilabel import make_biased_multilabel
from ._rafdb import load_rafdb
from ._summary import DatasetSummary, dataset_summary
from ._utkface import load_utkface, parse_utkface_name

__all__ = [
    "COLOR_NAMES",
    "COLOR_PALETTE",
    "DatasetSummary",
    "color_label_agreement",
    "dataset_summary",
    "load_adult",
    "load_appa_real",
    "load_celeba",
    "load_compas",
    "load_fairface",
    "load_rafdb",
    "load_utkface",
    "make_biased_multilabel",
    "make_colored_digits",
    "parse_utkface_name",
]
