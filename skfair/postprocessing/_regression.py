"""Group-wise correction of a regressor (affine recalibration, then levelling offsets),
fitted on validation rows."""

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
_N_LEVELS = 40


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


def level_offsets(residuals, weights, levels):
    """Per target level ``m``, the offset ``d`` of smallest ``|d|`` after which the
    weighted MAE of ``residuals - d`` is ``max(its minimum, m)``.

    The MAE of ``residuals - d`` is convex and piecewise linear in ``d``
    (knots at the residuals), smallest at their weighted median: below that
    minimum a level is out of reach and the median is returned; above it the
    level is met once on each side of the median, and the root nearer to 0
    is returned (0 itself when the MAE without offset is already ``m``).

    Parameters
    ----------
    residuals, weights : ndarray of shape (n,)
        ``y - prediction`` and row weights (> 0) of one group.
    levels : ndarray of shape (k,)

    Returns
    -------
    offsets : ndarray of shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.postprocessing._regression import level_offsets
    >>> r = np.array([-1.0, 0.0, 0.0, 1.0, 4.0])  # median 0, MAE 1.2 there
    >>> level_offsets(r, np.ones(5), np.array([1.0, 1.2, 1.6, 4.0])).round(6).tolist()
    [0.0, 0.0, -0.666667, -3.2]
    """
    order = np.argsort(residuals, kind="stable")
    knots = residuals[order]
    w = weights[order] / weights.sum()
    cw = np.cumsum(w)
    cwr = np.cumsum(w * knots)
    mae = knots * (2 * cw - 1) + cwr[-1] - 2 * cwr  # the MAE with offset d = each knot
    i = int(np.argmin(mae))
    # beyond the outer knots every row lies on one side: the MAE grows with slope 1
    span = max(float(np.max(levels)) - float(mae[i]), 0.0) + 1.0
    right = np.maximum.accumulate(np.r_[mae[i:], mae[-1] + span])
    left = np.maximum.accumulate(np.r_[mae[i::-1], mae[0] + span])
    target = np.maximum(levels, mae[i])
    hi = np.interp(target, right, np.r_[knots[i:], knots[-1] + span])
    lo = np.interp(target, left, np.r_[knots[i::-1], knots[0] - span])
    return np.where(np.abs(lo) < np.abs(hi), lo, hi)


def _candidates(pred, y, w, decision, n_decision, shrinkage, levels, slope_bounds):
    """Every candidate correction as per-decision-group (slope, intercept):
    ``(1 + len(shrinkage), 1 + len(levels), H, 2)``. Axis 0: no line, then each
    ``kappa``'s lines; axis 1: no offset, then the levelling offsets of each level
    (on the residuals of that line)."""
    lines = np.tile([1.0, 0.0], (1, n_decision, 1))
    if len(shrinkage):
        lines = np.concatenate([lines, _fit_maps(pred, y, w, decision, n_decision,
                                                 shrinkage, slope_bounds)])
    out = np.repeat(lines[:, None], 1 + len(levels), axis=1)
    if len(levels):
        for j, line in enumerate(lines):
            resid = y - (line[decision, 0] * pred + line[decision, 1])
            for k in range(n_decision):
                rows = decision == k
                if rows.any():
                    out[j, 1:, k, 1] += level_offsets(resid[rows], w[rows], levels)
    return out


def _bias_of_group_maes(mae):
    """ChaLearn's bias (mean over group pairs of ``|MAE_i - MAE_j|``) of each column
    of ``mae`` (groups x candidates)."""
    g = mae.shape[0]
    if g < 2:
        return np.zeros(mae.shape[1])
    m = np.sort(mae, axis=0)
    return (m * (2 * np.arange(g) - g + 1)[:, None]).sum(0) / (g * (g - 1) / 2)


