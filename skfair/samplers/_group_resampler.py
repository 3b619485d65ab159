"""Resample so that every sensitive group has the same number of rows."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from imblearn.base import BaseSampler
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, check_array, validate_data

from ..utils import encode_sensitive_features

__all__ = ["GroupResampler", "group_resample_indices"]


def _largest_remainder(quota, total):
    """Round non-negative ``quota`` (summing to ``total``) to ints summing to ``total``.

    Hamilton's method: floor every quota, then give the leftover units to the
    largest fractional parts (ties go to the earlier entry).
    """
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    if left > 0:
        frac = quota - base
        order = np.argsort(-frac, kind="stable")[:left]
        base[order] += 1
    return base


def _sample_cells(cell_codes, targets, rng):
    """Row indices drawing ``targets[c]`` rows from every cell ``c``.

    Cells with at least ``targets[c]`` rows are subsampled without replacement;
    smaller cells keep all their rows and draw the missing ones with
    replacement. Fully vectorised: one random permutation and one stable
    (radix) sort of the codes, no loop over cells or rows. Kept rows come first
    in their original order, then the added duplicates.
    """
    n = cell_codes.size
    counts = np.bincount(cell_codes, minlength=targets.size)
    # a random order inside each cell: shuffle, then sort stably by cell code
    # (numpy radix-sorts 16-bit integers in O(n))
    perm = rng.permutation(n)
    small = targets.size <= np.iinfo(np.int16).max
    keys = cell_codes[perm].astype(np.int16 if small else np.int64, copy=False)
    order = perm[np.argsort(keys, kind="stable")]
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    sorted_codes = cell_codes[order]
    rank = np.arange(n, dtype=np.int64) - starts[sorted_codes]
    kept = np.sort(order[rank < targets[sorted_codes]])
    missing = np.maximum(targets - counts, 0)
    missing[counts == 0] = 0
    if missing.any():
        cells = np.repeat(np.arange(targets.size), missing)
        offsets = (rng.random_sample(cells.size) * counts[cells]).astype(np.int64)
        offsets = np.minimum(offsets, counts[cells] - 1)
        extra = order[starts[cells] + offsets]
        return np.concatenate([kept, extra])
    return kept


def _target_size(strategy, counts):
    if isinstance(strategy, Integral) and not isinstance(strategy, bool):
        return int(strategy)
    if strategy == "mean":
        return max(int(np.floor(counts.mean())), 1)
    if strategy == "min":
        return int(counts.min())
    return int(counts.max())


def group_resample_indices(sensitive_features, *, strategy="mean", y=None,
                           stratify_target=False, random_state=None):
    """Row indices giving every observed group exactly ``R`` rows.

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, DataFrame or dict
        One value per row; several attributes mean intersection cells. Only
        observed cells are groups: an empty cell is never invented.
    strategy : {"mean", "min", "max"} or int, default="mean"
        ``R``: the floor of the mean observed group size, the smallest, the
        largest, or a given number.
    y : array-like of shape (n_samples,), optional
        Target; needed with ``stratify_target``: class labels, or their
        one-vs-all (one-hot) encoding.
    stratify_target : bool, default=False
        Keep each group's target distribution: a group's ``R`` rows are split
        between its classes in proportion to their counts, rounded with the
        largest-remainder method so that they still sum to ``R`` exactly.
    random_state : int, RandomState or None, default=None

    Returns
    -------
    indices : ndarray of shape (R * n_groups,), int64
        Rows to take (kept rows in their original order, then duplicates).
    R : int
        Rows per group.

    Examples
    --------
    >>> from skfair.samplers import group_resample_indices
    >>> idx, R = group_resample_indices(["a", "a", "a", "b"], strategy="min", random_state=0)
    >>> R, len(idx)
    (1, 2)
    """
    enc = encode_sensitive_features(sensitive_features)
    rng = check_random_state(random_state)
    R = _target_size(strategy, enc.counts)
    if R < 1:
        raise ValueError(f"strategy={strategy!r} gives R={R}; it must be >= 1.")
    if not stratify_target:
        targets = np.full(enc.n_groups, R, dtype=np.int64)
        return _sample_cells(enc.codes, targets, rng), R
    if y is None:
        raise ValueError("stratify_target=True needs y.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    kind = type_of_target(y, input_name="y")
    if kind == "multilabel-indicator" and (np.asarray(y).sum(axis=1) == 1).all():
        # one-vs-all (one-hot) rows: one class each, as imbalanced-learn reads them
        y, kind = np.asarray(y).argmax(axis=1), "multiclass"
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"stratify_target=True needs class labels (binary or multiclass y), got a {kind} "
            "target; bin a continuous target first or set stratify_target=False."
        )
    _, y_codes = np.unique(y, return_inverse=True)
    y_codes = y_codes.reshape(-1)
    n_classes = int(y_codes.max()) + 1
    cells = enc.codes * n_classes + y_codes
    cell_counts = np.bincount(cells, minlength=enc.n_groups * n_classes).reshape(
        enc.n_groups, n_classes
    )
    quota = R * cell_counts / cell_counts.sum(axis=1, keepdims=True)
    targets = np.vstack([_largest_remainder(q, R) for q in quota])
    lost = int(((targets == 0) & (cell_counts > 0)).sum())
    if lost:
        warnings.warn(
            f"stratify_target: {lost} (group, class) cell(s) present in the data get no row "
            f"at R={R} (their share rounds to 0).",
            UserWarning,
        )
    return _sample_cells(cells, targets.ravel(), rng), R


def _take_rows(data, indices):
    """``data`` restricted to ``indices``, same container type, fresh index."""
    if data is None:
        return None
    out = _safe_indexing(data, indices)
    if isinstance(out, pd.DataFrame | pd.Series):
        out = out.reset_index(drop=True)
    return out


class GroupResampler(BaseSampler):
    """Give every sensitive group the same number of rows ``R``.

    Groups are the observed values of ``sensitive_features`` (intersection
    cells when several attributes are given). ``R`` is the floor of the mean
    group size, the smallest or largest group size, or an int. A group with
    more than ``R`` rows is subsampled without replacement; a group with fewer
    keeps all its rows and draws the missing ones with replacement. Cells that
    do not occur stay empty. Works on arrays, DataFrames, lists, sparse
    matrices and image arrays ``(n, C, H, W)``, with any target (class labels,
    ages, multi-label rows). Rows drawn are in ``sample_indices_``, which
    :class:`skfair.pipeline.Pipeline` uses to keep routed metadata
    (``sensitive_features``, ``sample_weight``) aligned with the resampled rows.

    ``fit_resample`` requires ``sensitive_features`` (a ``ValueError`` says so
    when they are missing); they are requested by default under metadata
    routing (no ``set_fit_resample_request`` needed).

    Parameters
    ----------
    strategy : {"mean", "min", "max"} or int, default="mean"
        How ``R`` is chosen; Venkatesh et al. ("Frowning upon Bias") tried
        all three.
    stratify_target : bool, default=False
        Keep the target distribution inside each group (class labels only; the
        split of ``R`` between classes is rounded with the largest-remainder
        method, so counts still sum to ``R``).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (R * n_groups,)
        Indices of the original rows, in output order.
    target_size_ : int
        ``R``.
    group_sizes_ : pandas.DataFrame
        One row per group: its attribute values, ``n_before`` and ``n_after``.
    sampling_strategy_ : dict
        ``{group label: R}`` (imbalanced-learn's fitted attribute).
    n_features_in_ : int
        Size of the second axis of ``X`` (features, or channels of images);
        absent for a 1-D ``X`` such as a list of image paths.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X``.

    See Also
    --------
    group_resample_indices : the pure function.
    skfair.pipeline.Pipeline : keeps metadata aligned after resampling.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.samplers import GroupResampler
    >>> X = np.arange(12).reshape(6, 2); y = np.array([0, 1, 0, 1, 0, 1])
    >>> S = ["a", "a", "a", "a", "b", "b"]
    >>> rs = GroupResampler(strategy="min", random_state=0)
    >>> X_res, y_res = rs.fit_resample(X, y, sensitive_features=S)
    >>> X_res.shape, rs.target_size_
    ((4, 2), 2)
    >>> rs.group_sizes_
      sensitive_feature_0  n_before  n_after
    0                   a         4        2
    1                   b         2        2
    """

    _sampling_type = "bypass"

    __metadata_request__fit_resample = {"sensitive_features": True}
    __metadata_request__fit = {"sensitive_features": True}

    _parameter_constraints: dict = {
        "strategy": [StrOptions({"mean", "min", "max"}), Interval(Integral, 1, None,
                                                                 closed="left")],
        "stratify_target": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, strategy="mean", *, stratify_target=False, random_state=None):
        self.strategy = strategy
        self.stratify_target = stratify_target
        self.random_state = random_state

    def _check_inputs(self, X, y):
        self._validate_params()
        if y is not None:
            y_arr = np.asarray(y) if not isinstance(y, pd.DataFrame | pd.Series) else y
            if _num_samples(y_arr) != _num_samples(X):
                raise ValueError(
                    f"X has {_num_samples(X)} rows but y has {_num_samples(y_arr)}."
                )
            # a NaN / inf target is refused, as imbalanced-learn's samplers do (a
            # resampled copy would only hand it on); validation only, y is taken as given
            check_array(y, accept_sparse=True, ensure_2d=False, allow_nd=True, dtype=None,
                        ensure_all_finite=True, ensure_min_samples=0, input_name="y")
        # validation only (shape, feature names, n_features_in_); rows are taken
        # from the original container so types and dtypes are kept.
        # 1-D X is accepted on purpose (e.g. image paths loaded lazily).
        X_checked = validate_data(
            self, X=X, reset=True, accept_sparse=True, allow_nd=True, dtype=None,
            ensure_all_finite=False, ensure_2d=False,
        )
        if X_checked.ndim >= 2:
            self.n_features_in_ = int(X_checked.shape[1])
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        self._validated = True

    def fit(self, X, y=None, *, sensitive_features=None):
        """Validate the inputs; with ``sensitive_features``, also compute ``R``.

        Resampling only happens in :meth:`fit_resample` (imbalanced-learn's
        contract: a sampler acts at fit time only).

        Parameters
        ----------
        X : array-like, DataFrame, sparse matrix or ndarray of shape (n, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        sensitive_features : array-like, DataFrame, dict, ..., optional

        Returns
        -------
        self : object
        """
        self._check_inputs(X, y)
        if sensitive_features is not None:
            enc = encode_sensitive_features(sensitive_features, n_samples=_num_samples(X))
            self.target_size_ = _target_size(self.strategy, enc.counts)
        return self

    def fit_resample(self, X, y=None, *, sensitive_features=None):
        """Resample ``X`` and ``y`` so that every group has ``R`` rows.

        Parameters
        ----------
        X : array-like, DataFrame, list, sparse matrix or ndarray of shape (n, ...)
            Features, or images ``(n, C, H, W)``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
            Target, resampled alongside.
        sensitive_features : array-like, list of array-like, DataFrame or dict
            One value per row (required).

        Returns
        -------
        X_resampled : same type as X
            ``R * n_groups`` rows (DataFrames get a fresh ``RangeIndex``).
        y_resampled : same type as y
        """
        if sensitive_features is None:
            raise ValueError(
                "GroupResampler.fit_resample needs sensitive_features=... (one value per row "
                "of X): the groups to balance. Inside a Pipeline/GridSearchCV, enable "
                "metadata routing (sklearn.set_config(enable_metadata_routing=True)) and pass "
                "sensitive_features to fit."
            )
        self._check_inputs(X, y)
        return self._fit_resample(X, y, sensitive_features=sensitive_features)

    def _fit_resample(self, X, y, *, sensitive_features):
        enc = encode_sensitive_features(sensitive_features, n_samples=_num_samples(X))
        indices, R = group_resample_indices(
            enc, strategy=self.strategy, y=y, stratify_target=self.stratify_target,
            random_state=self.random_state,
        )
        self.sample_indices_ = indices
        self.target_size_ = R
        after = np.bincount(enc.codes[indices], minlength=enc.n_groups)
        sizes = enc.groups.reset_index(drop=True).copy()
        sizes["n_before"] = enc.counts
        sizes["n_after"] = after
        self.group_sizes_ = sizes
        self.sampling_strategy_ = dict(zip(enc.labels(), after.tolist(), strict=True))
        if isinstance(X, list):
            X_res = [X[i] for i in indices]
        else:
            X_res = _take_rows(X, indices)
        if isinstance(y, list):
            y_res = [y[i] for i in indices]
        else:
            y_res = _take_rows(y, indices)
        return X_res, y_res

    def __sklearn_is_fitted__(self):
        return getattr(self, "_validated", False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.target_tags.required = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags
