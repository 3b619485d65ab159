"""Fixtures of the loss tests."""

import pytest

from skfair.losses import _ops


@pytest.fixture(params=["kernels", "torch"])
def cpu_path(request, monkeypatch):
    """The CPU path of the fused losses: the compiled kernels (numba), or the torch fused
    nodes (the kernels turned off). Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("cpu_path")``: every test runs on both."""
    if request.param == "torch":
        monkeypatch.setattr(_ops, "_load_kernels", lambda: None)
    elif _ops._load_kernels() is None:
        pytest.skip("numba is not installed: no compiled kernels")
    return request.param
