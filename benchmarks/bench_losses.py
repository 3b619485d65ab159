"""Training-step cost of each fairness loss over the plain task loss.

One training step = forward + backward + Adam step (fused where torch has the
kernel, as in the estimators) of an MLP head on 512-d
embeddings (``--module mlp``, default: the cheapest network the estimators
train, where the fixed cost of a loss weighs most), of skfair's
``SmallCNN`` on 3x32x32 images (``--module cnn``) or of a torchvision
ResNet-18 fine-tuned end to end (``--module resnet18``, random weights;
``--image-size 112`` for face crops), batch 256 by default.
For every fairness loss the step with ``task + lam * fairness`` is timed
side by side with the plain-task step, interleaved in blocks in alternating
order within the same run, and the median over rounds of the per-round time
ratio is printed (target <= 1.10).
The plain task is ``torch.nn.functional``'s cross-entropy for the
classification losses, binary cross-entropy for bias amplification
(multi-label) and L1 for the regression losses (what the estimators compute
at ``lam=0``); group-balanced and adversarial are timed against
cross-entropy. The fairness step computes its loss as the estimators do:
``skfair.losses.penalized_task_loss`` (task and penalty in one autograd
node) for the penalties and group-balanced reweighting, and task ``+ lam *``
adversary loss on the embedding for the adversarial regularizer (whose
adversary head, an extra small network, is trained in the same step).
Reference rows: ``floor`` (a term doing no work added outside the fused node)
and ``objective_*`` (the fused task loss without a penalty); in both
harnesses, ``adversarial_linear``: the adversarial regularizer with a linear
adversary (``AdversarialLoss(hidden=())``), which separates the cost of the
reversal and the adversary's loss from the matrix work of the default
adversary's hidden layer (on the MLP the default 256->64->4 adversary adds
about 18 % to the step's multiply-adds: 4.2 M forward and 8.4 M backward,
the reversed gradient into the embedding included, against 34 M and 35 M for
the 512->256->10 network, whose input needs no gradient); in both harnesses,
``adversary_layers``: the plain step followed by the default adversary's
layers alone as bare torch calls (forward, weight gradients, the ReLU's
backward and the gradient into the embedding; no loss, autograd or
optimizer), the work any implementation of the default regularizer adds:
its ratio is a floor under the adversarial rows', measured in the same run
(``adversary_layers_linear``: the same for ``adversarial_linear``'s adversary).

``--harness estimator`` times the estimators' own training step instead:
skorch's ``train_step`` of a fitted ``FairNetClassifier`` (``FairNetRegressor``
with L1 for the regression losses, ``FairNetMultiLabelClassifier`` for bias
amplification) with ``fairness=<loss>, lam=0.5`` against the same estimator
with ``fairness=None``, on the same network and batches (loss, backward, the
optimizer step and skorch's per-step bookkeeping; the batches are collated
beforehand, so data loading is not in either time). The bare
``bias_amplification`` row uses the soft indicator;
``FairNetMultiLabelClassifier``'s default straight-through indicator, which the
estimator harness times, is fused the same way (``penalized_task_loss(...,
straight_through_threshold=...)``). The estimator harness's reference row
``bias_amplification_hooks`` times the same estimator through its hooks
(``get_task_loss`` + ``get_fairness_term``, the unfused path).

Run::

    .venv/bin/python benchmarks/bench_losses.py              # CPU
    .venv/bin/python benchmarks/bench_losses.py --module cnn
    .venv/bin/python benchmarks/bench_losses.py --device cuda
    .venv/bin/python benchmarks/bench_losses.py --harness estimator
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from skfair.estimators import SmallCNN, TorchvisionBackbone
from skfair.estimators._base import _fused_adam_supported
from skfair.estimators._net import _uses_cuda_graphs
from skfair.losses import (
    AdversarialLoss,
    cooccurrence_ratio,
    get_fairness_loss,
    penalized_task_loss,
)

CLASSIFICATION = ["dp_l2", "dp_mi", "eo_l2", "eo_mi", "iou", "iou_pairwise"]
OTHERS = ["group_balanced", "adversarial", "adversarial_confusion", "bias_amplification",
          "mean_parity", "mae_parity"]
# "floor": the task loss + lam * logits.mean() outside the fused node, a term that does no
# work: the fixed cost of adding any extra term to the step (a reference row)
FLOOR = "floor"
# the baselines: the plain task loss written with torch.nn.functional (what the estimators
# compute at lam=0)
TORCH_LOSSES = {
    "ce": lambda out, y: F.cross_entropy(out, y),
    "bce": lambda out, y: F.binary_cross_entropy_with_logits(out, y, reduction="none")
    .sum(1)
    .mean(),
    "l1": lambda out, y: F.l1_loss(out[:, 0], y),
}
# reference rows: the objective's task loss alone (penalized_task_loss without a penalty)
# against the torch baseline: the cost or gain of the fused node itself
OBJECTIVE_ONLY = {"objective_ce": "ce", "objective_bce": "bce", "objective_l1": "l1"}
# reference row, both harnesses: the adversarial regularizer with a linear adversary
# (AdversarialLoss(hidden=())): the reversal and the adversary's cross-entropy without the
# default head's hidden layer, to separate the regularizer's own cost from the matrix work
# of the network it trains
ADV_LINEAR = "adversarial_linear"
# reference rows, both harnesses: the plain step followed by the layers of the adversary of
# an adversarial row as bare torch calls (see the module docstring): a floor under that
# row's ratio, measured in the same run; row -> the adversarial row whose adversary it runs
ADVERSARY_LAYERS = {"adversary_layers": "adversarial", "adversary_layers_linear": ADV_LINEAR}
REFERENCES = [FLOOR, *OBJECTIVE_ONLY]
# estimator-harness reference row: the multi-label estimator's bias-amplification step
# through its hooks (get_task_loss + get_fairness_term), the path it took before the fused
# straight-through objective, timed in the same run as the fused one
HOOKS = "bias_amplification_hooks"
# --compile: key prefix of the eager baseline steps timed beside the compiled ones
EAGER = "eager:"


class Body(nn.Module):
    """MLP head: 512-d embedding -> hidden (the representation) -> outputs."""

    def __init__(self, dim, hidden, out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, out)

    def forward(self, x):
        h = self.body(x)
        return self.out(h), h


def make_step(name, args, device, data, compile_step=False):
    """Return a closure doing one optimisation step for ``name`` (its forward pass and
    loss compiled by ``torch.compile`` with ``compile_step``)."""
    torch.manual_seed(0)
    X, y, yml, yreg, g = data
    G = args.groups
    lam = 0.5
    base = baseline_of(name)
    task_loss = {"ce": "cross_entropy", "bce": "binary_cross_entropy", "l1": "l1"}[base]
    task = {"ce": "classification", "bce": "multilabel", "l1": "regression"}[base]
    n_out = 1 if task == "regression" else args.classes
    if args.module == "cnn":
        model = SmallCNN(3, n_out, channels=(16, 32), embedding_dim=args.hidden)
    elif args.module == "mlp":
        model = Body(args.dim, args.hidden, n_out)
    else:
        model = TorchvisionBackbone(args.module, n_out)
    emb_dim = getattr(model, "embedding_dim", args.hidden)
    torch_loss = TORCH_LOSSES.get(name)
    params = list(model.parameters())
    loss = None
    head = None
    if name == FLOOR:
        loss = nn.Module()
        loss.role = "floor"
    elif name not in TORCH_LOSSES and name not in OBJECTIVE_ONLY:
        loss = fairness_of(name, G)
        if loss.requires_fit:
            loss.fit(yml.reshape(-1, args.classes).cpu(), g.reshape(-1).cpu(), n_groups=G)
        if isinstance(loss, AdversarialLoss):
            head = loss.make_head(emb_dim, G)
            head.to(device)
            params += list(head.parameters())
        loss.to(device)
    model.to(device)
    # the estimators' optimizer: Adam with the fused kernel where torch has one
    opt = torch.optim.Adam(params, lr=1e-3, fused=_fused_adam_supported(str(device)) or None)
    n_batches = X.shape[0]
    targets = {"classification": y, "multilabel": yml, "regression": yreg}[task]
    state = {"i": 0}

    def forward_loss(xb, yb, gb):
        out, emb = model(xb)
        if torch_loss is not None:  # baseline: the task loss written with torch.nn.functional
            total = torch_loss(out, yb)
        elif head is not None:  # adversarial: the task plus the adversary on the embedding
            total = penalized_task_loss(out, yb, gb, task=task_loss, penalty=loss, lam=lam,
                                        n_groups=G, embedding=emb, head=head)
        elif loss is not None and loss.role == "floor":
            total = penalized_task_loss(out, yb, task=task_loss) + lam * out.mean()
        elif loss is None:  # reference: the objective without a penalty
            total = penalized_task_loss(out, yb, task=task_loss)
        else:  # the estimators' objective: task + lam * penalty in one autograd node
            total = penalized_task_loss(out, yb, gb, task=task_loss, penalty=loss, lam=lam,
                                        n_groups=G)
        return total

    graphs = False
    if compile_step:  # the network's forward pass and the loss, compiled together
        forward_loss = torch.compile(forward_loss, **compile_kwargs(args))
        graphs = _uses_cuda_graphs(compile_kwargs(args))

    def step():
        if graphs:  # CUDA graphs: a new iteration, the last one's outputs are done with
            torch.compiler.cudagraph_mark_step_begin()
        i = state["i"] = (state["i"] + 1) % n_batches
        total = forward_loss(X[i], targets[i], g[i])
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    return step


def make_estimator_step(name, args, device, data, compile_step=False):
    """One skorch ``train_step`` of the estimator that trains ``name`` (or, for a
    baseline key, of the same estimator without a fairness term), with
    ``compile=compile_step``."""
    import numpy as np

    from skfair.estimators import (
        FairNetClassifier,
        FairNetMultiLabelClassifier,
        FairNetRegressor,
    )
    from skfair.estimators._net import SliceDataset

    class HookPathMultiLabel(FairNetMultiLabelClassifier):
        def _fused_task(self):
            return None

    X, y, yml, yreg, g = (t.cpu().numpy() for t in data)
    base = baseline_of(name)
    fairness = (None if name in TORCH_LOSSES
                else AdversarialLoss(hidden=()) if name == ADV_LINEAR else name)
    est_cls = {"ce": FairNetClassifier, "bce": FairNetMultiLabelClassifier,
               "l1": FairNetRegressor}[base]
    if name == HOOKS:
        fairness, est_cls = "bias_amplification", HookPathMultiLabel
    targets = {"ce": y, "bce": yml, "l1": yreg}[base]
    kwargs = dict(fairness=fairness, lam=0.0 if fairness is None else 0.5, max_epochs=1,
                  batch_size=args.batch, device=device.type, random_state=0,
                  compile=(compile_kwargs(args) or True) if compile_step else False)
    if args.module == "cnn":
        kwargs.update(module="cnn", module_params=dict(channels=(16, 32),
                                                       embedding_dim=args.hidden))
    elif args.module == "mlp":
        kwargs.update(hidden_sizes=(args.hidden,))
    else:
        kwargs.update(module=args.module)
    if base == "l1":
        kwargs["loss"] = "l1"
    n_batches, B = X.shape[0], X.shape[1]
    X_all = X.reshape(n_batches * B, *X.shape[2:]).astype(np.float32)
    y_all = targets.reshape(n_batches * B, *targets.shape[2:])
    g_all = g.reshape(-1)
    est = est_cls(**kwargs).fit(X_all, y_all, sensitive_features=g_all)
    net = est.net_
    y_net = est._prepare_y(y_all)[0]
    groups = est._encode_groups(g_all, len(g_all))
    dataset = SliceDataset(dict(X=X_all, groups=groups,
                                sample_weight=np.ones(len(g_all), dtype=np.float32)), y_net)
    batches = list(net.get_iterator(dataset, training=True))
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % len(batches)
        net.train_step(batches[i])

    return step


def adversary_layers(layers, emb, grad_out):
    """The adversary's layers ``[(W1, b1), ..., (WL, bL)]`` (``Linear (ReLU Linear)*``) on
    ``emb``, forward and backward from ``grad_out`` (the gradient at its logits), as bare
    torch calls: ``(gradient into emb, [dW_L, db_L, ..., dW_1, db_1])``."""
    acts = [emb]
    for i, (weight, bias) in enumerate(layers):
        h = torch.addmm(bias, acts[-1], weight.t())
        acts.append(h.relu_() if i < len(layers) - 1 else h)
    g = grad_out
    grads = []
    for i in reversed(range(len(layers))):
        weight, h_in = layers[i][0], acts[i]
        grads += (g.t().mm(h_in), g.sum(0))
        g = g.mm(weight)  # into the layer's input: the embedding for the first layer
        if i:
            g = torch.ops.aten.threshold_backward(g, h_in, 0)
    return g, grads


def embedding_width(args):
    """The width of the embedding the adversary reads in ``args.module``."""
    if args.module == "resnet18":
        return TorchvisionBackbone("resnet18", 1).embedding_dim
    return args.hidden  # the MLP's hidden layer, SmallCNN's embedding_dim


def adversary_layers_work(name, args, device):
    """A closure running the layers of the adversary of row ``name`` (a key of
    ``ADVERSARY_LAYERS``) once on a fixed batch."""
    gen = torch.Generator().manual_seed(1)
    width = embedding_width(args)
    head = fairness_of(ADVERSARY_LAYERS[name], args.groups).make_head(width, args.groups)
    layers = [(m.weight.detach().to(device), m.bias.detach().to(device))
              for m in head.modules() if isinstance(m, nn.Linear)]
    emb = torch.relu(torch.randn(args.batch, width, generator=gen)).to(device)
    grad_out = torch.randn(args.batch, args.groups, generator=gen).to(device)
    return lambda: adversary_layers(layers, emb, grad_out)


def with_adversary_layers(step, work):
    """``step`` followed by the adversary's layers (the ``ADVERSARY_LAYERS`` rows)."""

    def both():
        step()
        work()

    return both


def compile_kwargs(args):
    """Keyword arguments of ``torch.compile`` for ``--compile-mode``."""
    return {} if args.compile_mode is None else {"mode": args.compile_mode}


def fairness_of(name, n_groups):
    """The loss object a row trains (``adversarial_linear``: a linear adversary)."""
    if name == ADV_LINEAR:
        return AdversarialLoss(hidden=(), n_groups=n_groups)
    return get_fairness_loss(name, n_groups=n_groups)


def baseline_of(name):
    if name in ("bias_amplification", HOOKS, "bce", "objective_bce"):
        return "bce"
    if name in ("mean_parity", "mae_parity", "l1", "objective_l1"):
        return "l1"
    return "ce"


def time_block(step, n, device, clock=time.perf_counter):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = clock()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (clock() - t0) / n


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--module",
        choices=["mlp", "cnn", "resnet18"],
        default="mlp",
        help="mlp: the MLP head on --dim embeddings (the cheapest step, where a loss's "
        "fixed cost weighs most); cnn: skfair's SmallCNN (16, 32 channels) on "
        "3 x --image-size x --image-size images; resnet18: torchvision's ResNet-18 "
        "(random weights) fine-tuned end to end on the same images",
    )
    parser.add_argument(
        "--harness",
        choices=["bare", "estimator"],
        default="bare",
        help="bare: a hand-written step (forward, loss, backward, Adam); estimator: "
        "skorch's train_step of the fitted skfair estimator (see the docstring)",
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--losses", nargs="*", default=None,
                        help="default: every loss, and the reference rows of the harness")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="compile every step's forward pass and loss with torch.compile (estimators: "
        "compile=True), the baselines' too; the ratios are to the compiled baseline, and the "
        "column 'vs eager' to the eager baseline timed in the same blocks",
    )
    parser.add_argument(
        "--compile-mode",
        default=None,
        choices=["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"],
        help="torch.compile's mode (implies --compile); reduce-overhead and max-autotune "
        "replay the step's kernels as CUDA graphs on a GPU",
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "process"],
        default="wall",
        help="wall: perf_counter; process: CPU time of this process (robust to other "
        "processes competing for the cores; CPU runs only)",
    )
    return parser


