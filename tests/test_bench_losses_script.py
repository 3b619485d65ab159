"""Smoke test of ``benchmarks/bench_losses.py``: every loss is timed and printed for both
networks. No timing is asserted (timings belong to the benchmark's own output)."""

import math

TINY = ["--dim", "16", "--hidden", "8", "--batch", "16", "--image-size", "16", "--rounds",
        "2", "--steps", "1", "--warmup", "1", "--threads", "1"]


def _rows(out):
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[1] in ("cross_entropy", "binary_cross_entropy", "l1"):
            rows.setdefault(parts[0], []).append(parts)
    return rows


def test_every_loss_is_timed_on_both_networks(benchmark_script, capsys):
    bench = benchmark_script("bench_losses")
    bench.main(TINY)
    out = capsys.readouterr().out
    assert "module=mlp" in out and "module=resnet18" in out
    rows = _rows(out)
    assert set(rows) == set(bench.LOSSES)
    for name, printed in rows.items():
        assert len(printed) == 2  # one row per network
        for parts in printed:
            assert parts[1] == bench.BASELINES.get(name, "cross_entropy")
            assert all(math.isfinite(float(v)) and float(v) > 0 for v in parts[2:]), parts
    assert "target" not in out and "OVER" not in out
