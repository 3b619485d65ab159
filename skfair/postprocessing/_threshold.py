"""Group-aware decision rules fitted on validation rows (thresholds / class offsets)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from ..metrics import UndefinedGroupWarning
from ._base import BasePostProcessor
from ._common import check_finite_scores, warn_undefined_rates
from ._search import (
    CONSTRAINTS,
    FLOORS,
    GAP_RATES,
    OBJECTIVES,
    CoordinateProblem,
    RuleCounts,
    binary_box_search,
    binary_candidates,
    binary_floor_search,
    binary_mixture_lp,
    coordinate_search,
    measure,
    tally,
)

__all__ = ["FairThresholdClassifier"]

_TINY = np.finfo(np.float64).tiny
#: quantities reported per rule (validation rows)
_REPORTED = ("accuracy", "balanced_accuracy", "equalized_odds_difference",
             "demographic_parity_difference", "equal_opportunity_difference",
             "worst_group_accuracy", "min_group_recall")
_GAP_METRIC = {"demographic_parity": "demographic_parity_difference",
               "equal_opportunity": "equal_opportunity_difference",
               "equalized_odds": "equalized_odds_difference"}


def _expected_tallies(cands, mixtures):
    """Expected ``(hit, pred)`` tables (G, 2) of a randomised binary rule."""
    hit, pred = np.zeros((len(cands), 2)), np.zeros((len(cands), 2))
    for g, (c, m) in enumerate(zip(cands, mixtures, strict=True)):
        tp, fp = m @ c.tp, m @ c.fp
        hit[g] = (c.neg - fp, tp)
        pred[g] = (c.pos + c.neg - tp - fp, tp + fp)
    return hit, pred


def _class_codes(y):
    return np.unique(y, return_inverse=True)[1].reshape(-1)


def _deterministic(self):
    return not self.randomize


def _has_predict_proba(self):
    """``predict_proba`` exists when the estimator's probabilities are the scores, or
    for a randomised rule (the probability of each decision)."""
    if self.randomize:
        return True
    if self.response_method == "decision_function":
        return False
    getattr(self, "estimator_", self.estimator).predict_proba  # noqa: B018
    return True


class FairThresholdClassifier(ClassifierMixin, BasePostProcessor):
    """Group-wise decision rule fitted on validation rows, under a fairness constraint.

    A post-processor: the wrapped classifier's scores are kept, and only the
    decision changes per sensitive group, chosen on held-out rows to maximise
    ``objective`` while the ``constraint`` holds within ``tolerance``
    (Hardt et al. 2016; the fairness-accuracy front such rules trace is the one
    Cruz & Hardt 2024 and OxonFair, Delaney et al. 2024, find hard to beat).

    * **Binary targets**: one threshold per group on the margin ``log p1 - log
      p0`` (or on ``decision_function``): a row is positive when its margin is
      above its group's threshold.
    * **Multi-class targets**: one offset per group and class on the
      log-probabilities: the prediction is ``argmax_c(log p_c + b[g, c])``.

    Predictions are deterministic (no randomised rule).

    **What is optimised, and how.** The objective (accuracy or balanced
    accuracy on the validation rows) is maximised under the constraint,
    counted exactly on the validation rows:

    * ``"demographic_parity"``, ``"equal_opportunity"``, ``"equalized_odds"``:
      every between-group difference of the selection rate, the true-positive
      rate, or both the true- and false-positive rates is at most
      ``tolerance``. Multi-class: for every class one-vs-rest, as
      :func:`skfair.metrics.equalized_odds_difference` and
      :func:`~skfair.metrics.demographic_parity_difference` measure them, so
      the validation value of that metric is at most ``tolerance``.
    * ``"worst_group_accuracy"``, ``"min_group_recall"``: every group's
      accuracy (resp. recall: of the positive class for binary targets, of its
      worst class for multi-class ones) is at least the best worst-group value
      any rule of the family reaches on the validation rows, minus
      ``tolerance``. (For binary recall that best value is 1, reached by
      predicting everything positive, so the floor is ``1 - tolerance``.)

    Binary targets with given groups are solved exactly over a grid of
    candidate thresholds: up to ``n_candidates`` per group, half-way between
    consecutive distinct validation margins, evenly spaced in rank (a small
    group gets no more candidates than it has distinct margins). A gap
    constraint of tolerance ``t`` means every group's chosen (TPR, FPR) point
    lies in one ``t``-wide box; for a fixed box the problem separates (each
    group takes its best candidate inside the box, a contiguous range of its
    ROC staircase, read from a precomputed range-maximum table), so all box
    positions are enumerated at once (positions: the candidates' rate values,
    merged closer than ``resolution * tolerance``), and the best total wins.
    Floors separate by group directly. Multi-class targets and inferred groups
    use coordinate ascent on the offsets: each step evaluates one offset at
    every candidate value at once (exact counts) and keeps the most accurate
    feasible value, or while the constraint is violated the value that
    violates it least. It starts from the unconstrained optimum with every
    group's rates brought to the pooled ones, else tightens the tolerance in
    a few steps, else shifts towards a constant rule (always feasible) and
    resumes. This is a local search: feasible when it ends, not guaranteed
    globally optimal (see docs/postprocessing.md).

    Because a constant prediction meets every gap constraint, a rule always
    exists; with deterministic thresholds on finite data, exact equality of
    rates (``tolerance=0``) is often reachable only by such constant rules,
    which is why the default tolerance is small but positive.

    Parameters
    ----------
    estimator : classifier
        Fitted when ``prefit=True``; otherwise cloned and fitted here. Its
        ``predict_proba`` (or ``decision_function``) gives the scores.
    constraint : {"equalized_odds", "equal_opportunity", "demographic_parity", \
            "worst_group_accuracy", "min_group_recall"}, default="equalized_odds"
        The fairness constraint.
    tolerance : float in [0, 1], default=0.02
        Gap constraints: the largest allowed between-group difference of each
        constrained rate on the validation rows. Floors: how far below the best
        achievable worst-group value the floor may sit. Larger values trade
        fairness for the objective; :meth:`fairness_curve` sweeps it.
    objective : {"accuracy", "balanced_accuracy"}, default="accuracy"
        What the rule maximises on the validation rows.
    prefit : bool, default=False
        ``True``: ``estimator`` is already fitted, and ``fit`` fits only the
        rule, on all the rows it is given (pass held-out rows). ``False``:
        ``fit`` holds out ``valid_size`` of its rows (stratified by group and
        class), fits a clone of ``estimator`` on the rest and the rule on the
        held-out part.
    groups : {"given", "inferred"}, default="given"
        ``"given"``: the rule is indexed by the sensitive group, so ``predict``
        needs ``sensitive_features``. ``"inferred"``: a group classifier
        (``group_estimator``) predicts the group from ``X`` and the rule is
        indexed by its prediction, so ``predict`` needs no sensitive features
        (OxonFair's inferred groups); the constraint is still measured with the
        true groups of the validation rows. With ``prefit=True`` the group
        classifier is fitted on the validation rows, and the groups the rule is
        fitted on are its out-of-fold (5-fold) predictions.
    group_estimator : classifier, default=None
        The group classifier for ``groups="inferred"``; ``None`` means
        ``LogisticRegression(max_iter=1000)`` on the same features.
    valid_size : float in (0, 1), default=0.25
        Share of the rows held out for the rule when ``prefit=False``.
    n_candidates : int >= 2, default=200
        Candidate thresholds (or offset values per step) per group.
    resolution : float in [0, 1), default=0.1
        Binary gap constraints: box positions closer than ``resolution *
        tolerance`` are merged, so the rule found is at least as good as the
        exact optimum over the candidates at tolerance ``(1 - resolution) *
        tolerance``; 0 enumerates every position (exact, slower for loose
        tolerances).
    randomize : bool, default=False
        Binary targets with given groups only. ``True``: each group draws its
        threshold, row by row, from a distribution over its candidates (mixing
        thresholds reaches any point between their (TPR, FPR) points, as
        fairlearn's ``ThresholdOptimizer`` does); the best distributions solve
        a linear program (HiGHS), exactly over the candidates. Tighter
        constraints then cost less accuracy, at the price of predictions that
        are random: two identical rows may get different labels, and
        ``predict`` draws anew at each call (reproducibly with an int
        ``random_state``). The figures of ``validation_results_`` are then
        expectations. ``False`` (default): one threshold per group.
    response_method : {"auto", "predict_proba", "decision_function"}, \
            default="auto"
        Which scores of ``estimator`` are used (``"auto"``: ``predict_proba``
        when it exists).
    random_state : int, RandomState instance or None, default=None
        The validation split (``prefit=False``), the group classifier's folds,
        and the draws of a randomised rule.

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator (``estimator`` itself when ``prefit=True``).
    group_estimator_ : classifier
        The fitted group classifier (``groups="inferred"`` only).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    groups_ : pandas.DataFrame
        One row per group (the sensitive attributes' values); its index is the
        group code used by ``thresholds_`` and ``offsets_``.
    thresholds_ : ndarray of shape (n_groups,)
        Binary targets: each group's threshold on the margin (``+inf``: never
        positive, ``-inf``: always positive). Absent for multi-class targets.
    offsets_ : ndarray of shape (n_groups, n_classes)
        Offsets added to the scores before the argmax (binary: ``[0,
        -threshold]``, with ``-inf`` or ``inf`` for the constant groups).
        Absent with ``randomize=True``.
    threshold_mixtures_ : pandas.DataFrame
        ``randomize=True`` only: ``group``, ``threshold``, ``probability``,
        one row per threshold a group draws from.
    validation_results_ : dict
        The rule's figures on the validation rows: ``n_rows``, ``tolerance``,
        ``floor`` (floor constraints), ``accuracy``, ``balanced_accuracy``,
        ``equalized_odds_difference``, ``demographic_parity_difference``,
        ``equal_opportunity_difference`` (TPR gap), ``worst_group_accuracy``,
        ``min_group_recall``.
    n_features_in_ : int
        From ``estimator_`` (when it has it).

    See Also
    --------
    FairRegressionCorrector : the same idea for regression.
    fairlearn.postprocessing.ThresholdOptimizer : randomised, binary only.

    References
    ----------
    Hardt, Price, Srebro. "Equality of Opportunity in Supervised Learning",
    NeurIPS 2016. Cruz, Hardt. "Unprocessing Seven Years of Algorithmic
    Fairness", ICLR 2024. Delaney, Fu, Wachter, Mittelstadt, Russell.
    "OxonFair: A Flexible Toolkit for Algorithmic Fairness", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfair.postprocessing import FairThresholdClassifier
    >>> from skfair.metrics import equalized_odds_difference
    >>> rng = np.random.RandomState(0)
    >>> s = rng.randint(0, 2, 2000)
    >>> X = rng.normal(size=(2000, 3)) + s[:, None]
    >>> y = (X[:, 0] + rng.normal(size=2000) > 0.5).astype(int)
    >>> clf = FairThresholdClassifier(LogisticRegression(), tolerance=0.02,
    ...                               random_state=0).fit(X, y, sensitive_features=s)
    >>> clf.thresholds_.shape
    (2,)
    >>> bool(clf.validation_results_["equalized_odds_difference"] <= 0.02)
    True
    >>> clf.predict(X[:4], sensitive_features=s[:4])
    array([0, 0, 0, 0])
    """

    __metadata_request__predict_proba = {"sensitive_features": True}
    __metadata_request__decision_function = {"sensitive_features": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "constraint": [StrOptions(set(CONSTRAINTS))],
        "tolerance": [Interval(Real, 0, 1, closed="both")],
        "objective": [StrOptions(set(OBJECTIVES))],
        "prefit": ["boolean"],
        "groups": [StrOptions({"given", "inferred"})],
        "group_estimator": [HasMethods(["fit", "predict"]), None],
        "valid_size": [Interval(Real, 0, 1, closed="neither")],
        "n_candidates": [Interval(Integral, 2, None, closed="left")],
        "resolution": [Interval(Real, 0, 1, closed="left")],
        "randomize": ["boolean"],
        "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, constraint="equalized_odds", tolerance=0.02,
                 objective="accuracy", prefit=False, groups="given", group_estimator=None,
                 valid_size=0.25, n_candidates=200, resolution=0.1, randomize=False,
                 response_method="auto", random_state=None):
        self.estimator = estimator
        self.constraint = constraint
        self.tolerance = tolerance
        self.objective = objective
        self.prefit = prefit
        self.groups = groups
        self.group_estimator = group_estimator
        self.valid_size = valid_size
        self.n_candidates = n_candidates
        self.resolution = resolution
        self.randomize = randomize
        self.response_method = response_method
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless prefit) and the rule on validation rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Anything the estimator takes.
        y : array-like of shape (n_samples,)
            Class labels.
        sensitive_features : array-like, list of array-like, DataFrame or dict
            One value per row (several attributes: intersectional groups).
            Without them every row is in one group and the rule only tunes the
            decision for the objective (with a warning).
        sample_weight : array-like of shape (n_samples,), optional
            Row weights: the rule counts weighted rows (rows of weight 0 are
            left out), and the estimator is fitted with them when it accepts
            them (under metadata routing: when it requests them).
        **fit_params : dict
            Other metadata for ``estimator.fit`` (routed when metadata routing
            is enabled; sliced to the training rows).

        Returns
        -------
        self : object
        """
        part, y = self._prepare(X, y, sensitive_features, sample_weight, fit_params,
                                strata=_class_codes, check_y=check_classification_targets)
        classes = np.asarray(self.estimator_.classes_)
        unknown = ~np.isin(y, classes)
        if unknown.any():
            raise ValueError(
                f"y has labels {np.unique(y[unknown])[:10].tolist()} that the estimator does "
                f"not know (its classes_ are {classes.tolist()})."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes; the estimator knows only "
                f"{classes.tolist()} (1 class)."
            )
        self.classes_ = classes
        if self.randomize and (len(classes) != 2 or self.groups != "given"):
            raise ValueError(
                "randomize=True supports binary targets with given groups; got "
                f"{len(classes)} classes and groups={self.groups!r}."
            )
        self._validation = {"S": self._scores(part.X), "y": np.searchsorted(classes, y[part.rows]),
                            "g": part.g, "h": part.h, "w": part.w, "G": part.G}
        if part.G > 1:
            self._warn_relaxed(part.labels)
        for attr in ("offsets_", "thresholds_", "threshold_mixtures_"):  # a previous fit's
            if hasattr(self, attr):
                delattr(self, attr)
        rule, thresholds, info = self._solve(self.tolerance)
        if self.randomize:
            self._set_mixtures(rule)
        else:
            self.offsets_ = rule
            if thresholds is not None:
                self.thresholds_ = thresholds
        self.validation_results_ = info
        return self

    def _set_mixtures(self, mixtures):
        """Store each group's distribution over thresholds (padded arrays inside)."""
        cands = self._validation["candidates"]
        size = max(int((m > 0).sum()) for m in mixtures)
        thr = np.full((len(mixtures), size), np.inf)
        prob = np.zeros((len(mixtures), size))
        rows = []
        for g, (m, c) in enumerate(zip(mixtures, cands, strict=True)):
            keep = np.flatnonzero(m > 0)
            thr[g, :len(keep)] = c.thresholds[keep]
            prob[g, :len(keep)] = m[keep]
            rows += [(g, t, p) for t, p in zip(c.thresholds[keep], m[keep], strict=True)]
        self._mix = (thr, prob)
        self.threshold_mixtures_ = pd.DataFrame(rows, columns=["group", "threshold",
                                                               "probability"])

    def _warn_relaxed(self, labels):
        """Warn about what the validation rows cannot constrain."""
        v = self._validation
        C = len(self.classes_)
        counts = RuleCounts.from_codes(v["y"], v["g"], v["G"], C, v["w"])
        empty = np.flatnonzero(counts.n <= 0)
        if len(empty):
            warnings.warn(
                f"{type(self).__name__}: group(s) {[labels[g] for g in empty]} have no "
                "validation row (a group of one row keeps it for the estimator), so no rule "
                "can be fitted for them: they keep the estimator's own decision and are left "
                "out of the constraint.", UndefinedGroupWarning, stacklevel=4)
        needed = GAP_RATES.get(self.constraint, ("tpr",) if self.constraint ==
                               "min_group_recall" else ())
        warn_undefined_rates(labels, counts, needed, [str(c) for c in self.classes_],
                             type(self).__name__, skip=empty)

    def _scores(self, X):
        """(n, C) scores: log-probabilities or decision values."""
        method = self.response_method
        if method == "auto":
            method = "predict_proba" if hasattr(self.estimator_, "predict_proba") else (
                "decision_function")
        raw = np.asarray(getattr(self.estimator_, method)(X), dtype=np.float64)
        check_finite_scores(raw, method, type(self).__name__)
        C = len(self.classes_)
        if method == "predict_proba":
            return np.log(np.clip(raw, _TINY, None))
        if raw.ndim == 1 or (raw.ndim == 2 and raw.shape[1] == 1):
            if C != 2:
                raise ValueError(
                    f"decision_function returned one column for {C} classes."
                )
            return np.column_stack([np.zeros(len(raw)), raw.reshape(-1)])
        return raw

    def _binary_given(self):
        return len(self.classes_) == 2 and self.groups == "given"

    def _solve(self, tolerance, start=None, schedule=None, step=None):
        """``(offsets, thresholds or None, info)`` of the rule at ``tolerance``
        (``step``: the binary box positions' merge step, default ``resolution *
        tolerance``)."""
        v = self._validation
        S, y, g, h, w, G = v["S"], v["y"], v["g"], v["h"], v["w"], v["G"]
        C = S.shape[1]
        counts = RuleCounts.from_codes(y, g, G, C, w)
        floor = None
        if self.randomize:
            mixtures, floor = self._solve_binary(tolerance, None)
            hit, cnt = _expected_tallies(self._validation["candidates"], mixtures)
            return mixtures, None, self._info(hit, cnt, counts, tolerance, floor, len(y))
        if self._binary_given():
            thr, floor = self._solve_binary(
                tolerance, self.resolution * tolerance if step is None else step)
            offsets = np.zeros((G, 2))
            offsets[:, 1] = -thr
            pred = (S[:, 1] - S[:, 0] > thr[g]).astype(np.int64)
            thresholds = thr
        else:
            problem = CoordinateProblem(
                S, y, g, h, G, G, w, objective=self.objective, constraint=self.constraint,
                n_candidates=self.n_candidates)
            offsets, floor = self._solve_coordinate(problem, tolerance, start=start,
                                                    schedule=schedule)
            pred = problem.predict(offsets)
            thresholds = -offsets[:, 1] if C == 2 else None
        hit, cnt = tally(y, g, pred, G, C, w)
        return offsets, thresholds, self._info(hit, cnt, counts, tolerance, floor, len(y))

    @staticmethod
    def _info(hit, cnt, counts, tolerance, floor, n_rows):
        meas = measure(hit, cnt, counts)
        info = {"n_rows": int(n_rows), "tolerance": float(tolerance)}
        if floor is not None:
            info["floor"] = float(floor)
        info.update({k: float(meas[k]) for k in _REPORTED})
        return info

    def _solve_binary(self, tolerance, step):
        v = self._validation
        if "candidates" not in v:  # the same for every tolerance
            v["candidates"] = binary_candidates(v["S"][:, 1] - v["S"][:, 0], v["y"] == 1,
                                                v["g"], v["G"], self.n_candidates, v["w"])
        cands = v["candidates"]
        P = sum(c.pos for c in cands)
        N = sum(c.neg for c in cands)
        if self.objective == "accuracy":
            w1 = w0 = 1.0 / (P + N)
        else:
            present = (P > 0) + (N > 0)
            w1 = 1.0 / (present * P) if P > 0 else 0.0
            w0 = 1.0 / (present * N) if N > 0 else 0.0
        values = [w1 * c.tp + w0 * (c.neg - c.fp) for c in cands]
        floor = None
        if self.constraint in GAP_RATES:
            rates = []
            for c in cands:
                nan = np.full(len(c.tp), np.nan)
                table = {
                    "tpr": c.tp / c.pos if c.pos > 0 else nan,
                    "fpr": c.fp / c.neg if c.neg > 0 else nan,
                    "sel": (c.tp + c.fp) / (c.pos + c.neg) if c.pos + c.neg > 0 else nan,
                }
                rates.append(np.vstack([table[r] for r in GAP_RATES[self.constraint]]))
            if self.randomize:
                return binary_mixture_lp(values, rates, tolerance), None
            choice = binary_box_search(values, rates, tolerance, resolution=step)
        else:
            if self.constraint == "worst_group_accuracy":
                per = [(c.tp + c.neg - c.fp) / (c.pos + c.neg) if c.pos + c.neg > 0 else None
                       for c in cands]
            else:
                per = [c.tp / c.pos if c.pos > 0 else None for c in cands]
            best = min(p.max() for p in per if p is not None)
            floor = best - tolerance
            if self.randomize:
                return binary_mixture_lp(values, None, tolerance, per, floor), floor
            choice = binary_floor_search(values, per, floor)
        thr = np.array([c.thresholds[k] for c, k in zip(cands, choice, strict=True)])
        # a group without validation rows keeps the estimator's decision (margin 0)
        thr[[c.pos + c.neg <= 0 for c in cands]] = 0.0
        return thr, floor

    def _solve_coordinate(self, problem, tolerance, *, start=None, schedule=None):
        if self.constraint in FLOORS:
            # the best worst-group value first, then the objective above the floor
            B = problem.ascend(np.zeros((problem.H, problem.C)), -np.inf,
                               objective=self.constraint)
            hit, cnt = problem.tallies(B)
            best = float(measure(hit, cnt, problem.counts)[self.constraint])
            floor = best - tolerance
            return coordinate_search(problem, floor, start=B), floor
        if start is None:
            start = coordinate_search(problem, np.inf)
            if schedule is None:
                hit, cnt = problem.tallies(start)
                gap0 = float(measure(hit, cnt, problem.counts)[_GAP_METRIC[self.constraint]])
                schedule = [tolerance + (gap0 - tolerance) * 0.5 ** j for j in range(1, 4)
                            if gap0 > tolerance]
        return coordinate_search(problem, tolerance, start=start, schedule=schedule), None

    # --------------------------------------------------------------- predicting
    def _adjusted(self, X, sensitive_features):
        check_is_fitted(self)
        S = self._scores(X)
        h = self._decision_groups(X, sensitive_features, len(S))
        return S, h

    def predict(self, X, *, sensitive_features=None):
        """Predict with the group-wise rule.

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
        S, h = self._adjusted(X, sensitive_features)
        if self.randomize:  # draw each row's threshold from its group's mixture
            p1 = self._positive_probability(S, h)
            u = check_random_state(self.random_state).random_sample(len(p1))
            return self.classes_[(u < p1).astype(np.int64)]
        if len(self.classes_) == 2 and hasattr(self, "thresholds_"):
            return self.classes_[(S[:, 1] - S[:, 0] > self.thresholds_[h]).astype(np.int64)]
        return self.classes_[np.argmax(S + self.offsets_[h], axis=1)]

    def _positive_probability(self, S, h):
        """Probability that the randomised rule predicts the positive class."""
        thr, prob = self._mix
        margin = (S[:, 1] - S[:, 0])[:, None]
        return (prob[h] * (margin > thr[h])).sum(axis=1)

    @available_if(_deterministic)
    def decision_function(self, X, *, sensitive_features=None):
        """Scores after the group adjustment (deterministic rules only).

        Binary targets: the margin minus the row's group threshold (positive
        means the positive class; ``-inf`` / ``inf`` in a group whose rule is
        constant). Multi-class: the scores plus the group's offsets (the
        prediction is their argmax).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, ..., optional
            As in :meth:`predict`.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        S, h = self._adjusted(X, sensitive_features)
        if len(self.classes_) == 2 and hasattr(self, "thresholds_"):
            return S[:, 1] - S[:, 0] - self.thresholds_[h]
        return S + self.offsets_[h]

    @available_if(_has_predict_proba)
    def predict_proba(self, X, *, sensitive_features=None):
        """The estimator's probabilities reweighted by the group's offsets.

        ``p'_c`` proportional to ``p_c * exp(b[g, c])``: their argmax is
        :meth:`predict`. They are a re-ranking, not calibrated probabilities
        (a group with a constant rule gets probabilities 0 and 1). With
        ``randomize=True``: the probability that the randomised rule predicts
        each class (a mixture of its thresholds' decisions).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, ..., optional
            As in :meth:`predict`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        S, h = self._adjusted(X, sensitive_features)
        if self.randomize:
            p1 = self._positive_probability(S, h)
            return np.column_stack([1.0 - p1, p1])
        if len(self.classes_) == 2 and hasattr(self, "thresholds_"):
            z = S[:, 1] - S[:, 0] - self.thresholds_[h]
            with np.errstate(over="ignore"):
                p1 = 1.0 / (1.0 + np.exp(-z))
            p1 = np.where(z > 0, np.maximum(p1, np.nextafter(0.5, 1)),
                          np.minimum(p1, 0.5))
            return np.column_stack([1.0 - p1, p1])
        Z = S + self.offsets_[h]
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Accuracy of :meth:`predict` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        sensitive_features : array-like, DataFrame, ..., optional
            As in :meth:`predict` (requested by default under metadata
            routing, so ``GridSearchCV``'s default scoring gets them).

        Returns
        -------
        score : float
        """
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, sensitive_features=sensitive_features),
                              sample_weight=sample_weight)

    # ----------------------------------------------------------- the tolerance sweep
    def fairness_curve(self, X=None, y=None, *, sensitive_features=None, tolerances=None):
        """The rule's validation figures over a sweep of tolerances.

        The estimator (and group classifier) fitted by :meth:`fit` are reused:
        only the rule is re-fitted for every tolerance, on the validation rows
        of ``fit`` (default) or on the held-out rows given here.

        Parameters
        ----------
        X, y : array-like, optional
            Held-out rows to fit the rules on; default: the validation rows
            used by :meth:`fit`.
        sensitive_features : array-like, DataFrame, ..., optional
            Their groups (required with ``X``; values seen at fit).
        tolerances : array-like of float, optional
            Default: 21 values from 0 to the unconstrained rule's gap (gap
            constraints) or to 0.5 (floors).

        Returns
        -------
        curve : pandas.DataFrame
            One row per tolerance (ascending): ``tolerance``, the figures of
            ``validation_results_`` (``accuracy``, ``balanced_accuracy``,
            ``equalized_odds_difference``, ...), and ``thresholds`` (binary,
            given groups) or ``offsets`` (arrays).
        """
        check_is_fitted(self)
        saved = self._validation
        try:
            if X is not None:
                if y is None or sensitive_features is None:
                    raise ValueError("fairness_curve(X, ...) needs y and sensitive_features.")
                n = _num_samples(X)
                if self._coder is None:
                    raise ValueError(
                        "this rule was fitted without sensitive_features; it has no groups "
                        "to sweep a fairness constraint over.")
                g = self._coder.transform(sensitive_features, n)
                y = column_or_1d(y)
                if not np.isin(y, self.classes_).all():
                    raise ValueError("y has labels the fitted estimator does not know.")
                h = g if self.groups == "given" else np.asarray(
                    self.group_estimator_.predict(X), dtype=np.int64)
                self._validation = {"S": self._scores(X), "y": np.searchsorted(self.classes_, y),
                                    "g": g, "h": h, "w": np.ones(n), "G": self._validation["G"]}
            if tolerances is None:
                if self.constraint in GAP_RATES:
                    loose = self._solve(1.0)[2][_GAP_METRIC[self.constraint]]
                    tolerances = np.linspace(0.0, max(loose, 1e-3), 21)
                else:
                    tolerances = np.linspace(0.0, 0.5, 21)
            tolerances = np.asarray(tolerances, dtype=np.float64).reshape(-1)
            if len(tolerances) == 0 or not np.all((tolerances >= 0) & (tolerances <= 1)):
                raise ValueError("tolerances must be a non-empty array of values in [0, 1].")
            # one grid of box positions for the whole sweep (binary), fine enough for
            # its smallest tolerance
            positive = tolerances[tolerances > 0]
            step = self.resolution * (positive.min() if len(positive) else 0.0)
            rows, start = [], None
            for t in sorted(set(tolerances.tolist()), reverse=True):
                offsets, thresholds, info = self._solve(t, start=start, schedule=[], step=step)
                if not self._binary_given() and self.constraint in GAP_RATES:
                    start = offsets  # warm start: the homotopy runs along the sweep
                row = dict(info)
                key = ("mixtures" if self.randomize else "thresholds" if self._binary_given()
                       else "offsets")
                row[key] = offsets if key != "thresholds" else thresholds
                rows.append(row)
        finally:
            self._validation = saved
        rows = rows[::-1]
        # a rule meeting a tolerance meets every larger one: keep the best so far
        best = None
        for row in rows:
            if best is not None and row[self.objective] < best[self.objective]:
                row.update({k: v for k, v in best.items() if k != "tolerance"})
            else:
                best = dict(row)
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ plumbing
    def __sklearn_is_fitted__(self):
        return hasattr(self, "validation_results_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags
