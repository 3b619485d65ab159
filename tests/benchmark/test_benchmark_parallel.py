"""`run_benchmark(n_jobs=...)`, `skfair benchmark --n-jobs`: the sequential run's results."""

import numpy as np
import pandas as pd
import pytest

from skfair.__main__ import main
from skfair.benchmark import DataConfig, prepare_data, run_benchmark

METHODS = ["baseline", "fairnet_eo_l2", "affirmative_action", "postprocess_eo",
           "fairlearn_to_eo", "pixel_inversion"]
TIMING = ("fit_time_s", "predict_time_s", "search_time_s")


@pytest.fixture(scope="module")
def data():
    return prepare_data(DataConfig(quick=True, n_samples=300), log=lambda s: None)


def _comparable(frame):
    return frame.drop(columns=[c for c in frame.columns if c in TIMING]).reset_index(drop=True)


@pytest.fixture(scope="module")
def sequential(data):
    return run_benchmark(data, METHODS, quick=True, log=lambda s: None)


def _assert_same(a, b):
    pd.testing.assert_frame_equal(_comparable(a.results), _comparable(b.results))
    pd.testing.assert_frame_equal(_comparable(a.path), _comparable(b.path))
    assert a.best == b.best and a.notes.keys() == b.notes.keys()
    for name in a.predictions:
        np.testing.assert_array_equal(a.predictions[name], b.predictions[name])


def test_worker_processes_give_the_sequential_results(data, sequential):
    lines = []
    par = run_benchmark(data, METHODS, quick=True, n_jobs=2, log=lines.append)
    assert (par.results["status"] == "ok").all()
    _assert_same(sequential, par)
    # affirmative action read the baseline fitted in this process
    assert "affirmative_action" in par.notes
    # progress lines in the methods' order
    order = [line.split("]")[1].split()[0] for line in lines if line.startswith("[")]
    assert order == METHODS


def test_a_failing_method_in_a_worker_is_reported(data, monkeypatch):
    """(Threads as workers, so that they see the patched registry.)"""
    from joblib import parallel_config

    import skfair.benchmark._methods as m

    def broken(ctx, value):
        raise RuntimeError("boom")

    monkeypatch.setitem(m.METHODS, "logreg", m.METHODS["logreg"].__class__(
        **{**m.METHODS["logreg"].__dict__, "build": broken}))
    with parallel_config(backend="threading"):
        res = run_benchmark(data, ["baseline", "logreg", "fairnet_eo_l2"], quick=True,
                            n_jobs=2, log=lambda s: None)
    status = res.results.set_index("method")["status"]
    assert status["logreg"] == "failed: RuntimeError: boom" and status["fairnet_eo_l2"] == "ok"


def test_dask_local_cluster_gives_the_sequential_results(data, sequential):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    from joblib import parallel_config

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster):
        with parallel_config(backend="dask"):
            par = run_benchmark(data, METHODS, quick=True, n_jobs=2, log=lambda s: None)
    _assert_same(sequential, par)


def test_cli_n_jobs_and_backend(tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "o"
    args = ["benchmark", "--quick", "--n-samples", "200", "--methods",
            "baseline,logreg,fairnet_dp_l2", "--out", str(out), "--no-cache"]
    assert main(args + ["--n-jobs", "2", "--backend", "dask"]) == 0
    assert "methods on Dask" in capsys.readouterr().out
    seq = pd.read_csv(out / "results.csv")
    assert main(args) == 0
    pd.testing.assert_frame_equal(_comparable(seq), _comparable(pd.read_csv(out / "results.csv")))
    assert main(args + ["--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler needs --backend dask or ray" in capsys.readouterr().err
