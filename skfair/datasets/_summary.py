"""A readable summary of any skfair dataset Bunch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..utils import encode_sensitive_features
from ._colored_digits import color_label_agreement

__all__ = ["DatasetSummary", "dataset_summary"]

#: Targets with at most this many distinct values are summarised as classes.
MAX_CLASSES = 20


@dataclass
class DatasetSummary:
    """What :func:`dataset_summary` returns; ``str()`` gives a printable report.

    Attributes
    ----------
    name : str
        The dataset's name (first line of its ``DESCR``).
    n_samples : dict
        Rows per split.
    group_sizes : pandas.DataFrame
        Rows per sensitive group (intersection of all sensitive columns),
        one column per split; index: readable group labels.
    label_distribution : dict of pandas.DataFrame
        Per split: for class targets the share of each label within each
        group (rows sum to 1); for numeric targets count/mean/std/min/median/
        max per group; for multi-label targets the positive rate per label.
    agreement : dict
        Per split, the colour-label agreement (coloured digits only; empty
        for other datasets).
    target_kind : str
        ``"classes"``, ``"numeric"`` or ``"multilabel"``.
    """

    name: str
    n_samples: dict
    group_sizes: pd.DataFrame
    label_distribution: dict
    agreement: dict = field(default_factory=dict)
    target_kind: str = "classes"

    def __str__(self):
        lines = [self.name, "=" * len(self.name), ""]
        lines.append(
            "rows: " + ", ".join(f"{k} {v}" for k, v in self.n_samples.items())
        )
        if self.agreement:
            lines.append(
                "colour-label agreement: "
                + ", ".join(f"{k} {v:.3f}" for k, v in self.agreement.items())
            )
        lines += ["", "group sizes:", self.group_sizes.to_string(), ""]
        title = {
            "classes": "label distribution per group (share of each label, rows sum to 1)",
            "numeric": "target per group",
            "multilabel": "positive rate per label and group",
        }[self.target_kind]
        for split, table in self.label_distribution.items():
            lines += [f"{title}, {split}:", table.round(3).to_string(), ""]
        return "\n".join(lines).rstrip() + "\n"


def _target_kind(target):
    target = np.asarray(target)
    if target.ndim == 2:
        return "multilabel"
    if target.dtype.kind in "iufc" and len(np.unique(target)) > MAX_CLASSES:
        return "numeric"
    return "classes"


def _distribution(target, labels, kind, target_names=None):
    target = np.asarray(target)
    if kind == "multilabel":
        cols = list(target_names) if target_names is not None else list(
            range(target.shape[1])
        )
        table = pd.DataFrame(target.astype(float), columns=cols)
        return table.groupby(labels, sort=False).mean().sort_index()
    series = pd.Series(target, name="target")
    if kind == "numeric":
        return series.groupby(labels).agg(["count", "mean", "std", "min", "median", "max"])
    table = pd.crosstab(pd.Series(labels, name="group"), series, normalize="index")
    if target_names is not None and target.dtype.kind in "iu":
        names = np.asarray(target_names, dtype=object)
        table.columns = [names[c] if 0 <= c < len(names) else c for c in table.columns]
    table.columns.name = "label"
    return table


def _splits(bunch):
    if "train" in bunch and "test" in bunch and hasattr(bunch["train"], "keys"):
        return {"train": bunch["train"], "test": bunch["test"]}
    return {bunch.get("split") or "all": bunch}


def dataset_summary(bunch):
    """Summarise a dataset Bunch: group sizes, labels per group, agreement.

    Parameters
    ----------
    bunch : Bunch
        What a skfair dataset function returns: one split (``target`` and
        ``sensitive``) or ``split="both"`` (``train`` and ``test`` Bunches).

    Returns
    -------
    summary : DatasetSummary
        Tables as DataFrames; ``print(summary)`` shows them.

    Raises
    ------
    ValueError
        When the Bunch lacks ``target`` or ``sensitive``, or a sensitive
        value is missing.

    Examples
    --------
    >>> from skfair.datasets import dataset_summary, make_colored_digits
    >>> ds = make_colored_digits(n_colors=2, image_size=8, split="both", random_state=0)
    >>> summary = dataset_summary(ds)
    >>> summary.group_sizes
           train  test
    group
    red      627   270
    green    630   270
    >>> {k: round(v, 2) for k, v in summary.agreement.items()}
    {'train': 0.9, 'test': 0.5}
    """
    splits = _splits(bunch)
    for name, part in splits.items():
        missing = [key for key in ("target", "sensitive") if key not in part]
        if missing:
            raise ValueError(
                f"dataset_summary: the {name!r} Bunch has no {missing}; expected a Bunch "
                "returned by a skfair.datasets function."
            )
    descr = bunch.get("DESCR") or next(iter(splits.values())).get("DESCR") or ""
    title = next(
        (
            line.strip()
            for line in descr.splitlines()
            if line.strip() and not line.startswith("..") and set(line.strip()) - {"-", "="}
        ),
        "dataset",
    )
    label_colors = bunch.get("label_colors")
    kind = _target_kind(next(iter(splits.values())).target)

    categories = None
    sizes, dists, agreement, n_samples = {}, {}, {}, {}
    for name, part in splits.items():
        enc = encode_sensitive_features(
            part.sensitive, categories=categories, param=f"{name}.sensitive"
        )
        categories = enc.categories  # same group labels across splits
        labels = np.asarray(enc.labels(), dtype=object)[enc.codes]
        n_samples[name] = len(enc.codes)
        sizes[name] = pd.Series(enc.counts, index=enc.labels())
        dists[name] = _distribution(
            part.target, labels, kind, part.get("target_names")
        ).reindex([g for g in enc.labels() if g in set(labels)])
        lc = part.get("label_colors", label_colors)
        if lc is not None and "color" in part.sensitive:
            agreement[name] = color_label_agreement(part.target, part.sensitive["color"], lc)

    order = []
    for s in sizes.values():  # union of groups, first-seen order
        order += [g for g in s.index if g not in order]
    group_sizes = pd.DataFrame(sizes).reindex(order).fillna(0).astype(np.int64)
    group_sizes.index.name = "group"
    for name in dists:
        if kind != "numeric":
            dists[name].index.name = "group"
    return DatasetSummary(
        name=title,
        n_samples=n_samples,
        group_sizes=group_sizes,
        label_distribution=dists,
        agreement=agreement,
        target_kind=kind,
    )
