"""Write a benchmark's ``results.csv``, ``path.csv``, ``report.md`` and PNG plots."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._methods import METHODS
from ._runner import CLASSIFICATION_METRICS, REGRESSION_METRICS

__all__ = ["machine_info", "write_report"]

_FAMILY_COLORS = {"baseline": "black", "skfair": "tab:blue", "fairlearn": "tab:orange"}


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


def _metric_columns(kind):
    if kind == "regression":
        return list(REGRESSION_METRICS)
    return list(CLASSIFICATION_METRICS)


def summarize(result):
    """The headline: best skfair method vs baseline and vs ExponentiatedGradient.

    Returns
    -------
    summary : dict
    """
    res = result.results
    ok = res[res["status"] == "ok"].set_index("method")
    kind = result.data.kind
    out = {"best": result.best, "best_fairlearn": result.best_fairlearn}
    if "baseline" not in ok.index:
        return out
    base = ok.loc["baseline"]
    if kind == "regression":
        qualifies = (ok["mae"] <= base["mae"] * 1.01) & (ok["mae_bias"] <= 0.5 * base["mae_bias"])
    else:
        qualifies = ((ok["accuracy"] >= base["accuracy"] - 0.01 - 1e-12)
                     & (ok["eo_difference"] <= 0.5 * base["eo_difference"] + 1e-12))
    fam = ok["family"]
    out["halving_skfair"] = sorted(ok.index[qualifies & (fam == "skfair")])
    out["halving_fairlearn"] = sorted(ok.index[qualifies & (fam == "fairlearn")])
    eg = next((m for m in ("fairlearn_eg_eo", "fairlearn_eg_dp") if m in ok.index), None)
    if result.best is not None and eg is not None:
        b, e = ok.loc[result.best], ok.loc[eg]
        out["eg"] = eg
        out["fit_ratio"] = float(b["fit_time_s"] / e["fit_time_s"])
        out["search_ratio"] = float(b["search_time_s"] / e["search_time_s"])
    return out


def _front(frame, kind):
    from skfair.metrics import pareto_front

    if kind == "regression":
        objectives = {"mae": "min", "mae_bias": "min"}
    else:
        objectives = {"accuracy": "max", "eo_difference": "min"}
    table = frame.reset_index(drop=True)
    front = pareto_front(table.assign(params=[{}] * len(table)), objectives)
    return table.loc[front.index]


def _annotate(ax, res, front, xcol, ycol, min_dist=0.05):
    """Label points, front and baselines first, skipping labels that would overlap."""
    xs, ys = res[xcol].to_numpy(float), res[ycol].to_numpy(float)
    xr = max(np.nanmax(xs) - np.nanmin(xs), 1e-9)
    yr = max(np.nanmax(ys) - np.nanmin(ys), 1e-9)
    on_front = set(front["method"])
    order = sorted(res.itertuples(index=False), key=lambda r: (
        r.method not in on_front, r.family != "baseline", r.family != "fairlearn"))
    placed = []
    for r in order:
        x, y = getattr(r, xcol), getattr(r, ycol)
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        pt = np.array([(x - np.nanmin(xs)) / xr, (y - np.nanmin(ys)) / yr])
        if any(np.hypot(*(pt - q)) < min_dist for q in placed):
            continue
        placed.append(pt)
        ax.annotate(r.method.replace("fairlearn_", "fl_").replace("fairnet_", ""), (x, y),
                    textcoords="offset points", xytext=(4, 3), fontsize=7,
                    color=_FAMILY_COLORS.get(r.family, "grey"))


def plot_pareto(result, path):
    """Fairness vs accuracy (MAE) of every method, with the Pareto front.

    skfair's chosen methods are blue dots (their ``lam`` path in pale blue),
    fairlearn's orange squares, baselines black; the line is the front over
    all chosen methods, the grey band the noise floor (gaps a group-blind
    model shows at this test size). Overlapping labels are dropped (the
    table has every point).
    """
    import matplotlib.pyplot as plt

    kind = result.data.kind
    xcol, ycol = ("mae_bias", "mae") if kind == "regression" else ("eo_difference", "accuracy")
    res = result.results[result.results["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(8, 6))
    pathf = result.path
    if len(pathf):
        tuned = pathf[pathf["param"] != ""]
        ax.scatter(tuned[xcol], tuned[ycol], s=14, color="lightsteelblue", zorder=1,
                   label="skfair candidates (every lam/boost, test)")
    markers = {"baseline": "X", "skfair": "o", "fairlearn": "s"}
    for family, sub in res.groupby("family"):
        ax.scatter(sub[xcol], sub[ycol], s=50 if family != "baseline" else 110,
                   marker=markers.get(family, "o"), color=_FAMILY_COLORS.get(family, "grey"),
                   edgecolor="white", zorder=5 if family == "baseline" else 3,
                   label=f"{family} (chosen on validation)")
    front = _front(res, kind).sort_values(xcol)
    ax.plot(front[xcol], front[ycol], "-", color="tab:green", alpha=0.7, zorder=2,
            label="Pareto front (all methods)")
    noise = result.noise
    if noise:
        ax.axvspan(0, noise["q95"], color="grey", alpha=0.12, zorder=0,
                   label="noise floor: 95% of gaps with shuffled groups")
        ax.axvline(noise["mean"], color="grey", ls="--", lw=1, zorder=0)
    _annotate(ax, res, front, xcol, ycol)
    if kind == "regression":
        ax.set_xlabel("MAE bias score (mean pairwise |MAE_i - MAE_j|), lower is fairer")
        ax.set_ylabel("MAE (lower is better)")
        ax.invert_yaxis()
    else:
        ax.set_xlabel("equalized-odds difference (test), lower is fairer")
        ax.set_ylabel("accuracy (test)")
    d = result.data
    ax.set_title(f"{d.dataset} / {d.task} / sensitive: {' x '.join(d.sensitive_names)}",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return front


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
        # seed 001's layout: rows race, columns age group, panels gender
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

    ok = res[res["status"] == "ok"].copy()
    metric_cols = [c for c in _metric_columns(kind) if c in ok.columns]
    score, gap = ("mae", "mae_bias") if kind == "regression" else ("accuracy", "eo_difference")
    for col in (score, gap):
        if f"{col}_low" in ok.columns:
            ok[f"{col} 95% CI"] = [f"{lo:.3f}-{hi:.3f}" for lo, hi in
                                   zip(ok[f"{col}_low"], ok[f"{col}_high"], strict=True)]
    ci_cols = [c for c in (f"{score} 95% CI", f"{gap} 95% CI") if c in ok.columns]
    table = ok[["method", "family", "param", "value", *metric_cols, *ci_cols, "fit_time_s",
                "predict_time_s", "search_time_s"]].copy()
    table["value"] = [("" if (v is None or (isinstance(v, float) and np.isnan(v)))
                       else f"{v:g}") for v in table["value"]]
    table = table.rename(columns={"fit_time_s": "fit s", "predict_time_s": "predict s",
                                  "search_time_s": "search s", "value": "chosen"})
    metrics_doc = CLASSIFICATION_METRICS if kind != "regression" else REGRESSION_METRICS
    total_s = time.time() - started if started else None
    s = result.settings
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
        + (f", {data.info['cache']}" if "cache" in data.info else "") + ").",
        "",
        "## Headline",
        "",
    ]
    lines += _headline(summary, ok, kind)
    lines += _noise_lines(result)
    lines += [
        "",
        "## Results (test split)",
        "",
        "Every method is trained on the same training rows and features, tuned on the same "
        "validation rows and scored on the same test rows. `chosen` is the value of "
        "`param` picked on validation. Times are wall-clock seconds: `fit s` one fit of the "
        "chosen configuration, `predict s` predicting the test split, `search s` every "
        "candidate of the method (fits + validation predictions).",
        "",
        _md_table(table),
        "",
        "Metrics: " + "; ".join(f"`{k}` {v[0]} ({'higher' if v[1] else 'lower'} is better)"
                                for k, v in metrics_doc.items()) + ".",
        "",
        "## Selection rule (validation split)",
        "",
        (f"For each method's grid, keep the candidates whose validation accuracy is at least "
         f"the baseline's minus {s['tolerance']:g} (one accuracy point for 0.01); among "
         f"them take the lowest validation `{s['select_metric']}` (ties: the more accurate); "
         "if none qualifies, take the most accurate."
         if kind != "regression" else
         f"For each method's grid, keep the candidates whose validation MAE is at most the "
         f"baseline's times 1 + {s['tolerance']:g}; among them take the lowest validation "
         f"`{s['select_metric']}`; if none qualifies, take the lowest MAE."),
        f"The same rule over the chosen skfair methods names the best skfair method "
        f"(`{result.best}`) and over fairlearn's the best fairlearn method "
        f"(`{result.best_fairlearn}`). The test split never takes part in a choice.",
        "",
        "Chosen values and grids:",
        "",
    ]
    grid_rows = ok[ok["param"] != ""][["method", "param", "grid", "value",
                                       "within_tolerance_val"]].rename(
        columns={"value": "chosen", "within_tolerance_val": "within tolerance on validation"})
    lines += [_md_table(grid_rows) if len(grid_rows) else "(no tuned method)", ""]
    lines += [
        "## Plots",
        "",
        "Pareto plot (test): every chosen method, the lam/boost paths of skfair's tuned "
        "methods (pale), and the Pareto front over the chosen methods. On the front: "
        + ", ".join(f"`{m}`" for m in front["method"]) + ".",
        "",
        "",
        *_dominance_lines(ok, kind),
        "",
        "![pareto](pareto.png)",
        "",
    ]
    for tag, (name, fname) in heat.items():
        lines += [f"Per-subgroup {'MAE' if kind == 'regression' else 'accuracy'} on test, "
                  f"{tag} (`{name}`); rows {layout[0]}, columns {layout[1]}"
                  + (f", panels {layout[2]}" if layout[2] else "") + ":", "",
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
        f"{head.get('weight_decay')}, batch {head.get('batch_size')}, seed {s['seed']}. "
        "fairlearn: LogisticRegression(max_iter=1000) base, float64 features, fairlearn's "
        "default constraints (difference bound 0.01), randomized predictions seeded.",
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
    lines += [f"- `{m}`: {METHODS[m].description}" for m in res["method"] if m in METHODS]
    paths["report"].write_text("\n".join(lines) + "\n")
    for tag, (_, fname) in heat.items():
        paths[f"heatmap_{tag}"] = out / fname
    log(f"wrote {paths['report']}, {paths['results'].name}, {paths['path'].name}, "
        f"{paths['pareto'].name}" + "".join(f", {f}" for _, f in heat.values()))
    return paths


def _dominance_lines(ok, kind):
    """Which fairlearn points a skfair method dominates, and the reverse."""
    score, gap = ("mae", "mae_bias") if kind == "regression" else ("accuracy", "eo_difference")
    sign = -1.0 if kind == "regression" else 1.0  # higher score is better after the sign

    def dominates(a, b):
        sa, sb = sign * a[score], sign * b[score]
        return sa >= sb and a[gap] <= b[gap] and (sa > sb or a[gap] < b[gap])

    sk = ok[ok["family"] == "skfair"]
    fl = ok[ok["family"] == "fairlearn"]
    if not len(sk) or not len(fl):
        return []
    lines = []
    for src, dst, verb in ((sk, fl, "skfair methods dominating fairlearn's"),
                           (fl, sk, "fairlearn methods dominating skfair's")):
        pairs = []
        for _, b in dst.iterrows():
            winners = [a["method"] for _, a in src.iterrows() if dominates(a, b)]
            if winners:
                pairs.append(f"`{b['method']}` by {', '.join(f'`{w}`' for w in winners)}")
        lines.append(f"{verb[0].upper() + verb[1:]} (better or equal {score} and {gap}, test): "
                     + ("; ".join(pairs) if pairs else "none") + ".")
    return [lines[0], "", lines[1]]


def _noise_lines(result):
    noise = result.noise
    if not noise:
        return []
    name = "EO difference" if noise["metric"] == "eo_difference" else "MAE bias score"
    return [
        f"- sampling noise: with the sensitive labels shuffled across the test rows (within "
        f"each true class for classification: group sizes and class mix kept, any group "
        f"effect removed) the baseline's predictions still show an "
        f"{name} of {noise['mean']:.3f} on average (95th percentile {noise['q95']:.3f}); "
        f"measured with the true labels: {noise['observed']:.3f}. Gaps near this floor are "
        f"mostly noise. The `95% CI` columns are percentile intervals over {noise['n_boot']} "
        "bootstrap resamples of the test rows (the same resamples for every method); the "
        "interval of a max-min gap sits above its point estimate, as resampling adds its own "
        "noise to every group's rates.",
    ]


def _headline(summary, ok, kind):
    lines = []
    if "baseline" not in ok.index and "baseline" not in set(ok["method"]):
        return ["(no baseline)"]
    okm = ok.set_index("method")
    base = okm.loc["baseline"]
    best = summary.get("best")
    if kind == "regression":
        lines.append(f"- baseline: MAE {base['mae']:.3f}, MAE bias {base['mae_bias']:.3f}.")
        if best:
            b = okm.loc[best]
            lines.append(f"- best skfair method (rule below, on validation): `{best}`: MAE "
                         f"{b['mae']:.3f}, MAE bias {b['mae_bias']:.3f}.")
        crit = "MAE bias at most half the baseline's at MAE within 1% of it"
    else:
        lines.append(f"- baseline: accuracy {base['accuracy']:.3f}, equalized-odds difference "
                     f"{base['eo_difference']:.3f}.")
        if best:
            b = okm.loc[best]
            lines.append(
                f"- best skfair method (rule below, on validation): `{best}`"
                + (f" ({b['param']}={b['value']:g})" if b["param"] else "")
                + f": accuracy {b['accuracy']:.3f} ({100 * (b['accuracy'] - base['accuracy']):+.1f}"
                f" points), EO difference {b['eo_difference']:.3f} "
                f"({b['eo_difference'] / max(base['eo_difference'], 1e-12):.2f} x baseline)."
            )
        bf = summary.get("best_fairlearn")
        if bf:
            f = okm.loc[bf]
            lines.append(f"- best fairlearn method (same rule): `{bf}`: accuracy "
                         f"{f['accuracy']:.3f}, EO difference {f['eo_difference']:.3f}.")
        crit = "EO difference at most half the baseline's at no more than 1 accuracy point below"
    lines.append(f"- methods with {crit} (test): skfair "
                 + (", ".join(f"`{m}`" for m in summary.get("halving_skfair", [])) or "none")
                 + "; fairlearn "
                 + (", ".join(f"`{m}`" for m in summary.get("halving_fairlearn", [])) or "none")
                 + ".")
    if "fit_ratio" in summary:
        lines.append(
            f"- wall time of `{best}` / `{summary['eg']}`: fit {summary['fit_ratio']:.2f}x, "
            f"whole search {summary['search_ratio']:.2f}x (fit "
            f"{okm.loc[best, 'fit_time_s']:.2f} s vs {okm.loc[summary['eg'], 'fit_time_s']:.2f} s)."
        )
    return lines
