"""The ensemble of experts on real faces, stage by stage, against the plain regressor.

Age regression on UTKFace (``utkface-full``) with dlib's 128-d face descriptors, through
the benchmark's data layer (the 60/20/20 split stratified on age and attributes, the
standardised features, sensitive race x gender): the ensemble of experts of the ChaLearn
fair age estimation entry (:class:`skfair.ensemble.ExpertEnsembleRegressor`), each stage
against the benchmark's plain head (``baseline``: :class:`skfair.estimators.FairNetRegressor`,
MLP 64, L1 loss). Every expert is that same head. Run (about 5 minutes per seed on one
free CPU core once the descriptors are cached)::

    SKFAIR_CACHE_DIR=<descriptor cache> PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/exp_ensemble_faces.py --seeds 0 1 2

Rows, per seed (the seed draws the split and seeds every network):

* ``baseline``: the plain head;
* ``before``: the benchmark's former ``expert_ensemble`` (a plain expert, one per
  attribute weighted on it alone, one on the race x gender cells, an unweighted
  ``RidgeCV`` combiner) on the unshuffled ``KFold(3)`` an int ``cv`` used to mean; the
  training rows come in file order, and UTKFace's file names start with the age;
* ``former expert_ensemble, shuffled folds``: the same with the shuffled folds an int
  ``cv`` now draws (and, printed below the table, the plain head's out-of-fold MAE on the
  training rows with either folds: what the combiner learns from);
* ``stage 2 <expert>``: each expert alone, fitted on all training rows: ``plain``, one per
  attribute weighted on it and on the age group (the entry's custom loss 1b), ``age_years``
  weighted per year of age (loss 1a);
* ``stage 2 + combiner (refit)``: those experts stacked by a ``RidgeCV`` fitted on their
  out-of-fold predictions (shuffled 5 folds), weighted on the age groups;
* ``stage 3 joint fine-tune``: that ensemble, experts and combiner then trained together
  with loss 1b (every attribute and the age group), 10 epochs, Adam 1e-4, as the entry's
  third stage (:mod:`skfair.ensemble._joint`);
* ``stage 2 <expert> (fold mean)`` / ``stage 2 + combiner (fold mean)``: the same
  ensemble with ``refit=False``, each expert the mean of its 5 fold models: the
  benchmark's ``expert_ensemble`` (:func:`skfair.benchmark._methods.age_expert_ensemble`);
* ``combiner <weighting> (fold mean)``: the same fold models, other weightings of the
  combiner, refitted on the very same out-of-fold predictions: the choice of the age-group
  weighting was made on these rows' validation figures.

Metrics (:func:`skfair.benchmark.compute_metrics`): MAE and the ChaLearn bias
(:func:`skfair.metrics.chalearn_bias`) of gender, race and the true age group, each alone,
and their mean; ``mae_bias`` is over the race x gender cells (the benchmark's selection
metric). The summary gives test means +/- standard deviations over seeds, the change of
MAE and of the mean bias against the baseline of the same seed, and the validation MAE and
mean bias the choices were made on.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "utkface-full"
BIAS = ["mae_bias_gender", "mae_bias_race", "mae_bias_age", "mae_bias_mean"]


def _log(msg):
    print(msg, flush=True)


def evaluate(data, model, name, seed, fit_s, rows):
    """Validation and test metrics of ``model`` (anything with ``predict(X)``)."""
    from skfair.benchmark import compute_metrics
    from skfair.benchmark._runner import _bias_attributes

    row = {"seed": seed, "model": name, "fit_s": round(fit_s, 1)}
    for part in ("val", "test"):
        X, y, S = (getattr(data, f"{k}_{part}") for k in ("X", "y", "S"))
        pred = model.predict(X)
        m = compute_metrics("regression", y, pred, S,
                            attributes=_bias_attributes(data, getattr(data, f"attributes_{part}")))
        prefix = "" if part == "test" else "val_"
        row.update({prefix + k: m[k] for k in ("mae", "mae_bias", *BIAS)})
    rows.append(row)
    _log(f"  seed {seed} {name:44s} test MAE {row['mae']:.3f}  mean bias "
         f"{row['mae_bias_mean']:.3f}  (val {row['val_mae']:.3f} / "
         f"{row['val_mae_bias_mean']:.3f})  {fit_s:.0f}s")


class _Stacked:
    """Fold-mean experts of a fitted ``refit=False`` ensemble with another combiner."""

    def __init__(self, ensemble, combiner):
        self.ensemble, self.combiner = ensemble, combiner

    def predict(self, X):
        return self.combiner.predict(self.ensemble.transform(X))


def out_of_fold(ensemble, X, y):
    """The combiner's training matrix of a fitted ``refit=False`` ensemble, rebuilt from
    its fold models and its (seeded) folds."""
    Z = np.empty((len(y), len(ensemble.experts_)))
    for j, (_, test) in enumerate(ensemble._splitter(y).split(X, y)):
        for i, expert in enumerate(ensemble.experts_):
            Z[test, i] = expert.estimators[j].predict(X[test])
    return Z


def run_seed(args, seed, rows, diagnostics):
    from sklearn.base import clone
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    from skfair.benchmark import METHODS, DataConfig, MethodContext, prepare_data
    from skfair.benchmark._methods import _fairnet, age_expert_ensemble, head_params
    from skfair.ensemble import ExpertEnsembleRegressor
    from skfair.ensemble._joint import joint_finetune
    from skfair.weighting import SupportWeighting

    data = prepare_data(DataConfig(
        dataset="utkface", data_dir=str(args.data_dir), task="age",
        sensitive=tuple(args.sensitive.split(",")), seed=seed, cache_dir=args.cache_dir,
    ), log=_log if seed == args.seeds[0] else (lambda s: None))
    ctx = MethodContext(data=data, seed=seed,
                        head=head_params("regression", len(data.y_train), seed=seed))
    X, y, S = data.X_train, data.y_train, data.S_train

    def fit(model, **kw):
        t0 = time.perf_counter()
        model.fit(X, y, **kw)
        return model, time.perf_counter() - t0

    base, t = fit(METHODS["baseline"].build(ctx, None).estimator)
    evaluate(data, base, "baseline", seed, t, rows)

    if not args.skip_before:
        old = [("plain", _fairnet(ctx), None)]
        old += [(a, _fairnet(ctx), SupportWeighting(attributes=[a]))
                for a in data.sensitive_names]
        old.append(("intersection", _fairnet(ctx), SupportWeighting(scheme="intersectional")))
        before, t = fit(ExpertEnsembleRegressor(old, cv=KFold(3), random_state=seed),
                        sensitive_features=S)
        evaluate(data, before, "before: former expert_ensemble, KFold(3)", seed, t, rows)
        shuffled, t = fit(clone(before).set_params(cv=3), sensitive_features=S)
        evaluate(data, shuffled, "former expert_ensemble, shuffled folds", seed, t, rows)
        # what the combiner learned from: the plain head's out-of-fold predictions
        for name, cv in (("unshuffled KFold(3)", KFold(3)),
                         ("shuffled KFold(3)", KFold(3, shuffle=True, random_state=seed))):
            oof = cross_val_predict(_fairnet(ctx), X, y, cv=cv)
            diagnostics.append({"seed": seed, "out-of-fold predictions of the plain head": name,
                                "MAE": np.abs(oof - y).mean()})
            _log(f"  seed {seed} plain head, out-of-fold MAE with {name}: "
                 f"{diagnostics[-1]['MAE']:.3f}")

    chosen = age_expert_ensemble(ctx)  # refit=False: the benchmark's expert_ensemble
    refit, t = fit(clone(chosen).set_params(refit=True), sensitive_features=S)
    for name, expert in refit.named_experts_.items():
        evaluate(data, expert, f"stage 2 {name}", seed, 0.0, rows)
    diagnostics.append({"seed": seed, "out-of-fold predictions of the plain head":
                        "none: in sample (the plain expert refitted on all of them)",
                        "MAE": np.abs(refit.named_experts_["plain"].predict(X) - y).mean()})
    evaluate(data, refit, "stage 2 + combiner (refit)", seed, t, rows)
    joint = copy.deepcopy(refit)
    t0 = time.perf_counter()
    joint_finetune(joint, X, y, SupportWeighting(target="binned").get_weights(S, y), S)
    evaluate(data, joint, "stage 3 joint fine-tune (loss 1b)", seed,
             t + time.perf_counter() - t0, rows)

    bagged, t = fit(chosen, sensitive_features=S)
    for name, expert in bagged.named_experts_.items():
        evaluate(data, expert, f"stage 2 {name} (fold mean)", seed, 0.0, rows)
    evaluate(data, bagged, "stage 2 + combiner (fold mean) = expert_ensemble", seed, t, rows)
    Z = out_of_fold(bagged, X, y)
    assert np.allclose(RidgeCV().fit(Z, y, sample_weight=bagged.final_weighting_.get_weights(
        S, y)).coef_, bagged.final_estimator_.coef_)  # the same matrix the ensemble used
    for wname, w in (("none", None), ("loss 1b", SupportWeighting(target="binned")),
                     ("age year (1a)", SupportWeighting(attributes=[], target="year"))):
        weights = None if w is None else w.get_weights(S, y)
        evaluate(data, _Stacked(bagged, RidgeCV().fit(Z, y, sample_weight=weights)),
                 f"combiner weighted {wname} (fold mean)", seed, 0.0, rows)


def summarise(rows):
    df = pd.DataFrame(rows)
    base = df[df["model"] == "baseline"].set_index("seed")
    out = []
    for name, g in df.groupby("model", sort=False):
        g = g.set_index("seed")
        d_mae = g["mae"] - base["mae"].reindex(g.index)
        rel = 100 * (g["mae_bias_mean"] / base["mae_bias_mean"].reindex(g.index) - 1)
        val_rel = 100 * (g["val_mae_bias_mean"] / base["val_mae_bias_mean"].reindex(g.index)
                         - 1)
        d_val = g["val_mae"] - base["val_mae"].reindex(g.index)

        def ms(s, digits=3):
            return f"{s.mean():.{digits}f} ± {s.std(ddof=1):.{digits}f}" if len(s) > 1 else \
                f"{s.mean():.{digits}f}"

        out.append({
            "model": name, "MAE": ms(g["mae"]), "ΔMAE": ms(d_mae),
            "bias gender": ms(g["mae_bias_gender"]), "bias race": ms(g["mae_bias_race"]),
            "bias age group": ms(g["mae_bias_age"]), "mean bias": ms(g["mae_bias_mean"]),
            "Δ mean bias %": ms(rel, 1), "race x gender": ms(g["mae_bias"]),
            "val ΔMAE": ms(d_val), "val Δ mean bias %": ms(val_rel, 1),
            "fit s": f"{g['fit_s'].mean():.0f}",
        })
    return pd.DataFrame(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("SKFAIR_FACES_DIR", DEFAULT_DATA))
    p.add_argument("--cache-dir", default=None,
                   help="descriptor cache (default: $SKFAIR_CACHE_DIR or ~/.cache/skfair)")
    p.add_argument("--sensitive", default="race,gender")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-before", action="store_true",
                   help="leave out the former configuration (16 fits a seed)")
    p.add_argument("--out", default=None, help="write rows.csv and summary.md here")
    args = p.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import torch
    from threadpoolctl import threadpool_limits

    from skfair._cli import default_cache_dir

    args.cache_dir = args.cache_dir or str(default_cache_dir())
    torch.set_num_threads(args.threads)
    rows, diagnostics = [], []
    t0 = time.perf_counter()
    with threadpool_limits(args.threads):
        for seed in args.seeds:
            run_seed(args, seed, rows, diagnostics)
            _log(f"seed {seed} done ({time.perf_counter() - t0:.0f}s)")
    table = summarise(rows)
    text = "\n".join([
        f"# UTKFace age, dlib face descriptors; sensitive {args.sensitive}; seeds {args.seeds}",
        "", f"Command: `python benchmarks/exp_ensemble_faces.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`", "",
        "Test split, mean ± std over seeds; Δ against the baseline of the same seed; the "
        "last columns are the validation rows the choices were made on.", "",
        table.to_markdown(index=False), ""])
    if diagnostics:
        diag = (pd.DataFrame(diagnostics).groupby("out-of-fold predictions of the plain head",
                                                  sort=False)["MAE"]
                .agg(["mean", "std"]).round(3).reset_index())
        text += "\n".join(["", "MAE on the training rows, mean and std over seeds:",
                           "", diag.to_markdown(index=False), ""])
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(out / "rows.csv", index=False)
        (out / "summary.md").write_text(text)
    return table


if __name__ == "__main__":
    main()
