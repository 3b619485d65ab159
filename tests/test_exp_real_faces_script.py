"""Smoke test of ``benchmarks/exp_real_faces.py`` on the embedded coloured digits.

The script's real job (utkface-full, face descriptors) needs data that CI may not have; on
the embedded dataset it runs the same code path: one benchmark per seed, the seeds'
summary against the baseline, the noise floor and the tolerance curve (``--path``).
"""

import pandas as pd


def test_two_seeds_are_summarised_with_the_curve(benchmark_script, capsys, tmp_path):
    script = benchmark_script("exp_real_faces")
    argv = ["--dataset", "colored_digits", "--task", "parity", "--methods",
            "logreg,postprocess_eo", "--seeds", "0", "1", "--n-samples", "600", "--path",
            "--out", str(tmp_path)]
    table = script.main(argv)
    out = capsys.readouterr().out

    assert list(table["method"]) == ["baseline", "logreg", "postprocess_eo"]
    assert (table["seeds"] == 2).all()
    # the colour shortcut: the baseline's gap is large, the EO rule cuts it
    base = float(table.loc[table["method"] == "baseline", "eo_difference"].iloc[0].split()[0])
    rule = float(table.loc[table["method"] == "postprocess_eo", "eo_difference"]
                 .iloc[0].split()[0])
    assert rule < base
    assert "Noise floor of the baseline's eo_difference" in out
    assert "## Every grid candidate" in out

    rows = pd.read_csv(tmp_path / "rows.csv")
    assert sorted(rows["seed"].unique()) == [0, 1]
    path = pd.read_csv(tmp_path / "path.csv")
    tolerances = path.loc[path["method"] == "postprocess_eo", "value"].unique()
    assert len(tolerances) > 3  # one point per tolerance of the grid
    assert (tmp_path / "summary.md").read_text().startswith("# colored_digits parity")
