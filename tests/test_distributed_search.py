"""A grid search over ``lam`` and the weights fans out to joblib's backends.

The search of docs/scaling.md -- ``Pipeline(GroupResampler -> FairNetClassifier)`` in
``GridSearchCV`` over ``lam`` and the weighting, with routed sensitive features and
skfair's fairness scorer -- gives the same ``best_params_`` and ``cv_results_`` scores on
the sequential backend, on loky (``n_jobs=2``), on a local Dask cluster of two worker
processes and on a local Ray instance. The estimators, sampler and scorers need nothing
from the backend but pickling; scikit-learn hands the routing configuration to each
worker.
"""

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV

from skfair.estimators import FairNetClassifier
from skfair.metrics import make_fairness_scorer
from skfair.pipeline import Pipeline
from skfair.samplers import GroupResampler
from skfair.weighting import ClassBalancedWeighting

pytestmark = pytest.mark.slow

SCORES = ["mean_test_acc", "mean_test_eo", "split0_test_acc", "split1_test_acc",
          "split0_test_eo", "split1_test_eo"]


def make_data(n=300, seed=0):
    """Two groups of unequal size and noise, imbalanced classes."""
    rng = np.random.RandomState(seed)
    s = rng.choice(["a", "b"], size=n, p=[0.7, 0.3])
    y = (rng.uniform(size=n) < 0.3).astype(int)
    noise = np.where(s == "a", 0.5, 1.5)
    X = np.column_stack([(2 * y - 1) + noise * rng.normal(size=n),
                         (s == "a") + 0.1 * rng.normal(size=n), rng.normal(size=n)])
    return X.astype(np.float32), y, s


def make_search(n_jobs=None):
    pipe = Pipeline([
        ("resample", GroupResampler(random_state=0)),
        ("clf", FairNetClassifier(fairness="eo_l2", hidden_sizes=(16,), max_epochs=4, lr=0.02,
                                  batch_size=64, device="cpu", random_state=0)),
    ])
    return GridSearchCV(
        pipe, {"clf__lam": [0.0, 5.0], "clf__weighting": [None, ClassBalancedWeighting()]},
        scoring={"acc": "accuracy", "eo": make_fairness_scorer("equalized_odds_difference")},
        refit="acc", cv=2, n_jobs=n_jobs,
    )


def run_search(n_jobs=None, backend=None):
    X, y, s = make_data()
    with sklearn.config_context(enable_metadata_routing=True):
        if backend is None:
            return make_search(n_jobs).fit(X, y, sensitive_features=s)
        with joblib.parallel_backend(backend):
            return make_search(n_jobs).fit(X, y, sensitive_features=s)


@pytest.fixture(scope="module")
def sequential():
    return run_search()


def assert_same_search(search, reference):
    assert search.best_params_ == reference.best_params_
    for key in SCORES:
        np.testing.assert_allclose(search.cv_results_[key], reference.cv_results_[key],
                                   rtol=1e-6, err_msg=key)


def test_the_grid_is_not_trivial(sequential):
    # the candidates differ, so equal results below are not an accident of the grid
    assert len(set(np.round(sequential.cv_results_["mean_test_acc"], 6))) > 1
    assert np.all(sequential.cv_results_["mean_test_eo"] <= 0)


def test_loky_matches_sequential(sequential):
    assert_same_search(run_search(n_jobs=2), sequential)


def test_dask_local_cluster_matches_sequential(sequential):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        search = run_search(n_jobs=-1, backend="dask")
    assert_same_search(search, sequential)


def test_ray_matches_sequential(sequential, monkeypatch):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # no network
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=100 * 1024**2)
    try:
        register_ray()
        search = run_search(n_jobs=-1, backend="ray")
    finally:
        ray.shutdown()
    assert_same_search(search, sequential)
