from pathlib import Path

from skfair.utils import get_data_dir


def test_explicit_argument_wins(monkeypatch):
    monkeypatch.setenv("SKFAIR_DATA_DIR", "/from/env")
    assert get_data_dir("/explicit") == Path("/explicit")


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("SKFAIR_DATA_DIR", "/from/env")
    assert get_data_dir() == Path("/from/env")


def test_default_is_shared_data_next_to_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("SKFAIR_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert get_data_dir() == (tmp_path / ".." / "shared" / "data").resolve()
