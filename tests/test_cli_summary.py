import subprocess
import sys

from skfair._cli import main


def test_summary_prints_real_figures(capsys):
    assert main(["summary", "--bias", "0.95", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "colour-label agreement: train 0.95" in out
    assert "group sizes" in out and "label distribution per group" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: skfair" in capsys.readouterr().out


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "skfair", "summary", "--seed", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rows: train" in proc.stdout


def test_summary_takes_only_its_own_options(capsys):
    """The benchmark's options (--n-jobs, --peer-budget, ...) are not summary's."""
    assert main(["summary", "--n-jobs", "2"]) == 2
    assert "unrecognized arguments: --n-jobs" in capsys.readouterr().err
