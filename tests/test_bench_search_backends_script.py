"""Smoke test of ``benchmarks/bench_search_backends.py``: a search is timed and compared
(the loky, Dask and Ray rows are the searches of tests/test_distributed_search.py)."""

import pytest


def test_sequential_row_is_timed_and_matches_itself(benchmark_script, capsys):
    bench = benchmark_script("bench_search_backends")
    bench.main(["--n", "200", "--epochs", "1", "--cv", "2", "--backends", "sequential"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("n_jobs=1"))
    startup, search, total = (float(v) for v in row.split()[1:4])
    assert startup >= 0 and search > 0 and total == pytest.approx(startup + search, abs=0.11)
    assert row.endswith("(yes)")
