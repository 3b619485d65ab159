"""In-processing on real faces: the benchmark runs and the diagnostics behind docs/estimators.md.

Every figure of the section "In-processing on real faces" of ``docs/estimators.md`` comes
from one of these commands (utkface-full, dlib face descriptors, the benchmark's 60/20/20
split stratified on target and attributes, the benchmark's MLP head)::

    export SKFAIR_CACHE_DIR=/work/cache OMP_NUM_THREADS=1
    python benchmarks/exp_inprocessing.py benchmark  # every method, 3 tasks, 3 seeds
    python benchmarks/exp_inprocessing.py rates      # train vs test rates, flattening
    python benchmarks/exp_inprocessing.py oracle     # thresholds fitted on validation / test
    python benchmarks/exp_inprocessing.py age-mix    # what the groups' ages explain
    python benchmarks/exp_inprocessing.py weighting  # resampling, weights on a LogisticRegression

``benchmark`` runs ``benchmarks/exp_real_faces.py`` (lam, boost and tolerance chosen on the
validation rows by the benchmark's rule) for gender vs race, age>30 vs gender and age vs
race x gender. The other commands print the diagnostics that explain its figures.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = os.environ.get("SKFAIR_FACES_DIR", "/work/shared/data/utkface-full")

CLASSIFICATION_METHODS = (
    "baseline,logreg,fairnet_dp_l2,fairnet_dp_mi,fairnet_eo_l2,fairnet_eo_mi,fairnet_iou,"
    "fairnet_group_balanced,fairnet_adversarial,fairnet_adversarial_confusion,resample_mean,"
    "resample_min,resample_max,weights_marginal,weights_intersectional,affirmative_action,"
    "postprocess_eo,postprocess_eo_head,fairlearn_to_eo,fairlearn_eg_eo")
REGRESSION_METHODS = (
    "baseline,fairnet_group_balanced,fairnet_adversarial,fairnet_adversarial_confusion,"
    "fairnet_mean_parity,fairnet_mae_parity,resample_mean,resample_min,resample_max,"
    "weights_marginal,weights_intersectional,affirmative_action,postprocess_mae")
TASKS = {"gender": ("gender", "race", CLASSIFICATION_METHODS),
         "age30": ("age>30", "gender", CLASSIFICATION_METHODS),
         "age": ("age", "race,gender", REGRESSION_METHODS)}


def load(task, sensitive, seed):
    from skfair.benchmark import DataConfig, prepare_data

    return prepare_data(DataConfig(dataset="utkface", data_dir=DATA, task=task,
                                   sensitive=tuple(sensitive.split(",")), seed=seed,
                                   cache_dir=os.environ.get("SKFAIR_CACHE_DIR")),
                        log=lambda s: None)


def head(d, seed, **kwargs):
    from skfair.benchmark._methods import head_params
    from skfair.estimators import FairNetClassifier, FairNetRegressor

    params = head_params(d.kind, len(d.y_train), seed=seed)
    if d.kind == "regression":
        return FairNetRegressor(**params, loss="l1", **kwargs)
    return FairNetClassifier(**params, **kwargs)


def metrics(d, y, pred, S):
    from skfair.benchmark._runner import compute_metrics

    return compute_metrics(d.kind, y, pred, S)


def parts(d):
    return [("train", d.X_train, d.y_train, d.S_train), ("val", d.X_val, d.y_val, d.S_val),
            ("test", d.X_test, d.y_test, d.S_test)]


# ------------------------------------------------------------------------ benchmark
def cmd_benchmark(args):
    for key in args.tasks:
        task, sensitive, methods = TASKS[key]
        cmd = [sys.executable, str(HERE / "exp_real_faces.py"), "--task", task, "--sensitive",
               sensitive, "--data-dir", DATA, "--methods", methods, "--seeds",
               *map(str, args.seeds), "--path"]
        if args.out:
            cmd += ["--out", str(Path(args.out) / key)]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


# ---------------------------------------------------------------------------- rates
def _rates(y, pred, S):
    g = S.astype(str).agg("/".join, axis=1).to_numpy()
    df = pd.DataFrame({"g": g, "y": y, "p": pred})
    return pd.DataFrame({"TPR": df[df.y == 1].groupby("g").p.mean(),
                         "FPR": df[df.y == 0].groupby("g").p.mean()})


def cmd_rates(args):
    """Why a penalty on the training rows does not reach the test gap."""
    from skfair.utils import encode_sensitive_features

    d = load(args.task, args.sensitive, args.seeds[0])
    print(f"## {args.task} vs {args.sensitive}, seed {args.seeds[0]}\n")
    print("### The baseline head's rates per group (train / validation / test)\n")
    m = head(d, args.seeds[0]).fit(d.X_train, d.y_train)
    table = pd.concat({part: _rates(y, m.predict(X), S) for part, X, y, S in parts(d)},
                      axis=1)
    print(table.round(3).to_markdown(), "\n")

    print("### Accuracy / EO difference of the baseline head, one fit per random_state\n")
    print("| random_state | train | validation | test |\n|---|---|---|---|")
    for rs in range(args.inits):
        m = head(d, rs).fit(d.X_train, d.y_train)
        cells = [metrics(d, y, m.predict(X), S) for _, X, y, S in parts(d)]
        print(f"| {rs} | " + " | ".join(f"{c['accuracy']:.3f} / {c['eo_difference']:.3f}"
                                       for c in cells) + " |")

    print("\n### Rows of each (class, group) cell in a batch of 128 (random batches)\n")
    enc = encode_sensitive_features(d.S_train)
    labels = np.asarray(enc.labels(), dtype=object)[enc.codes]
    counts = pd.crosstab(pd.Series(labels, name="group"), pd.Series(d.y_train, name="y"))
    share = counts / len(d.y_train)
    out = pd.DataFrame({f"rows/batch (y={c})": 128 * share[c] for c in counts.columns})
    for c in counts.columns:
        out[f"P(absent) (y={c})"] = (1 - share[c]) ** 128
    print(out.round(3).to_markdown(), "\n")

    print("### What the equalized-odds L2 term does as lam grows (training rows / test rows)\n")
    print("Mean confidence |2p - 1| of the predicted probability of class 1, the soft "
          "(mean probability) and hard (decision) EO difference.\n")
    print("| lam | part | accuracy | confidence | soft EO | hard EO |\n|---|---|---|---|---|---|")
    for lam in args.lams:
        m = head(d, args.seeds[0], fairness="eo_l2", lam=lam).fit(
            d.X_train, d.y_train, sensitive_features=d.S_train)
        for part, X, y, S in parts(d):
            if part == "val":
                continue
            p = m.predict_proba(X)[:, 1]
            r = metrics(d, y, m.predict(X), S)
            soft = _rates(y, p, S)
            soft_eo = max(np.ptp(soft["TPR"]), np.ptp(soft["FPR"]))
            print(f"| {lam:g} | {part} | {r['accuracy']:.3f} | {np.mean(np.abs(2 * p - 1)):.3f} "
                  f"| {soft_eo:.3f} | {r['eo_difference']:.3f} |")


# --------------------------------------------------------------------------- oracle
def cmd_oracle(args):
    """Per-group thresholds over a base (the head or a LogisticRegression) fitted on the
    validation rows or on the test rows themselves, and the test rows' noise floor.

    The rule fitted on the test rows is an oracle: it shows the best accuracy any rule can
    have at a test gap of ``tolerance``; the gap between the two rows is what the
    validation rows' sampling noise costs. The noise floor (the baseline's gap with the
    group labels shuffled, mean and 95th percentile) is the gap a model whose errors ignore
    the group shows on these test rows.
    """
    from sklearn.linear_model import LogisticRegression

    from skfair.benchmark._stats import noise_floor
    from skfair.postprocessing import FairThresholdClassifier
    from skfair.utils import encode_sensitive_features

    rows, floors = {}, []
    for seed in args.seeds:
        d = load(args.task, args.sensitive, seed)
        if args.base == "logreg":
            Xs = [np.asarray(X, dtype=np.float64) for X in (d.X_train, d.X_val, d.X_test)]
            m = LogisticRegression(max_iter=1000).fit(Xs[0], d.y_train)
        else:
            Xs = [d.X_train, d.X_val, d.X_test]
            m = head(d, seed).fit(d.X_train, d.y_train)
        pred = m.predict(Xs[2])
        base = metrics(d, d.y_test, pred, d.S_test)
        codes = encode_sensitive_features(d.S_test).codes
        floors.append(noise_floor(d.kind, d.y_test, pred, codes, random_state=seed))
        rows.setdefault(("baseline", "-"), []).append((base, base))
        for fit_on, X, y, S in [("validation", Xs[1], d.y_val, d.S_val),
                                ("test (oracle)", Xs[2], d.y_test, d.S_test)]:
            for tol in args.tolerances:
                rule = FairThresholdClassifier(m, tolerance=tol, prefit=True, random_state=0)
                rule.fit(X, y, sensitive_features=S)
                t = metrics(d, d.y_test, rule.predict(Xs[2], sensitive_features=d.S_test),
                            d.S_test)
                rows.setdefault((fit_on, tol), []).append((t, base))
    print(f"## {args.task} vs {args.sensitive}: FairThresholdClassifier(equalized odds) over "
          f"the {args.base}, seeds {args.seeds}, test rows\n")
    print("| thresholds fitted on | tolerance | accuracy | EO diff | Δacc pts | ΔEO % |\n"
          "|---|---|---|---|---|---|")
    for (fit_on, tol), pairs in rows.items():
        acc = np.mean([t["accuracy"] for t, _ in pairs])
        eo = np.mean([t["eo_difference"] for t, _ in pairs])
        dacc = np.mean([t["accuracy"] - b["accuracy"] for t, b in pairs])
        rel = np.mean([(t["eo_difference"] - b["eo_difference"]) / b["eo_difference"]
                       for t, b in pairs])
        print(f"| {fit_on} | {tol} | {acc:.4f} | {eo:.4f} | {100 * dacc:+.2f} | "
              f"{100 * rel:+.1f}% |")
    print(f"\nNoise floor of the base's EO difference on the test rows (shuffled groups): "
          f"mean {np.mean([f['mean'] for f in floors]):.4f}, 95th percentile "
          f"{np.mean([f['q95'] for f in floors]):.4f} (mean over seeds)")


# -------------------------------------------------------------------------- age mix
def _bias(values):
    return float(np.mean([abs(a - b) for a, b in itertools.combinations(values, 2)]))


def cmd_age_mix(args):
    """How much of the ChaLearn bias score the groups' age distributions explain."""
    print("## age vs race x gender: the baseline head's per-group MAE and the MAE its age "
          "mix predicts\n")
    print("`age-mix MAE` of a group: the mean over its rows of the test MAE of all rows of "
          "the same 5-year age bin (ages >= 80 in one bin): the MAE the group would have if "
          "its errors depended on age only.\n")
    print("| seed | part | bias score | bias score of the age-mix MAEs | correlation |\n"
          "|---|---|---|---|---|")
    detail = None
    for seed in args.seeds:
        d = load("age", "race,gender", seed)
        m = head(d, seed).fit(d.X_train, d.y_train)
        for part, X, y, S in parts(d):
            if part == "val":
                continue
            df = pd.DataFrame({"g": S.astype(str).agg("/".join, axis=1).to_numpy(), "age": y,
                               "err": np.abs(m.predict(X) - y),
                               "bin": np.minimum(y // 5, 16)})
            df["expected"] = df["bin"].map(df.groupby("bin")["err"].mean())
            t = df.groupby("g").agg(rows=("age", "size"), mean_age=("age", "mean"),
                                    mae=("err", "mean"), age_mix_mae=("expected", "mean"))
            print(f"| {seed} | {part} | {_bias(t.mae):.3f} | {_bias(t.age_mix_mae):.3f} | "
                  f"{np.corrcoef(t.mae, t.age_mix_mae)[0, 1]:.2f} |")
            if detail is None and part == "test":
                detail = t
    print("\nPer group, first seed, test rows:\n")
    print(detail.round(2).to_markdown())


# ------------------------------------------------------------------------ weighting
def cmd_weighting(args):
    """GroupResampler, SupportWeighting and affirmative action on a LogisticRegression."""
    from sklearn.linear_model import LogisticRegression

    from skfair.benchmark._runner import select_candidate
    from skfair.samplers import GroupResampler
    from skfair.utils import encode_sensitive_features
    from skfair.weighting import (
        AffirmativeActionWeighting,
        SupportWeighting,
        select_worst_subgroups,
    )

    class Cand:
        def __init__(self, value, val, test):
            self.value, self.val, self.test = value, val, test

    for key in args.tasks:
        task, sensitive, _ = TASKS[key]
        rows = {}
        for seed in args.seeds:
            d = load(task, sensitive, seed)

            def fit(X=None, y=None, w=None, d=d):
                X = d.X_train if X is None else X
                y = d.y_train if y is None else y
                lr = LogisticRegression(max_iter=1000).fit(X, y, sample_weight=w)
                return Cand(None, metrics(d, d.y_val, lr.predict(d.X_val), d.S_val),
                            metrics(d, d.y_test, lr.predict(d.X_test), d.S_test)), lr

            base, base_lr = fit()
            rows.setdefault("logreg", []).append((base, base))
            for strategy in ("mean", "min", "max"):
                rs = GroupResampler(strategy=strategy, random_state=seed)
                X_r, y_r = rs.fit_resample(d.X_train, d.y_train, sensitive_features=d.S_train)
                rows.setdefault(f"GroupResampler({strategy})", []).append(
                    (fit(X_r, y_r)[0], base))
            for scheme in ("marginal", "intersectional"):
                w = SupportWeighting(scheme=scheme).get_weights(sensitive_features=d.S_train)
                rows.setdefault(f"SupportWeighting({scheme})", []).append(
                    (fit(w=w)[0], base))
            n_sub = encode_sensitive_features(d.S_train).n_groups
            k = min(2, n_sub - 1)
            subgroups = select_worst_subgroups(base_lr, d.X_val, d.y_val,
                                               sensitive_features=d.S_val, k=k, min_size=5)
            cands = []
            for boost in (2.0, 5.0, 10.0):
                w = AffirmativeActionWeighting(subgroups=subgroups, boost=boost).get_weights(
                    sensitive_features=d.S_train)
                c = fit(w=w)[0]
                c.value = boost
                cands.append(c)
            chosen, _ = select_candidate(cands, base.val, kind=d.kind, metric="eo_difference")
            rows.setdefault(f"affirmative action (k={k}, boost by the rule)", []).append(
                (chosen, base))
        print(f"\n## {task} vs {sensitive}: LogisticRegression(max_iter=1000), seeds "
              f"{args.seeds}, test rows\n")
        print("| method | accuracy | EO diff | Δacc pts | ΔEO % |\n|---|---|---|---|---|")
        for name, pairs in rows.items():
            acc = np.mean([c.test["accuracy"] for c, _ in pairs])
            eo = np.mean([c.test["eo_difference"] for c, _ in pairs])
            dacc = np.mean([c.test["accuracy"] - b.test["accuracy"] for c, b in pairs])
            rel = np.mean([(c.test["eo_difference"] - b.test["eo_difference"])
                           / b.test["eo_difference"] for c, b in pairs])
            print(f"| {name} | {acc:.4f} | {eo:.4f} | {100 * dacc:+.2f} | {100 * rel:+.1f}% |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("benchmark")
    b.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    b.add_argument("--out", default=None)
    r = sub.add_parser("rates")
    r.add_argument("--inits", type=int, default=6)
    r.add_argument("--lams", type=float, nargs="+", default=[0, 1, 10, 30])
    o = sub.add_parser("oracle")
    o.add_argument("--tolerances", type=float, nargs="+", default=[0.01, 0.03, 0.05, 0.08])
    o.add_argument("--base", choices=["head", "logreg"], default="head")
    a = sub.add_parser("age-mix")
    w = sub.add_parser("weighting")
    w.add_argument("--tasks", nargs="+", default=["gender", "age30"],
                   choices=["gender", "age30"])
    for q in (r, o, a, w):
        q.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    for q in (r, o):
        q.add_argument("--task", default="gender")
        q.add_argument("--sensitive", default="race")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    {"benchmark": cmd_benchmark, "rates": cmd_rates, "oracle": cmd_oracle,
     "age-mix": cmd_age_mix, "weighting": cmd_weighting}[args.command](args)


if __name__ == "__main__":
    main()
