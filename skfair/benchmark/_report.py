"""Write a benchmark's ``results.csv``, ``path.csv``, ``report.md`` and PNG plots.

Families: ``"baseline"`` (the unconstrained references), ``"skfair"``, and the
peers, every other family (fairlearn, OxonFair, ...): the report compares
skfair with every peer alike, so a new peer family needs no change here (it
may get its own colour in ``_FAMILY_STYLE``; otherwise it gets a spare one).
"""

from __future__ import annotations

import os
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ._methods import METHODS
from ._runner import CLASSIFICATION_METRICS, REGRESSION_METRICS, is_peer

__all__ = ["bias_verdict", "machine_info", "no_effect_notes", "summarize", "write_report"]

#: family -> (colour, marker) on the plots
_FAMILY_STYLE = {
    "baseline": ("black", "X"),
    "skfair": ("tab:blue", "o"),
    "fairlearn": ("tab:orange", "s"),
    "oxonfair": ("tab:purple", "D"),
}
_SPARE_STYLES = (("tab:red", "^"), ("tab:brown", "v"), ("tab:pink", "P"), ("tab:olive", "h"),
                 ("tab:cyan", "p"))


def _style(family):
    """(colour, marker) of a family; a family without one gets a stable spare style."""
    if family in _FAMILY_STYLE:
        return _FAMILY_STYLE[family]
    return _SPARE_STYLES[zlib.crc32(family.encode()) % len(_SPARE_STYLES)]


def _family_order(families):
    """baseline, skfair, then the peer families alphabetically."""
    rank = {"baseline": 0, "skfair": 1}
    return sorted(set(families), key=lambda f: (rank.get(f, 2), f))


def _score_gap(kind):
    """(score, gap) columns: the headline's accuracy (MAE) and fairness gap."""
    return ("mae", "mae_bias") if kind == "regression" else ("accuracy", "eo_difference")


_GAP_NAME = {"eo_difference": "EO difference", "mae_bias": "MAE bias score"}


def _blas_threads():
    """Thread counts of the BLAS pools loaded in this process (e.g. ``"2"``), or ``""``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return ""
    counts = sorted({str(p["num_threads"]) for p in threadpool_info()
                     if p.get("user_api") == "blas"})
    return "/".join(counts)


def machine_info(device="cpu"):
    """CPU, GPU, library versions and load: what the timings were measured on.

    Parameters
    ----------
    device : str, default="cpu"
        The torch device the benchmark ran on.

    Returns
    -------
    info : dict of str -> str

    Examples
    --------
    >>> from skfair.benchmark import machine_info
    >>> sorted(machine_info())[:3]
    ['cpu', 'cpu_cores', 'device']
    """
    import fairlearn
    import sklearn
    import torch

    import skfair

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count()
    gpu = "none"
    if torch.cuda.is_available():
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    try:
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        load = "n/a"
    blas = _blas_threads()
    return {
        "cpu": cpu,
        "cpu_cores": f"{os.cpu_count()} ({usable} usable), torch threads {torch.get_num_threads()}"
        + (f", BLAS threads {blas}" if blas else ""),
        "gpu": gpu,
        "device": device,
        "load_average": load,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": (f"skfair {skfair.__version__}, torch {torch.__version__}, scikit-learn "
                     f"{sklearn.__version__}, fairlearn {fairlearn.__version__}, pandas "
                     f"{pd.__version__}, numpy {np.__version__}"),
    }


def _fmt(v, digits=3):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return f"{v:.{digits}f}"
    return str(v)


def _md_table(frame):
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines)


def _metric_columns(kind, available=()):
    """The table's metric columns; for regression the ChaLearn bias of each attribute
    alone (``mae_bias_<attribute>``, as many as the data know) before the age groups'."""
    if kind != "regression":
        return list(CLASSIFICATION_METRICS)
    cols = list(REGRESSION_METRICS)
    per_attribute = sorted(c for c in available if c.startswith("mae_bias_")
                           and c not in REGRESSION_METRICS
                           and not c.endswith(("_low", "_high")))
    at = cols.index("mae_bias_age")
    return cols[:at] + per_attribute + cols[at:]




