"""The API reference (docs/api.rst) lists every public name of every skfair subpackage.

The page is written by hand (sections, links to the user guide); this test is what keeps it
complete: a name added to a subpackage's ``__all__`` without an entry here fails it.
tests/test_docs_build.py then checks that Sphinx generated a page for every entry.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import skfair

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def public_names():
    """``{module name: __all__}`` for skfair and each of its subpackages."""
    names = {"skfair": list(skfair.__all__)}
    for info in pkgutil.iter_modules(skfair.__path__, "skfair."):
        if info.ispkg:
            names[info.name] = list(importlib.import_module(info.name).__all__)
    return names


def documented_names(text):
    """``{module: {names}}`` from the ``autosummary`` blocks (and ``autodata``) of api.rst."""
    out = {}
    module = None
    in_summary = False
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module, in_summary = m.group(1), False
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif m := re.match(r"\.\. autodata:: (\S+)\.(\w+)$", line):
            out.setdefault(m.group(1), set()).add(m.group(2))
        elif in_summary and (m := re.match(r"   (\w+)$", line)):
            out.setdefault(module, set()).add(m.group(1))
        elif in_summary and line and not line.startswith(" "):
            in_summary = False
    return out


def test_every_subpackage_is_found():
    assert {"skfair.metrics", "skfair.postprocessing", "skfair.transformers"} <= set(
        public_names())


@pytest.mark.parametrize("module", sorted(public_names()))
def test_api_page_lists_every_public_name(module):
    documented = documented_names(API.read_text()).get(module, set())
    missing = sorted(set(public_names()[module]) - documented)
    assert not missing, f"docs/api.rst lacks {module}: {missing}"
    extra = sorted(documented - set(public_names()[module]))
    assert not extra, f"docs/api.rst lists names that {module}.__all__ does not have: {extra}"


def test_parser_reads_blocks():
    text = (".. currentmodule:: skfair.x\n\n.. autosummary::\n   :toctree: generated/\n\n"
            "   a\n   b\n\nUser guide.\n\n   c\n.. autodata:: skfair.__version__\n")
    assert documented_names(text) == {"skfair.x": {"a", "b"}, "skfair": {"__version__"}}
