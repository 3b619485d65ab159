"""Smoke test of ``benchmarks/probe_adversary_calls.py``: both adversaries' calls are timed
and printed (no timing is asserted)."""

import math


def test_every_call_is_timed_for_both_adversaries(benchmark_script, capsys):
    probe = benchmark_script("probe_adversary_calls")
    probe.main(["--rounds", "2"])
    out = capsys.readouterr().out
    assert "default adversary, 256->64" in out and "linear adversary, 256->4" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert len(rows) == 8  # four calls per adversary
    for parts in rows:
        in_step, alone = float(parts[-2]), float(parts[-1])
        assert math.isfinite(in_step) and in_step > 0 and math.isfinite(alone) and alone > 0


def test_calls_are_the_first_layers_forward_and_backward(benchmark_script):
    probe = benchmark_script("probe_adversary_calls")
    ops = probe.calls(width=8, hidden=3, batch=5)
    shapes = {name: tuple(op().shape) for name, op in ops.items()}
    assert shapes == {"forward addmm": (5, 3), "weight gradient": (3, 8),
                      "bias gradient": (3,), "embedding gradient": (5, 8)}