def bias_verdict(observed, floor, *, metric="eo_difference"):
    """Whether the baseline's test gap stands above sampling noise.

    The gap is measurable when it exceeds ``floor``, the 95th percentile of
    the gap that the same predictions show with the group labels shuffled
    (:func:`~skfair.benchmark._stats.noise_floor`). At or below it, a model
    whose errors do not depend on the group would show as large a gap at this
    test size: there is no measurable bias to mitigate, and no method should
    be called the best at removing it.

    Parameters
    ----------
    observed : float
        The baseline's gap on the test split.
    floor : float
        The noise floor (``noise_floor(...)["q95"]``).
    metric : {"eo_difference", "mae_bias"}, default="eo_difference"
        The gap's name, for the sentence.

    Returns
    -------
    measurable : bool
    sentence : str
        The verdict in words (the report's first headline line).

    Examples
    --------
    >>> from skfair.benchmark._report import bias_verdict
    >>> bias_verdict(0.94, 0.10)[0], bias_verdict(0.05, 0.10)[0]
    (True, False)
    >>> print(bias_verdict(0.05, 0.10)[1])
    **No measurable bias to mitigate on this data.** The baseline's EO difference ...
    """
    name = _GAP_NAME.get(metric, metric)
    if not (np.isfinite(observed) and np.isfinite(floor)):
        return False, (f"**No measurable bias**: the baseline's {name} on test "
                       f"({_fmt(observed)}) or the noise floor ({_fmt(floor)}) is undefined.")
    # a gap that rounds to the floor without equalling it: show the digits that differ
    digits = 5 if round(observed, 3) == round(floor, 3) and observed != floor else 3
    obs = f"{observed:.{digits}f}"
    floor_text = (f"the noise floor ({floor:.{digits}f}, the 95th percentile of the gap its "
                  "own predictions show with the group labels shuffled)")
    if observed > floor:
        return True, (f"**Bias above noise.** The baseline's {name} on test, {obs}, is above "
                      f"{floor_text}.")
    return False, (
        f"**No measurable bias to mitigate on this data.** The baseline's {name} on test, "
        f"{obs}, is {'at' if observed == floor else 'within'} {floor_text}: a model whose "
        "errors do not depend on the group would show as large a gap at this test size. No "
        "method is named best; the methods' fairness differences below are within sampling "
        "noise."
    )


def no_effect_notes(results, predictions, *, reference="baseline"):
    """Methods that change nothing: test predictions, or every test metric, equal to
    the unconstrained reference's.

    Parameters
    ----------
    results : pandas.DataFrame
        :attr:`BenchmarkResult.results` (``method``, ``status``, ``param``,
        ``value`` and the metric columns).
    predictions : dict of str -> ndarray
        Test predictions per method.
    reference : str, default="baseline"

    Returns
    -------
    notes : dict of str -> str
        One note per method without effect.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfair.benchmark._report import no_effect_notes
    >>> res = pd.DataFrame({"method": ["baseline", "fairnet_eo_l2"], "status": "ok",
    ...                     "param": ["", "lam"], "value": [None, 0.1],
    ...                     "accuracy": [0.8, 0.8]})
    >>> notes = no_effect_notes(res, {"baseline": np.array([0, 1]),
    ...                               "fairnet_eo_l2": np.array([0, 1])})
    >>> print(notes["fairnet_eo_l2"])
    test predictions identical to the baseline's: no effect at lam=0.1 (too weak to bite, ...)
    """
    ok = results[results["status"] == "ok"].set_index("method")
    if reference not in ok.index or predictions.get(reference) is None:
        return {}
    ref = np.asarray(predictions[reference])
    cols = [c for c in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS) if c in ok.columns]
    ref_metrics = ok.loc[reference, cols].to_numpy(dtype=float)
    notes = {}
    for name, row in ok.iterrows():
        if name == reference:
            continue
        value = row.get("value")
        tuned = bool(row.get("param")) and isinstance(value, int | float | np.number) and \
            np.isfinite(value)
        pred = predictions.get(name)
        if pred is not None and np.array_equal(np.asarray(pred), ref):
            notes[name] = (f"test predictions identical to the {reference}'s: "
                           + (f"no effect at {row['param']}={value:g} (too weak to bite, or "
                              "nothing to act on)" if tuned else "no effect on this data"))
        elif cols and np.allclose(row[cols].to_numpy(dtype=float), ref_metrics, rtol=0,
                                  atol=1e-12, equal_nan=True):
            differ = "" if pred is None else (
                f" ({int(np.sum(np.asarray(pred) != ref))} of {ref.size} test predictions "
                "differ)")
            notes[name] = (f"every test metric equals the {reference}'s{differ}: no "
                           "measurable effect"
                           + (f" at {row['param']}={value:g}" if tuned else ""))
    return notes


