"""What a fairness loss adds to a small training step on a GPU: kernels, operators, syncs.

On a GPU the MLP step of ``bench_losses.py`` (512-256-10, batch 256) is far too small to
keep the device busy: its time is the host's time to issue the work, so a loss costs about
what its operators cost to dispatch, whatever they compute. For the plain step and each
fairness step (built exactly as ``bench_losses.py`` builds them, ``--harness bare`` by
default, or ``--harness estimator``: the estimators' own skorch ``train_step``), this
prints, per training step:

- ``kernels``: device kernels launched (``torch.profiler``);
- ``aten ops``: operators dispatched on the host (top-level ``aten::`` calls, the
  backward's included);
- ``GPU busy us``: the summed duration of those kernels;
- ``syncs``: whether the step synchronises host and device
  (``torch.cuda.set_sync_debug_mode("error")``: any synchronising call raises).

Run on a CUDA machine::

    python benchmarks/probe_gpu_step.py            # the MLP head
    python benchmarks/probe_gpu_step.py --module cnn

``--device cpu`` runs the same profile on the CPU (no kernel or sync columns).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

_SPEC = importlib.util.spec_from_file_location(
    "bench_losses", Path(__file__).with_name("bench_losses.py"))
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

STEPS = 5


def _is_kernel(event):
    kind = getattr(event, "device_type", None)
    return kind is not None and kind == torch.autograd.DeviceType.CUDA


def _device_time(event):
    for attr in ("device_time", "cuda_time"):  # torch >= 2.4 / older
        value = getattr(event, attr, None)
        if value is not None:
            return value
    return 0.0


def profile_step(step, device):
    """``(kernels, aten ops, GPU busy microseconds)`` per step, and whether it syncs."""
    cuda = device.type == "cuda"
    for _ in range(3):
        step()
    if cuda:
        torch.cuda.synchronize()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(STEPS):
            step()
        if cuda:
            torch.cuda.synchronize()
    events = prof.events()
    kernels = [e for e in events if _is_kernel(e)]
    # top-level operators: an aten:: call not made from inside another aten:: call
    ops = [e for e in events if e.name.startswith("aten::") and not _is_kernel(e)
           and not (e.cpu_parent is not None and e.cpu_parent.name.startswith("aten::"))]
    syncs = None
    if cuda:
        torch.cuda.set_sync_debug_mode("error")
        try:
            step()
            syncs = "no"
        except RuntimeError as exc:
            syncs = f"YES: {str(exc).splitlines()[0][:60]}"
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return (len(kernels) / STEPS, len(ops) / STEPS,
            sum(_device_time(e) for e in kernels) / STEPS, syncs)


def main(argv=None):
    parser = bench.build_parser()
    args = parser.parse_args(argv)
    if args.compile or args.compile_mode:
        parser.error("the probe profiles the eager step only")
    dev = args.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(dev)
    data = bench.make_data(args, device)
    names = args.losses or (["ce", "bce", "l1"] + bench.CLASSIFICATION + bench.OTHERS
                            + [bench.ADV_LINEAR])
    print(f"torch {torch.__version__} | device={device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f" | module={args.module} batch={args.batch} | per step, mean of {STEPS} steps")
    print(f"{'step':20s} {'baseline':>8s} {'kernels':>8s} {'aten ops':>9s} "
          f"{'GPU busy us':>12s}  syncs")
    for name in names:
        maker = bench.make_estimator_step if args.harness == "estimator" else bench.make_step
        step = maker(name, args, device, data)
        kernels, ops, busy, syncs = profile_step(step, device)
        base = name if name in bench.TORCH_LOSSES else bench.baseline_of(name)
        print(f"{name:20s} {base:>8s} {kernels:8.1f} {ops:9.1f} {busy:12.1f}  "
              f"{syncs or '-'}")


if __name__ == "__main__":
    sys.exit(main())
