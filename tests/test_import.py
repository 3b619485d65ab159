"""Importing a subpackage leaves the slow optional modules unimported.

``torch._dynamo`` (what ``torch.compiler.disable`` and torchvision import: seconds),
matplotlib and fairlearn are imported by the functions that use them, so that every
joblib / Dask / Ray worker that unpickles an estimator does not pay for them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SUBPACKAGES = [
    "estimators", "metrics", "losses", "samplers", "weighting", "pipeline", "transformers",
    "ensemble", "datasets", "plotting", "generative", "benchmark", "utils",
]
DEFERRED = ["torch._dynamo", "matplotlib", "fairlearn"]

PROBE = """
import importlib, json, sys
first = {}  # deferred module -> the first subpackage whose import brought it in
for name in %r:
    importlib.import_module("skfair." + name)
    for module in %r:
        if module in sys.modules:
            first.setdefault(module, name)
print(json.dumps(first))
"""


def test_subpackages_do_not_import_dynamo_matplotlib_or_fairlearn():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", PROBE % (SUBPACKAGES, DEFERRED)],
                         capture_output=True, text=True, env=env, check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}
