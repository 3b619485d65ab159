"""Where does a fairness penalty's cost on the MLP training step come from?

A probe behind ``bench_losses.py``'s MLP figures (512-d input, 256 hidden, 10
classes, batch 256, 4 groups, Adam with the fused kernel, one thread). It prints

1. the loss alone, isolated (forward + backward on fixed ``(256, 10)`` logits, a tight
   loop): ``F.cross_entropy``, skfair's fused ``penalized_task_loss`` with
   ``EqualizedOddsLoss(kind="l2")``, and the same objective written in numpy inside
   one autograd node (``NumpyEOObjective``: value and gradient computed together);
   The same objective is also written as one TorchScript function
   (``ts_eo_objective``: value and gradient, no input checks) in one autograd node;
2. the whole training step with each of them and with ``floor`` (cross-entropy ``+
   0.5 * logits.mean()``, a term doing no work), timed side by side in interleaved
   rounds, as ratios to the cross-entropy step;
3. inside the step, the objective's forward call timed twice in a row on the same
   logits: the first call runs right after the network's matrix products (as in
   training), the second straight after the first.

If the in-step extra cost were the penalty's own work, the numpy objective (half the
isolated cost of the torch one) would be much cheaper in the step too, and the second
call of section 3 would cost as much as the first.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_step_overhead.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_step_overhead.py --flush-denormal
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_step_overhead.py --pad 1000000
    MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_MMAP_THRESHOLD_=1000000000 \\
        MALLOC_TOP_PAD_=100000000 OMP_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/probe_step_overhead.py

Since skfair 052f51b, ``penalized_task_loss`` runs compiled numba kernels on a CPU: the
"skfair fused" row measures them. Run with ``SKFAIR_NUMBA=0`` for the torch fused node that
the figures in ``benchmarks/README.md`` (taken before) measured.

Measured: see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skfair.estimators._base import _fused_adam_supported
from skfair.losses import EqualizedOddsLoss, penalized_task_loss

B, K, G, DIM, HIDDEN, LAM = 256, 10, 4, 512, 256, 0.5


def numpy_eo_objective(z, y, g):
    """Cross-entropy + LAM * EO-L2 and its gradient w.r.t. the logits, in numpy."""
    rows = np.arange(len(y))
    m = z.max(1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(1, keepdims=True)
    P = e / s
    ce = -(z[rows, y] - m[:, 0] - np.log(s[:, 0])).mean()
    cells = y * G + g
    n = np.bincount(cells, minlength=K * G).astype(z.dtype)
    inv_n = 1 / np.maximum(n, 1)
    inv_nb = 1 / np.maximum(np.bincount(y, minlength=K).astype(z.dtype), 1)
    present = (n > 0).astype(z.dtype)[:, None]
    S = np.eye(K * G, dtype=z.dtype)[cells].T @ P  # (K*G, K) sums of P per cell
    class_mean = S.reshape(K, G, K).sum(1) * inv_nb[:, None]
    D = S * inv_n[:, None] - present * np.repeat(class_mean, G, axis=0)
    value = ce + LAM * float((D * D).sum())
    D_class = (D * present).reshape(K, G, K).sum(1) * inv_nb[:, None]
    grad_P = (2 * LAM) * ((D * inv_n[:, None])[cells] - D_class[y])
    grad_z = P * (grad_P - (P * grad_P).sum(1, keepdims=True))
    grad_z += P * (1.0 / len(y))
    grad_z[rows, y] -= 1.0 / len(y)
    return value, grad_z


class NumpyEOObjective(torch.autograd.Function):
    """``numpy_eo_objective`` as one autograd node (CPU float32 logits)."""

    @staticmethod
    def forward(ctx, z, y, g):
        value, grad = numpy_eo_objective(z.detach().numpy(), y.numpy(), g.numpy())
        ctx.grad = torch.from_numpy(grad)
        return z.new_tensor(value)

    @staticmethod
    def backward(ctx, grad):
        return ctx.grad * grad, None, None


def ts_eo_objective(z: torch.Tensor, y: torch.Tensor, g: torch.Tensor, n_classes: int,
                    n_groups: int, lam: float):
    """``numpy_eo_objective`` in TorchScript: value and gradient w.r.t. the logits."""
    n = z.shape[0]
    logp = torch.log_softmax(z.t(), 0).t()
    P = logp.exp()
    ce = -logp.gather(1, y.view(-1, 1)).sum() / n
    cells = y * n_groups + g
    Z = torch.zeros(n, n_classes * n_groups, dtype=z.dtype).scatter_(1, cells.view(-1, 1), 1.0)
    C = torch.zeros(n, n_classes, dtype=z.dtype).scatter_(1, y.view(-1, 1), 1.0)
    C = C.repeat_interleave(n_groups, 1)
    counts = Z.sum(0)
    A = Z / counts.clamp_min(1) - C * (counts.sign() / C.sum(0).clamp_min(1))
    D = A.t() @ P
    grad_P = (2 * lam) * (A @ D)
    grad_z = (grad_P - (grad_P * P).sum(1, keepdim=True) + 1.0 / n) * P
    grad_z.scatter_add_(1, y.view(-1, 1), torch.full((n, 1), -1.0 / n, dtype=z.dtype))
    return ce + lam * (D * D).sum(), grad_z


with warnings.catch_warnings():  # torch.jit.script is deprecated from torch 2.10 on
    warnings.simplefilter("ignore", FutureWarning)
    ts_eo_objective = torch.jit.script(ts_eo_objective)


class TorchScriptEOObjective(torch.autograd.Function):
    """``ts_eo_objective`` as one autograd node."""

    @staticmethod
    def forward(ctx, z, y, g):
        value, ctx.grad = ts_eo_objective(z, y, g, K, G, LAM)
        return value

    @staticmethod
    def backward(ctx, grad):
        return ctx.grad * grad, None, None


PENALTY = EqualizedOddsLoss(kind="l2")
OBJECTIVES = {
    "ce": lambda z, y, g: F.cross_entropy(z, y),
    "floor": lambda z, y, g: F.cross_entropy(z, y) + LAM * z.mean(),
    "eo_l2 (skfair fused)": lambda z, y, g: penalized_task_loss(
        z, y, g, penalty=PENALTY, lam=LAM, n_groups=G),
    "eo_l2 (numpy node)": NumpyEOObjective.apply,
    "eo_l2 (torchscript)": TorchScriptEOObjective.apply,
}


def timed(fn, n, warmup=200):
    for _ in range(warmup):
        fn()
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n


def make_step(objective, data):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, K))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=_fused_adam_supported("cpu") or None)
    X, y, g = data
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % X.shape[0]
        loss = objective(model(X[i]), y[i], g[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def first_and_repeated_call(objective, data, rounds, steps):
    """Section 3: (first, repeated) forward time of ``objective`` inside the step, in s."""
    clock = [0.0, 0.0]

    def twice(z, y, g):
        t0 = time.perf_counter()
        objective(z, y, g)
        t1 = time.perf_counter()
        value = objective(z, y, g)
        clock[0] += t1 - t0
        clock[1] += time.perf_counter() - t1
        return value

    step = make_step(twice, data)
    for _ in range(50):
        step()
    best = [float("inf")] * 2
    for _ in range(rounds):
        clock[:] = [0.0, 0.0]
        for _ in range(steps):
            step()
        best = [min(b, c / steps) for b, c in zip(best, clock, strict=True)]
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=200, help="steps per timed round")
    parser.add_argument("--flush-denormal", action="store_true",
                        help="torch.set_flush_denormal(True)")
    parser.add_argument("--pad", type=int, default=0,
                        help="bytes allocated (and kept) before anything else: shifts where "
                        "the step's tensors land in memory")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    pad = torch.empty(args.pad, dtype=torch.uint8) if args.pad else None  # noqa: F841
    gen = torch.Generator().manual_seed(0)
    data = (torch.randn(8, B, DIM, generator=gen), torch.randint(0, K, (8, B), generator=gen),
            torch.randint(0, G, (8, B), generator=gen))

    z = torch.randn(B, K, generator=gen, requires_grad=True)
    y, g = data[1][0], data[2][0]
    print(f"torch {torch.__version__} | threads=1 | flush_denormal={args.flush_denormal} "
          f"| pad={args.pad}")
    print("1. the loss alone (forward + backward on fixed logits), isolated:")
    for name, objective in OBJECTIVES.items():
        def loss_only(objective=objective):
            z.grad = None
            objective(z, y, g).backward()

        print(f"   {name:<22} {timed(loss_only, 5000) * 1e6:7.1f} us")

    steps = {name: make_step(objective, data) for name, objective in OBJECTIVES.items()}
    times = {name: [] for name in steps}
    for step in steps.values():
        for _ in range(50):
            step()
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name].append(timed(step, args.steps, warmup=0))
    base = min(times["ce"])
    print("2. the training step (min over rounds), ratio to the cross-entropy step:")
    for name, ts in times.items():
        print(f"   {name:<22} {min(ts) * 1e3:7.3f} ms  ratio {min(ts) / base:.3f}  "
              f"extra {(min(ts) - base) * 1e6:6.0f} us")
    print("3. the objective's forward inside the step (min over rounds): first call, then the "
          "same call at once again:")
    for name, objective in OBJECTIVES.items():
        first, again = first_and_repeated_call(objective, data, args.rounds, args.steps)
        print(f"   {name:<22} {first * 1e6:7.1f} us  then {again * 1e6:7.1f} us")


if __name__ == "__main__":
    main()
