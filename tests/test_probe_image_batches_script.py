"""Smoke test of ``benchmarks/probe_image_batches.py`` on the CPU: one row per input."""

import pytest


def test_probe_times_each_input(capsys, benchmark_script):
    benchmark_script("probe_image_batches").main(
        ["--n", "10", "--image-size", "16", "--batch-size", "4", "--repeats", "2"])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(("float", "uint8"))]
    assert [r.split()[0] for r in rows] == ["float,", "float,", "uint8"]
    for row in rows:
        validation, first, last = (float(v) for v in row.split()[-3:])
        assert 0 <= validation <= first <= last


def test_probe_pin_memory_needs_cuda(monkeypatch, benchmark_script):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(SystemExit):
        benchmark_script("probe_image_batches").main(["--pin-memory"])
