"""Smoke test of ``benchmarks/probe_image_batches.py`` on the CPU: one row per input."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "probe_image_batches.py"


def _probe():
    spec = importlib.util.spec_from_file_location("probe_image_batches", SCRIPT)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    return probe


def test_probe_times_each_input(capsys):
    _probe().main(["--n", "10", "--image-size", "16", "--batch-size", "4", "--repeats", "2"])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(("float", "uint8"))]
    assert [r.split()[0] for r in rows] == ["float,", "float,", "uint8"]
    for row in rows:
        validation, first, last = (float(v) for v in row.split()[-3:])
        assert 0 <= validation <= first <= last


def test_probe_pin_memory_needs_cuda(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(SystemExit):
        _probe().main(["--pin-memory"])
