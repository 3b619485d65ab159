"""Peer post-processors of the benchmark, fitted on the validation rows.

Post-processors choose a decision rule on held-out rows: the base classifier
is fitted on the training split, the rule on the validation split, as their
authors do. fairlearn's ``ThresholdOptimizer`` runs with ``prefit=True`` on
that base; OxonFair's ``FairPredictor`` (Delaney et al. 2024) rescales the
base's validation scores. OxonFair's search grows exponentially with the
number of groups (its grid has up to 30**5 points), so it runs in a worker
process under a time budget and is cut, and reported as such, when it
exceeds it.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np

__all__ = ["OxonFairModel", "PeerBudgetExceeded", "ValidationPostProcessor"]


class PeerBudgetExceeded(RuntimeError):
    """A peer's fit did not finish within its time budget."""


class ValidationPostProcessor:
    """A base estimator fitted on the training rows, a rule fitted on the validation rows.

    Parameters
    ----------
    base_factory : callable
        ``base_factory() -> estimator`` (unfitted); built once per context and
        shared by every post-processor of a run (``shared`` dict).
    fit_rule : callable
        ``fit_rule(base, X_val, y_val, S_val) -> rule`` with
        ``rule.predict(X, S)``.
    val : tuple
        ``(X_val, y_val, S_val)``.
    shared : dict
        Cache of the fitted base across methods (key ``key``).
    key : str
        Name of the base in ``shared``.

    Attributes
    ----------
    extra_fit_s : float
        Seconds of the shared base's fit, added to this method's fit time
        (the base is fitted once, but every post-processor needs it).
    """

    def __init__(self, base_factory, fit_rule, val, shared, key):
        self.base_factory = base_factory
        self.fit_rule = fit_rule
        self.val = val
        self.shared = shared
        self.key = key
        self.extra_fit_s = 0.0

    def fit(self, X, y, S):
        if self.key not in self.shared:
            t0 = time.perf_counter()
            base = self.base_factory().fit(X, y)
            self.shared[self.key] = (base, time.perf_counter() - t0)
            self.extra_fit_s = 0.0  # timed by the caller already
        else:
            base, seconds = self.shared[self.key]
            self.extra_fit_s = seconds
        self.base_ = base
        self.rule_ = self.fit_rule(base, *self.val)
        return self

    def predict(self, X, S):
        return np.asarray(self.rule_.predict(X, S))


def _oxonfair_frontier(proba, y, groups, constraint):
    """OxonFair's accuracy-vs-constraint frontier on validation scores (worker side)."""
    import oxonfair
    from oxonfair import group_metrics as gm

    fp = oxonfair.FairPredictor(None, {"data": proba, "target": y, "groups": groups})
    metric = gm.equalized_odds if constraint == "eo" else gm.demographic_parity
    fp.compute_frontier(gm.accuracy, metric, greater_is_better_obj1=True,
                        greater_is_better_obj2=False)
    return fp.frontier


class OxonFairModel:
    """OxonFair's ``FairPredictor`` over a base classifier's validation scores.

    The frontier (OxonFair's exhaustive search) is computed once per run in a
    worker process under ``budget`` seconds and shared by every tolerance
    ``value`` (``fit(accuracy, constraint, value)`` then picks a point of it).

    Parameters
    ----------
    base : fitted classifier with ``predict_proba``
    val : tuple
        ``(X_val, y_val, groups_val)``, groups as 1-D labels.
    constraint : {"eo", "dp"}
    value : float
        Largest allowed constraint value (OxonFair's ``equalized_odds`` is
        the mean of the TPR and FPR differences).
    shared : dict
        Holds the frontier across values (key ``"oxonfair_<constraint>"``).
    budget : float
        Seconds the frontier may take.
    """

    def __init__(self, base, val, constraint, value, shared, budget):
        self.base = base
        self.val = val
        self.constraint = constraint
        self.value = value
        self.shared = shared
        self.budget = budget
        self.extra_fit_s = 0.0

    def fit(self):
        """Compute (or reuse) the frontier and pick the point for ``value``."""
        import oxonfair
        from oxonfair import group_metrics as gm

        X_val, y_val, g_val = self.val
        proba = self.base.predict_proba(np.asarray(X_val, dtype=np.float64))
        data = {"data": proba, "target": np.asarray(y_val), "groups": np.asarray(g_val)}
        key = f"oxonfair_{self.constraint}"
        if key not in self.shared:
            self.shared[key] = _run_with_budget(
                _oxonfair_frontier, (proba, data["target"], data["groups"], self.constraint),
                self.budget)
        frontier = self.shared[key]
        fp = oxonfair.FairPredictor(None, data)
        fp.frontier = frontier
        metric = gm.equalized_odds if self.constraint == "eo" else gm.demographic_parity
        fp.fit(gm.accuracy, metric, self.value, recompute=False)
        self.predictor_ = fp
        return self

    def predict(self, X, S):
        from ._methods import group_labels

        proba = self.base.predict_proba(np.asarray(X, dtype=np.float64))
        # OxonFair checks that a data dict holds a "target", even to predict: unused here
        data = {"data": proba, "target": np.zeros(len(proba)), "groups": group_labels(S)}
        return np.asarray(self.predictor_.predict(data))


def _run_with_budget(func, args, budget):
    """``func(*args)`` in a spawned worker process, killed after ``budget`` seconds."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(func, args)
        try:
            return job.get(timeout=budget)
        except multiprocessing.TimeoutError:
            pool.terminate()
            raise PeerBudgetExceeded(
                f"cut after the {budget:g} s budget (--peer-budget)") from None
