"""The searches behind :class:`FairThresholdClassifier`: group-wise decision rules
fitted on validation rows, and the counts they are judged by.

Everything here works on integer codes (classes ``0..C-1``, true groups
``0..G-1``, decision groups ``0..H-1``) and on exact counts. A rule predicts
``argmax_c(S[i, c] + B[h_i, c])`` for a score matrix ``S`` (log-probabilities
or decision values) and per-decision-group offsets ``B``; for binary targets
with given groups it is a per-group threshold on the margin ``S[:, 1] -
S[:, 0]``. Fairness is measured on the *true* groups from two per-group count
tables: ``hit[g, c]`` (rows of class ``c`` predicted ``c``) and ``pred[g, c]``
(rows predicted ``c``); with the fixed ``true[g, c]`` (rows of class ``c``)
they give every rate: ``TPR = hit / true``, ``FPR = (pred - hit) / (n -
true)``, selection rate ``pred / n``.

Three searches:

* :func:`binary_box_search` (binary target, decision groups = true groups): exact
  over a grid of candidate thresholds per group. Each candidate is a point
  (TPR, FPR) of the group's ROC staircase; a gap constraint of tolerance ``t``
  means all chosen points lie in one ``t``-wide box. For a fixed box the problem
  separates (each group takes its best candidate inside the box), and since a
  group's candidates are monotone in both rates, the candidates inside a box are
  one contiguous range whose best value is a table look-up. Every box position
  that can be feasible is enumerated at once with numpy.
* :func:`binary_mixture_lp` (the same, randomised): each group draws its
  threshold from a distribution over its candidates; rates and objective are
  linear in the distributions, so the best ones solve a linear program.
* :func:`coordinate_search` (multi-class targets, or groups inferred by a
  classifier): coordinate ascent on the offsets ``B[h, c]``. One coordinate's
  exact effect is computed for a grid of values at once (rows switch class at
  known breakpoints), and the best value is kept: the most accurate feasible one,
  or, while the constraint is violated, the one that violates it least. It
  starts from the groups' rates matched to the pooled ones, falls back on a
  homotopy (the tolerance tightened in steps), and on a shift towards a
  constant rule when both end infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONSTRAINTS",
    "OBJECTIVES",
    "CoordinateProblem",
    "RuleCounts",
    "binary_box_search",
    "binary_candidates",
    "binary_floor_search",
    "binary_mixture_lp",
    "coordinate_search",
    "measure",
    "tally",
]

#: constraints with a between-group gap, and the rates each one equalises
GAP_RATES = {
    "demographic_parity": ("sel",),
    "equal_opportunity": ("tpr",),
    "equalized_odds": ("tpr", "fpr"),
}
#: constraints that put a floor under every group's value
FLOORS = ("worst_group_accuracy", "min_group_recall")
CONSTRAINTS = tuple(GAP_RATES) + FLOORS
OBJECTIVES = ("accuracy", "balanced_accuracy")

_EPS = 1e-12
_TINY = 1e-300


@dataclass
class RuleCounts:
    """The fixed counts of one validation set (they do not depend on the rule).

    Attributes
    ----------
    true : ndarray of shape (G, C)
        Rows of class ``c`` in true group ``g``.
    n : ndarray of shape (G,)
        Rows per true group.
    classes : ndarray of int
        The classes whose rates are constrained (binary: the positive class;
        multi-class: every class, one-vs-rest).
    """

    true: np.ndarray
    n: np.ndarray
    classes: np.ndarray

    @classmethod
    def from_codes(cls, y, groups, n_groups, n_classes, weights):
        true = np.bincount(groups * n_classes + y, weights=weights,
                           minlength=n_groups * n_classes)
        true = true.reshape(n_groups, n_classes).astype(np.float64)
        classes = np.array([1]) if n_classes == 2 else np.arange(n_classes)
        return cls(true=true, n=true.sum(1), classes=classes)

    @property
    def valid(self):
        """``{rate: (G, C) bool}``: where each rate is defined."""
        neg = self.n[:, None] - self.true
        return {"tpr": self.true > 0, "fpr": neg > 0,
                "sel": np.broadcast_to(self.n[:, None] > 0, self.true.shape)}


def tally(y, groups, pred, n_groups, n_classes, weights):
    """``(hit, pred)`` weighted count tables of shape (G, C) for predicted classes."""
    size = n_groups * n_classes
    hit = np.bincount(groups * n_classes + y, weights=(pred == y) * weights, minlength=size)
    cnt = np.bincount(groups * n_classes + pred, weights=weights, minlength=size)
    return (hit.reshape(n_groups, n_classes).astype(np.float64),
            cnt.reshape(n_groups, n_classes).astype(np.float64))


def _div(num, den, ok):
    return np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, den.shape)),
                     where=np.broadcast_to(ok, np.broadcast_shapes(num.shape, den.shape)))


def _spread(rate, valid):
    """Largest between-group difference of ``rate`` (..., G, K) over valid groups,
    per column: (..., K); 0 where fewer than two groups are valid."""
    hi = np.where(valid, rate, -np.inf).max(-2)
    lo = np.where(valid, rate, np.inf).min(-2)
    return np.where(valid.sum(-2) >= 2, hi - lo, 0.0)


def measure(hit, pred, counts):
    """Every reported quantity of rules given by count tables.

    Parameters
    ----------
    hit, pred : ndarray of shape (..., G, C)
        Count tables (leading axes: candidate rules).
    counts : RuleCounts

    Returns
    -------
    out : dict of str -> ndarray of shape (...)
        ``accuracy``, ``balanced_accuracy``, the gaps (the metric values of
        :mod:`skfair.metrics`: largest between-group difference, worst
        constrained class) ``demographic_parity_difference``,
        ``equal_opportunity_difference`` (TPR only),
        ``equalized_odds_difference``, the floors ``worst_group_accuracy`` and
        ``min_group_recall``; and per-group tables ``group_accuracy`` (..., G)
        and ``group_recall`` (..., G) (NaN where undefined).
    """
    true, n, cls = counts.true, counts.n, counts.classes
    valid = counts.valid
    total_true = true.sum(0)
    present = total_true > 0
    out = {"accuracy": hit.sum((-2, -1)) / n.sum()}
    out["balanced_accuracy"] = (hit.sum(-2)[..., present] / total_true[present]).mean(-1)
    tpr = _div(hit, true, valid["tpr"])
    fpr = _div(pred - hit, n[:, None] - true, valid["fpr"])
    sel = _div(pred, n[:, None], valid["sel"])
    spreads = {
        "sel": _spread(sel[..., cls], valid["sel"][:, cls]),
        "tpr": _spread(tpr[..., cls], valid["tpr"][:, cls]),
        "fpr": _spread(fpr[..., cls], valid["fpr"][:, cls]),
    }
    out["spreads"] = spreads
    out["demographic_parity_difference"] = spreads["sel"].max(-1)
    out["equal_opportunity_difference"] = spreads["tpr"].max(-1)
    out["equalized_odds_difference"] = np.maximum(spreads["tpr"], spreads["fpr"]).max(-1)
    has_rows = n > 0
    gacc = np.where(has_rows, _div(hit.sum(-1), n, has_rows), np.nan)
    out["group_accuracy"] = gacc
    out["worst_group_accuracy"] = np.where(has_rows, gacc, np.inf).min(-1)
    rec_ok = valid["tpr"][:, cls]
    grec = np.where(rec_ok, tpr[..., cls], np.inf).min(-1)
    grec = np.where(rec_ok.any(-1), grec, np.nan)
    out["group_recall"] = grec
    out["min_group_recall"] = np.nanmin(grec, -1) if np.isfinite(grec).any() else (
        np.full(grec.shape[:-1], np.nan))
    return out


def _penalty(excess):
    """Penalty of an excess over a bound: 0 when within it, else ``excess**2`` (so
    that moving rows between two violated rates is progress when it evens them
    out) plus a small linear term (so that any excess counts, however small)."""
    e = np.maximum(excess, 0.0)
    return e * e + 1e-6 * e


# ---------------------------------------------------------------------------
# binary targets, given groups: exact search over boxes
# ---------------------------------------------------------------------------
@dataclass
class _GroupCandidates:
    thresholds: np.ndarray  # (K,) decreasing: +inf (nothing positive) ... -inf (all)
    tp: np.ndarray  # (K,) non-decreasing
    fp: np.ndarray  # (K,)
    pos: float
    neg: float


def binary_candidates(margin, y1, groups, n_groups, n_candidates, weights):
    """Candidate thresholds of every group, with their exact (weighted) counts.

    A row is predicted positive when its margin is *above* the threshold.
    Candidates sit half-way between consecutive distinct margins of the group
    (plus ``+inf``, nothing positive, and ``-inf``, everything positive);
    when a group has more distinct margins than ``n_candidates``, the cuts
    nearest to evenly spaced ranks are kept, so every step moves about the same
    number of rows (a small group gets as many candidates as it has distinct
    margins, never more).

    Returns
    -------
    candidates : list of _GroupCandidates
    """
    order = np.lexsort((-margin, groups))
    s_sorted = margin[order]
    w_sorted = weights[order]
    wy_sorted = w_sorted * y1[order]
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    out = []
    for g in range(n_groups):
        part = slice(bounds[g], bounds[g + 1])
        ss, wy, ww = s_sorted[part], wy_sorted[part], w_sorted[part]
        m = len(ss)
        if m == 0:  # no validation row: the estimator's own decision (margin 0)
            out.append(_GroupCandidates(np.zeros(1), np.zeros(1), np.zeros(1), 0.0, 0.0))
            continue
        # increasing: 0, every boundary between distinct margins, m (m >= 1)
        cuts = np.concatenate([[0], np.flatnonzero(ss[:-1] > ss[1:]) + 1, [m]])
        if len(cuts) > n_candidates:
            targets = np.linspace(0, m, n_candidates)
            idx = np.clip(np.searchsorted(cuts, targets), 0, len(cuts) - 1)
            cuts = np.unique(cuts[idx])  # small; holds 0 and m (targets 0 and m)
        tp = np.concatenate([[0.0], np.cumsum(wy)])[cuts]
        fp = np.concatenate([[0.0], np.cumsum(ww)])[cuts] - tp
        thr = np.empty(len(cuts))
        inner = (cuts > 0) & (cuts < m)
        k = cuts[inner]
        thr[inner] = (ss[k - 1] + ss[k]) / 2
        thr[cuts == 0] = np.inf
        thr[cuts == m] = -np.inf
        pos = float(wy.sum())
        out.append(_GroupCandidates(thr, tp, fp, pos, float(ww.sum()) - pos))
    return out


def _range_max_table(v):
    """Flattened ``M[l, r] = max(v[l..r])`` for ``l <= r``, ``-inf`` for ``l > r``."""
    k = len(v)
    M = np.where(np.triu(np.ones((k, k), dtype=bool)), v[None, :], -np.inf)
    return np.maximum.accumulate(M, axis=1).ravel()


def _positions(values, step):
    """Box lower edges: the distinct values, at most one per ``step``-wide bin (the
    smallest), so every dropped value lies less than ``step`` above a kept one."""
    values = np.unique(values)
    if step <= 0 or len(values) < 2:
        return values
    bins = np.floor(values / step)
    keep = np.concatenate([[True], bins[1:] > bins[:-1]])
    return values[keep]


def _index_ranges(r, positions, tolerance):
    """Candidates ``[lo, hi]`` whose rate lies in ``[p, p + tolerance]`` per position
    (all candidates where the rate is undefined: a row of NaN)."""
    if np.isnan(r[0]):
        return (np.zeros(len(positions), dtype=np.int64),
                np.full(len(positions), len(r) - 1, dtype=np.int64))
    return (np.searchsorted(r, positions - _EPS, side="left"),
            np.searchsorted(r, positions + tolerance + _EPS, side="right") - 1)


def binary_box_search(values, rates, tolerance, *, resolution):
    """Best feasible choice of one candidate per group under a gap constraint.

    Parameters
    ----------
    values : list of ndarray
        Objective contribution of each group's candidates (summed over groups).
    rates : list of ndarray of shape (d, K_g)
        Each group's constrained rates (``d`` = 1 or 2), non-decreasing along
        the candidates; a row of NaN means the rate is undefined for the group
        (left out of that dimension).
    tolerance : float
        Largest allowed between-group difference of every rate.
    resolution : float
        Box positions are the candidates' rate values, at most one per
        ``resolution``-wide bin (exact when rates are further apart).

    Returns
    -------
    choice : ndarray of int, shape (G,)
        Index of each group's chosen candidate.
    """
    d, G = rates[0].shape[0], len(values)
    positions = []
    for j in range(d):
        pool = [r[j] for r in rates if not np.isnan(r[j, 0])]
        positions.append(_positions(np.concatenate(pool) if pool else np.zeros(1), resolution))
    ranges = [[_index_ranges(rates[g][j], positions[j], tolerance) for j in range(d)]
              for g in range(G)]
    # positions where some group has no candidate in range are never feasible
    keep = [np.logical_and.reduce([ranges[g][j][0] <= ranges[g][j][1] for g in range(G)])
            for j in range(d)]
    ranges = [[(lo[keep[j]], hi[keep[j]]) for j, (lo, hi) in enumerate(rg)] for rg in ranges]
    if d == 1:
        pair = (np.arange(int(keep[0].sum())),)
    else:
        # for a TPR edge a, a group's candidates in the TPR strip have false-positive
        # rates in [fpr[lo], fpr[hi]]: only FPR edges b with fpr[lo] - t <= b <= fpr[hi]
        # for every group can be feasible, a window about t wide
        b_pos = positions[1][keep[1]]
        b_min = np.full(int(keep[0].sum()), -np.inf)
        b_max = np.full(int(keep[0].sum()), np.inf)
        for g in range(G):
            f = rates[g][1]
            if np.isnan(f[0]):
                continue
            lo, hi = ranges[g][0]
            np.maximum(b_min, f[lo] - tolerance, out=b_min)
            np.minimum(b_max, f[hi], out=b_max)
        first = np.searchsorted(b_pos, b_min - _EPS, side="left")
        last = np.searchsorted(b_pos, b_max + _EPS, side="right")
        width = np.maximum(last - first, 0)
        a_idx = np.repeat(np.arange(len(width)), width)
        offs = np.arange(len(a_idx)) - np.repeat(np.cumsum(width) - width, width)
        pair = (a_idx, np.repeat(first, width) + offs)
        if len(a_idx) == 0:  # cannot happen: constant rules always fit
            raise RuntimeError("no box position is feasible for every group")
    total = None
    for g in range(G):
        K = len(values[g])
        table = _range_max_table(values[g])
        L = np.maximum.reduce([ranges[g][j][0][pair[j]] for j in range(d)])
        R = np.minimum.reduce([ranges[g][j][1][pair[j]] for j in range(d)])
        L *= K
        L += R  # flat index of M[L, R]; -inf where the ranges do not meet
        best = table[L]
        total = best if total is None else np.add(total, best, out=total)
    at = int(np.argmax(total))
    choice = np.empty(G, dtype=np.int64)
    for g in range(G):
        L = max(int(ranges[g][j][0][pair[j][at]]) for j in range(d))
        R = min(int(ranges[g][j][1][pair[j][at]]) for j in range(d))
        choice[g] = L + int(np.argmax(values[g][L:R + 1]))
    return choice


def binary_floor_search(values, floors_g, floor):
    """Best choice per group among its candidates whose floor value is at least
    ``floor`` (groups with an undefined value are unconstrained)."""
    choice = np.empty(len(values), dtype=np.int64)
    for g, (v, f) in enumerate(zip(values, floors_g, strict=True)):
        ok = np.ones(len(v), dtype=bool) if f is None else f >= floor - _EPS
        choice[g] = int(np.argmax(np.where(ok, v, -np.inf)))
    return choice


def binary_mixture_lp(values, rates, tolerance, floors=None, floor=None):
    """Randomised rule: each group draws its threshold from a distribution over its
    candidates; the best distributions under the constraint solve a linear program.

    Mixing thresholds mixes their counts linearly, so every rate and the
    objective are linear in the mixture weights ``lam[g, k]``; a gap constraint
    is a box ``[e_j, e_j + tolerance]`` (``e_j`` free) that every group's mixed
    rate ``j`` must lie in, a floor a lower bound on every group's mixed value.
    HiGHS solves it exactly; a vertex solution mixes few thresholds per group.

    Parameters
    ----------
    values : list of ndarray
        Objective contribution of each group's candidates.
    rates : list of ndarray of shape (d, K_g), optional
        Constrained rates (NaN rows: undefined for the group, not constrained).
    tolerance : float
    floors : list of ndarray or None, optional
        For a floor constraint: each group's floor value per candidate (None:
        undefined); ``rates`` is then None.
    floor : float, optional

    Returns
    -------
    mixtures : list of ndarray
        Per group, the probability of each candidate (summing to 1).
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    G = len(values)
    sizes = np.array([len(v) for v in values])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_lam = int(sizes.sum())
    d = 0 if rates is None else rates[0].shape[0]
    rows, cols, vals, rhs = [], [], [], []

    def add_row(g, coef, extra_col=None, extra_val=0.0, bound=0.0):
        r = len(rhs)
        rows.extend([r] * len(coef))
        cols.extend(range(starts[g], starts[g] + sizes[g]))
        vals.extend(coef)
        if extra_col is not None:
            rows.append(r)
            cols.append(extra_col)
            vals.append(extra_val)
        rhs.append(bound)

    for g in range(G):
        for j in range(d):
            r = rates[g][j]
            if np.isnan(r[0]):
                continue
            add_row(g, r, n_lam + j, -1.0, tolerance)  # rate - e_j <= t
            add_row(g, -r, n_lam + j, 1.0, 0.0)  # e_j - rate <= 0
        if floors is not None and floors[g] is not None:
            add_row(g, -floors[g], bound=-floor)  # value >= floor
    A_ub = csr_matrix((vals, (rows, cols)), shape=(len(rhs), n_lam + d)) if rhs else None
    A_eq = csr_matrix((np.ones(n_lam), (np.repeat(np.arange(G), sizes), np.arange(n_lam))),
                      shape=(G, n_lam + d))
    cost = -np.concatenate([np.concatenate(values), np.zeros(d)])
    res = linprog(cost, A_ub=A_ub, b_ub=np.asarray(rhs) if rhs else None, A_eq=A_eq,
                  b_eq=np.ones(G), bounds=[(0, None)] * n_lam + [(0, 1)] * d,
                  method="highs")
    if res.status != 0:  # cannot happen: constant rules (and the best floors) are feasible
        raise RuntimeError(f"the randomised rule's linear program failed: {res.message}")
    lam = np.clip(res.x[:n_lam], 0.0, None)
    out = []
    for g in range(G):
        p = lam[starts[g]:starts[g] + sizes[g]]
        p = np.where(p > 1e-9, p, 0.0)
        out.append(p / p.sum())
    return out


