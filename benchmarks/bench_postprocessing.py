"""FairThresholdClassifier against fairlearn's ThresholdOptimizer (and OxonFair).

Speed: the time to fit the post-processing rule on 10,000 validation rows for
equalized odds, ours (``FairThresholdClassifier(prefit=True)``, deterministic
group thresholds at a tolerance) against fairlearn's
``ThresholdOptimizer(prefit=True, constraints="equalized_odds")`` (randomised
thresholds at exact parity), on the same rows, calls interleaved, median of
``--rounds`` calls each; target: ours at most 1/10 of ThresholdOptimizer's time.
Two kinds of rows:

* synthetic scores (a prefit scorer whose decision function is the score),
  2 and 10 groups;
* a LogisticRegression on Adult (``tabular/`` of skfair's data folder,
  :func:`skfair.utils.get_data_dir`, or of ``--data-dir``): sex (2 groups)
  and race x sex (10 groups).

Quality: on Adult (sex; race; race x sex), accuracy and equalized-odds
difference (:func:`skfair.metrics.equalized_odds_difference`) on the held-out
test part for the base model, ThresholdOptimizer and our rule at several
tolerances, deterministic and randomised (and OxonFair's ``FairPredictor`` with
``--oxonfair``, up to ``--oxonfair-max-groups`` groups: its search grows
exponentially with the groups), each fitted on the same 10,000 validation rows.
With ``--seeds k`` the quality figures are means over ``k`` random splits.

Run: ``python benchmarks/bench_postprocessing.py`` (about a minute on one
core; set ``OMP_NUM_THREADS=1`` for stable timings).
"""

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

from skfair.metrics import equalized_odds_difference
from skfair.postprocessing import FairThresholdClassifier
from skfair.utils import get_data_dir

N_VAL = 10_000
TOLERANCES = (0.01, 0.02, 0.05, 0.1)


class PrefitScores(ClassifierMixin, BaseEstimator):
    """A fitted binary 'classifier' whose decision function is column 0 of X."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        return np.asarray(X)[:, 0]

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def synthetic(n_groups, n=N_VAL, seed=0):
    """Scores whose distribution and base rate shift with the group."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, n)
    y = (rng.random(n) < 0.25 + 0.04 * g).astype(int)
    s = rng.normal(size=n) + 1.5 * y + 0.15 * g
    X = s.reshape(-1, 1)
    return PrefitScores().fit(X, y), X, y, g.astype(str)


