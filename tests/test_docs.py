"""The Python examples in docs/*.md run as written.

The blocks of one page share one namespace and run in order, like a reader
would run them. Pages whose examples read real data skip when it is absent;
a block whose first line is ``# requires: pretrained weights ...`` is not run
(no download is possible on CI), and the blocks after it on that page neither. A block
whose first line is ``# requires: a cluster ...`` (connecting to a running Dask or Ray
cluster) is not run either; tests/test_distributed_search.py runs the same search on
local ones.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: what Sphinx and sphinx-gallery write into docs/ (README's "Documentation"), not pages
BUILD_OUTPUTS = {"_build", "generated", "auto_examples"}
DOCS = sorted(p for p in (ROOT / "docs").rglob("*.md")
              if not BUILD_OUTPUTS & set(p.relative_to(ROOT / "docs").parts))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_doc_examples_run(path, tmp_path, monkeypatch, shared_data_path):
    blocks = BLOCK.findall(path.read_text())
    if not blocks:
        pytest.skip("no Python example on this page")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKFAIR_DATA_DIR", str(shared_data_path))
    import sklearn

    namespace = {"__name__": "__doc_example__"}
    ran = 0
    try:
        for i, code in enumerate(blocks):
            if code.startswith("# requires: pretrained weights"):
                break
            if code.startswith("# requires: a cluster"):
                continue
            ran += 1
            try:
                exec(compile(code, f"{path.name}#{i}", "exec"), namespace)
            except FileNotFoundError as exc:
                if not shared_data_path.is_dir():
                    pytest.skip(f"example {i} needs real data: {exc}")
                raise
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    if ran == 0:
        pytest.skip("every example on this page needs pretrained weights (internet)")
