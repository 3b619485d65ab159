"""Run every method on the shared split, tune on validation, score on test.

The selection rule (used for each method's hyper-parameter, and again to name
the best skfair method and the best peer method of a run), on the
**validation** split:

1. keep the candidates whose accuracy is at least the baseline's minus
   ``tolerance`` (default 0.01, one accuracy point; for regression: whose MAE
   is at most the baseline's times ``1 + tolerance``);
2. among them, take the one with the lowest ``select_metric`` (default the
   equalized-odds difference; for regression the MAE bias score), ties going to
   the more accurate;
3. when none qualifies, take the most accurate candidate.

The test split is only used to report the chosen candidates (and the whole
``lam`` path, for the Pareto plot).
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ._methods import METHODS, MethodContext, head_params

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "BenchmarkResult",
    "compute_metrics",
    "is_peer",
    "run_benchmark",
    "select_candidate",
]

#: families that are not peers: the unconstrained references and skfair itself
OWN_FAMILIES = ("baseline", "skfair")


def is_peer(family):
    """Whether a method family is a peer library (fairlearn, OxonFair, ...).

    Every family other than ``"baseline"`` and ``"skfair"`` is a peer, so a new
    peer library needs no change here.

    Examples
    --------
    >>> from skfair.benchmark import is_peer
    >>> is_peer("fairlearn"), is_peer("oxonfair"), is_peer("skfair"), is_peer("baseline")
    (True, True, False, False)
    """
    return family not in OWN_FAMILIES

#: metric name -> (description, higher is better)
CLASSIFICATION_METRICS = {
    "accuracy": ("accuracy", True),
    "balanced_accuracy": ("balanced accuracy", True),
    "eo_difference": ("equalized-odds difference (worst class, between groups)", False),
    "eo_ratio": ("equalized-odds ratio", True),
    "dp_difference": ("demographic-parity difference", False),
    "dp_ratio": ("demographic-parity ratio", True),
    "statistical_parity": ("statistical parity difference (max over classes)", False),
    "equal_opportunity": ("Xu et al.'s equal-opportunity fairness F (1 = fair)", True),
    "iou_fairness": ("std of per-group mean IoU", False),
    "error_spread": ("std of per-group error rates", False),
    "worst_group_accuracy": ("accuracy of the worst group", True),
}
#: metric name -> (description, higher is better), for regression targets
REGRESSION_METRICS = {
    "mae": ("mean absolute error", False),
    "rmse": ("root mean squared error", False),
    "mae_bias": ("mean pairwise |MAE_i - MAE_j| over sensitive groups", False),
    "mae_bias_age": ("the same over true age groups <20, 20-40, 40-60, >=60", False),
    "mae_bias_mean": ("ChaLearn mean bias: the mean of mae_bias_<attribute> (every attribute "
                      "scored alone) and mae_bias_age", False),
    "worst_group_mae": ("MAE of the worst group", False),
}

#: metrics a user may select lam by (lower is better)
SELECT_METRICS = {
    "binary": ("eo_difference", "dp_difference", "statistical_parity", "iou_fairness",
               "error_spread"),
    "multiclass": ("eo_difference", "dp_difference", "statistical_parity", "iou_fairness",
                   "error_spread"),
    "regression": ("mae_bias", "mae_bias_age"),
}


def _undefined_notes(caught):
    notes = []
    for w in caught:
        msg = str(w.message).splitlines()[0]
        if msg not in notes:
            notes.append(msg)
    return notes


def compute_metrics(kind, y_true, y_pred, S, *, notes=None, attributes=None):
    """Every applicable fairness metric of :mod:`skfair.metrics`, plus accuracy or MAE.

    Parameters
    ----------
    kind : {"binary", "multiclass", "regression"}
    y_true, y_pred : ndarray
    S : pandas.DataFrame
        Sensitive attributes (several columns: intersections).
    notes : list, optional
        Receives the metrics' warnings (e.g. groups left out of a comparison).
    attributes : pandas.DataFrame, optional
        Regression: the attributes scored one at a time by the ChaLearn bias
        (:func:`skfair.metrics.chalearn_bias`; ``mae_bias_<attribute>``, with
        ``mae_bias_age`` over the true age groups and their mean
        ``mae_bias_mean``); default the columns of ``S``.

    Returns
    -------
    metrics : dict of str -> float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfair.benchmark import compute_metrics
    >>> m = compute_metrics("binary", np.array([1, 0, 1, 0]), np.array([1, 0, 0, 0]),
    ...                     pd.DataFrame({"g": list("aabb")}))
    >>> m["accuracy"], m["eo_difference"]
    (0.75, 1.0)
    """
    from skfair import metrics as M

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    undefined = []

    def safe(name, fn):
        try:
            return float(fn())
        except ValueError as exc:  # e.g. fewer than two comparable groups
            undefined.append(f"{name} undefined: {str(exc).splitlines()[0]}")
            return float("nan")

    kw = {"sensitive_features": S}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "regression":
            err = np.abs(y_pred.astype(float) - y_true.astype(float))
            ages = np.asarray(M.age_groups(np.clip(y_true.astype(float), 0, None)),
                              dtype=object)
            per = M.mae_bias_score(y_true, y_pred, return_per_group=True, **kw)[1]
            out = {
                "mae": float(err.mean()),
                "rmse": float(np.sqrt(np.mean(err ** 2))),
                "mae_bias": safe("mae_bias", lambda: M.mae_bias_score(y_true, y_pred, **kw)),
                **_chalearn_metrics(y_true, y_pred, S if attributes is None else attributes,
                                    ages, safe),
                "worst_group_mae": float(pd.to_numeric(per["mae"]).max()),
            }
        else:
            spread = M.group_error_spread(y_true, y_pred, **kw)
            out = {
                "accuracy": float(np.mean(y_true == y_pred)),
                "balanced_accuracy": _balanced_accuracy(y_true, y_pred),
                "eo_difference": safe("eo_difference", lambda: M.equalized_odds_difference(
                    y_true, y_pred, **kw)),
                "eo_ratio": safe("eo_ratio", lambda: M.equalized_odds_ratio(
                    y_true, y_pred, **kw)),
                "dp_difference": safe("dp_difference", lambda: M.demographic_parity_difference(
                    y_true, y_pred, **kw)),
                "dp_ratio": safe("dp_ratio", lambda: M.demographic_parity_ratio(
                    y_true, y_pred, **kw)),
                "statistical_parity": safe("statistical_parity",
                                           lambda: M.statistical_parity_difference(
                                               y_true, y_pred, **kw)),
                "equal_opportunity": safe("equal_opportunity", lambda: M.equal_opportunity_score(
                    y_true, y_pred, **kw)),
                "iou_fairness": safe("iou_fairness", lambda: M.iou_fairness(
                    y_true, y_pred, **kw)),
                "error_spread": float(spread.std),
                "worst_group_accuracy": float(1 - spread.per_group["error_rate"].max()),
            }
    if notes is not None:
        new_notes = undefined + _undefined_notes(caught)
        notes.extend(n for n in new_notes if n not in notes)
    return out


def _chalearn_metrics(y_true, y_pred, attributes, ages, safe):
    """``mae_bias_<attribute>`` for every attribute alone, ``mae_bias_age`` over the true
    age groups ``ages`` and their mean ``mae_bias_mean`` (the ChaLearn bias); an attribute
    with a single group is NaN, named in the notes, and left out of the mean."""
    from skfair import metrics as M

    frame = attributes.drop(columns=["age_group"], errors="ignore")  # from y_true: ages
    frame = frame.reset_index(drop=True).assign(age_group=pd.Categorical(ages))
    out = {}
    for col in frame.columns:
        name = "mae_bias_age" if col == "age_group" else f"mae_bias_{col}"
        out[name] = safe(name, lambda col=col: M.chalearn_bias(
            y_true, y_pred, sensitive_features=frame[[col]], age_bins=None)[col])
    scored = [v for v in out.values() if not np.isnan(v)]
    out["mae_bias_mean"] = float(np.mean(scored)) if scored else float("nan")
    return out


def _balanced_accuracy(y_true, y_pred):
    classes = np.unique(y_true)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in classes]))


@dataclass
class Candidate:
    """One fitted hyper-parameter value of one method."""

    method: str
    value: object
    fit_s: float
    val_predict_s: float
    test_predict_s: float
    val: dict
    test: dict
    pred_test: np.ndarray = field(repr=False)
    model: object = field(default=None, repr=False)


def select_candidate(candidates, reference, *, kind, metric, tolerance=0.01):
    """Apply the selection rule (module docstring) on validation metrics.

    Parameters
    ----------
    candidates : list
        Objects with a ``val`` dict of metrics.
    reference : dict
        The baseline's validation metrics.
    kind : {"binary", "multiclass", "regression"}
    metric : str
        Lower-is-better fairness metric.
    tolerance : float, default=0.01

    Returns
    -------
    chosen : object
        One of ``candidates``.
    within : bool
        Whether it met the accuracy (MAE) condition.

    Examples
    --------
    >>> from types import SimpleNamespace as C
    >>> from skfair.benchmark import select_candidate
    >>> cands = [C(val={"accuracy": 0.90, "eo": 0.20}), C(val={"accuracy": 0.895, "eo": 0.05}),
    ...          C(val={"accuracy": 0.80, "eo": 0.01})]
    >>> chosen, ok = select_candidate(cands, {"accuracy": 0.90}, kind="binary", metric="eo")
    >>> chosen.val["eo"], ok
    (0.05, True)
    """
    if kind == "regression":
        score = lambda c: -c.val["mae"]  # noqa: E731
        ok = [c for c in candidates if c.val["mae"] <= reference["mae"] * (1 + tolerance)]
    else:
        score = lambda c: c.val["accuracy"]  # noqa: E731
        ok = [c for c in candidates if c.val["accuracy"] >= reference["accuracy"] - tolerance
              - 1e-12]
    if ok:
        return min(ok, key=lambda c: (_nan_last(c.val[metric]), -score(c))), True
    return max(candidates, key=score), False


def _nan_last(v):
    return np.inf if v is None or not np.isfinite(v) else v


@dataclass
class BenchmarkResult:
    """Everything a report needs.

    Attributes
    ----------
    data : BenchmarkData
    results : pandas.DataFrame
        One row per method (chosen hyper-parameter), test metrics, validation
        metrics (``val_`` prefix), timings, status.
    path : pandas.DataFrame
        Every candidate of every method (validation and test metrics).
    predictions : dict of str -> ndarray
        Test predictions of every chosen candidate.
    best : str or None
        The best skfair method by the selection rule on validation.
    best_peer : str or None
        The same among every peer method (every family but ``"baseline"`` and
        ``"skfair"``: fairlearn, OxonFair, ...).
    best_by_family : dict of str -> str
        The same within each peer family (``{"fairlearn": ...}``).
    settings : dict
        Seed, tolerance, selection metric, head parameters, timings.
    notes : dict of str -> str
        Per-method notes (grid size, boosted subgroups, warnings).
    skipped : dict of str -> str
        Methods not run and why.
    noise : dict
        :func:`~skfair.benchmark._stats.noise_floor` of the baseline's test
        predictions (the gap measured with shuffled group labels).
    metric_notes : dict of str -> list of str
        Warnings of the test metrics (groups left out of a comparison,
        undefined metrics) and the methods they occurred for.
    """

    data: object
    results: pd.DataFrame
    path: pd.DataFrame
    predictions: dict
    best: str | None
    settings: dict
    notes: dict
    skipped: dict
    noise: dict = field(default_factory=dict)
    metric_notes: dict = field(default_factory=dict)
    best_peer: str | None = None
    best_by_family: dict = field(default_factory=dict)

    @property
    def best_fairlearn(self):
        """The best fairlearn method (``best_by_family["fairlearn"]``), or ``None``."""
        return self.best_by_family.get("fairlearn")


def run_benchmark(data, methods, *, seed=0, device="cpu", quick=False, grid_size=None,
                  tolerance=0.01, select_metric=None, head_epochs=None, peer_budget=600.0,
                  n_jobs=1, log=print):
    """Fit every method on the training split, tune on validation, score on test.

    Parameters
    ----------
    data : BenchmarkData
    methods : list of str
        Names from :data:`skfair.benchmark.METHODS`; ``"baseline"`` must be first.
    seed : int, default=0
    device : str, default="cpu"
    quick : bool, default=False
        Two grid values per method, three head epochs.
    grid_size : int, optional
        fairlearn GridSearch grid size (default: from the grid's dimension).
    tolerance : float, default=0.01
        Accuracy points (regression: relative MAE) a tuned method may lose
        against the baseline on validation.
    select_metric : str, optional
        Fairness metric minimised on validation (default ``eo_difference``;
        ``mae_bias`` for regression).
    head_epochs : int, optional
        Epochs of every skfair head (default: see ``head_params``).
    peer_budget : float, default=600.0
        Seconds OxonFair's search may take; beyond it the method is cut (its
        status says so).
    n_jobs : int, default=1
        Methods fitted at once after the baseline, each with its whole grid,
        through joblib: worker processes (loky), or the workers of a Dask or
        Ray cluster inside ``joblib.parallel_config(backend="dask")``. Every
        method is seeded, so the results equal a sequential run's; the timings
        are each worker's (methods share the cores).
    log : callable, default=print

    Returns
    -------
    result : BenchmarkResult
    """
    kind = data.kind
    if select_metric is None:
        select_metric = "mae_bias" if kind == "regression" else "eo_difference"
    if select_metric not in SELECT_METRICS[kind]:
        raise ValueError(
            f"select_metric={select_metric!r} is not a lower-is-better metric for {kind} "
            f"targets; choose from {list(SELECT_METRICS[kind])}"
        )
    if not methods or methods[0] != "baseline":
        raise ValueError("methods must start with 'baseline' (the reference of the rule)")
    ctx = MethodContext(
        data=data, seed=seed, device=device, grid_size=grid_size,
        head=head_params(kind, len(data.y_train), quick=quick, seed=seed, device=device,
                         epochs=head_epochs),
        peer_budget=float(peer_budget),
    )
    images = data.X_train_inverted is not None
    _warm_up(ctx)
    rows, path_rows, predictions, skipped, notes = [], [], {}, {}, {}
    reference = None
    chosen_by_method, metric_note_methods = {}, {}
    t_run = time.perf_counter()
    n = len(methods)
    reasons = {name: METHODS[name].unavailable_reason(data, images) for name in methods}
    runnable = [name for name in methods if reasons[name] is None]
    # the baseline first, here: the rule's reference and affirmative action's input; then
    # every other method, each with its whole grid, in n_jobs workers (joblib's backend:
    # loky processes, or Dask / Ray when one is active)
    first = [_run_method(name, ctx, quick, keep_model=True) for name in runnable[:1]]
    ctx.baseline = first[0].candidates[0].model  # before the workers receive ctx
    rest = runnable[1:]
    if n_jobs == 1 or len(rest) < 2:
        outcomes = (_run_method(name, ctx, quick) for name in rest)
    else:
        threads = _thread_counts()
        outcomes = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_run_method_in_worker)(name, ctx, quick, threads) for name in rest)
    outcomes = itertools.chain(first, outcomes)
    for i, name in enumerate(methods, 1):
        if reasons[name] is not None:
            skipped[name] = reasons[name]
            log(f"[{i:2d}/{n}] {name:29s} skipped: {reasons[name]}")
            continue
        run = next(outcomes)
        method = METHODS[name]
        ctx.notes.update(run.notes)
        path_rows.extend(_path_row(method, cand) for cand in run.candidates)
        if run.traceback:
            notes[f"{name} (traceback)"] = run.traceback
        if run.error is not None or not run.candidates:
            status = run.error if run.error.startswith("cut:") else f"failed: {run.error}"
            rows.append({"method": name, "family": method.family,
                         "status": status, "search_time_s": run.search_s})
            log(f"[{i:2d}/{n}] {name:29s} FAILED: {run.error}")
            continue
        candidates = run.candidates
        if name == "baseline":
            chosen, within = candidates[0], True
            reference = chosen.val
        else:
            chosen, within = select_candidate(candidates, reference, kind=kind,
                                              metric=select_metric, tolerance=tolerance)
        chosen_by_method[name] = chosen
        predictions[name] = chosen.pred_test
        for note in run.metric_notes:
            metric_note_methods.setdefault(note, []).append(name)
        if name in ctx.notes:
            notes[name] = ctx.notes[name]
        row = {
            "method": name, "family": method.family, "status": "ok",
            "param": method.param or "", "value": chosen.value,
            "grid": ",".join(f"{v:g}" for v in method.values(quick)) if method.grid else "",
            "within_tolerance_val": within,
            **chosen.test,
            **{f"val_{k}": v for k, v in chosen.val.items()},
            "fit_time_s": chosen.fit_s, "predict_time_s": chosen.test_predict_s,
            "search_time_s": run.search_s, "n_candidates": len(candidates),
        }
        rows.append(row)
        log(_progress_line(i, n, name, method, chosen, kind, run.search_s))
    total_s = time.perf_counter() - t_run

    results = pd.DataFrame(rows)
    noise = _add_uncertainty(results, data, predictions, seed)
    def best_of(families):
        return _best_of(chosen_by_method, reference, families, kind, select_metric,
                        tolerance)

    peers = sorted({METHODS[m].family for m in chosen_by_method
                    if is_peer(METHODS[m].family)})
    best = best_of({"skfair"})
    best_peer = best_of(set(peers))
    best_by_family = {fam: best_of({fam}) for fam in peers}
    settings = {
        "seed": seed, "device": device, "quick": quick, "tolerance": tolerance,
        "select_metric": select_metric, "head": {k: v for k, v in ctx.head.items()},
        "methods_s": round(total_s, 2),
    }
    return BenchmarkResult(
        data=data, results=results, path=pd.DataFrame(path_rows), predictions=predictions,
        best=best, settings=settings, notes=notes, skipped=skipped, noise=noise,
        metric_notes=metric_note_methods, best_peer=best_peer, best_by_family=best_by_family,
    )


def _add_uncertainty(results, data, predictions, seed, n_boot=200):
    """Bootstrap intervals (columns ``<metric>_low/_high``) and the noise floor."""
    from skfair.utils import encode_sensitive_features

    from ._stats import bootstrap_intervals, noise_floor

    if not predictions or "baseline" not in predictions:
        return {}
    codes = encode_sensitive_features(data.S_test).codes
    ci = bootstrap_intervals(data.kind, data.y_test, predictions, codes, n_boot=n_boot,
                             random_state=seed)
    score, gap = ("mae", "mae_bias") if data.kind == "regression" else (
        "accuracy", "eo_difference")
    for col, src in ((f"{score}_low", "score_low"), (f"{score}_high", "score_high"),
                     (f"{gap}_low", "gap_low"), (f"{gap}_high", "gap_high")):
        results[col] = results["method"].map(ci[src])
    floor = noise_floor(data.kind, data.y_test, predictions["baseline"], codes,
                        random_state=seed)
    floor["n_boot"] = n_boot
    floor["metric"] = gap
    return floor


@dataclass
class MethodRun:
    """One method's grid, fitted: its candidates or the error that stopped it."""

    candidates: list
    error: str | None
    traceback: str | None
    search_s: float
    metric_notes: list
    notes: dict