class FairRegressionCorrector(RegressorMixin, BasePostProcessor):
    """Group-wise correction of a regressor (e.g. age), fitted on validation rows.

    Reduces the ChaLearn bias score (:func:`skfair.metrics.mae_bias_score`:
    per-group mean absolute error, mean over group pairs of ``|MAE_i -
    MAE_j|``) of a fitted regressor by correcting its output per group:
    ``y' = a_g * y_hat + b_g + d_g``, in two steps.

    1. Recalibration: each group's line ``a_g * y_hat + b_g`` is fitted by
       least absolute deviations on the validation rows (a robust fit, and the
       one that minimises the group's MAE), and pulled towards the line fitted
       on all validation rows with weight ``kappa / (n_g + kappa)``, so a small
       group is corrected less than a large one.
    2. Levelling (``level_down=True``): for a target level ``m``, each group's
       offset ``d_g`` is the smallest shift that brings its MAE to ``max(its
       minimum, m)`` (see :func:`level_offsets`): groups above ``m`` are
       brought down to it as far as an offset can, groups below ``m`` are
       raised to it.

    When groups differ in difficulty (on faces, mostly because their true-age
    distributions differ: a group with more older people is harder), the best
    fit of every group leaves their MAEs apart, and a recalibration cannot
    close the gap: a post-hoc correction reduces the bias mainly by *levelling
    down*, i.e. by making the predictions of the better-served groups worse.
    That is what step 2 does, within the MAE budget ``tolerance``. Improving
    the worse-served groups (more or better data, a better model for them) is
    preferable where it is possible; ``level_down=False`` keeps step 1 only.

    The pair (``kappa``, ``m``) is chosen among ``shrinkage`` x 40 levels
    (evenly spaced between the smallest and the largest group MAE of the
    uncorrected validation predictions) by 5-fold cross-fitting on the
    validation rows: the pair with the smallest out-of-fold bias score among
    those whose out-of-fold MAE exceeds the uncorrected MAE by at most
    ``tolerance`` (no line, no offset and no correction at all are always
    among the choices; ties go to the smaller MAE). The chosen correction is
    then refitted on all the validation rows.

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
    level_down : bool, default=True
        Allow the levelling offsets (step 2), which may raise the better-served
        groups' errors. ``False``: recalibration only.
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
        Slope and intercept of each group's correction (offsets included):
        ``predict`` returns ``coef_[g, 0] * y_hat + coef_[g, 1]``.
    offsets_ : ndarray of shape (n_groups,)
        The levelling offsets ``d_g`` included in ``coef_[:, 1]`` (zeros when
        no level was chosen).
    shrinkage_ : float or None
        The chosen ``kappa`` (None: no recalibration line).
    level_ : float or None
        The chosen target level ``m`` (None: no levelling).
    correction_curve_ : pandas.DataFrame
        Out-of-fold validation ``mae`` and ``mae_bias`` of every candidate:
        ``shrinkage`` (NaN: no line) x ``level`` (NaN: no offset); the first
        row is no correction at all; ``chosen`` marks the pick.
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
        "level_down": ["boolean"],
        "prefit": ["boolean"],
        "groups": [StrOptions({"given", "inferred"})],
        "group_estimator": [HasMethods(["fit", "predict"]), None],
        "valid_size": [Interval(Real, 0, 1, closed="neither")],
        "slope_bounds": [tuple],
        "random_state": ["random_state"],
    }
    _N_FOLDS = 5

    def __init__(self, estimator, *, tolerance=0.0, shrinkage=None, level_down=True,
                 prefit=False, groups="given", group_estimator=None, valid_size=0.25,
                 slope_bounds=(0.0, 3.0), random_state=None):
        self.estimator = estimator
        self.tolerance = tolerance
        self.shrinkage = shrinkage
        self.level_down = level_down
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
                "row: their correction is the line of all the rows (when a line is chosen), "
                "without offset.",
                UndefinedGroupWarning, stacklevel=3)
        levels = (_levels(pred, y_val, part.w, part.h, H) if self.level_down
                  else np.empty(0))
        # out-of-fold absolute errors of every candidate, summed per true group
        rng = check_random_state(self.random_state)
        fold = self._folds(part, rng)
        n_lines, n_levels = 1 + len(kappa), 1 + len(levels)
        sums = np.zeros((part.G, n_lines * n_levels))
        for f in range(self._N_FOLDS):
            test = fold == f
            if not test.any():
                continue
            cand = _candidates(pred[~test], y_val[~test], part.w[~test], part.h[~test], H,
                               kappa, levels, bounds)
            h, p, t = part.h[test], pred[test], y_val[test]
            member = np.zeros((part.G, len(h)))
            member[part.g[test], np.arange(len(h))] = part.w[test]
            for j in range(n_lines):
                err = np.abs(cand[j][:, h, 0] * p + cand[j][:, h, 1] - t).T
                sums[:, j * n_levels:(j + 1) * n_levels] += member @ err
        tot = np.bincount(part.g, weights=part.w, minlength=part.G)
        mae = sums.sum(0) / tot.sum()
        bias = _bias_of_group_maes(sums[tot > 0] / tot[tot > 0, None])
        admissible = mae <= mae[0] + self.tolerance + 1e-12
        score = np.where(admissible, bias, np.inf)
        best = int(np.flatnonzero(score == score.min())[np.argmin(mae[score == score.min()])])
        line, level = divmod(best, n_levels)
        self.correction_curve_ = pd.DataFrame({
            "shrinkage": np.repeat(np.concatenate([[np.nan], kappa]), n_levels),
            "level": np.tile(np.concatenate([[np.nan], levels]), n_lines),
            "mae": mae, "mae_bias": bias, "chosen": np.arange(len(mae)) == best})
        self.shrinkage_ = None if line == 0 else float(kappa[line - 1])
        self.level_ = None if level == 0 else float(levels[level - 1])
        cand = _candidates(pred, y_val, part.w, part.h, H, kappa[line - 1:line] if line else [],
                           levels[level - 1:level] if level else [], bounds)[-1]
        self.coef_ = cand[-1]
        self.offsets_ = cand[-1, :, 1] - cand[0, :, 1]
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


def _levels(pred, y, w, decision, n_decision):
    """The target levels: evenly spaced between the smallest and the largest
    group MAE of the uncorrected predictions (none with fewer than two groups)."""
    tot = np.bincount(decision, weights=w, minlength=n_decision)
    if (tot > 0).sum() < 2:
        return np.empty(0)
    mae = np.bincount(decision, weights=w * np.abs(y - pred), minlength=n_decision)
    mae = mae[tot > 0] / tot[tot > 0]
    return np.linspace(mae.min(), mae.max(), _N_LEVELS)


def _quartiles(y):
    y = np.asarray(y, dtype=np.float64)
    edges = np.unique(np.quantile(y, [0.25, 0.5, 0.75]))
    return np.searchsorted(edges, y, side="right")


def _check_numeric_target(y):
    _check_y(y, y_numeric=True)

