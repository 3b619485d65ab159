"""Pieces shared by the post-processors: group codes, the validation split, scores,
inferred groups and metadata routing of the wrapped estimator."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import _routing_enabled, process_routing
from sklearn.utils.validation import _check_method_params, _num_samples

from ..metrics import UndefinedGroupWarning
from ..utils import check_sensitive_features, encode_sensitive_features
from ..utils._signature import takes_keyword

__all__: list[str] = []


class GroupCoder:
    """Fit-time groups (observed cells of the sensitive attributes) and the map from
    new sensitive features to them.

    A group is an observed combination of attribute values at ``fit``. At
    predict time a row must fall in one of those groups: a value never seen, or
    a combination of seen values that formed no group at fit, is an error.
    """

    def __init__(self, sensitive_features, n_samples, *, param="sensitive_features"):
        enc = encode_sensitive_features(sensitive_features, n_samples=n_samples, param=param)
        self.names = list(enc.names)
        self.categories = list(enc.categories)
        self.groups = enc.groups
        self.labels = enc.labels()
        self.codes = enc.codes
        first = np.zeros(enc.n_groups, dtype=np.int64)
        first[enc.codes[::-1]] = np.arange(len(enc.codes))[::-1]
        cells = enc.attribute_codes[first]  # (G, n_attributes)
        self._dims = tuple(max(len(c), 1) for c in self.categories)
        self._cells = np.ravel_multi_index(cells.T, self._dims)
        self._order = np.argsort(self._cells)

    @property
    def n_groups(self):
        return len(self.labels)

    def transform(self, sensitive_features, n_samples, *, param="sensitive_features"):
        """Fit-time group code of every row."""
        enc = encode_sensitive_features(
            sensitive_features, n_samples=n_samples, param=param,
            categories=dict(zip(self.names, self.categories, strict=True)),
        )
        if list(enc.names) != self.names:
            raise ValueError(
                f"{param} has the attributes {list(enc.names)}, but the rule was fitted "
                f"with {self.names}."
            )
        flat = np.ravel_multi_index(enc.attribute_codes.T, self._dims)
        sorted_cells = self._cells[self._order]
        pos = np.clip(np.searchsorted(sorted_cells, flat), 0, len(sorted_cells) - 1)
        found = sorted_cells[pos] == flat
        if not found.all():
            bad = enc.attribute_codes[np.argmax(~found)]
            label = ", ".join(f"{n}={self.categories[j][bad[j]]}"
                              for j, n in enumerate(self.names))
            raise ValueError(
                f"{param}: {int((~found).sum())} row(s) belong to a group not seen at fit "
                f"({label}); the rule has no threshold for it. Known groups: "
                f"{self.labels[:20]}."
            )
        return self._order[pos]


def validation_split(groups, y, valid_size, random_state):
    """Train / validation row indices, stratified by (group, class) cell.

    Each cell gives ``round(valid_size * n_cell)`` rows to the validation part,
    but always keeps at least one row in the training part (so the estimator
    sees every class of every group that has it).
    """
    n_cls = int(y.max()) + 1 if len(y) else 1
    cell = groups * n_cls + y
    counts = np.bincount(cell)
    n_val = np.minimum(np.floor(valid_size * counts + 0.5).astype(np.int64),
                       np.maximum(counts - 1, 0))
    perm = random_state.permutation(len(cell))
    order = perm[np.argsort(cell[perm], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(cell), dtype=np.int64)
    rank[order] = np.arange(len(cell)) - starts[cell[order]]
    is_val = rank < n_val[cell]
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def take_rows(data, indices):
    """Rows ``indices`` of ``X``-like data (arrays, DataFrames, lists, sparse
    matrices; anything else that only converts to an array is converted)."""
    if sp.issparse(data):  # COO / DIA cannot be indexed by rows
        data = data.tocsr()
    elif not (hasattr(data, "shape") or hasattr(data, "iloc") or isinstance(data, list)):
        data = np.asarray(data)
    return _safe_indexing(data, indices)


def take_sensitive(sensitive_features, n_samples, indices):
    """Rows ``indices`` of sensitive features, as a DataFrame of the attributes."""
    frame = check_sensitive_features(sensitive_features, n_samples=n_samples)
    return frame.iloc[indices].reset_index(drop=True)


def inner_fit_params(owner, estimator, X, fit_params, sensitive_features, indices):
    """Keyword arguments for ``estimator.fit`` on the rows ``indices``.

    With metadata routing, what the estimator requests (``sensitive_features``
    included); without, every extra keyword, plus ``sensitive_features`` when
    the estimator's ``fit`` names it. Per-row values are sliced to ``indices``.
    """
    if _routing_enabled():
        params = dict(fit_params)
        if sensitive_features is not None:
            params["sensitive_features"] = sensitive_features
        routed = dict(process_routing(owner, "fit", **params).estimator.fit)
    else:
        routed = dict(fit_params)
        if sensitive_features is not None and takes_keyword(estimator.fit,
                                                            "sensitive_features"):
            routed["sensitive_features"] = sensitive_features
    if indices is None:
        return routed
    sf = routed.pop("sensitive_features", None)
    routed = _check_method_params(X, params=routed, indices=indices)
    if sf is not None:
        routed["sensitive_features"] = take_sensitive(sf, _num_samples(X), indices)
    return routed


def check_finite_scores(scores, method, name):
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).any(axis=tuple(range(1, scores.ndim))).sum())
        raise ValueError(
            f"the estimator's {method} returned NaN or infinite scores for {bad} row(s); "
            f"{name} needs finite scores."
        )


def fit_group_estimator(group_estimator, X_train, groups_train, X_val, groups_val, *,
                        same_rows, random_state):
    """Fit the group classifier; its predicted groups for the validation rows.

    When the classifier is trained on the training part, it predicts the
    validation rows directly. When there is no training part (``same_rows``,
    a prefit estimator), the validation rows' groups are predicted out of fold
    (5-fold cross-validation), so the rule sees group errors as they will be on
    new data, and the returned classifier is then fitted on all those rows.
    """
    est = clone(group_estimator)
    if same_rows:
        counts = np.bincount(groups_val)
        n_splits = int(min(5, counts[counts > 0].min()))
        if n_splits >= 2:
            cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
            decided = cross_val_predict(clone(group_estimator), X_val, groups_val, cv=cv)
        else:
            warnings.warn(
                "groups='inferred' with prefit=True: a group has a single validation row, "
                "so the group classifier cannot be cross-validated; its in-sample "
                "predictions are used (optimistic).", UserWarning, stacklevel=4)
            decided = None
        est.fit(X_val, groups_val)
        if decided is None:
            decided = est.predict(X_val)
    else:
        est.fit(X_train, groups_train)
        decided = est.predict(X_val)
    return est, np.asarray(decided, dtype=np.int64)


def warn_undefined_rates(labels, counts, needed, classes_text, owner, skip=()):
    """Warn about groups whose constrained rate is undefined on the validation rows
    (the constraint on that rate is then relaxed for them)."""
    valid = counts.valid
    what = {"tpr": ("true-positive rate", "no row of class"),
            "fpr": ("false-positive rate", "no row outside class"),
            "sel": ("selection rate", "no row")}
    for rate in needed:
        ok = valid[rate][:, counts.classes]
        for j, c in enumerate(counts.classes):
            bad = np.setdiff1d(np.flatnonzero(~ok[:, j]), skip)
            if len(bad):
                name, why = what[rate]
                warnings.warn(
                    f"{owner}: on the validation rows, group(s) "
                    f"{[labels[g] for g in bad]} have {why} {classes_text[c]!r}, so their "
                    f"{name} for class {classes_text[c]!r} is undefined; the constraint on "
                    "that rate is relaxed for them (they are left out of it, as the "
                    "metrics of skfair.metrics leave them out).",
                    UndefinedGroupWarning, stacklevel=4,
                )
