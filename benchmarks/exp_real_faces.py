"""Mitigation methods on real faces, over several seeds: means, spread and the noise floor.

Run (about a minute per seed and method on 2 CPU cores once the descriptors are cached)::

    .venv/bin/python benchmarks/exp_real_faces.py --task gender --sensitive race \
        --methods logreg,fairlearn_to_eo,oxonfair_eo --seeds 0 1 2

Each seed is one ``skfair benchmark`` run (``prepare_data`` + ``run_benchmark``: the same
60/20/20 split stratified on target and attributes, the same face descriptors, every
method's hyper-parameter chosen on the validation rows by the benchmark's rule) on
``utkface-full``; the test metrics of the chosen candidates are then averaged over seeds.
The table gives mean +/- standard deviation over seeds, the change against the baseline
(the MLP head without mitigation), and the baseline's noise floor: the 95th percentile of
the gap its own test predictions show when the sensitive labels are shuffled, i.e. the
gap a model whose errors ignore the group would measure at this test size. A method
"moves" the gap when its mean change is larger than the seeds' spread and the gap it
leaves is compared with that floor.

``--path`` also prints, per method, every candidate of its grid (test metrics averaged
over seeds), the curve a tolerance sweep traces.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "utkface-full"


def run_seed(args, seed, methods):
    from skfair.benchmark import DataConfig, prepare_data, run_benchmark

    cfg = DataConfig(dataset=args.dataset, task=args.task,
                     sensitive=tuple(args.sensitive.split(",")) if args.sensitive else None,
                     data_dir=str(args.data_dir), seed=seed, features=args.features,
                     n_samples=args.n_samples, cache_dir=args.cache_dir)
    t0 = time.perf_counter()
    data = prepare_data(cfg, log=lambda s: None)
    prep_s = time.perf_counter() - t0
    res = run_benchmark(data, methods, seed=seed, tolerance=args.tolerance,
                        select_metric=args.select_metric, log=_log(args.verbose))
    rows = res.results.assign(seed=seed, prep_s=prep_s)
    path = res.path.assign(seed=seed)
    noise = dict(res.noise, seed=seed)
    return data, rows, path, noise


def _log(verbose):
    return (lambda s: print("   ", s, flush=True)) if verbose else (lambda s: None)


def summarise(rows, kind, noise):
    score, gap = ("mae", "mae_bias") if kind == "regression" else ("accuracy", "eo_difference")
    ok = rows[rows["status"] == "ok"]
    base = ok[ok["method"] == "baseline"].set_index("seed")
    extra = [c for c in ("dp_difference", "mae_bias_age", "mae_bias_mean", "worst_group_accuracy")
             if c in ok.columns]
    out = []
    for name, g in ok.groupby("method", sort=False):
        g = g.set_index("seed")
        d_score = g[score] - base[score].reindex(g.index)
        d_gap = g[gap] - base[gap].reindex(g.index)
        rel = d_gap / base[gap].reindex(g.index)
        out.append({
            "method": name, "family": g["family"].iloc[0], "seeds": len(g),
            score: f"{g[score].mean():.4f} ± {g[score].std(ddof=1):.4f}",
            gap: f"{g[gap].mean():.4f} ± {g[gap].std(ddof=1):.4f}",
            f"Δ{score}": f"{d_score.mean():+.4f} ± {d_score.std(ddof=1):.4f}",
            f"Δ{gap}": f"{d_gap.mean():+.4f} ± {d_gap.std(ddof=1):.4f}",
            f"Δ{gap} %": f"{100 * rel.mean():+.1f}%",
            **{c: f"{g[c].mean():.4f}" for c in extra},
            "chosen": ",".join("-" if pd.isna(v) else f"{v:g}" for v in g["value"])
            if "value" in g else "",
            "fit s": f"{g['fit_time_s'].mean():.2f}",
        })
    table = pd.DataFrame(out)
    floor = pd.DataFrame(noise)
    return table, floor


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="utkface")
    p.add_argument("--data-dir", default=os.environ.get("SKFAIR_FACES_DIR", DEFAULT_DATA))
    p.add_argument("--task", default="gender")
    p.add_argument("--sensitive", default=None)
    p.add_argument("--methods", default="logreg,fairlearn_to_eo")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--features", default="auto")
    p.add_argument("--n-samples", type=int, default=None)
    p.add_argument("--cache-dir", default=None,
                   help="feature cache (default: the CLI's, $SKFAIR_CACHE_DIR or "
                        "~/.cache/skfair)")
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--select-metric", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--path", action="store_true", help="print every grid candidate")
    p.add_argument("--out", default=None, help="write rows.csv, path.csv, summary.md here")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    from skfair._cli import default_cache_dir
    from skfair.benchmark import resolve_methods

    args.cache_dir = args.cache_dir or str(default_cache_dir())
    torch.set_num_threads(args.threads)
    methods = resolve_methods(args.methods)
    rows, paths, noise = [], [], []
    with threadpool_limits(args.threads):
        for seed in args.seeds:
            t0 = time.perf_counter()
            data, r, pth, nz = run_seed(args, seed, methods)
            rows.append(r)
            paths.append(pth)
            noise.append(nz)
            print(f"seed {seed}: {time.perf_counter() - t0:.1f} s "
                  f"({len(data.y_train)}/{len(data.y_val)}/{len(data.y_test)} rows)",
                  flush=True)
    rows = pd.concat(rows, ignore_index=True)
    paths = pd.concat(paths, ignore_index=True)
    table, floor = summarise(rows, data.kind, noise)
    lines = [f"# {args.dataset} {data.task} ({data.kind}), sensitive "
             f"{' x '.join(data.sensitive_names)}; seeds {args.seeds}", "",
             f"Command: `python benchmarks/exp_real_faces.py {' '.join(argv or sys.argv[1:])}`",
             "", f"Features: {data.provenance}.", "",
             table.to_markdown(index=False), ""]
    metric = floor["metric"].iloc[0] if "metric" in floor else "gap"
    if "q95" in floor:
        lines.append(f"Noise floor of the baseline's {metric} (95th percentile, shuffled "
                     f"groups), per seed: {', '.join(f'{v:.4f}' for v in floor['q95'])}; "
                     f"mean {floor['q95'].mean():.4f}.")
    if args.path:
        score, gap = (("mae", "mae_bias") if data.kind == "regression"
                      else ("accuracy", "eo_difference"))
        curve = (paths.groupby(["method", "value"], dropna=False)[
            [score, gap, f"val_{score}", f"val_{gap}"]].mean().reset_index())
        lines += ["", "## Every grid candidate (mean over seeds)", "",
                  curve.to_markdown(index=False, floatfmt=".4f")]
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rows.to_csv(out / "rows.csv", index=False)
        paths.to_csv(out / "path.csv", index=False)
        (out / "summary.md").write_text(text + "\n")
    return table


if __name__ == "__main__":
    main()