def summarize(result):
    """The headline's numbers: the bias verdict, the best methods, wall times.

    Parameters
    ----------
    result : BenchmarkResult

    Returns
    -------
    summary : dict
        ``best``, ``best_peer``, ``best_by_family``; with a baseline also
        ``measurable`` and ``verdict`` (see :func:`bias_verdict`; ``None``
        without a noise floor), ``halving`` (family -> methods with at most
        half the baseline's gap at the selection rule's accuracy/MAE
        tolerance, test) and ``timing`` (rows ``(role, method)`` of the
        wall-time comparison: best skfair, best peer, fastest peer,
        ExponentiatedGradient).
    """
    res = result.results
    ok = res[res["status"] == "ok"].set_index("method")
    kind = result.data.kind
    out = {"best": result.best, "best_peer": result.best_peer,
           "best_by_family": dict(result.best_by_family), "measurable": None,
           "verdict": None}
    if "baseline" not in ok.index:
        return out
    score, gap = _score_gap(kind)
    base = ok.loc["baseline"]
    if result.noise:
        out["measurable"], out["verdict"] = bias_verdict(
            float(base[gap]), float(result.noise["q95"]), metric=gap)
    tol = float(result.settings.get("tolerance", 0.01))
    if kind == "regression":
        qualifies = (ok["mae"] <= base["mae"] * (1 + tol)) & (ok["mae_bias"]
                                                               <= 0.5 * base["mae_bias"])
    else:
        qualifies = ((ok["accuracy"] >= base["accuracy"] - tol - 1e-12)
                     & (ok["eo_difference"] <= 0.5 * base["eo_difference"] + 1e-12))
    out["halving"] = {fam: sorted(ok.index[qualifies & (ok["family"] == fam)])
                      for fam in _family_order(ok["family"]) if fam != "baseline"}
    out["timing"] = _timing_rows(ok, result.best, result.best_peer)
    return out


def _timing_rows(ok, best, best_peer):
    """[(role, method)]: best skfair, best peer, fastest peer, ExponentiatedGradient."""
    if best is None or best not in ok.index:
        return []
    rows = [("best skfair", best)]
    peers = ok[ok["family"].map(is_peer)]
    if best_peer in peers.index:
        rows.append(("best peer (same rule)", best_peer))
    if len(peers):
        rows.append(("fastest peer (whole search)", peers["search_time_s"].idxmin()))
    eg = next((m for m in ("fairlearn_eg_eo", "fairlearn_eg_dp") if m in ok.index), None)
    if eg is not None:
        rows.append(("ExponentiatedGradient", eg))
    merged = {}
    for role, method in rows:
        merged.setdefault(method, []).append(role)
    return [(", ".join(roles), method) for method, roles in merged.items()]


def _ratio(a, b):
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return "n/a"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def _timing_table(summary, okm):
    rows = summary.get("timing", [])
    if len(rows) < 2:
        return []
    best = summary["best"]
    b = okm.loc[best]
    lines = [f"| role | method | fit s | search s | `{best}` fit / this | search / this |",
             "|---|---|---|---|---|---|"]
    for role, method in rows:
        m = okm.loc[method]
        same = method == best
        lines.append(
            f"| {role} | `{method}` | {m['fit_time_s']:.2f} | {m['search_time_s']:.2f} | "
            + ("" if same else _ratio(b["fit_time_s"], m["fit_time_s"])) + " | "
            + ("" if same else _ratio(b["search_time_s"], m["search_time_s"])) + " |")
    return lines


def _describe(row, base, kind):
    """One method's headline numbers against the baseline's."""
    setting = (f" ({row['param']}={row['value']:g})"
               if row.get("param") and pd.notna(row.get("value")) else "")
    if kind == "regression":
        return (f"{setting}: MAE {row['mae']:.3f} ({100 * (row['mae'] / base['mae'] - 1):+.1f}%"
                f"), MAE bias {row['mae_bias']:.3f} "
                f"({row['mae_bias'] / max(base['mae_bias'], 1e-12):.2f}x baseline)")
    return (f"{setting}: accuracy {row['accuracy']:.3f} "
            f"({100 * (row['accuracy'] - base['accuracy']):+.1f} points), EO difference "
            f"{row['eo_difference']:.3f} "
            f"({row['eo_difference'] / max(base['eo_difference'], 1e-12):.2f}x baseline)")


