"""One grid search over ``lam`` x weights on joblib's backends, side by side.

The search of docs/scaling.md: ``Pipeline(GroupResampler -> FairNetClassifier)`` in
``GridSearchCV`` over ``lam`` and the weighting, with routed sensitive features and
skfair's equalized-odds scorer, on synthetic data (two groups of unequal size and noise).
It runs with ``n_jobs=1``, on loky with ``n_jobs=2`` and on a local Dask cluster of two
worker processes (one thread each), optionally on Ray (``--ray``). Worker start-up --
starting the processes, importing skfair and fitting a tiny network in each (the imports
and first-call costs every worker pays once) -- is timed apart from the search: loky's
reusable workers are started and warmed by a first job, Dask's by ``client.run``. Ray's
joblib backend starts a new pool of actors for every ``Parallel`` call, so its search time
includes that pool's start-up (its start-up column: Ray itself and a first pool). The
sequential row's start-up is the same warm-up in this process.
Every backend must find the sequential run's ``best_params_`` and scores.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_search_backends.py

Measured: see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import sklearn
import torch
from sklearn.model_selection import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skfair.estimators import FairNetClassifier  # noqa: E402
from skfair.metrics import make_fairness_scorer  # noqa: E402
from skfair.pipeline import Pipeline  # noqa: E402
from skfair.samplers import GroupResampler  # noqa: E402
from skfair.weighting import ClassBalancedWeighting  # noqa: E402


def make_data(n, seed=0):
    """Two groups (70 / 30 %) with different noise, 30 % positives."""
    rng = np.random.RandomState(seed)
    s = rng.choice(["a", "b"], size=n, p=[0.7, 0.3])
    y = (rng.uniform(size=n) < 0.3).astype(int)
    noise = np.where(s == "a", 0.5, 1.5)
    X = np.column_stack([(2 * y - 1) + noise * rng.normal(size=n),
                         (s == "a") + 0.1 * rng.normal(size=n), rng.normal(size=(n, 6))])
    return X.astype(np.float32), y, s


def make_search(args, n_jobs):
    pipe = Pipeline([
        ("resample", GroupResampler(random_state=0)),
        ("clf", FairNetClassifier(fairness="eo_l2", hidden_sizes=(64,), max_epochs=args.epochs,
                                  lr=0.01, batch_size=128, device="cpu", random_state=0)),
    ])
    return GridSearchCV(
        pipe, {"clf__lam": [0.0, 1.0, 5.0], "clf__weighting": [None, ClassBalancedWeighting()]},
        scoring={"acc": "accuracy", "eo": make_fairness_scorer("equalized_odds_difference")},
        refit="acc", cv=args.cv, n_jobs=n_jobs,
    )


def _warm_up():
    """Run in a worker: import skfair and fit a tiny network once, which pays for the
    imports and the first-call costs (kernels compiled on first use) of the search."""
    import skfair.estimators
    import skfair.pipeline  # noqa: F401

    rng = np.random.RandomState(0)
    X, s = rng.normal(size=(64, 3)).astype(np.float32), rng.randint(0, 2, 64)
    skfair.estimators.FairNetClassifier(
        fairness="eo_l2", hidden_sizes=(4,), max_epochs=1, device="cpu").fit(
        X, (X[:, 0] > 0).astype(int), sensitive_features=s)
    time.sleep(0.5)  # hold this worker so that the other job starts the other one
    return os.getpid()


def timed_search(args, data, n_jobs, backend=None):
    X, y, s = data
    start = time.perf_counter()
    with sklearn.config_context(enable_metadata_routing=True):
        if backend is None:
            search = make_search(args, n_jobs).fit(X, y, sensitive_features=s)
        else:
            with joblib.parallel_backend(backend):
                search = make_search(args, n_jobs).fit(X, y, sensitive_features=s)
    return search, time.perf_counter() - start


def run_sequential(args, data):
    start = time.perf_counter()
    _warm_up()
    return time.perf_counter() - start - 0.5, *timed_search(args, data, None)


def run_loky(args, data):
    start = time.perf_counter()
    pids = joblib.Parallel(n_jobs=2)(joblib.delayed(_warm_up)() for _ in range(2))
    startup = time.perf_counter() - start - 0.5  # the warm-up job's own sleep
    if len(set(pids)) != 2:
        print(f"  (loky warm-up reached {len(set(pids))} worker(s) only)")
    return startup, *timed_search(args, data, 2)


def run_dask(args, data):
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.run(_warm_up)
        startup = time.perf_counter() - start - 0.5
        search, seconds = timed_search(args, data, -1, backend="dask")
    return startup, search, seconds


def run_ray(args, data):
    import ray
    from ray.util.joblib import register_ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        # (the warm-up runs in a pool of its own: Ray's joblib backend starts a new pool of
        # actors for every Parallel call, so the search row includes the pool's start-up)
        with joblib.parallel_backend("ray"):
            joblib.Parallel(n_jobs=-1)(joblib.delayed(_warm_up)() for _ in range(2))
        startup = time.perf_counter() - start - 0.5
        search, seconds = timed_search(args, data, -1, backend="ray")
    finally:
        ray.shutdown()
    return startup, search, seconds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="rows")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--backends", default="sequential,loky,dask",
                        help="comma-separated: sequential, loky, dask, ray")
    parser.add_argument("--ray", action="store_true", help="add the Ray row")
    return parser.parse_args(argv)


RUNNERS = {"sequential": run_sequential, "loky": run_loky, "dask": run_dask, "ray": run_ray}
LABELS = {"sequential": "n_jobs=1", "loky": "loky, n_jobs=2", "dask": "Dask, 2 workers",
          "ray": "Ray, 2 CPUs"}


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)  # the sequential run on one core, as each worker
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.ray and "ray" not in backends:
        backends.append("ray")
    data = make_data(args.n)
    n_fits = 6 * args.cv + 1
    print(f"GridSearchCV(Pipeline(GroupResampler -> FairNetClassifier)): 6 candidates x "
          f"{args.cv} folds + refit = {n_fits} fits, {args.n} rows, MLP (64,), "
          f"{args.epochs} epochs")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; torch {torch.__version__}, "
          f"scikit-learn {sklearn.__version__}, joblib {joblib.__version__}")
    print(f"{'backend':<18}{'start-up s':>11}{'search s':>10}{'total s':>9}  best_params_ "
          "(same scores as n_jobs=1?)")
    reference = None
    for name in backends:
        startup, search, seconds = RUNNERS[name](args, data)
        if reference is None:
            reference = search
        same = (search.best_params_ == reference.best_params_ and all(
            np.allclose(search.cv_results_[k], reference.cv_results_[k], rtol=1e-6)
            for k in ("mean_test_acc", "mean_test_eo")))
        best = {k.split("__", 1)[1]: v for k, v in search.best_params_.items()}
        print(f"{LABELS[name]:<18}{startup:>11.1f}{seconds:>10.1f}{startup + seconds:>9.1f}  "
              f"{best} ({'yes' if same else 'NO'})")


if __name__ == "__main__":
    main()
