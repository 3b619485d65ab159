"""Training-step time of each fairness loss relative to the plain task loss.

One training step = forward + backward + Adam step of a network, with the
loss ``mean task loss + lam * fairness term`` composed as the estimators do
(the adversarial rows also train the adversary head on the network's
embedding). Each row is timed side by side with the same step on the plain task
loss, in interleaved blocks (alternating order), and the median over rounds of
the per-round time ratio is printed; nothing is pass/fail. The plain task is
cross-entropy for the classification losses, group-balanced and adversarial,
binary cross-entropy for bias amplification (multi-label) and L1 for the
regression losses.

Networks (``--modules``): ``mlp``, an MLP head on 512-d embeddings (the cheapest
network the estimators train, where a loss's fixed cost weighs most), and
``resnet18``, torchvision's ResNet-18 (random weights) fine-tuned end to end on
3 x ``--image-size`` images. Speed that matters is end to end (a fit, a
benchmark run); this is a diagnostic.

Run::

    .venv/bin/python benchmarks/bench_losses.py --modules mlp
    .venv/bin/python benchmarks/bench_losses.py --device cuda --image-size 112
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from skfair.estimators import TorchvisionBackbone
from skfair.losses import FAIRNESS_LOSSES, AdversarialLoss, get_fairness_loss

LOSSES = list(FAIRNESS_LOSSES)
BASELINES = {"bias_amplification": "binary_cross_entropy", "mean_parity": "l1",
             "mae_parity": "l1"}
TASKS = {  # per-row task losses
    "cross_entropy": lambda out, y: F.cross_entropy(out, y, reduction="none"),
    "binary_cross_entropy": lambda out, y: F.binary_cross_entropy_with_logits(
        out, y, reduction="none").sum(1),
    "l1": lambda out, y: (out[:, 0] - y).abs(),
}


def objective(out, emb, y, groups, task, loss, head, n_groups, lam=0.5):
    """``mean(task loss) + lam * fairness term``, the term by the loss's role."""
    per_row = TASKS[task](out, y)
    if loss is None:
        return per_row.mean()
    if loss.role == "reweight":
        term = loss(per_row, y, groups, n_groups=n_groups)
    elif loss.role == "adversarial":
        term = loss.adversary_term(head, emb, y, groups, n_groups=n_groups)
    else:
        term = loss(out, y, groups, n_groups=n_groups)
    return per_row.mean() + lam * term


class MLP(nn.Module):
    """MLP head: 512-d embedding -> hidden (the embedding) -> outputs."""

    def __init__(self, dim, hidden, out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out)

    def forward(self, x):
        h = self.body(x)
        return self.out(h), h


def make_data(module, args, device):
    """``(X, y, Y multi-label, y regression, groups)``, 4 batches of ``args.batch`` rows."""
    gen = torch.Generator().manual_seed(0)
    shape = (3, args.image_size, args.image_size) if module != "mlp" else (args.dim,)
    n, B = 4, args.batch
    X = torch.randn(n, B, *shape, generator=gen)
    y = torch.randint(0, args.classes, (n, B), generator=gen)
    Y = (torch.rand(n, B, args.classes, generator=gen) < 0.3).float()
    y_reg = torch.rand(n, B, generator=gen) * 80
    g = torch.randint(0, args.groups, (n, B), generator=gen)
    return tuple(t.to(device) for t in (X, y, Y, y_reg, g))


def make_step(module, name, task, args, device, data):
    """One optimisation step of ``module`` on ``task`` with the loss ``name`` (None: the
    task loss alone), cycling through the batches of ``data``."""
    torch.manual_seed(0)
    X, y, Y, y_reg, g = data
    n_out = 1 if task == "l1" else args.classes
    model = MLP(args.dim, args.hidden, n_out) if module == "mlp" else TorchvisionBackbone(
        module, n_out)
    params = list(model.parameters())
    loss = head = None
    if name is not None:
        loss = get_fairness_loss(name, n_groups=args.groups)
        if loss.requires_fit:
            loss.fit(Y.reshape(-1, args.classes).cpu(), g.reshape(-1).cpu())
        if isinstance(loss, AdversarialLoss):
            head = loss.make_head(getattr(model, "embedding_dim", args.hidden), args.groups)
            params += list(head.to(device).parameters())
        loss.to(device)
    model.to(device)
    opt = torch.optim.Adam(params, lr=1e-3)
    targets = {"cross_entropy": y, "binary_cross_entropy": Y, "l1": y_reg}[task]
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % X.shape[0]
        out, emb = model(X[i])
        total = objective(out, emb, targets[i], g[i], task, loss, head, args.groups)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    return step


def time_block(step, n, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


def run(module, args, device):
    """``{row: (baseline task, median baseline s, median loss s, median ratio)}``."""
    data = make_data(module, args, device)
    steps, rows = {}, {}
    for name in args.losses:
        task = BASELINES.get(name, "cross_entropy")
        if task not in steps:
            steps[task] = make_step(module, None, task, args, device, data)
        pair = [(task, steps[task]), (name, make_step(module, name, task, args, device, data))]
        for _, step in pair:
            time_block(step, args.warmup, device)
        times = {key: [] for key, _ in pair}
        for r in range(args.rounds):
            for key, step in (pair if r % 2 == 0 else pair[::-1]):
                times[key].append(time_block(step, args.steps, device))
        ratio = statistics.median(t / b for t, b in zip(times[name], times[task], strict=True))
        rows[name] = (task, statistics.median(times[task]), statistics.median(times[name]), ratio)
    return rows


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--modules", nargs="+", choices=["mlp", "resnet18"],
                        default=["mlp", "resnet18"])
    parser.add_argument("--losses", nargs="+", choices=LOSSES, default=LOSSES)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                          if args.device == "auto" else args.device)
    for module in args.modules:
        print(f"torch {torch.__version__} | {platform.processor() or platform.machine()} | "
              f"device={device} | threads={torch.get_num_threads()} | module={module} "
              f"batch={args.batch} classes={args.classes} groups={args.groups}")
        print(f"{'loss':22s} {'baseline':>20s} {'base ms':>9s} {'loss ms':>9s} {'ratio':>6s}")
        for name, (task, base, loss, ratio) in run(module, args, device).items():
            print(f"{name:22s} {task:>20s} {1e3 * base:9.3f} {1e3 * loss:9.3f} {ratio:6.3f}")


if __name__ == "__main__":
    main()
