"""group_report against fairlearn's MetricFrame, measured side by side.

Per-group accuracy, selection rate and true positive rate on 1,000,000 rows
and 50 intersectional groups (race x age: 5 x 10), for three common ways of
holding the sensitive attributes (categorical, integer and string columns).
Prints, for each, the speed ratio MetricFrame / group_report at 1M rows
(target >= 100) and group_report's time ratio 1M rows / 100k rows (target
<= 11, i.e. linear), and checks that both give the same numbers. Times are
medians of 11 interleaved calls (MetricFrame: one call); the ratio of the
fastest calls is printed too.

Run: ``python benchmarks/bench_metrics.py`` (about a minute; MetricFrame
takes several seconds per call on 1M rows).
"""

import time
import warnings
from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score

from skfair.metrics import group_report

RACES = np.array(["White", "Black", "Asian", "Indian", "Other"])
AGES = np.array([f"{10 * k}-{10 * k + 9}" for k in range(10)])
METRICS = ("accuracy", "selection_rate", "true_positive_rate")


def make_data(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    race, age = rng.integers(0, 5, n), rng.integers(0, 10, n)
    if kind == "categorical":
        sf = pd.DataFrame({"race": pd.Categorical.from_codes(race, RACES),
                           "age": pd.Categorical.from_codes(age, AGES)})
    elif kind == "int":
        sf = pd.DataFrame({"race": race, "age": age})
    else:
        sf = pd.DataFrame({"race": RACES[race], "age": AGES[age]})
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.8, y_true, 1 - y_true)
    return y_true, y_pred, sf


def median_times(funcs, repeat):
    """Median wall time of each function, the calls interleaved round-robin.

    Interleaving (1M, 100k, 1M, ...) keeps the small input from staying hot in
    the CPU caches between its own calls, which would time a situation that
    does not happen in use; the median resists other load on the machine.
    """
    times = [[] for _ in funcs]
    outs = [None] * len(funcs)
    for _ in range(repeat):
        for k, func in enumerate(funcs):
            start = time.perf_counter()
            outs[k] = func()
            times[k].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times], [float(np.min(t)) for t in times], outs


def ours(y_true, y_pred, sf):
    return group_report(y_true, y_pred, sensitive_features=sf, metrics=METRICS,
                        marginals=False, overall=False)


def theirs(y_true, y_pred, sf):
    return MetricFrame(
        metrics={"accuracy": accuracy_score, "selection_rate": selection_rate,
                 "true_positive_rate": true_positive_rate},
        y_true=y_true, y_pred=y_pred, sensitive_features=sf,
    )


def measure(kind):
    y_true, y_pred, sf = make_data(1_000_000, kind)
    small = make_data(100_000, kind)
    (t_ours, t_small), (b_ours, b_small), (report, _) = median_times(
        [partial(ours, y_true, y_pred, sf), partial(ours, *small)], repeat=11
    )
    (t_theirs,), _, (mf,) = median_times([partial(theirs, y_true, y_pred, sf)], repeat=1)
    mine = report.set_index(["race", "age"])[list(METRICS)].astype(float)
    by_group = mf.by_group.astype(float)
    diff = float(np.abs(mine.loc[by_group.index].to_numpy() - by_group.to_numpy()).max())
    return {
        "sensitive columns": kind,
        "groups": len(report),
        "group_report 1M [ms]": 1e3 * t_ours,
        "MetricFrame 1M [s]": t_theirs,
        "speed ratio (>=100)": t_theirs / t_ours,
        "group_report 100k [ms]": 1e3 * t_small,
        "1M/100k time ratio (<=11)": t_ours / t_small,
        "1M/100k ratio of fastest calls": b_ours / b_small,
        "max |difference|": diff,
    }


def main():
    warnings.simplefilter("ignore")
    table = pd.DataFrame([measure(kind) for kind in ("categorical", "int", "str")])
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3g}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