# ---------------------------------------------------------------------------
# general case: coordinate ascent on class-score offsets
# ---------------------------------------------------------------------------
class CoordinateProblem:
    """Validation rows for the coordinate search.

    Parameters
    ----------
    scores : ndarray of shape (n, C)
    y : ndarray of int, shape (n,)
    groups : ndarray of int, shape (n,)
        True groups (the constraint is measured on them).
    decision : ndarray of int, shape (n,)
        Decision groups (the offsets are indexed by them).
    n_groups, n_decision : int
    objective, constraint : str
    n_candidates : int
        Offset values tried per coordinate step.
    """

    def __init__(self, scores, y, groups, decision, n_groups, n_decision, weights, *,
                 objective, constraint, n_candidates):
        self.S = np.asarray(scores, dtype=np.float64)
        self.y, self.g, self.h, self.w = y, groups, decision, weights
        self.G, self.H, self.C = n_groups, n_decision, self.S.shape[1]
        self.objective, self.constraint = objective, constraint
        self.n_candidates = n_candidates
        self.counts = RuleCounts.from_codes(y, groups, n_groups, self.C, weights)
        self.valid = self.counts.valid
        self.N = float(weights.sum())
        total_true = self.counts.true.sum(0)
        self.present = total_true > 0
        self.total_true = total_true[self.present]
        order = np.argsort(decision, kind="stable")
        bounds = np.searchsorted(decision[order], np.arange(n_decision + 1))
        self.rows = [order[bounds[k]:bounds[k + 1]] for k in range(n_decision)]
        self.affected = [np.unique(groups[r]) for r in self.rows]
        self.local = [np.searchsorted(a, groups[r]) for a, r in zip(self.affected, self.rows,
                                                                    strict=True)]
        # binary: offsets of class 1 only (class 0 stays at 0: a threshold)
        self.coords = [1] if self.C == 2 else list(range(self.C))

    def predict(self, B):
        return np.argmax(self.S + B[self.h], axis=1)

    def tallies(self, B):
        return tally(self.y, self.g, self.predict(B), self.G, self.C, self.w)

    # -- figures of candidate rules ------------------------------------------------
    def _rate(self, rate, hit, pred, idx):
        true, n = self.counts.true[idx], self.counts.n[idx][:, None]
        if rate == "tpr":
            return _div(hit, true, true > 0)
        if rate == "fpr":
            return _div(pred - hit, n - true, n - true > 0)
        return pred / n

    def _group_values(self, which, hit, pred, idx):
        """Per-group accuracy or recall (NaN where undefined): (..., len(idx))."""
        if which == "worst_group_accuracy":
            return hit.sum(-1) / self.counts.n[idx]
        cls = self.counts.classes
        ok = self.valid["tpr"][idx][:, cls]
        rec = np.where(ok, self._rate("tpr", hit, pred, idx)[..., cls], np.inf).min(-1)
        return np.where(ok.any(-1), rec, np.nan)

    def evaluate(self, hit, pred, aff, hitA, predA, level, objective):
        """Objective and violation of candidate rules that differ only in the
        groups ``aff`` (whose tables are ``hitA``, ``predA`` of shape (K, A, C))."""
        fixed = np.ones(self.G, dtype=bool)
        fixed[aff] = False
        fix = np.flatnonzero(fixed)
        hit_sum = hit[fix].sum(0) + hitA.sum(1)
        if objective == "accuracy":
            obj = hit_sum.sum(-1) / self.N
        elif objective == "balanced_accuracy":
            obj = (hit_sum[:, self.present] / self.total_true).mean(-1)
        else:  # a worst-group value (the best achievable floor is searched first)
            va = self._group_values(objective, hitA, predA, aff)
            vf = self._group_values(objective, hit[fix], pred[fix], fix)
            obj = np.fmin(np.nanmin(np.where(np.isnan(va), np.inf, va), -1),
                          np.nanmin(np.where(np.isnan(vf), np.inf, vf), initial=np.inf))
        c = self.constraint
        if c in GAP_RATES:
            vio = 0.0
            cls = self.counts.classes
            for r in GAP_RATES[c]:
                vF, vA = self.valid[r][fix][:, cls], self.valid[r][aff][:, cls]
                rF = self._rate(r, hit[fix], pred[fix], fix)[:, cls]
                rA = self._rate(r, hitA, predA, aff)[..., cls]
                hi = np.maximum(np.where(vF, rF, -np.inf).max(0, initial=-np.inf),
                                np.where(vA, rA, -np.inf).max(1))
                lo = np.minimum(np.where(vF, rF, np.inf).min(0, initial=np.inf),
                                np.where(vA, rA, np.inf).min(1))
                spread = np.where(vF.sum(0) + vA.sum(0) >= 2, hi - lo, 0.0)
                vio = vio + _penalty(spread - level).sum(-1)
        else:
            va = self._group_values(c, hitA, predA, aff)
            vf = self._group_values(c, hit[fix], pred[fix], fix)
            vio = (np.where(np.isnan(va), 0.0, _penalty(level - va)).sum(-1)
                   + np.where(np.isnan(vf), 0.0, _penalty(level - vf)).sum())
        return obj, vio + np.zeros_like(obj)

    def evaluate_rule(self, hit, pred, level, objective):
        everyone = np.arange(self.G)
        obj, vio = self.evaluate(hit, pred, everyone, hit[None], pred[None], level, objective)
        return float(obj[0]), float(vio[0])

    # -- one coordinate ------------------------------------------------------------
    def _step(self, B, hit, pred, k, c, level, objective):
        """Candidate values of ``B[k, c]`` with the objective and violation of each."""
        rows = self.rows[k]
        if len(rows) == 0:
            return None
        C, aff, loc = self.C, self.affected[k], self.local[k]
        Sr = self.S[rows]
        others = Sr + B[k]
        others[:, c] = -np.inf
        alt = np.argmax(others, axis=1)
        brk = others[np.arange(len(rows)), alt] - Sr[:, c]  # row predicts c iff b > brk
        ds = np.unique(brk)
        mids = (ds[:-1] + ds[1:]) / 2
        if len(mids) > self.n_candidates:
            mids = mids[np.unique(np.linspace(0, len(mids) - 1, self.n_candidates).round()
                                  .astype(np.int64))]
        span = max(1.0, float(ds[-1] - ds[0]))
        cand = np.unique(np.concatenate([[ds[0] - span, ds[-1] + span, B[k, c]], mids]))
        K, A = len(cand), len(aff)
        size = A * C
        yk, wk = self.y[rows], self.w[rows]
        cell_y, cell_alt, cell_c = loc * C + yk, loc * C + alt, loc * C + c
        right = (alt == yk) * wk
        # counts when no row predicts c (each predicts its best other class), then the
        # switches to c as the offset passes each row's breakpoint
        base_hit = np.bincount(cell_y, weights=right, minlength=size)
        base_pred = np.bincount(cell_alt, weights=wk, minlength=size)
        at = np.searchsorted(cand, brk, side="right") * size
        m = (K + 1) * size
        dh = (np.bincount(at + cell_c, weights=(yk == c) * wk, minlength=m)
              - np.bincount(at + cell_y, weights=right, minlength=m))
        dp = (np.bincount(at + cell_c, weights=wk, minlength=m)
              - np.bincount(at + cell_alt, weights=wk, minlength=m))
        hitA = (base_hit + np.cumsum(dh.reshape(K + 1, size)[:K], axis=0)).reshape(K, A, C)
        predA = (base_pred + np.cumsum(dp.reshape(K + 1, size)[:K], axis=0)).reshape(K, A, C)
        cur = int(np.searchsorted(cand, B[k, c]))
        # the groups' rows outside this decision group stay as they are
        hitA += hit[aff] - hitA[cur]
        predA += pred[aff] - predA[cur]
        obj, vio = self.evaluate(hit, pred, aff, hitA, predA, level, objective)
        return cand, obj, vio, hitA, predA

    def ascend(self, B, level, *, objective=None, max_sweeps=10, min_gain=1e-4):
        """Coordinate ascent from ``B`` at one constraint level; returns the new B.

        Sweeps over every coordinate until one changes nothing, or, once the rule
        is feasible, gains less than ``min_gain`` of objective (at most
        ``max_sweeps`` sweeps)."""
        objective = self.objective if objective is None else objective
        B = B.copy()
        hit, pred = self.tallies(B)
        obj, vio = self.evaluate_rule(hit, pred, level, objective)
        for _ in range(max_sweeps):
            moved = False
            before = (obj, vio)
            for k in range(self.H):
                for c in self.coords:
                    res = self._step(B, hit, pred, k, c, level, objective)
                    if res is None:
                        continue
                    cand, o, v, hitA, predA = res
                    feas = v <= _EPS
                    if feas.any():
                        best = int(np.argmax(np.where(feas, o, -np.inf)))
                        better = vio > _EPS or o[best] > obj + _EPS
                    else:
                        best = int(np.argmax(np.where(v <= v.min() + _EPS, o, -np.inf)))
                        better = v[best] < vio - _EPS
                    if better:
                        B[k, c] = cand[best]
                        aff = self.affected[k]
                        hit[aff], pred[aff] = hitA[best], predA[best]
                        obj, vio = float(o[best]), float(v[best])
                        moved = True
            # recount exactly (a tie at a breakpoint goes to argmax's order)
            hit, pred = self.tallies(B)
            obj, vio = self.evaluate_rule(hit, pred, level, objective)
            if not moved or (vio <= _EPS and before[1] <= _EPS and obj - before[0] < min_gain):
                break
        return B

    def match_rates(self, B, *, n_iter=150):
        """Offsets that bring every decision group's constrained rates (selection
        rates for demographic parity, true-positive rates otherwise) to the
        pooled ones of ``B``.

        For selection rates this is a semi-discrete transport problem whose
        offsets are the dual variables: gradient steps ``b[h, c] += eta_t *
        (pooled_c - rate_hc)`` with a decreasing step converge to them; the same
        steps bring true-positive rates together. All groups move at once.
        """
        B = B.copy()
        rate_of = "sel" if self.constraint == "demographic_parity" else "tpr"
        true = np.bincount(self.h * self.C + self.y, weights=self.w,
                           minlength=self.H * self.C).reshape(self.H, self.C)
        den = np.broadcast_to(true.sum(1, keepdims=True), true.shape) if rate_of == "sel" \
            else true
        ok = den > 0
        target = None
        for t in range(n_iter):
            hit, pred = tally(self.y, self.h, self.predict(B), self.H, self.C, self.w)
            num = pred if rate_of == "sel" else hit
            if target is None:
                target = num.sum(0) / np.maximum(den.sum(0), _TINY)
            rate = np.divide(num, den, out=np.zeros_like(num), where=ok)
            gap = np.where(ok, target - rate, 0.0)
            if np.abs(gap).max() < 1e-3:
                break
            B += 2.0 / (1.0 + t / 10.0) * gap
        if self.C == 2:  # thresholds: class 0's offset stays 0
            B -= B[:, :1]
        return B

    def restore(self, B, level):
        """A feasible rule near an infeasible ``B``: raise one class's offsets in
        every decision group by the smallest step (on a grid) that meets the
        constraint (everyone predicting one class is a constant rule, which meets
        every gap constraint), for each class, and keep the most accurate."""
        Z = self.S + B[self.h]
        pred0 = np.argmax(Z, axis=1)
        best, best_obj = None, -np.inf
        for c in range(self.C):
            others = Z.copy()
            others[:, c] = -np.inf
            brk = others.max(axis=1) - Z[:, c]
            steps = np.unique(np.concatenate([
                np.quantile(brk[brk > 0], np.linspace(0, 1, 64)) + 1e-9 if (brk > 0).any()
                else np.zeros(0), [0.0, max(float(brk.max()), 0.0) + 1.0]]))
            for lam in steps:
                pred = np.where(brk < lam, c, pred0)
                hit, cnt = tally(self.y, self.g, pred, self.G, self.C, self.w)
                obj, vio = self.evaluate_rule(hit, cnt, level, self.objective)
                if vio <= _EPS:
                    if obj > best_obj:
                        best_obj = obj
                        best = B.copy()
                        best[:, c] += lam
                    break
        if self.C == 2:  # back to thresholds: class 0's offset at 0
            best = best - best[:, :1]
        return best


