from pathlib import Path

from skfair.utils import get_data_dir


def test_explicit_argument_wins(monkeypatch):
    monkeypatch.setenv("SKFAIR_DATA_DIR", "/from/env")
    assert get_data_dir("/explicit") == Path("/explicit")


def test_environment_variable(monkeypatch):
    monkeypatch.setenv("SKFAIR_DATA_DIR", "/from/env")
    assert get_data_dir() == Path("/from/env")


def test_default_is_a_folder_in_the_home_whatever_the_current_directory(monkeypatch,
                                                                         tmp_path):
    monkeypatch.delenv("SKFAIR_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for cwd in (tmp_path, tmp_path / "elsewhere"):
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        assert get_data_dir() == tmp_path / "home" / "skfair_data"
    assert not (tmp_path / "home").exists()  # nothing created

