"""The plumbing every post-processor shares: groups, the validation split, fitting
the wrapped estimator (or taking it prefit), inferred groups and metadata routing."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    column_or_1d,
)

from ._common import (
    GroupCoder,
    fit_group_estimator,
    inner_fit_params,
    take_rows,
    validation_split,
)

__all__: list[str] = []


class _ValidationPart:
    """What ``fit`` hands the rule search: the validation rows' indices and
    weights, their true groups, and the group labels."""

    def __init__(self, X, rows, weights, groups, n_groups, labels, n_samples):
        self.rows = rows
        self.X = X if len(rows) == n_samples else take_rows(X, rows)
        self.w = weights[rows]
        self.g = groups[rows]
        self.G = n_groups
        self.labels = labels


class BasePostProcessor(MetaEstimatorMixin, BaseEstimator):
    """Shared ``fit`` steps and routing of the group-wise post-processors.

    Subclasses set ``estimator``, ``prefit``, ``groups``, ``group_estimator``,
    ``valid_size`` and ``random_state`` and call :meth:`_prepare` in ``fit``.
    ``sensitive_features`` is requested by default for ``fit``, ``predict``
    and ``score`` under metadata routing.
    """

    __metadata_request__fit = {"sensitive_features": True}
    __metadata_request__predict = {"sensitive_features": True}
    __metadata_request__score = {"sensitive_features": True}

    def _prepare(self, X, y, sensitive_features, sample_weight, fit_params, *, strata,
                 check_y):
        """Validate, encode the groups, split, fit the estimator (unless prefit)
        and the group classifier (inferred groups).

        Parameters
        ----------
        strata : callable or None
            ``strata(y)`` gives integer codes to stratify the split by (with the
            groups), e.g. the class of each row; None stratifies by group only.
        check_y : callable
            Validates the 1-D target (raises on a wrong kind of target).

        Returns
        -------
        part : _ValidationPart
            With ``h`` (decision group of each validation row) set.
        y : ndarray
            The 1-D target.
        """
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        n = _num_samples(X)
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)}.")
        check_y(y)
        if n < 2:
            raise ValueError(f"{name} needs at least 2 samples, got {n} sample.")
        w = _check_sample_weight(sample_weight, np.empty((n, 0)), ensure_non_negative=True)
        rng = check_random_state(self.random_state)
        codes, labels = self._fit_groups(sensitive_features, n)
        if self.prefit:
            check_is_fitted(self.estimator)
            if fit_params:
                raise ValueError(
                    f"prefit=True: the estimator is not fitted here, so the fit parameters "
                    f"{sorted(fit_params)} would be lost; do not pass them."
                )
            self.estimator_ = self.estimator
            train, val = None, np.arange(n)
        else:
            cells = np.zeros(n, dtype=np.int64) if strata is None else strata(y)
            train, val = validation_split(codes, cells, self.valid_size, rng)
            if len(val) == 0:
                raise ValueError(
                    f"valid_size={self.valid_size} leaves no validation row out of {n} "
                    "samples; give more rows or a larger valid_size."
                )
            params = dict(fit_params)
            if sample_weight is not None:
                params["sample_weight"] = w
            params = inner_fit_params(self, self.estimator, X, params, sensitive_features,
                                      train)
            self.estimator_ = clone(self.estimator).fit(take_rows(X, train), y[train],
                                                        **params)
        val = val[w[val] > 0]  # a row of weight 0 counts for nothing
        if len(val) == 0:
            raise ValueError("every validation row has sample_weight 0; nothing to fit on.")
        part = _ValidationPart(X, val, w, codes, len(labels), labels, n)
        if self.groups == "inferred":
            ge = (LogisticRegression(max_iter=1000) if self.group_estimator is None
                  else self.group_estimator)
            self.group_estimator_, part.h = fit_group_estimator(
                ge, None if train is None else take_rows(X, train),
                None if train is None else codes[train], part.X, part.g,
                same_rows=train is None, random_state=rng.randint(np.iinfo(np.int32).max))
        else:
            part.h = part.g
        return part, y

    def _fit_groups(self, sensitive_features, n):
        """Group code per row and group labels; sets ``groups_``."""
        if sensitive_features is None:
            if self.groups == "inferred":
                raise ValueError(
                    "groups='inferred' needs sensitive_features at fit: the group classifier "
                    "learns them, and fairness is measured with them."
                )
            warnings.warn(
                f"{type(self).__name__}.fit got no sensitive_features: all rows form one "
                "group, so the rule only tunes the estimator's output for the objective "
                "(no fairness constraint). Pass sensitive_features=... (routed by metadata "
                "routing).", UserWarning, stacklevel=4)
            self._coder = None
            self.groups_ = pd.DataFrame({"all_rows": [True]}).rename_axis("group")
            return np.zeros(n, dtype=np.int64), ["all rows"]
        self._coder = GroupCoder(sensitive_features, n)
        self.groups_ = self._coder.groups
        return self._coder.codes, self._coder.labels

    def _decision_groups(self, X, sensitive_features, n):
        """The group each row's rule is taken from."""
        if self.groups == "inferred":
            return np.asarray(self.group_estimator_.predict(X), dtype=np.int64)
        if self._coder is None:
            if sensitive_features is not None:
                raise ValueError(
                    "this rule was fitted without sensitive_features (one group); do not "
                    "pass them to predict."
                )
            return np.zeros(n, dtype=np.int64)
        if sensitive_features is None:
            raise ValueError(
                f"{type(self).__name__} (groups='given') needs sensitive_features to "
                "predict: its rule is per group. Pass sensitive_features=... (routed by "
                "metadata routing), or fit with groups='inferred'."
            )
        return self._coder.transform(sensitive_features, n)

    @property
    def n_features_in_(self):
        """Number of features seen by the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = get_tags(self.estimator).input_tags
        return tags

    def get_metadata_routing(self):
        """Routing: ``sensitive_features`` is consumed here (requested by default);
        other ``fit`` metadata go to ``estimator.fit``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        return MetadataRouter(owner=self).add_self_request(self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit",
                                                                          callee="fit"))
