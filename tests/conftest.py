"""Shared fixtures: real-data locations (skipped when absent) and CPU limits."""

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

try:  # keep the suite predictable on small CI machines
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

REPO_ROOT = Path(__file__).resolve().parents[1]

# skfair's default data folder is the user's ~/skfair_data; this checkout's tests read
# ../shared/data next to it (when present and SKFAIR_DATA_DIR is not set)
USER_DATA_DIR = os.environ.get("SKFAIR_DATA_DIR")
_CHECKOUT_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
if not USER_DATA_DIR and _CHECKOUT_DATA.is_dir():
    os.environ["SKFAIR_DATA_DIR"] = str(_CHECKOUT_DATA)


@pytest.fixture(autouse=True, scope="session")
def _feature_cache(tmp_path_factory):
    """The CLI's feature cache (default ~/.cache/skfair) in a folder of this session."""
    before = os.environ.get("SKFAIR_CACHE_DIR")
    os.environ["SKFAIR_CACHE_DIR"] = str(tmp_path_factory.mktemp("skfair-cache"))
    yield
    if before is None:
        os.environ.pop("SKFAIR_CACHE_DIR", None)
    else:
        os.environ["SKFAIR_CACHE_DIR"] = before


def load_benchmark(name):
    """Import the script ``benchmarks/<name>.py`` (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def benchmark_script():
    """:func:`load_benchmark`, for the smoke tests of the benchmark scripts."""
    return load_benchmark


def shared_data_dir():
    """``$SKFAIR_DATA_DIR`` or ``../shared/data`` next to the checkout."""
    env = os.environ.get("SKFAIR_DATA_DIR")
    return Path(env) if env else _CHECKOUT_DATA


@pytest.fixture(scope="session")
def shared_data_path():
    """The real-data folder's path, whether or not it exists (no skip)."""
    return shared_data_dir()


@pytest.fixture(scope="session")
def data_dir():
    """The real-data folder; tests using it skip when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent")
    return path


@pytest.fixture(scope="session")
def utkface_dir(data_dir):
    path = data_dir / "utkface" / "images"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def fairface_dir(data_dir):
    path = data_dir / "fairface-540"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def tabular_dir(data_dir):
    path = data_dir / "tabular"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path
