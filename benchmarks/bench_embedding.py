"""Throughput of ``EmbeddingExtractor.transform`` against the bare torchvision forward.

Measured side by side in one run, on the same images, batch size, device and
precision:

* ``bare forward``: ``torchvision.models.get_model(backbone)`` in eval mode, run over
  batches that are already normalised and already on the device (channels_last on
  GPU), under the same autocast -- the compute-only upper bound;
* ``transform (float)``: ``EmbeddingExtractor.transform`` on the same images as a
  float32 ``(n, C, H, W)`` NumPy array (copies to the device, normalisation, copies
  of the embeddings back to NumPy all included);
* ``transform (uint8)``: the same images as a uint8 ``(n, H, W, C)`` array;
* ``transform (JPEG paths)``: images/s from JPEG files decoded by ``--num-workers``
  processes (and by the background thread with 0 workers): real UTKFace images when
  ``../shared/data/utkface/images`` exists, synthetic ones otherwise.

Repeats are interleaved (bare, float, uint8, bare, ...) so that a machine's load
affects all methods alike; the table gives medians, the ratios are medians of the
per-repeat ratios. The target is ``transform / bare >= 0.9``.

On a CPU shared with other jobs, wall-clock rates swing with their load; the table
therefore also gives the ratio of this process's CPU time (``time.process_time``,
all threads), which counts the work done and not the waiting. It is left out for
JPEG decoding by worker processes, whose CPU time is not this process's.

Usage::

    .venv/bin/python benchmarks/bench_embedding.py [--backbone resnet18] [--n 256]
        [--image-size 112] [--batch-size 32] [--device auto] [--precision auto]
        [--num-workers 2] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skfair.transformers import EmbeddingExtractor  # noqa: E402
from skfair.transformers._embedding import (  # noqa: E402
    _AUTOCAST_DTYPES,
    resolve_device,
    resolve_precision,
)
from skfair.utils import get_data_dir  # noqa: E402

# this checkout's data (../shared/data) unless SKFAIR_DATA_DIR names another folder;
# skfair's own default is ~/skfair_data
_CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("SKFAIR_DATA_DIR") and _CHECKOUT_DATA.is_dir():
    os.environ["SKFAIR_DATA_DIR"] = str(_CHECKOUT_DATA)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--n", type=int, default=256, help="images per measurement")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--num-workers", type=int, default=2, help="JPEG decoding processes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser.parse_args(argv)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_images(n, size, seed=0):
    """Smooth random images (so JPEG sizes are realistic), uint8 (n, H, W, 3)."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(n, 3, 8, 8)).astype(np.float32)
    up = torch.nn.functional.interpolate(
        torch.from_numpy(low), size=(size, size), mode="bicubic", align_corners=False
    )
    noise = rng.normal(0, 8, size=(n, 3, size, size)).astype(np.float32)
    imgs = (up.numpy() + noise).clip(0, 255).round().astype(np.uint8)
    return imgs.transpose(0, 2, 3, 1).copy()


def jpeg_paths(n, folder):
    utk = get_data_dir() / "utkface" / "images"
    if utk.is_dir():
        files = sorted(str(p) for p in utk.glob("*.jpg"))[:n]
        if len(files) == n:
            return files, f"UTKFace JPEGs ({Image.open(files[0]).size[0]} px)"
    paths = []
    for i, img in enumerate(make_images(n, 200, seed=1)):
        path = os.path.join(folder, f"{i}.jpg")
        Image.fromarray(img).save(path, quality=90)
        paths.append(path)
    return paths, "synthetic 200 px JPEGs"


def bare_forward(args, device, precision):
    """A closure timing the plain torchvision forward over prepared device batches."""
    model = torchvision.models.get_model(args.backbone, weights=None).eval().to(device)
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    imgs = make_images(args.n, args.image_size)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(255)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (x - mean) / std
    batches = [b.to(device).contiguous(memory_format=fmt) for b in x.split(args.batch_size)]
    dtype = _AUTOCAST_DTYPES.get(precision)

    def run():
        ctx = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with torch.inference_mode(), ctx:
            for b in batches:
                model(b)
        synchronize(device)

    return run


def timed(fn, n):
    """(images/s by the wall clock, images/s by this process's CPU time)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def median_ratio(values, ref, k):
    return statistics.median(v[k] / b[k] for v, b in zip(values, ref, strict=True))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
    else:
        machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(
        f"device: {device} ({machine}), torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}, {torch.get_num_threads()} CPU threads"
    )
    print(
        f"backbone {args.backbone}, n={args.n}, image {args.image_size}px, "
        f"batch {args.batch_size}, precision {precision}"
    )

    imgs = make_images(args.n, args.image_size)
    as_float = imgs.transpose(0, 3, 1, 2).astype(np.float32) / 255
    ext = EmbeddingExtractor(
        args.backbone,
        weights=None,
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=str(device),
        precision=precision,
        progress=False,
        random_state=0,
    ).fit()
    bare = bare_forward(args, device, precision)
    methods = {
        "bare forward": bare,
        "transform (float)": lambda: ext.transform(as_float),
        "transform (uint8)": lambda: ext.transform(imgs),
    }
    for fn in methods.values():  # warm-up (allocators, oneDNN/cuDNN plans)
        fn()
    rates = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            rates[name].append(timed(fn, args.n))

    header = f"{'images/s (wall)':>16}{'/ bare (wall)':>15}{'/ bare (CPU time)':>19}"
    print(f"\n{'method':<28}{header}")
    bare_rates = rates["bare forward"]
    for name, values in rates.items():
        wall = statistics.median(v[0] for v in values)
        print(
            f"{name:<28}{wall:>16.1f}{median_ratio(values, bare_rates, 0):>15.3f}"
            f"{median_ratio(values, bare_rates, 1):>19.3f}"
        )

    with tempfile.TemporaryDirectory() as folder:
        paths, what = jpeg_paths(args.n, folder)
        print(f"\nJPEG paths: {what}, resized to {args.image_size}px")
        for workers in sorted({0, args.num_workers}):
            jext = EmbeddingExtractor(
                args.backbone,
                weights=None,
                image_size=args.image_size,
                batch_size=args.batch_size,
                device=str(device),
                precision=precision,
                num_workers=workers,
                progress=False,
                random_state=0,
            ).fit()
            jext.transform(paths[: args.batch_size])  # warm-up
            values, ratios = [], []
            for _ in range(args.repeats):
                values.append(timed(lambda jext=jext: jext.transform(paths), len(paths))[0])
                ratios.append(values[-1] / timed(bare, args.n)[0])
            print(
                f"{'transform (JPEG, ' + str(workers) + ' workers)':<28}"
                f"{statistics.median(values):>16.1f}{statistics.median(ratios):>15.3f}{'-':>19}"
            )


if __name__ == "__main__":
    main()
