"""``skfair benchmark``: the quick end-to-end run and the one-line errors."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from skfair._cli import main
from skfair.benchmark import CLASSIFICATION_METRICS, METHODS

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "quick"
    status = main(["benchmark", "--quick", "--out", str(out), "--quiet", "--threads", "1"])
    return status, out


def test_quick_run_writes_every_output(quick_run):
    status, out = quick_run
    assert status == 0
    for name in ("results.csv", "path.csv", "report.md", "pareto.png",
                 "heatmap_baseline.png", "heatmap_best.png"):
        assert (out / name).is_file(), name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC


def test_quick_run_results_table(quick_run):
    _, out = quick_run
    res = pd.read_csv(out / "results.csv")
    # every method that applies to a binary image task ran; the rest are reported skipped
    applicable = [n for n, m in METHODS.items() if "binary" in m.kinds]
    assert set(res["method"]) == set(applicable)
    assert (res["status"] == "ok").all(), res.loc[res["status"] != "ok", ["method", "status"]]
    for col in [*CLASSIFICATION_METRICS, "fit_time_s", "predict_time_s", "search_time_s"]:
        assert col in res.columns, col
        assert res[col].notna().all(), col
    assert res["accuracy"].between(0, 1).all()
    assert res["eo_difference"].between(0, 1).all()
    assert (res["fit_time_s"] > 0).all()
    # tuned methods report the chosen value from their grid
    tuned = res[res["param"] == "lam"]
    assert len(tuned) >= 5
    for _, row in tuned.iterrows():
        assert f"{row['value']:g}" in row["grid"].split(",")
    # the lam path holds one row per candidate (two per tuned method in quick mode)
    path = pd.read_csv(out / "path.csv")
    assert (path[path["method"] == "fairnet_eo_l2"].shape[0]) == 2


def test_quick_run_report_content(quick_run):
    _, out = quick_run
    text = (out / "report.md").read_text()
    for needle in ("## Selection rule", "## Machine", "torch", "raw pixels", "grid_size=",
                   "fairlearn_eg_eo", "![pareto](pareto.png)", "not run"):
        assert needle in text, needle
    res = pd.read_csv(out / "results.csv").set_index("method")
    # the table shows the measured numbers, not placeholders
    assert f"{res.loc['baseline', 'accuracy']:.3f}" in text


def _error_of(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.mark.parametrize("argv, needle", [
    (["benchmark", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["benchmark", "--methods", "baseline,magic"], "unknown method(s) ['magic']"),
    (["benchmark", "--dataset", "utkface", "--data-dir", "/nonexistent/skfair"],
     "does not exist"),
    (["benchmark", "--task", "age"], "unknown task 'age'"),
    (["benchmark", "--sensitive", "race"], "unknown sensitive attribute(s) ['race']"),
    (["benchmark", "--select-metric", "accuracy", "--quick", "--methods", "baseline"],
     "--select-metric"),
    (["benchmark", "--seed", "x"], "invalid int value"),
    (["benchmark", "--device", "tpu"], "--device must be"),
    (["benchmark", "--threads", "0"], "argument --threads: expected an integer >= 1"),
    (["benchmark", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    (["benchmark", "--n-samples", "-5"], "argument --n-samples: expected an integer >= 1"),
])
def test_bad_arguments_one_line(capsys, argv, needle):
    status, err = _error_of(capsys, argv + ["--quiet"])
    assert status == 2
    assert needle in err
    assert err.startswith("skfair: error: ")
    assert "\n" not in err and "Traceback" not in err


def test_missing_dataset_folder_inside_data_dir(capsys, tmp_path):
    status, err = _error_of(capsys, ["benchmark", "--dataset", "compas", "--data-dir",
                                     str(tmp_path), "--quiet"])
    assert status == 2
    assert "no compas files" in err and "\n" not in err


def test_cuda_without_cuda(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    status, err = _error_of(capsys, ["benchmark", "--device", "cuda", "--quiet"])
    assert status == 2
    assert "CUDA is not available" in err and "\n" not in err


def test_module_entry_point_errors_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "skfair", "benchmark", "--methods", "nope"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("skfair: error: unknown method(s) ['nope']")
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_list_methods(capsys):
    assert main(["benchmark", "--list-methods"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in METHODS)


def test_summary_still_works(capsys):
    assert main(["summary"]) == 0
    assert "colour" in capsys.readouterr().out


def test_local_checkpoint_weights(tmp_path):
    import torch
    import torchvision

    ckpt = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), ckpt)
    out = tmp_path / "w"
    status = main(["benchmark", "--quick", "--weights", str(ckpt), "--backbone", "resnet18",
                   "--methods", "baseline,fairnet_eo_l2", "--out", str(out), "--no-cache",
                   "--quiet"])
    assert status == 0
    text = (out / "report.md").read_text()
    assert "resnet18 with weights" in text and str(ckpt) in text
    res = pd.read_csv(out / "results.csv")
    assert (res["status"] == "ok").all()


def test_missing_checkpoint_is_one_line(capsys, tmp_path):
    status, err = _error_of(capsys, ["benchmark", "--quick", "--weights",
                                     str(tmp_path / "none.pt"), "--methods", "baseline",
                                     "--no-cache", "--out", str(tmp_path / "o"), "--quiet"])
    assert status == 2 and "--weights" in err and "\n" not in err


def test_utkface_quick_run(utkface_dir, tmp_path):
    out = tmp_path / "utk"
    status = main(["benchmark", "--dataset", "utkface", "--data-dir", str(utkface_dir),
                   "--sensitive", "race,gender", "--quick", "--features", "backbone",
                   "--methods",
                   "baseline,fairnet_eo_l2,attribute_aware,fairlearn_eg_eo", "--out", str(out),
                   "--quiet"])
    assert status == 0
    res = pd.read_csv(out / "results.csv")
    assert list(res["method"]) == ["baseline", "fairnet_eo_l2", "fairlearn_eg_eo"]
    text = (out / "report.md").read_text()
    # the target is one of the attributes: the attribute-aware model would see the label
    assert "`attribute_aware` not run" in text and "handed the label" in text
    assert "trained from scratch" in text and "training split only" in text
    assert (out / "heatmap_baseline.png").is_file()


def _blas_threads():
    from threadpoolctl import threadpool_info

    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def _spy_threads(monkeypatch):
    """Record the torch and BLAS threads that data preparation and the methods see."""
    import torch

    import skfair.benchmark as bench

    seen = {}
    prepare = bench.prepare_data

    def spy_prepare(cfg, **kw):
        seen["prepare"] = torch.get_num_threads(), _blas_threads()
        return prepare(cfg, **kw)

    def spy_run(data, methods, **kw):
        seen["methods"] = torch.get_num_threads(), _blas_threads()
        raise KeyboardInterrupt  # stop before the methods run

    monkeypatch.setattr(bench, "prepare_data", spy_prepare)
    monkeypatch.setattr(bench, "run_benchmark", spy_run)
    return seen


def test_threads_limit_torch_and_blas_alike_then_restore(tmp_path, monkeypatch):
    import torch

    seen = _spy_threads(monkeypatch)
    torch_before, blas_before = torch.get_num_threads(), _blas_threads()
    assert main(["benchmark", "--threads", "1", "--quiet", "--out", str(tmp_path),
                 "--quick"]) == 130
    for torch_threads, blas in seen.values():
        assert torch_threads == 1
        assert blas <= {1}  # every BLAS pool loaded (numpy's at least) runs one thread
    assert torch.get_num_threads() == torch_before and _blas_threads() == blas_before


def test_default_threads_one_for_the_methods_on_cpu(tmp_path, monkeypatch):
    """Without --threads the small models run with one thread (no oversubscription);
    the features keep the libraries' own settings."""
    import torch

    seen = _spy_threads(monkeypatch)
    before = torch.get_num_threads(), _blas_threads()
    assert main(["benchmark", "--quiet", "--out", str(tmp_path), "--quick",
                 "--device", "cpu"]) == 130
    assert seen["prepare"] == before
    assert seen["methods"][0] == 1 and seen["methods"][1] <= {1}
    assert (torch.get_num_threads(), _blas_threads()) == before


def test_report_states_the_threads(quick_run):
    _, out = quick_run
    text = (out / "report.md").read_text()
    assert "torch threads 1" in text and "BLAS threads 1" in text


def test_attribute_missing_from_the_labels_is_one_line(capsys, fairface_dir, tmp_path):
    """The shared FairFace-540 has no race labels: a one-line error, not a KeyError."""
    status, err = _error_of(capsys, ["benchmark", "--dataset", "fairface", "--data-dir",
                                     str(fairface_dir), "--quick", "--sensitive", "race",
                                     "--methods", "baseline", "--no-cache", "--quiet",
                                     "--out", str(tmp_path / "o")])
    if status == 0:
        pytest.skip("these FairFace labels have race")
    assert status == 2 and "no 'race' attribute" in err and "\n" not in err