def adult_parts(data_dir, attrs, seed=0):
    """LogisticRegression on half of Adult; 10,000 validation rows; the rest as test."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skfair.datasets import load_adult

    ds = load_adult(os.path.join(data_dir, "tabular"), split="both")
    X = pd.concat([ds.train.data, ds.test.data], ignore_index=True)
    y = np.concatenate([ds.train.target, ds.test.target])
    sens = pd.concat([ds.train.sensitive, ds.test.sensitive], ignore_index=True)
    S = sens[list(attrs)].astype(str).agg("/".join, axis=1).to_numpy()
    idx = np.random.default_rng(seed).permutation(len(y))
    half = len(y) // 2
    tr, va, te = idx[:half], idx[half:half + N_VAL], idx[half + N_VAL:]
    cat = X.select_dtypes("category").columns.tolist()
    num = [c for c in X.columns if c not in cat]
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore")), cat),
        (StandardScaler(), num))
    # float64: fairlearn 0.15 fails on float32 features under pandas 3
    Xt = pre.fit(X.iloc[tr]).transform(X).toarray().astype(np.float64)
    base = LogisticRegression(max_iter=2000).fit(Xt[tr], y[tr])
    return base, (Xt[va], y[va], S[va]), (Xt[te], y[te], S[te])


def fit_ours(est, X, y, S, tolerance=0.02):
    return FairThresholdClassifier(est, prefit=True, tolerance=tolerance).fit(
        X, y, sensitive_features=S)


def fit_theirs(est, X, y, S):
    method = "predict_proba" if hasattr(est, "predict_proba") else "decision_function"
    return ThresholdOptimizer(estimator=est, constraints="equalized_odds", prefit=True,
                              predict_method=method).fit(X, y, sensitive_features=S)


def time_pair(est, X, y, S, rounds):
    """Median / min seconds of ours and ThresholdOptimizer, calls interleaved."""
    t_ours, t_theirs = [], []
    fit_ours(est, X, y, S)  # warm-up (imports, caches) for both
    fit_theirs(est, X, y, S)
    for _ in range(rounds):
        start = time.perf_counter()
        fit_ours(est, X, y, S)
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        fit_theirs(est, X, y, S)
        t_theirs.append(time.perf_counter() - start)
    return np.median(t_ours), np.median(t_theirs), np.min(t_ours), np.min(t_theirs)


def quality(base, val, test, *, oxon, seed):
    """Test accuracy / EO of the base model, ThresholdOptimizer, our rule (thresholds
    and randomised) and, with ``oxon``, OxonFair, all fitted on ``val``."""
    Xv, yv, Sv = val
    Xte, yte, Ste = test
    rows = []

    def add(method, param, pred, seconds):
        rows.append({"method": method, "param": param, "seed": seed,
                     "accuracy": float((pred == yte).mean()),
                     "eo_difference": equalized_odds_difference(yte, pred,
                                                                sensitive_features=Ste),
                     "fit_s": seconds})

    add("base model", "", base.predict(Xte), 0.0)
    start = time.perf_counter()
    to = fit_theirs(base, Xv, yv, Sv)
    add("ThresholdOptimizer", "EO", to.predict(Xte, sensitive_features=Ste, random_state=seed),
        time.perf_counter() - start)
    for tol in TOLERANCES:
        start = time.perf_counter()
        ours = fit_ours(base, Xv, yv, Sv, tol)
        add("FairThresholdClassifier", f"tolerance={tol}", ours.predict(
            Xte, sensitive_features=Ste), time.perf_counter() - start)
    for tol in (0.0, 0.02):
        start = time.perf_counter()
        ours = FairThresholdClassifier(base, prefit=True, tolerance=tol, randomize=True,
                                       random_state=seed).fit(Xv, yv, sensitive_features=Sv)
        add("FairThresholdClassifier", f"randomize, tolerance={tol}", ours.predict(
            Xte, sensitive_features=Ste), time.perf_counter() - start)
    if oxon:
        import oxonfair

        for value in TOLERANCES:
            start = time.perf_counter()
            fp = oxonfair.FairPredictor(base, {"data": Xv, "target": yv, "groups": Sv})
            fp.fit(oxonfair.group_metrics.accuracy, oxonfair.group_metrics.equalized_odds,
                   value)
            seconds = time.perf_counter() - start
            add("OxonFair", f"EO<={value}", np.asarray(
                fp.predict({"data": Xte, "target": yte, "groups": Ste})), seconds)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=1,
                        help="random Adult splits averaged in the quality table")
    parser.add_argument("--oxonfair", action="store_true", help="add OxonFair's FairPredictor")
    parser.add_argument("--oxonfair-max-groups", type=int, default=2,
                        help="OxonFair only up to this many groups (its search grows "
                             "exponentially with them: minutes and GBs at 5)")
    parser.add_argument("--data-dir", default=str(get_data_dir()),
                        help="folder with tabular/adult.data (default: skfair's data folder)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    print(f"fit time on {N_VAL:,} validation rows, equalized odds (median of {args.rounds}, "
          "interleaved)")
    print(f"{'rows':<28}{'groups':>7}{'ours ms':>10}{'TO ms':>10}{'TO / ours':>11}"
          f"{'(fastest)':>11}")
    cases = [("synthetic scores", *synthetic(g)) for g in (2, 10)]
    have_adult = os.path.isdir(os.path.join(args.data_dir, "tabular"))
    adult = {}
    if have_adult:
        for attrs in (("sex",), ("race", "sex")):
            adult[attrs] = adult_parts(args.data_dir, attrs)
            base, (Xv, yv, Sv), _ = adult[attrs]
            cases.append((f"Adult, LR, {' x '.join(attrs)}", base, Xv, yv, Sv))
    else:
        print(f"(Adult not found under {args.data_dir}/tabular: synthetic rows only)")
    for name, est, X, y, S in cases:
        med_o, med_t, min_o, min_t = time_pair(est, X, y, S, args.rounds)
        print(f"{name:<28}{len(np.unique(S)):>7}{1e3 * med_o:>10.1f}{1e3 * med_t:>10.1f}"
              f"{med_t / med_o:>11.1f}{min_t / min_o:>11.1f}")

    if not have_adult:
        return
    for attrs in (("sex",), ("race",), ("race", "sex")):
        rows = []
        for seed in range(args.seeds):
            base, val, test = adult[attrs] if seed == 0 and attrs in adult else adult_parts(
                args.data_dir, attrs, seed)
            oxon = args.oxonfair and len(np.unique(val[2])) <= args.oxonfair_max_groups
            rows += quality(base, val, test, oxon=oxon, seed=seed)
        table = pd.DataFrame(rows).groupby(["method", "param"], sort=False)[
            ["accuracy", "eo_difference", "fit_s"]].mean()
        print(f"\nAdult, sensitive {' x '.join(attrs)}: test part "
              f"({len(test[1]):,} rows), mean over {args.seeds} split(s)")
        print(table.round(4).to_string())


if __name__ == "__main__":
    main()
