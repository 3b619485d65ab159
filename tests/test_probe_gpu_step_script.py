"""Smoke test of ``benchmarks/probe_gpu_step.py`` on the CPU: it profiles each requested
step and prints its operator count (kernel and sync columns need CUDA)."""

import pytest


@pytest.mark.parametrize("harness", ["bare", "estimator"])
def test_probe_counts_the_operators_of_each_step(capsys, benchmark_script, harness):
    probe = benchmark_script("probe_gpu_step")
    probe.main(["--device", "cpu", "--dim", "16", "--hidden", "8", "--batch", "32",
                "--harness", harness, "--losses", "ce", "dp_l2"])
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0] in ("ce", "dp_l2"):
            rows[parts[0]] = parts
    assert set(rows) == {"ce", "dp_l2"}
    assert rows["ce"][1] == rows["dp_l2"][1] == "ce"
    # the penalty adds operators to the plain step; no kernels and no sync check on a CPU
    assert float(rows["dp_l2"][3]) > float(rows["ce"][3]) > 0
    assert rows["ce"][2] == "0.0" and rows["ce"][5] == "-"


def test_probe_refuses_a_compiled_step(benchmark_script):
    with pytest.raises(SystemExit):
        benchmark_script("probe_gpu_step").main(["--device", "cpu", "--compile"])