def _headline(summary, okm, kind, noise):
    if "baseline" not in okm.index:
        return ["(no baseline)"]
    base = okm.loc["baseline"]
    lines = []
    if summary.get("verdict"):
        lines.append(f"- {summary['verdict']}")
    if kind == "regression":
        lines.append(f"- baseline: MAE {base['mae']:.3f}, MAE bias {base['mae_bias']:.3f}.")
    else:
        lines.append(f"- baseline: accuracy {base['accuracy']:.3f}, EO difference "
                     f"{base['eo_difference']:.3f}.")
    if summary.get("measurable") is not False:
        best, peer = summary.get("best"), summary.get("best_peer")
        if best:
            lines.append(f"- best skfair method (selection rule below, on validation): "
                         f"`{best}`{_describe(okm.loc[best], base, kind)}.")
        if peer:
            by_family = summary.get("best_by_family", {})
            also = ("; best per peer family: " + ", ".join(
                f"{fam} `{m}`" for fam, m in by_family.items() if m) if len(by_family) > 1
                else "")
            lines.append(f"- best peer method (same rule): `{peer}` "
                         f"({okm.loc[peer, 'family']}){_describe(okm.loc[peer], base, kind)}"
                         f"{also}.")
        crit = ("MAE bias at most half the baseline's, MAE within the tolerance"
                if kind == "regression" else
                "EO difference at most half the baseline's, accuracy within the tolerance")
        halving = summary.get("halving", {})
        if halving:
            lines.append(f"- {crit} (test): " + "; ".join(
                f"{fam} " + (", ".join(f"`{m}`" for m in ms) or "none")
                for fam, ms in halving.items()) + ".")
        if not okm["family"].map(is_peer).any():
            lines.append("- no peer method in this run (nothing to compare with; skipped "
                         "methods are listed under Notes).")
        table = _timing_table(summary, okm)
        if table:
            lines += ["- wall time (`fit s`: one fit of the chosen configuration; `search s`: "
                      "every candidate of the method):", "", *table, ""]
    lines += _noise_lines(noise)
    return lines


def _noise_lines(noise):
    if not noise:
        return []
    name = _GAP_NAME.get(noise["metric"], noise["metric"])
    how = ("across the test rows" if noise["metric"] == "mae_bias" else
           "within each true class")
    return [
        f"- noise floor: with the group labels shuffled {how} (group sizes kept, any group "
        f"effect removed) the baseline's predictions show an {name} of {noise['mean']:.3f} on "
        f"average, {noise['q95']:.3f} at the 95th percentile. The `95% CI` columns are "
        f"percentile intervals over {noise['n_boot']} bootstrap resamples of the test rows "
        "(the same for every method; a max-min gap's interval sits above its point estimate, "
        "as resampling adds noise to every group's rates).",
    ]


#: what each fairness column measures, and why it can disagree with the others
_GLOSSARY = {
    "eo_difference": (
        "lower is fairer. The largest gap between two groups in one class's true- or "
        "false-positive rate (one-vs-rest; fairlearn's equalized-odds difference on binary "
        "targets): the single worst rate gap, so one class or one small group can set it."),
    "eo_ratio": (
        "higher is fairer. The smallest ratio (lower group / higher group) of the same rates: "
        "it drops to 0 when one group's rate is 0 however small the gap in points, so it can "
        "rank methods differently from `eo_difference`."),
    "dp_difference": (
        "lower is fairer. The largest gap between groups in the selection rate "
        "P(prediction = c | group), true labels ignored. When the groups' base rates differ, "
        "a perfect classifier has an EO difference of 0 but a DP gap as large as the "
        "base-rate gap, and equalising selection rates opens an EO gap: the two cannot both "
        "be 0."),
    "dp_ratio": "higher is fairer. The smallest ratio of those selection rates.",
    "statistical_parity": (
        "lower is fairer. The selection-rate gap maximised over the classes; equal to "
        "`dp_difference` by definition on binary and multi-class targets."),
    "equal_opportunity": (
        "higher is fairer, 1 = fair. Xu et al. (2020)'s F: each group's sum of per-class "
        "recalls, smallest group / largest. A ratio of sums: a group with high recall on "
        "one class and low on another sums to what a group with the reverse does, so F near "
        "1 can sit beside a large `eo_difference`, the worst single rate gap."),
    "iou_fairness": (
        "lower is fairer. The standard deviation over groups of each group's mean "
        "per-class IoU (predicted and true class agree / either says the class)."),
    "error_spread": (
        "lower is fairer. The standard deviation over groups of the error rate: a spread, "
        "which one badly served group among many moves less than `worst_group_accuracy`."),
    "worst_group_accuracy": "higher is better. The accuracy of the worst-served group.",
    "mae_bias": (
        "lower is fairer. The mean over every pair of sensitive groups of |MAE_i - MAE_j| "
        "(the ChaLearn fair age estimation bias score): an average over pairs, so one badly "
        "served group moves it less than `worst_group_mae`."),
    "mae_bias_age": (
        "lower is more even. The same score over true-age groups (<20, 20-40, 40-60, >=60): "
        "how the error depends on the target's own range, not on the sensitive attribute, "
        "so it can rise while `mae_bias` falls."),
    "mae_bias_mean": (
        "lower is fairer. The ChaLearn challenge's ranking score: the mean of the bias "
        "score of every attribute scored alone (`mae_bias_<attribute>`: gender, race, ... "
        "never their intersections) and of the true-age groups' (`mae_bias_age`)."),
    "worst_group_mae": "lower is better. The MAE of the worst-served sensitive group.",
}