def coordinate_search(problem, level, *, start=None, schedule=None, max_sweeps=10):
    """Offsets ``B`` (H, C) maximising the objective under the constraint.

    Two routes from ``start`` are followed and the better feasible result is
    kept: for gap constraints, every decision group first brought to the
    pooled rates (:meth:`CoordinateProblem.match_rates`), then coordinate
    ascent; and, when that does not end feasible, the homotopy (ascent at each
    level of ``schedule``, then at ``level``).

    Parameters
    ----------
    problem : CoordinateProblem
    level : float
        Tolerance (gap constraints) or floor (floor constraints).
    start : ndarray of shape (H, C), optional
        Initial offsets (default: zeros, the estimator's own predictions, then
        ascent of the objective without constraint).
    schedule : sequence of float, optional
        Intermediate levels of the homotopy.
    max_sweeps : int, default=10
        Sweeps over all coordinates per ascent.

    Returns
    -------
    B : ndarray of shape (H, C)
        Meets the constraint at ``level`` on the rows of ``problem`` (when both
        routes end outside it, :meth:`CoordinateProblem.restore` brings the
        rule back and the ascent resumes from there).
    """
    loose = np.inf if problem.constraint in GAP_RATES else -np.inf
    if start is None:
        start = problem.ascend(np.zeros((problem.H, problem.C)), loose, max_sweeps=max_sweeps)
        if level == loose:
            return start

    def judge(B):
        hit, pred = problem.tallies(B)
        return problem.evaluate_rule(hit, pred, level, problem.objective)

    results = []
    if problem.constraint in GAP_RATES and np.isfinite(level):
        B = problem.ascend(problem.match_rates(start), level, max_sweeps=max_sweeps)
        results.append((B, *judge(B)))
    if not any(vio <= _EPS for _, _, vio in results):
        B = start
        for lv in list(schedule or []) + [level]:
            B = problem.ascend(B, lv, max_sweeps=max_sweeps)
        results.append((B, *judge(B)))
    feasible = [(obj, k) for k, (_, obj, vio) in enumerate(results) if vio <= _EPS]
    if feasible:
        return results[max(feasible)[1]][0]
    B = min(results, key=lambda r: r[2])[0]
    return problem.ascend(problem.restore(B, level), level, max_sweeps=max_sweeps)
