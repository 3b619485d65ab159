"""Sphinx configuration of skfair's documentation.

Build (from the repository root)::

    .venv/bin/python -m sphinx -b html docs docs/_build/html

Quick mode (``SKFAIR_DOCS_QUICK=1``, or ``-D plot_gallery=0``): the gallery's
scripts are rendered without being run; everything else is built the same.
"""

import importlib
import os
import pkgutil
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if (ROOT / "skfair" / "__init__.py").is_file():  # build this checkout's code
    sys.path.insert(0, str(ROOT))

from sphinx.pycode import ModuleAnalyzer  # noqa: E402
from sphinx.util import logging  # noqa: E402

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

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
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

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")


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


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
    app.connect("autodoc-process-docstring", _constant_doc)