def _run_method(name, ctx, quick, *, keep_model=False):
    """Fit every value of a method's grid (stops at the first failure)."""
    method = METHODS[name]
    metric_notes, candidates, error, trace = [], [], None, None
    before = dict(ctx.notes)
    t0 = time.perf_counter()
    for value in method.values(quick):
        try:
            cand = _fit_candidate(method, ctx, value, metric_notes)
        except Exception as exc:  # noqa: BLE001 - one failing method must not stop the run
            if name == "baseline":
                raise
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if type(exc).__name__ == "PeerBudgetExceeded":
                error = f"cut: {exc}"
            trace = traceback.format_exc(limit=3)
            break
        if not keep_model:
            cand.model = None  # only the baseline's model is used after the search
        candidates.append(cand)
    notes = {k: v for k, v in ctx.notes.items() if before.get(k, None) is not v}
    return MethodRun(candidates, error, trace, time.perf_counter() - t0, metric_notes, notes)


def _thread_counts():
    """torch's and the BLAS pools' thread counts here, for the workers to copy."""
    import torch
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return torch.get_num_threads(), (min(blas) if blas else None)


def _run_method_in_worker(name, ctx, quick, threads):
    """:func:`_run_method` in a worker process, with the parent's thread counts (every
    method runs as it would sequentially)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch_threads, blas = threads
    torch.set_num_threads(torch_threads)
    with threadpool_limits(limits=blas):
        return _run_method(name, ctx, quick)


def _warm_up(ctx):
    """One untimed tiny fit, so that one-time costs (lazy imports, first torch
    calls) are not charged to the first method's fit time."""
    try:
        from ._methods import _fairnet

        d = ctx.data
        n = min(64, len(d.y_train))
        _fairnet(ctx, max_epochs=1).fit(d.X_train[:n], d.y_train[:n])
    except Exception:  # noqa: BLE001 - a failing warm-up shows up in the baseline instead
        pass