def make_data(args, device):
    """``(X, y, Y multi-label, y regression, groups)``: ``8`` batches of ``args.batch``
    rows each, on ``device``."""
    gen = torch.Generator().manual_seed(0)
    n_batches = 8
    B = args.batch
    if args.module != "mlp":
        X = torch.rand(n_batches, B, 3, args.image_size, args.image_size, generator=gen)
    else:
        X = torch.randn(n_batches, B, args.dim, generator=gen)
    y = torch.randint(0, args.classes, (n_batches, B), generator=gen)
    yml = (torch.rand(n_batches, B, args.classes, generator=gen) < 0.3).float()
    yreg = torch.rand(n_batches, B, generator=gen) * 80
    g = torch.randint(0, args.groups, (n_batches, B), generator=gen)
    # b_train from the multi-label targets, as an estimator would at fit time
    b_train = cooccurrence_ratio(yml.reshape(-1, args.classes), g.reshape(-1), n_groups=args.groups)
    assert torch.isfinite(b_train).all()
    return tuple(t.to(device) for t in (X, y, yml, yreg, g))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.compile_mode is not None:
        args.compile = True

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(dev)
    if args.clock == "process" and device.type != "cpu":
        parser.error("--clock process only measures CPU work; use --clock wall on a GPU")
    clock = time.process_time if args.clock == "process" else time.perf_counter

    data = make_data(args, device)
    X = data[0]
    B = args.batch

    if args.losses is None:
        args.losses = CLASSIFICATION + OTHERS + [ADV_LINEAR, *ADVERSARY_LAYERS] + (
            REFERENCES if args.harness == "bare" else [] if args.compile else [HOOKS])
    if args.harness == "bare" and HOOKS in args.losses:
        parser.error(f"{HOOKS} is a row of --harness estimator")
    if args.harness == "estimator":
        dropped = [name for name in args.losses if name in REFERENCES]
        args.losses = [name for name in args.losses if name not in REFERENCES]
        if dropped:
            print(f"--harness estimator: reference rows {dropped} are bare-step only")
    maker = make_estimator_step if args.harness == "estimator" else make_step
    print(
        f"torch {torch.__version__} | {platform.processor() or platform.machine()} | "
        f"harness={args.harness} | compile={args.compile}"
        f"{'' if args.compile_mode is None else f' ({args.compile_mode})'} | "
        f"device={device} | threads={torch.get_num_threads()} | module={args.module} "
        f"batch={B} input={tuple(X.shape[2:])} "
        f"hidden={args.hidden} classes={args.classes} groups={args.groups} clock={args.clock}"
    )
    if args.compile and HOOKS in args.losses:
        parser.error(f"{HOOKS} is an eager reference row; leave it out with --compile")
    if args.compile:
        # every row's step is its own closure of one code object: one cache entry each
        import torch._dynamo.config as dynamo_config

        dynamo_config.cache_size_limit = max(dynamo_config.cache_size_limit, 64)
    steps = {}
    for name in args.losses:
        for key in (baseline_of(name), name):
            if key in steps:
                continue
            if key in ADVERSARY_LAYERS:  # the baseline's step, then the adversary's layers
                steps[key] = with_adversary_layers(steps[baseline_of(key)],
                                                   adversary_layers_work(key, args, device))
            else:
                steps[key] = maker(key, args, device, data, compile_step=args.compile)
        eager = EAGER + baseline_of(name)
        if args.compile and eager not in steps:
            steps[eager] = maker(baseline_of(name), args, device, data)
    for step in steps.values():
        time_block(step, args.warmup, device)

    rng = random.Random(0)
    ratios = {name: [] for name in args.losses}
    base_t = {name: [] for name in args.losses}
    loss_t = {name: [] for name in args.losses}
    vs_eager = {name: [] for name in args.losses}
    for r in range(args.rounds):
        order = list(args.losses)
        rng.shuffle(order)
        for name in order:
            pair = [baseline_of(name), name]
            if args.compile:
                pair.append(EAGER + baseline_of(name))
            if r % 2:
                pair.reverse()
            t = {key: time_block(steps[key], args.steps, device, clock) for key in pair}
            b, f = t[baseline_of(name)], t[name]
            ratios[name].append(f / b)
            base_t[name].append(b)
            loss_t[name].append(f)
            if args.compile:
                vs_eager[name].append(f / t[EAGER + baseline_of(name)])

    print(
        f"{'loss':24s} {'baseline':>8s} {'base ms':>8s} {'loss ms':>8s} {'ratio':>7s} "
        f"{'q25':>6s} {'q75':>6s} {'minratio':>8s}"
        + (f" {'vs eager':>8s}" if args.compile else "") + "  target<=1.10"
    )
    worst = 0.0
    for name in args.losses:
        rs = sorted(ratios[name])
        med = statistics.median(rs)
        q = statistics.quantiles(rs, n=4) if len(rs) > 1 else [med, med, med]
        # ratio of the fastest blocks: the least disturbed by other processes
        min_ratio = min(loss_t[name]) / min(base_t[name])
        reference = (name in REFERENCES or name in ADVERSARY_LAYERS
                     or name in (HOOKS, ADV_LINEAR))
        if not reference:
            worst = max(worst, med)
        print(
            f"{name:24s} {baseline_of(name):>8s} {1e3 * statistics.median(base_t[name]):8.3f} "
            f"{1e3 * statistics.median(loss_t[name]):8.3f} {med:7.3f} {q[0]:6.3f} {q[2]:6.3f} "
            f"{min_ratio:8.3f}"
            + (f" {statistics.median(vs_eager[name]):8.3f}" if args.compile else "")
            + f"  {'(reference)' if reference else 'ok' if med <= 1.10 else 'OVER'}"
        )
    print(f"worst median ratio over the fairness losses: {worst:.3f}")


if __name__ == "__main__":
    main()
