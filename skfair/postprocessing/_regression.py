"""Group-wise affine correction of a regressor, fitted on validation rows."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_y, check_is_fitted

from ..metrics import UndefinedGroupWarning
from ._base import BasePostProcessor
from ._common import check_finite_scores

__all__ = ["FairRegressionCorrector"]

_GOLDEN = (np.sqrt(5) - 1) / 2
_DEFAULT_SHRINKAGE = (0.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, np.inf)


def _weighted_median(values, weights):
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cw, 0.5 * cw[-1])])


def lad_line(pred, y, weights, *, slope_bounds=(0.0, 3.0), n_iter=60):
    """Least-absolute-deviations line ``y ~ a * pred + b``.

    For a fixed slope the best intercept is the weighted median of ``y - a *
    pred``, and the remaining loss is convex in ``a``: a golden-section search
    over ``slope_bounds`` finds it (to about ``1e-12`` of the bracket after 60
    steps).

    Parameters
    ----------
    pred, y, weights : ndarray of shape (n,)
    slope_bounds : (float, float), default=(0, 3)
    n_iter : int, default=60

    Returns
    -------
    slope, intercept : float

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.postprocessing._regression import lad_line
    >>> x = np.arange(10.0); y = 2 * x + 1; y[3] = 100.0  # one outlier
    >>> [round(v, 6) for v in lad_line(x, y, np.ones(10))]
    [2.0, 1.0]
    """
    def loss(a):
        r = y - a * pred
        b = _weighted_median(r, weights)
        return float(np.sum(weights * np.abs(r - b))), b

    lo, hi = slope_bounds
    x1, x2 = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    f1, f2 = loss(x1)[0], loss(x2)[0]
    for _ in range(n_iter):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - _GOLDEN * (hi - lo)
            f1 = loss(x1)[0]
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + _GOLDEN * (hi - lo)
            f2 = loss(x2)[0]
    a = float((lo + hi) / 2)
    return a, loss(a)[1]


def _fit_maps(pred, y, w, decision, n_decision, shrinkage, slope_bounds):
    """Per-decision-group (slope, intercept) for every shrinkage value:
    ``(len(shrinkage), H, 2)``. A group's own LAD line is pulled towards the
    global one with weight ``kappa / (n_g + kappa)`` (``n_g``: its rows)."""
    glob = np.array(lad_line(pred, y, w, slope_bounds=slope_bounds))
    own = np.tile(glob, (n_decision, 1))
    n_g = np.bincount(decision, minlength=n_decision).astype(np.float64)
    for k in range(n_decision):
        rows = decision == k
        if n_g[k] >= 3 and np.ptp(pred[rows]) > 0:
            own[k] = lad_line(pred[rows], y[rows], w[rows], slope_bounds=slope_bounds)
        elif n_g[k] > 0:  # too few rows for a slope: the global one, its own intercept
            own[k, 1] = _weighted_median(y[rows] - glob[0] * pred[rows], w[rows])
    kappa = np.asarray(shrinkage, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        lam = np.where(np.isinf(kappa), 0.0, n_g[None, :] / (n_g[None, :] + kappa))
    lam = np.nan_to_num(lam, nan=0.0)[..., None]  # a group without rows: the global line
    return lam * own[None] + (1 - lam) * glob[None, None, :]


def _mae_bias(err, groups, n_groups, weights):
    """ChaLearn's bias of absolute errors (mean over group pairs of |MAE_i - MAE_j|),
    for several error columns at once: ``err`` (n, m) -> (m,); groups without rows
    are left out."""
    tot = np.bincount(groups, weights=weights, minlength=n_groups)
    ok = tot > 0
    mae = np.stack([np.bincount(groups, weights=weights * e, minlength=n_groups)
                    for e in err.T])[:, ok] / tot[ok]
    g = mae.shape[1]
    if g < 2:
        return np.zeros(err.shape[1])
    m = np.sort(mae, axis=1)
    return (m * (2 * np.arange(g) - g + 1)).sum(1) / (g * (g - 1) / 2)


class FairRegressionCorrector(RegressorMixin, BasePostProcessor):
    """Group-wise affine correction of a regressor (e.g. age), fitted on validation rows.

    Reduces the ChaLearn bias score (:func:`skfair.metrics.mae_bias_score`:
    per-group mean absolute error, mean over group pairs of ``|MAE_i -
    MAE_j|``) of a fitted regressor by recalibrating its output per group:
    ``y' = a_g * y_hat + b_g``. Each group's line is fitted by least absolute
    deviations on the validation rows (a robust fit, and the one that minimises
    the group's MAE), and pulled towards the line fitted on all validation rows
    with weight ``kappa / (n_g + kappa)``, so a small group is corrected less
    than a large one. ``kappa`` is chosen among ``shrinkage`` by 5-fold
    cross-fitting on the validation rows: the value with the smallest
    out-of-fold bias score among those whose out-of-fold MAE exceeds the
    uncorrected MAE by at most ``tolerance`` (no correction at all is always
    among the choices). The chosen correction is then refitted on all the
    validation rows.

    Parameters
    ----------
    estimator : regressor
        Fitted when ``prefit=True``; otherwise cloned and fitted here.
    tolerance : float >= 0, default=0.0
        Largest allowed increase of the (out-of-fold) validation MAE over the
        uncorrected estimator's, in units of ``y``.
    shrinkage : array-like of float >= 0, default=None
        Candidate ``kappa`` values (pseudo-rows of the global line; ``inf``:
        one global line, ``0``: each group's own). ``None``: ``(0, 3, 10, 30,
        100, 300, 1000, inf)``.
    prefit : bool, default=False
        ``True``: fit only the correction, on all the rows given (held-out
        rows). ``False``: hold out ``valid_size`` of the rows (stratified by
        group and target quartile), fit a clone of ``estimator`` on the rest.
    groups : {"given", "inferred"}, default="given"
        ``"inferred"``: a group classifier predicts the group from ``X`` (so
        ``predict`` needs no sensitive features); the bias is still measured
        with the true groups of the validation rows.
    group_estimator : classifier, default=None
        For ``groups="inferred"``; ``None``: ``LogisticRegression(max_iter=1000)``.
    valid_size : float in (0, 1), default=0.25
        Share of the rows held out when ``prefit=False``.
    slope_bounds : (float, float), default=(0.0, 3.0)
        Range searched for each slope.
    random_state : int, RandomState instance or None, default=None
        The validation split and the cross-fitting folds.

    Attributes
    ----------
    estimator_ : regressor
        The fitted estimator (``estimator`` itself when ``prefit=True``).
    group_estimator_ : classifier
        The fitted group classifier (``groups="inferred"`` only).
    groups_ : pandas.DataFrame
        One row per group; its index is the row of ``coef_``.
    coef_ : ndarray of shape (n_groups, 2)
        Slope and intercept of each group's correction.
    shrinkage_ : float or None
        The chosen ``kappa`` (None: no correction).
    correction_curve_ : pandas.DataFrame
        Out-of-fold validation ``mae`` and ``mae_bias`` for no correction
        (``shrinkage`` NaN) and every ``kappa``; ``chosen`` marks the pick.
    validation_results_ : dict
        ``n_rows``, and the out-of-fold ``mae`` / ``mae_bias`` of the chosen
        correction next to ``mae_uncorrected`` / ``mae_bias_uncorrected``.
    n_features_in_ : int
        From ``estimator_`` (when it has it).

    See Also
    --------
    FairThresholdClassifier : the classification counterpart.
    skfair.metrics.mae_bias_score : the bias score reduced here.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfair.postprocessing import FairRegressionCorrector
    >>> from skfair.metrics import mae_bias_score
    >>> rng = np.random.RandomState(0)
    >>> s = rng.randint(0, 2, 3000)
    >>> X = rng.uniform(10, 70, size=(3000, 1))
    >>> age = X[:, 0] + np.where(s == 1, 3 + 0.2 * X[:, 0], 0) + rng.normal(0, 2, 3000)
    >>> corr = FairRegressionCorrector(LinearRegression(), random_state=0)
    >>> corr = corr.fit(X, age, sensitive_features=s)
    >>> before = mae_bias_score(age, corr.estimator_.predict(X), sensitive_features=s)
    >>> after = mae_bias_score(age, corr.predict(X, sensitive_features=s), sensitive_features=s)
    >>> bool(after < before / 2)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "tolerance": [Interval(Real, 0, None, closed="left")],
        "shrinkage": ["array-like", None],
        "prefit": ["boolean"],
        "groups": [StrOptions({"given", "inferred"})],
        "group_estimator": [HasMethods(["fit", "predict"]), None],
        "valid_size": [Interval(Real, 0, 1, closed="neither")],
        "slope_bounds": [tuple],
        "random_state": ["random_state"],
    }
    _N_FOLDS = 5

    def __init__(self, estimator, *, tolerance=0.0, shrinkage=None, prefit=False,
                 groups="given", group_estimator=None, valid_size=0.25,
                 slope_bounds=(0.0, 3.0), random_state=None):
        self.estimator = estimator
        self.tolerance = tolerance
        self.shrinkage = shrinkage
        self.prefit = prefit
        self.groups = groups
        self.group_estimator = group_estimator
        self.valid_size = valid_size
        self.slope_bounds = slope_bounds
        self.random_state = random_state

    def _check_options(self):
        kappa = np.asarray(_DEFAULT_SHRINKAGE if self.shrinkage is None else self.shrinkage,
                           dtype=np.float64).reshape(-1)
        if len(kappa) == 0 or np.isnan(kappa).any() or (kappa < 0).any():
            raise ValueError(
                f"shrinkage must be a non-empty array of values >= 0 (inf allowed), got "
                f"{self.shrinkage!r}."
            )
        lo, hi = (self.slope_bounds + (None, None))[:2] if len(self.slope_bounds) == 2 else (
            None, None)
        if not (isinstance(lo, Real) and isinstance(hi, Real) and lo < hi):
            raise ValueError(
                f"slope_bounds must be a pair (low, high) with low < high, got "
                f"{self.slope_bounds!r}."
            )
        return kappa

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless prefit) and the correction on validation rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Numeric target.
        sensitive_features : array-like, list of array-like, DataFrame or dict
            One value per row (several attributes: intersectional groups).
        sample_weight : array-like of shape (n_samples,), optional
            Row weights for the lines and the scores (rows of weight 0 are left
            out); passed to the estimator when it accepts them.
        **fit_params : dict
            Other metadata for ``estimator.fit`` (routed under metadata routing).

        Returns
        -------
        self : object
        """
        kappa = self._check_options()
        part, y = self._prepare(X, y, sensitive_features, sample_weight, fit_params,
                                strata=_quartiles, check_y=_check_numeric_target)
        y = np.asarray(y, dtype=np.float64)
        y_val = y[part.rows]
        pred = self._predict_raw(part.X)
        H = part.G
        bounds = tuple(float(b) for b in self.slope_bounds)
        counts = np.bincount(part.g, minlength=part.G)
        if part.G > 1 and (counts == 0).any():
            warnings.warn(
                f"{type(self).__name__}: group(s) "
                f"{[part.labels[g] for g in np.flatnonzero(counts == 0)]} have no validation "
                "row, so their correction is the global line.", UndefinedGroupWarning,
                stacklevel=3)
        # out-of-fold predictions of every candidate correction
        rng = check_random_state(self.random_state)
        fold = self._folds(part, rng)
        oof = np.empty((len(y_val), len(kappa)))
        for f in range(self._N_FOLDS):
            test = fold == f
            if not test.any():
                continue
            maps = _fit_maps(pred[~test], y_val[~test], part.w[~test], part.h[~test], H,
                             kappa, bounds)
            oof[test] = (maps[:, part.h[test], 0] * pred[test] + maps[:, part.h[test], 1]).T
        err = np.abs(np.column_stack([pred, oof]) - y_val[:, None])
        mae = (part.w[:, None] * err).sum(0) / part.w.sum()
        bias = _mae_bias(err, part.g, part.G, part.w)
        admissible = mae <= mae[0] + self.tolerance + 1e-12
        score = np.where(admissible, bias, np.inf)
        best = int(np.flatnonzero(score == score.min())[np.argmin(mae[score == score.min()])])
        self.correction_curve_ = pd.DataFrame({
            "shrinkage": np.concatenate([[np.nan], kappa]), "mae": mae, "mae_bias": bias,
            "chosen": np.arange(len(mae)) == best})
        if best == 0:
            self.shrinkage_ = None
            self.coef_ = np.tile([1.0, 0.0], (H, 1))
        else:
            self.shrinkage_ = float(kappa[best - 1])
            self.coef_ = _fit_maps(pred, y_val, part.w, part.h, H, kappa[best - 1:best],
                                   bounds)[0]
        self.validation_results_ = {
            "n_rows": int(len(y_val)), "mae": float(mae[best]), "mae_bias": float(bias[best]),
            "mae_uncorrected": float(mae[0]), "mae_bias_uncorrected": float(bias[0])}
        return self

    def _folds(self, part, rng):
        """Cross-fitting folds, balanced within every (true group, decision group)."""
        cell = part.g * max(part.G, 1) + part.h
        fold = np.empty(len(cell), dtype=np.int64)
        perm = rng.permutation(len(cell))
        order = perm[np.argsort(cell[perm], kind="stable")]
        counts = np.bincount(cell[order])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(cell)) - starts[cell[order]]
        fold[order] = rank % self._N_FOLDS
        return fold

    def _predict_raw(self, X):
        raw = np.asarray(self.estimator_.predict(X), dtype=np.float64)
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        if raw.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} corrects a single output; the estimator predicted "
                f"shape {raw.shape}."
            )
        check_finite_scores(raw, "predict", type(self).__name__)
        return raw

    def predict(self, X, *, sensitive_features=None):
        """Corrected predictions ``a_g * estimator.predict(X) + b_g``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, ..., optional
            Required with ``groups="given"`` (ignored with ``"inferred"``);
            every row's group must have been seen at fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        raw = self._predict_raw(X)
        h = self._decision_groups(X, sensitive_features, len(raw))
        return self.coef_[h, 0] * raw + self.coef_[h, 1]

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Coefficient of determination (R^2) of :meth:`predict`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        sensitive_features : array-like, DataFrame, ..., optional
            As in :meth:`predict`.

        Returns
        -------
        score : float
        """
        return r2_score(y, self.predict(X, sensitive_features=sensitive_features),
                        sample_weight=sample_weight)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")


def _quartiles(y):
    y = np.asarray(y, dtype=np.float64)
    edges = np.unique(np.quantile(y, [0.25, 0.5, 0.75]))
    return np.searchsorted(edges, y, side="right")


def _check_numeric_target(y):
    _check_y(y, y_numeric=True)

