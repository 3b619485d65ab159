"""What do the adversary's torch calls cost, alone and inside the training step?

A probe behind the ``adversary_layers`` rows of ``bench_losses.py`` (MLP head 512-256-10,
batch 256, 4 groups, one thread). For the default adversary (256->64->4) and the linear one
(256->4) it times each call of its first layer, forward (``addmm``) and backward (weight
gradient, bias gradient, gradient into the embedding), twice: in a tight loop (warm caches),
and once right after each training step of the plain ``FairNetClassifier`` (as in training).
Microseconds per call, the mean over ``--rounds`` calls.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_adversary_calls.py

Measured: see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts are not a package
import bench_losses as bl  # noqa: E402


def calls(width, hidden, batch):
    """The first layer's calls of an adversary with ``hidden`` outputs (its first layer)."""
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(hidden, width, generator=gen) * 0.05
    bias = torch.zeros(hidden)
    emb = torch.relu(torch.randn(batch, width, generator=gen))
    grad = torch.randn(batch, hidden, generator=gen)
    return {
        "forward addmm": lambda: torch.addmm(bias, emb, weight.t()),
        "weight gradient": lambda: grad.t().mm(emb),
        "bias gradient": lambda: grad.sum(0),
        "embedding gradient": lambda: grad.mm(weight),
    }


def timed(ops, rounds, before=None):
    total = dict.fromkeys(ops, 0.0)
    for _ in range(rounds):
        if before is not None:
            before()
        for name, op in ops.items():
            t0 = time.perf_counter()
            op()
            total[name] += time.perf_counter() - t0
    return {name: 1e6 * t / rounds for name, t in total.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    opts = parser.parse_args(argv)
    torch.set_num_threads(1)
    args = bl.build_parser().parse_args(["--harness", "estimator", "--threads", "1"])
    device = torch.device("cpu")
    step = bl.make_estimator_step("ce", args, device, bl.make_data(args, device))
    for label, hidden in (("default adversary, 256->64", 64), ("linear adversary, 256->4", 4)):
        ops = calls(args.hidden, hidden, args.batch)
        timed(ops, 50, step)  # warm-up
        in_step = timed(ops, opts.rounds, step)
        alone = timed(ops, opts.rounds)
        print(f"{label}: us per call, after a training step / in a tight loop")
        for name in ops:
            print(f"  {name:20s} {in_step[name]:7.1f} {alone[name]:7.1f}")


if __name__ == "__main__":
    main()