def _best_of(chosen, reference, families, kind, metric, tolerance):
    cands = [c for name, c in chosen.items() if METHODS[name].family in families]
    if not cands or reference is None:
        return None
    best, _ = select_candidate(cands, reference, kind=kind, metric=metric,
                               tolerance=tolerance)
    return best.method


def _fit_candidate(method, ctx, value, metric_notes):
    d = ctx.data
    fl_logger = logging.getLogger("fairlearn")
    level = fl_logger.level
    # fairlearn logs a warning for grids of more than 4 dimensions (the report
    # states the grid size used) and pandas deprecations; keep the progress clean
    fl_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = method.build(ctx, value)
            t0 = time.perf_counter()
            model.fit(d.X_train, d.y_train, d.S_train)
            # a base shared by several post-processors is fitted once; each is charged it
            fit_s = time.perf_counter() - t0 + getattr(model, "extra_fit_s", 0.0)
            t0 = time.perf_counter()
            pred_val = model.predict(d.X_val, d.S_val)
            val_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred_test = model.predict(d.X_test, d.S_test)
            test_s = time.perf_counter() - t0
    finally:
        fl_logger.setLevel(level)
    val = compute_metrics(d.kind, d.y_val, pred_val, d.S_val,
                          attributes=_bias_attributes(d, d.attributes_val))
    test = compute_metrics(d.kind, d.y_test, pred_test, d.S_test, notes=metric_notes,
                           attributes=_bias_attributes(d, d.attributes_test))
    return Candidate(method=method.name, value=value, fit_s=fit_s, val_predict_s=val_s,
                     test_predict_s=test_s, val=val, test=test, pred_test=pred_test,
                     model=model)


def _bias_attributes(data, frame):
    """Every attribute the dataset knows for these rows, the target and what is
    computed from it left out (the age groups come from the true age); None: ``S``."""
    if frame is None:
        return None
    return frame.drop(columns=data.target_revealing(list(frame.columns)))


def _path_row(method, cand):
    return {"method": method.name, "family": method.family, "param": method.param or "",
            "value": cand.value, "fit_time_s": cand.fit_s, **cand.test,
            **{f"val_{k}": v for k, v in cand.val.items()}}


def _progress_line(i, n, name, method, chosen, kind, search_s):
    val = "" if chosen.value is None else f"{method.param}={chosen.value:g}"
    if kind == "regression":
        score = f"MAE {chosen.test['mae']:.3f}  MAE bias {chosen.test['mae_bias']:.3f}"
    else:
        score = f"acc {chosen.test['accuracy']:.3f}  EO diff {chosen.test['eo_difference']:.3f}"
    return f"[{i:2d}/{n}] {name:29s} {val:12s} {score}  ({search_s:.1f} s)"
