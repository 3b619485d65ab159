"""Bias amplification of a multi-label network, with and without Choi et al.'s auxiliary loss.

Two tasks, each split 70/30 (stratified by gender) and run for several seeds
(split, network initialisation and descriptive model change with the seed):

* ``synthetic``: :func:`skfair.datasets.make_biased_multilabel` with its
  defaults (Choi et al.'s Table 1 skews, 68.7 % men, 32 features), 6,000 rows.
* ``utkface``: real faces from ``../shared/data/utkface/images`` (3,983
  parsable crops). Labels: five age bins (0-14, 15-29, 30-44, 45-59, 60+) and
  the five UTKFace races as ten binary labels (two positive per row); group:
  gender. The age bins are gender-skewed in this subset (15-29 is 63 % women,
  45-59 76 % men), the races balanced by construction of the subset.
  Features: the RGB images decoded at 32x32 (``load_utkface(image_size=32)``),
  flattened (3,072 values) and reduced to 64 whitened principal components
  (PCA fitted on the training split).

As in Choi et al., the network predicts the gender as one more label (so the
directional measure T->A has a predicted group); the auxiliary loss leaves
that label out (``aligned_labels``), bias measures and accuracy use the
object labels only. Models (same network: MLP with one hidden layer of 64,
Adam lr 1e-3, weight decay 1e-4, batch 64, identical epochs):

* ``baseline``: binary cross-entropy only;
* ``aux-batch``: ``+ lam * bias_amplification_loss`` (ratio kind,
  straight-through indicator) on the mini-batch;
* ``aux-descriptive``: the same loss with the expectation over an offline
  pool of ``--pool`` samples of a :class:`~skfair.generative.DescriptiveModel`
  of the training features, whose gender is given by a logistic regression
  (Choi et al.), importance-weighted to the training gender shares.

``lam`` is chosen per seed and model from ``--lams`` on a validation split
(25 % of the training rows): the smallest absolute Zhao amplification among
the values losing at most ``--max-drop`` points of label accuracy against a
baseline fitted on the same rows; then the model is refitted on the whole
training split. The test split is never used for the choice.

Printed per model (mean +- std over seeds): Zhao et al.'s mean bias
amplification (training labels vs test predictions, true test gender), Wang &
Russakovsky's directional BiasAmp A->T and T->A (signs from the training
set), mean per-label accuracy, fit time; then the reduction of Zhao's
amplification relative to the baseline and the accuracy change in points. A
scatter PNG per task (training bias vs predicted bias towards men per label,
Choi et al.'s figures 1-2, first seed) goes to ``--out``.

Run: ``.venv/bin/python benchmarks/bench_bias_amplification.py --out bench_out``
(about 5-7 minutes on one CPU core).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skfair.datasets import load_utkface, make_biased_multilabel
from skfair.estimators import FairNetMultiLabelClassifier
from skfair.generative import DescriptiveModel
from skfair.metrics import bias_amplification, directional_bias_amplification
from skfair.utils import get_data_dir

# this checkout's data (../shared/data) unless SKFAIR_DATA_DIR names another folder;
# skfair's own default is ~/skfair_data
_CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("SKFAIR_DATA_DIR") and _CHECKOUT_DATA.is_dir():
    os.environ["SKFAIR_DATA_DIR"] = str(_CHECKOUT_DATA)

AGE_BINS = [-1, 14, 29, 44, 59, 200]
AGE_NAMES = ["age 0-14", "age 15-29", "age 30-44", "age 45-59", "age 60+"]


def synthetic_task(n_samples):
    ds = make_biased_multilabel(n_samples=n_samples, random_state=0)
    gender = ds.sensitive["gender"].astype(str).to_numpy()
    return ds.data.astype(np.float32), ds.target, gender, list(ds.target_names), None


def utkface_task(data_dir):
    root = Path(data_dir) / "utkface" / "images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the one broken file name
        ds = load_utkface(root, return_images=True, image_size=32)
    frame = ds.frame
    age = pd.cut(frame["age"], AGE_BINS, labels=AGE_NAMES)
    Y = pd.concat(
        [pd.get_dummies(age), pd.get_dummies(frame["race"].astype(str))], axis=1
    ).astype(np.int64)
    pixels = ds.images.reshape(len(frame), -1).astype(np.float32)
    gender = np.where(frame["gender"].astype(str) == "Male", "man", "woman")
    return pixels, Y.to_numpy(), gender, list(Y.columns), 64


def make_model(kind, args, seed, n_labels, lam=None):
    common = dict(hidden_sizes=(64,), max_epochs=args.max_epochs, lr=args.lr, batch_size=64,
                  weight_decay=1e-4, device="cpu", random_state=seed)
    if kind == "baseline":
        return FairNetMultiLabelClassifier(**common)
    # the last output is the gender itself: not aligned (its co-occurrence is 1 or 0)
    aux = dict(common, fairness="bias_amplification", lam=lam,
               aligned_labels=np.arange(n_labels))
    if kind == "aux-batch":
        return FairNetMultiLabelClassifier(**aux, expectation="batch")
    return FairNetMultiLabelClassifier(
        **aux, expectation="descriptive", n_descriptive_samples=args.pool,
        descriptive_sampling=args.sampling, descriptive_steps=args.langevin_steps,
        descriptive_model=DescriptiveModel(max_iter=args.ebm_iter, random_state=seed),
    )


def with_gender(Y, A):
    """Choi et al.: the gender is one more predicted label (the last column)."""
    return np.column_stack([Y, A == "man"]).astype(np.int64)


def zhao_and_acc(model, X, Y, A, Y_ref, A_ref):
    K = Y.shape[1]
    P = model.predict(X)[:, :K]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        amp = bias_amplification(Y_ref, A_ref, P, A)
    return amp, float((P == Y).mean())


def select_lam(kind, args, seed, X, Y, A):
    """lam of the grid chosen on a validation split of the training data: the
    smallest |Zhao amplification| among those losing at most ``--max-drop``
    points of label accuracy against the baseline (else the smallest lam)."""
    fit, val = train_test_split(np.arange(len(Y)), test_size=0.25, stratify=A,
                                random_state=1000 + seed)
    K = Y.shape[1]
    base = make_model("baseline", args, seed, K).fit(X[fit], with_gender(Y[fit], A[fit]))
    _, base_acc = zhao_and_acc(base, X[val], Y[val], A[val], Y[fit], A[fit])
    best, scores = None, {}
    for lam in args.lams:
        model = make_model(kind, args, seed, K, lam)
        model.fit(X[fit], with_gender(Y[fit], A[fit]), sensitive_features=A[fit])
        amp, acc = zhao_and_acc(model, X[val], Y[val], A[val], Y[fit], A[fit])
        scores[lam] = (amp, acc)
        if 100 * (base_acc - acc) <= args.max_drop and (best is None or
                                                        abs(amp) < abs(scores[best][0])):
            best = lam
    return (min(args.lams) if best is None else best), scores


def run_task(name, X, Y, gender, labels, n_pca, args):
    rows, tables = [], {}
    K = Y.shape[1]
    for seed in range(args.seeds):
        idx_tr, idx_te = train_test_split(
            np.arange(len(Y)), test_size=0.3, stratify=gender, random_state=seed
        )
        Xtr, Xte = X[idx_tr], X[idx_te]
        if n_pca:
            pca = PCA(n_components=n_pca, whiten=True, random_state=seed).fit(Xtr)
            Xtr, Xte = pca.transform(Xtr), pca.transform(Xte)
        Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
        Ytr, Yte = Y[idx_tr], Y[idx_te]
        Atr, Ate = gender[idx_tr], gender[idx_te]
        for model_name in ["baseline"] + [m for m in args.models if m != "baseline"]:
            t0 = time.perf_counter()
            lam = np.nan
            if model_name != "baseline":
                if len(args.lams) == 1:
                    lam = args.lams[0]
                else:
                    lam, scores = select_lam(model_name, args, seed, Xtr, Ytr, Atr)
                    print(f"    {model_name} validation (zhao, acc) per lam: "
                          + ", ".join(f"{k}: ({a:+.3f}, {c:.3f})" for k, (a, c) in
                                      scores.items()) + f" -> lam={lam}", flush=True)
            select_s = time.perf_counter() - t0
            model = make_model(model_name, args, seed, K, lam)
            t0 = time.perf_counter()
            model.fit(Xtr, with_gender(Ytr, Atr), sensitive_features=Atr)
            fit_s = time.perf_counter() - t0
            P = model.predict(Xte)
            Yp, Ap = P[:, :K], np.where(P[:, K] == 1, "man", "woman")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # labels never predicted are left out
                zhao, table = bias_amplification(
                    pd.DataFrame(Ytr, columns=labels), Atr, pd.DataFrame(Yp, columns=labels),
                    Ate, return_per_label=True,
                )
                a2t = directional_bias_amplification(
                    Yte, Ate, Yp, direction="A->T", Y_train=Ytr, A_train=Atr)
                t2a = directional_bias_amplification(
                    Yte, Ate, A_pred=Ap, direction="T->A", Y_train=Ytr, A_train=Atr)
            rows.append({
                "task": name, "model": model_name, "seed": seed, "lam": lam, "zhao": zhao,
                "dir_A->T": a2t, "dir_T->A": t2a, "label_acc": float((Yp == Yte).mean()),
                "labels_kept": len(table), "fit_s": fit_s, "select_s": select_s,
            })
            if seed == 0:
                tables[model_name] = table
            print(f"  {name} seed={seed} {model_name:16s} lam={lam:<4} zhao={zhao:+.4f} "
                  f"A->T={a2t:+.4f} T->A={t2a:+.4f} acc={rows[-1]['label_acc']:.4f} "
                  f"({fit_s:.1f}s fit, {select_s:.1f}s lam selection)", flush=True)
    return pd.DataFrame(rows), tables


def summarize(df):
    agg = df.groupby(["task", "model"], sort=False).agg(
        zhao=("zhao", "mean"), zhao_std=("zhao", "std"),
        a2t=("dir_A->T", "mean"), t2a=("dir_T->A", "mean"),
        label_acc=("label_acc", "mean"), fit_s=("fit_s", "mean"),
        lams=("lam", lambda v: "/".join(f"{x:g}" for x in v)),
    )
    out = []
    for task, sub in agg.groupby(level=0, sort=False):
        base = sub.loc[(task, "baseline")]
        for (_, model), r in sub.iterrows():
            out.append({
                "task": task, "model": model, "lam": r.lams,
                "zhao_amp": f"{r.zhao:+.4f} +- {r.zhao_std:.4f}",
                "dir_A->T": round(r.a2t, 4), "dir_T->A": round(r.t2a, 4),
                "label_acc": round(r.label_acc, 4), "fit_s": round(r.fit_s, 1),
                "amp_reduction_%": (round(100 * (1 - r.zhao / base.zhao), 1)
                                    if model != "baseline" else np.nan),
                "acc_change_pts": (round(100 * (r.label_acc - base.label_acc), 2)
                                   if model != "baseline" else np.nan),
            })
    return pd.DataFrame(out)


def save_scatter(tables, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skfair.plotting import plot_bias_amplification

    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 5.6))
    for ax, (model, table) in zip(np.atleast_1d(axes), tables.items(), strict=True):
        plot_bias_amplification(table, group="man", ax=ax)
        ax.set_title(f"{model}: mean amplification {table['amplification'].mean():+.3f}")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="bench_out", help="folder for the PNG scatter plots")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=6000, help="synthetic rows")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lams", default="0.3,1,3",
                        help="lam grid, chosen per seed on a validation split (one value: "
                             "no selection)")
    parser.add_argument("--max-drop", type=float, default=1.0,
                        help="largest validation accuracy loss (points) allowed in selection")
    parser.add_argument("--pool", type=int, default=4096, help="descriptive pool size")
    parser.add_argument("--ebm-iter", type=int, default=400, help="DescriptiveModel max_iter")
    parser.add_argument("--tasks", default="synthetic,utkface")
    parser.add_argument("--models", default="aux-batch,aux-descriptive",
                        help="auxiliary models to compare with the baseline")
    parser.add_argument("--sampling", default="offline", choices=["offline", "online"],
                        help="descriptive sampling mode")
    parser.add_argument("--langevin-steps", type=int, default=None,
                        help="Langevin steps per descriptive draw (default: the model's)")
    parser.add_argument("--data-dir", default=None, help="default: skfair.utils.get_data_dir()")
    args = parser.parse_args(argv)
    args.lams = [float(v) for v in args.lams.split(",")]
    args.models = [m for m in args.models.split(",") if m]
    unknown = set(args.models) - {"aux-batch", "aux-descriptive"}
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results = []
    for task in args.tasks.split(","):
        t0 = time.perf_counter()
        if task == "synthetic":
            X, Y, gender, labels, n_pca = synthetic_task(args.n_samples)
        elif task == "utkface":
            data_dir = get_data_dir(args.data_dir)
            if not (data_dir / "utkface" / "images").is_dir():
                print(f"skipping utkface: {data_dir / 'utkface' / 'images'} is absent")
                continue
            X, Y, gender, labels, n_pca = utkface_task(data_dir)
        else:
            parser.error(f"unknown task {task!r}")
        share = {lab: float((gender[Y[:, k] == 1] == "man").mean()) for k, lab in
                 enumerate(labels)}
        print(f"[{task}] {len(Y)} rows, {Y.shape[1]} labels, {X.shape[1]} raw features, "
              f"men {np.mean(gender == 'man'):.3f}; share of men per label: "
              + ", ".join(f"{k}={v:.2f}" for k, v in share.items())
              + f" (loaded in {time.perf_counter() - t0:.1f}s)", flush=True)
        df, tables = run_task(task, X, Y, gender, labels, n_pca, args)
        results.append(df)
        png = out / f"bias_amplification_{task}.png"
        save_scatter(tables, f"{task}: training vs predicted bias towards men (seed 0)", png)
        print(f"  wrote {png}")
    if not results:
        return
    summary = summarize(pd.concat(results, ignore_index=True))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nmean over seeds (zhao_amp: mean +- std):")
        print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