def _glossary_lines(kind, okm):
    if kind == "regression":
        lines = ["- `mae`, `rmse`: overall error in the target's units (lower is better; RMSE "
                 "weighs large errors more)."]
        cols = ["mae_bias", "mae_bias_age", "mae_bias_mean", "worst_group_mae"]
    else:
        lines = ["- `accuracy`, `balanced_accuracy` (mean per-class recall): overall scores, "
                 "higher is better."]
        cols = [c for c in CLASSIFICATION_METRICS if c in _GLOSSARY]
    for col in cols:
        if col not in okm.columns:
            continue
        text = _GLOSSARY[col]
        if col == "equal_opportunity":
            text += _disagreement_example(okm)
        lines.append(f"- `{col}`: {text}")
    lines.append("- `... 95% CI`: bootstrap intervals (see the noise floor in the headline).")
    return lines


def _disagreement_example(okm):
    """' Here `m` has F 0.99 beside an EO difference of 0.94.' when a row shows it."""
    cols = {"equal_opportunity", "eo_difference"}
    if not cols <= set(okm.columns):
        return ""
    hits = okm[(okm["equal_opportunity"] >= 0.9) & (okm["eo_difference"] >= 0.3)]
    if not len(hits):
        return ""
    name = "baseline" if "baseline" in hits.index else hits.index[0]
    r = hits.loc[name]
    return (f" Here `{name}` has F {r['equal_opportunity']:.3f} beside an EO difference of "
            f"{r['eo_difference']:.3f}.")


def _dominance_lines(ok, kind):
    """A table: which skfair methods dominate which peer methods on test, and the reverse."""
    score, gap = _score_gap(kind)
    sign = -1.0 if kind == "regression" else 1.0  # higher score is better after the sign

    def dominates(a, b):
        sa, sb = sign * a[score], sign * b[score]
        return sa >= sb and a[gap] <= b[gap] and (sa > sb or a[gap] < b[gap])

    sk = ok[ok["family"] == "skfair"].set_index("method")
    peers = ok[ok["family"].map(is_peer)].set_index("method")
    if not len(sk) or not len(peers):
        return []
    cells = {}
    for a, ra in sk.iterrows():
        for b, rb in peers.iterrows():
            if dominates(ra, rb):
                cells[a, b] = "dominates"
            elif dominates(rb, ra):
                cells[a, b] = "dominated"
    head = (f"Dominance on test (better or equal {score} and {gap}, strictly better in one), "
            "skfair methods (rows) against peer methods (columns)")
    if not cells:
        return [head + ": none either way."]
    rows = [a for a in sk.index if any((a, b) in cells for b in peers.index)]
    cols = [b for b in peers.index if any((a, b) in cells for a in sk.index)]
    lines = [head + ":", "", "| skfair \\ peer | " + " | ".join(f"`{b}`" for b in cols) + " |",
             "|---|" + "---|" * len(cols)]
    lines += [f"| `{a}` | " + " | ".join(cells.get((a, b), "") for b in cols) + " |"
              for a in rows]
    return lines


def _front(frame, kind):
    from skfair.metrics import pareto_front

    if kind == "regression":
        objectives = {"mae": "min", "mae_bias": "min"}
    else:
        objectives = {"accuracy": "max", "eo_difference": "min"}
    table = frame.reset_index(drop=True)
    front = pareto_front(table.assign(params=[{}] * len(table)), objectives)
    return table.loc[front.index]


def plot_pareto(result, path):
    """Fairness vs accuracy (MAE) of every method, with the Pareto front.

    Every chosen method is a numbered point in its family's colour and marker
    (the numbers are listed on the right; methods at the same point share a
    label), skfair's tuned candidates are pale dots, the green line is the
    front over the chosen methods and the grey band the noise floor (gaps a
    group-blind model shows at this test size). Labels are placed by
    :func:`skfair.plotting.label_points` and never overlap.

    Returns
    -------
    front : pandas.DataFrame
        The chosen methods on the front.
    """
    import matplotlib.pyplot as plt

    fig, front = _pareto_figure(result)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return front


