"""Smoke test of ``benchmarks/bench_postprocessing.py`` on its synthetic rows.

Runs ``main`` for one round without Adult (a data folder that does not exist),
so a change that breaks the benchmark fails here. No timing is asserted.
"""

import math


def test_synthetic_rows_are_timed(benchmark_script, capsys, tmp_path):
    bench = benchmark_script("bench_postprocessing")
    bench.main(["--rounds", "1", "--data-dir", str(tmp_path / "none")])
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("synthetic")]
    assert [int(r[2]) for r in rows] == [2, 10]
    for r in rows:
        assert all(math.isfinite(float(v)) and float(v) > 0 for v in r[3:])
    assert "synthetic rows only" in out
