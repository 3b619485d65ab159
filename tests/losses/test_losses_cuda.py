"""The losses on a CUDA device equal their CPU values and gradients.

Skipped without CUDA (this project's CI has none); run them on a GPU machine with
``python -m pytest tests/losses/test_losses_cuda.py``.
"""

import pytest
import torch
import torch.nn.functional as F

from skfair.losses import (
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    GroupBalancedLoss,
    IoUFairnessLoss,
    MAEParityLoss,
    MeanParityLoss,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

B, K, NG = 64, 5, 3


def _batch(task):
    gen = torch.Generator().manual_seed(0)
    groups = torch.randint(0, NG, (B,), generator=gen)
    groups[groups == 1] = 2  # a group missing from the batch
    if task == "cross_entropy":
        return torch.randn(B, K, generator=gen), torch.randint(0, K, (B,), generator=gen), groups
    if task == "binary_cross_entropy":
        return (torch.randn(B, K, generator=gen),
                (torch.rand(B, K, generator=gen) < 0.3).float(), groups)
    return torch.randn(B, 1, generator=gen) * 10 + 40, torch.rand(B, generator=gen) * 80, groups


def _ba():
    loss = BiasAmplificationLoss()
    _, y, g = _batch("binary_cross_entropy")
    return loss.fit(y, g, n_groups=NG)


def _objective(x, y, groups, task, penalty, lam=0.7):
    """The estimators' objective: mean task loss + lam * fairness term (in float32)."""
    x32 = x.float()
    if task == "cross_entropy":
        per_row = F.cross_entropy(x32, y, reduction="none")
    elif task == "binary_cross_entropy":
        per_row = F.binary_cross_entropy_with_logits(x32, y, reduction="none").sum(1)
    else:
        per_row = (x32[:, 0] - y).abs()
    term_input = per_row if penalty.role == "reweight" else x
    return per_row.mean() + lam * penalty(term_input, y, groups, n_groups=NG)


CASES = [
    ("cross_entropy", DemographicParityLoss("l2")),
    ("cross_entropy", DemographicParityLoss("mi")),
    ("cross_entropy", EqualizedOddsLoss("l2")),
    ("cross_entropy", EqualizedOddsLoss("mi")),
    ("cross_entropy", IoUFairnessLoss()),
    ("cross_entropy", IoUFairnessLoss(pairwise=True)),
    ("cross_entropy", GroupBalancedLoss()),
    ("binary_cross_entropy", "bias_amplification"),
    ("l1", MeanParityLoss()),
    ("l1", MAEParityLoss()),
]


@pytest.mark.parametrize("task, penalty", CASES, ids=lambda c: repr(c))
def test_objective_on_cuda_equals_cpu(task, penalty):
    penalty = _ba() if penalty == "bias_amplification" else penalty
    outputs, y, groups = _batch(task)
    results = {}
    for device in ("cpu", "cuda"):
        x = outputs.to(device).requires_grad_(True)
        loss = _objective(x, y.to(device), groups.to(device), task, penalty.to(device))
        (grad,) = torch.autograd.grad(loss, x)
        assert loss.device.type == device and grad.device.type == device
        results[device] = (loss.detach().cpu(), grad.cpu())
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-4, atol=1e-6)


def test_bf16_outputs_on_cuda():
    outputs, y, groups = _batch("cross_entropy")
    x = outputs.cuda().to(torch.bfloat16).requires_grad_(True)
    loss = _objective(x, y.cuda(), groups.cuda(), "cross_entropy", EqualizedOddsLoss())
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad.float()).all()


def test_group_codes_out_of_range_on_cuda_do_not_pass_silently():
    # CUDA checks the gathers' bounds with a device-side assert: the error surfaces at the
    # next synchronisation (it poisons the context, so this runs in a subprocess)
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from skfair.losses import equalized_odds_loss\n"
        "p = torch.full((4, 3), 1 / 3, device='cuda')\n"
        "y = torch.tensor([0, 1, 2, 0], device='cuda')\n"
        "g = torch.tensor([0, 2, 0, 1], device='cuda')\n"
        "float(equalized_odds_loss(p, y, g, n_groups=2))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0