def _pareto_figure(result):
    """(figure, front) of :func:`plot_pareto`."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from skfair.plotting import label_points

    kind = result.data.kind
    score, gap = _score_gap(kind)
    xcol, ycol = gap, score
    res = result.results[result.results["status"] == "ok"].reset_index(drop=True)
    fig = plt.figure(figsize=(11, 7))
    ax = fig.add_axes((0.08, 0.22, 0.6, 0.7))
    pathf = result.path
    if len(pathf):
        tuned = pathf[(pathf["param"] != "") & (pathf["family"] == "skfair")]
        ax.scatter(tuned[xcol], tuned[ycol], s=14, color="lightsteelblue", zorder=1,
                   label="skfair candidates (every lam/boost, test)")
    for family in _family_order(res["family"]):
        sub = res[res["family"] == family]
        color, marker = _style(family)
        ax.scatter(sub[xcol], sub[ycol], s=110 if family == "baseline" else 50, marker=marker,
                   color=color, edgecolor="white", zorder=5 if family == "baseline" else 3,
                   label=f"{family} (chosen on validation)")
    front = _front(res, kind).sort_values(xcol)
    ax.plot(front[xcol], front[ycol], "-", color="tab:green", alpha=0.7, zorder=2,
            label="Pareto front (chosen methods)")
    noise = result.noise
    if noise:
        ax.axvspan(0, noise["q95"], color="grey", alpha=0.12, zorder=0,
                   label="noise floor: 95% of gaps with shuffled groups")
        ax.axvline(noise["mean"], color="grey", ls="--", lw=1, zorder=0)
    if kind == "regression":
        ax.set_xlabel("MAE bias score (mean pairwise |MAE_i - MAE_j|, test), lower is fairer")
        ax.set_ylabel("MAE (test), lower is better")
        ax.invert_yaxis()
    else:
        ax.set_xlabel("equalized-odds difference (test), lower is fairer")
        ax.set_ylabel("accuracy (test)")
    d = result.data
    ax.set_title(f"{d.dataset} / {d.task} / sensitive: {' x '.join(d.sensitive_names)}",
                 fontsize=10)
    ax.grid(alpha=0.3)
    numbers = [str(k) for k in range(1, len(res) + 1)]
    colors = [_style(f)[0] for f in res["family"]]
    label_points(ax, res[xcol], res[ycol], numbers, colors=colors, fontsize=7,
                 fontweight="bold")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.09), ncol=2,
              frameon=False)
    on_front = set(front["method"])
    handles = [Line2D([], [], ls="", marker=_style(f)[1], color=_style(f)[0], markersize=5)
               for f in res["family"]]
    names = [f"{k:>2}  {m}" + ("  (front)" if m in on_front else "")
             for k, m in zip(range(1, len(res) + 1), res["method"], strict=True)]
    fig.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
               bbox_transform=ax.transAxes, ncol=1 if len(names) <= 32 else 2,
               title="methods", title_fontsize=8, frameon=False, handletextpad=0.4)
    return fig, front


def _heatmap_layout(data):
    """(frame, rows, columns, panels) for the per-subgroup heatmap."""
    attrs = data.attributes_test if data.attributes_test is not None else data.S_test
    frame = attrs.reset_index(drop=True).copy()
    for col in frame.columns:  # keep categorical order (age groups), text otherwise
        if not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(str)
    names = list(data.sensitive_names) + [c for c in frame.columns
                                          if c not in data.sensitive_names]
    names = [n for n in names if frame[n].nunique() > 1] or names[:1]
    if len(names) < 2:
        if data.kind == "regression":
            from skfair.metrics import age_groups

            frame["true age group"] = np.asarray(age_groups(np.clip(data.y_test, 0, None)),
                                                 dtype=object).astype(str)
            names.append("true age group")
        else:
            labels = (np.asarray(data.target_names, dtype=object)[data.y_test]
                      if data.target_names is not None else data.y_test)
            frame["true class"] = np.asarray(labels).astype(str)
            names.append("true class")
    rows, columns = names[0], names[1]
    panels = names[2] if len(names) > 2 else None
    if "age_group" in names and rows != "age_group" and panels is not None:
        # the layout of Venkatesh et al.'s tables: rows race, columns age group, panels gender
        others = [n for n in names[:3] if n != "age_group"]
        rows, columns, panels = others[0], "age_group", others[1]
    return frame, rows, columns, panels


def plot_heatmaps(result, path_prefix):
    """Per-subgroup accuracy (MAE) heatmaps of the baseline and of the best method.

    Empty cells are drawn grey and marked n/a (their warnings are silenced).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"group_report: .* undefined or empty")
        return _plot_heatmaps(result, path_prefix)


