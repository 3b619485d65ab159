"""The documentation site builds with warnings as errors, and has a page for every public name.

The build runs in quick mode (``SKFAIR_DOCS_QUICK=1``: the gallery's scripts are rendered but
not run; tests/test_examples.py runs them) on a copy of ``docs/`` and ``examples/``, so the
checkout is left as it was. Skipped when the ``docs`` extra is not installed.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_api_reference import public_names

ROOT = Path(__file__).resolve().parents[1]
DOCS_EXTRA = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser")
BUILD_OUTPUTS = ("_build", "generated", "auto_examples", "sg_execution_times.rst")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in DOCS_EXTRA),
        reason="the docs extra is not installed (pip install -e '.[docs]')",
    ),
]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """Build the site once, in quick mode, from a copy of docs/ and examples/."""
    work = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "docs", work / "docs",
                    ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    shutil.copytree(ROOT / "examples", work / "examples")
    env = dict(os.environ, SKFAIR_DOCS_QUICK="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    out = work / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(work / "docs"), str(out)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return work / "docs", out


def test_site_builds_without_warnings(built_site):
    _, out = built_site
    for page in ("index", "user_guide", "api", "metrics", "reading_the_report",
                 "auto_examples/index", "auto_examples/plot_colored_digits_shortcut"):
        assert (out / f"{page}.html").is_file(), page


def test_every_public_name_has_a_page(built_site):
    src, out = built_site
    missing = []
    for module, names in public_names().items():
        if module == "skfair":  # documented on the API page itself (autodata)
            continue
        for name in names:
            stub = f"{module}.{name}"
            if not (src / "generated" / f"{stub}.rst").is_file() or not (
                    out / "generated" / f"{stub}.html").is_file():
                missing.append(stub)
    assert not missing, f"no API page for {missing}"
    assert "skfair.__version__" in (out / "api.html").read_text()


def test_report_glossary_comes_from_the_code(built_site):
    from skfair.benchmark._report import _GLOSSARY

    page = (built_site[1] / "reading_the_report.html").read_text()
    for name in _GLOSSARY:
        assert f">{name}<" in page, name


def _load_conf(monkeypatch, data_dir):
    """docs/conf.py as a module, with ``SKFAIR_DATA_DIR`` set to ``data_dir``."""
    monkeypatch.setenv("SKFAIR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SKFAIR_DOCS_QUICK", raising=False)
    spec = importlib.util.spec_from_file_location("skfair_docs_conf", ROOT / "docs" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_face_example_is_shown_unrun_where_utkface_is_absent(tmp_path, monkeypatch):
    conf = _load_conf(monkeypatch, tmp_path)
    assert "UTKFace images were not found" in conf.FACE_EXAMPLE_SKIPPED
    pattern = re.compile(conf.sphinx_gallery_conf["filename_pattern"])
    assert not pattern.search("/examples/plot_face_postprocessing.py")  # not run
    assert pattern.search("/examples/plot_pareto_lambda.py")            # the others are
    page = (".. _sphx_glr_auto_examples_plot_face_postprocessing.py:\n\n\n"
            "=====\nTitle\n=====\n\nIntro.\n")
    source = [page]
    conf._face_example_note(None, "auto_examples/plot_face_postprocessing", source)
    title_end = page.index("Intro.")
    assert source[0].startswith(page[:title_end - 1])
    assert ".. warning::" in source[0][title_end:]
    assert source[0].index("UTKFace images were not found") < source[0].index("Intro.")
    other = [page]
    conf._face_example_note(None, "auto_examples/plot_pareto_lambda", other)
    assert other == [page]


def test_face_example_runs_where_utkface_is_present(tmp_path, monkeypatch):
    (tmp_path / "utkface" / "images").mkdir(parents=True)
    conf = _load_conf(monkeypatch, tmp_path)
    faces_extra = all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models"))
    assert (conf.FACE_EXAMPLE_SKIPPED is None) == faces_extra