def _plot_heatmaps(result, path_prefix):
    import matplotlib.pyplot as plt

    from skfair.plotting import plot_group_heatmap

    data = result.data
    frame, rows, columns, panels = _heatmap_layout(data)
    metric = "mae" if data.kind == "regression" else "accuracy"
    written = {}
    wanted = [("baseline", "baseline"), ("best", result.best)]
    preds = {name: result.predictions.get(name) for _, name in wanted if name}
    # one colour scale for both, so the maps compare
    cells = []
    from skfair.metrics import group_report

    for pred in preds.values():
        if pred is None:
            continue
        rep = group_report(data.y_test, pred, sensitive_features=frame[
            [a for a in (rows, columns, panels) if a is not None]], metrics=[metric],
            marginals=False, overall=False)
        cells.append(rep[metric].to_numpy(dtype=float, na_value=np.nan))
    finite = np.concatenate(cells) if cells else np.array([0.0, 1.0])
    finite = finite[np.isfinite(finite)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for tag, name in wanted:
        if not name or preds.get(name) is None:
            continue
        fig = plot_group_heatmap(data.y_test, preds[name], sensitive_features=frame, rows=rows,
                                 columns=columns, panels=panels, metric=metric, vmin=vmin,
                                 vmax=vmax, cmap="viridis_r" if metric == "mae" else "viridis")
        fig.suptitle(f"{metric} per subgroup (test): {name}", fontsize=10)
        out = f"{path_prefix}_{tag}.png"
        fig.savefig(out, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[tag] = (name, Path(out).name)
    return written, (rows, columns, panels)




def write_report(result, out_dir, *, command=None, started=None, machine=None, log=print):
    """Write ``results.csv``, ``path.csv``, ``report.md`` and the plots.

    Parameters
    ----------
    result : BenchmarkResult
    out_dir : path-like
    command : str, optional
        The command line (reported).
    started : float, optional
        ``time.time()`` at the start of the run (for the total wall time).
    machine : dict, optional
        :func:`machine_info` (computed when omitted).
    log : callable, default=print

    Returns
    -------
    paths : dict of str -> pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data, res = result.data, result.results
    kind = data.kind
    machine = machine or machine_info(result.settings.get("device", "cpu"))
    paths = {"results": out / "results.csv", "path": out / "path.csv",
             "report": out / "report.md", "pareto": out / "pareto.png"}

    res.to_csv(paths["results"], index=False)
    result.path.to_csv(paths["path"], index=False)
    front = plot_pareto(result, paths["pareto"])
    heat, layout = plot_heatmaps(result, str(out / "heatmap"))
    summary = summarize(result)
    no_effect = no_effect_notes(res, result.predictions)

    ok = res[res["status"] == "ok"].copy()
    okm = ok.set_index("method")
    metric_cols = [c for c in _metric_columns(kind, ok.columns) if c in ok.columns]
    score, gap = _score_gap(kind)
    for col in (score, gap):
        if f"{col}_low" in ok.columns:
            ok[f"{col} 95% CI"] = [f"{lo:.3f}-{hi:.3f}" for lo, hi in
                                   zip(ok[f"{col}_low"], ok[f"{col}_high"], strict=True)]
    ci_cols = [c for c in (f"{score} 95% CI", f"{gap} 95% CI") if c in ok.columns]
    table = ok[["method", "family", *metric_cols, *ci_cols, "fit_time_s", "predict_time_s",
                "search_time_s"]].copy()
    table.insert(2, "chosen", [_setting(p, v) for p, v in zip(ok["param"], ok["value"],
                                                               strict=True)])
    table["method"] = [f"{m} (= baseline)" if m in no_effect else m for m in table["method"]]
    table = table.rename(columns={"fit_time_s": "fit s", "predict_time_s": "predict s",
                                  "search_time_s": "search s"})
    total_s = time.time() - started if started else None
    s = result.settings
    measurable = summary.get("measurable")
    lines = [
        f"# skfair benchmark: {data.dataset}, task {data.task} ({kind}), sensitive "
        f"{' x '.join(data.sensitive_names)}",
        "",
    ]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [
        f"Total wall time: {_fmt(total_s, 1)} s (methods {s['methods_s']:.1f} s; data and "
        f"features {data.info.get('load_s', 0) + data.info.get('features_s', 0):.1f} s"
        + (f", {data.info['cache']}" if "cache" in data.info else "")
        + (f"; face descriptors: {data.info['face_extracted']} images described, "
           f"{data.info['face_cached']} read from the cache"
           if "face_extracted" in data.info else "") + ").",
        "",
        "## Headline",
        "",
        *_headline(summary, okm, kind, result.noise),
        "",
        "## Results (test split)",
        "",
        "Same training, validation and test rows and features for every method. `chosen`: "
        "the hyper-parameter picked on validation. Wall-clock seconds: `fit s` one fit of "
        "the chosen configuration, `predict s` the test predictions, `search s` every "
        "candidate (fits and validation predictions).",
        "",
        _md_table(table),
        "",
    ]
    if no_effect:
        by_note = {}
        for m, note in no_effect.items():
            by_note.setdefault(note, []).append(f"`{m}`")
        lines += ["`(= baseline)`: " + "; ".join(f"{', '.join(ms)}: {note}"
                                                for note, ms in by_note.items()) + ".", ""]
    lines += ["What the columns measure, and why they can disagree:", "",
              *_glossary_lines(kind, okm), ""]
    rule = (f"keep the candidates whose validation accuracy is at least the baseline's minus "
            f"{s['tolerance']:g}; among them take the lowest validation `{s['select_metric']}` "
            "(ties: the more accurate); if none qualifies, take the most accurate."
            if kind != "regression" else
            f"keep the candidates whose validation MAE is at most the baseline's times "
            f"1 + {s['tolerance']:g}; among them take the lowest validation "
            f"`{s['select_metric']}`; if none qualifies, take the lowest MAE.")
    picks = f"`{result.best}` among skfair's methods"
    if result.best_peer:
        picks += f" and `{result.best_peer}` among the peers' (" + ", ".join(
            f"{fam} `{m}`" for fam, m in result.best_by_family.items() if m) + ")"
    lines += [
        "## Selection rule (validation split)",
        "",
        f"For each method's grid: {rule} The same rule over the chosen methods picks {picks}"
        + ("; with no measurable bias these picks are not a verdict" if measurable is False
           else "") + ". The test split never takes part in a choice.",
        "",
    ]
    grid_rows = ok[ok["param"] != ""]
    if len(grid_rows):
        grid_rows = pd.DataFrame({
            "method": grid_rows["method"], "grid": grid_rows["param"] + " in "
            + grid_rows["grid"].astype(str),
            "chosen": [f"{v:g}" for v in grid_rows["value"]],
            "within tolerance on validation": grid_rows["within_tolerance_val"]})
        lines += [_md_table(grid_rows), ""]
    lines += [
        "## Plots",
        "",
        "Pareto plot (test): numbered points are the chosen methods (numbers listed on the "
        "right), pale dots every candidate of skfair's tuned methods, the green line the "
        "front over the chosen methods ("
        + ", ".join(f"`{m}`" for m in front["method"]) + "), the grey band the noise floor.",
        "",
        "![pareto](pareto.png)",
        "",
    ]
    dominance = _dominance_lines(ok, kind)
    if dominance:
        lines += [*dominance, ""]
    for tag, (name, fname) in heat.items():
        who = ("baseline" if tag == "baseline" else
               "the selection rule's skfair pick" if measurable is False else "best skfair")
        lines += [f"Per-subgroup {'MAE' if kind == 'regression' else 'accuracy'} on test, "
                  f"{who} (`{name}`); rows {layout[0]}, columns {layout[1]}"
                  + (f", panels {layout[2]}" if layout[2] else "")
                  + "; cells with under 30 rows are faded and hatched:", "",
                  f"![{tag}]({fname})", ""]
    lines += [
        "## Data and features",
        "",
        data.description,
        "",
        f"Features: {data.provenance}.",
        "",
    ]
    info = {k: v for k, v in data.info.items() if k != "cache"}
    if info:
        lines += ["Data timings and scores: " + ", ".join(f"{k} {v}" for k, v in info.items())
                  + ".", ""]
    head = s["head"]
    lines += [
        "Shared skfair head: MLP " + str(tuple(head.get("hidden_sizes", ())))
        + f", {head.get('max_epochs')} epochs, Adam lr {head.get('lr')}, weight decay "
        f"{head.get('weight_decay')}, batch {head.get('batch_size')}, seed {s['seed']}."
        + (" fairlearn: LogisticRegression(max_iter=1000) base, float64 features, fairlearn's "
           "default constraints (difference bound 0.01), randomized predictions seeded."
           if (ok["family"] == "fairlearn").any() else ""),
        "",
        "## Notes",
        "",
    ]
    for name, note in result.notes.items():
        if name.endswith("(traceback)"):
            continue
        lines.append(f"- `{name}`: {note}")
    for name, reason in result.skipped.items():
        lines.append(f"- `{name}` not run: {reason}")
    failed = res[res["status"] != "ok"]
    for _, row in failed.iterrows():
        lines.append(f"- `{row['method']}` {row['status']}")
    n_ok = int((res["status"] == "ok").sum())
    for note, methods in result.metric_notes.items():
        who = "every method" if len(methods) == n_ok else ", ".join(f"`{m}`" for m in methods)
        lines.append(f"- test metrics ({who}): {note}")
    if not (result.notes or result.skipped or len(failed) or result.metric_notes):
        lines.append("- none")
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += ["", "Method descriptions:", ""]
    lines += [f"- `{m}` ({METHODS[m].family}): {METHODS[m].description}"
              for m in res["method"] if m in METHODS]
    paths["report"].write_text("\n".join(lines) + "\n")
    for tag, (_, fname) in heat.items():
        paths[f"heatmap_{tag}"] = out / fname
    log(f"wrote {paths['report']}, {paths['results'].name}, {paths['path'].name}, "
        f"{paths['pareto'].name}" + "".join(f", {f}" for _, f in heat.values()))
    return paths


def _setting(param, value):
    """``"lam=10"`` for a tuned method, ``""`` otherwise."""
    if not param or value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{param}={value:g}"
