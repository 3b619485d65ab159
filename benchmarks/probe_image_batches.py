"""Host work of ``EmbeddingExtractor.transform`` on an image array, without the network.

``bench_embedding.py --device cuda`` found the float-array path far under its target on an
H100 (transform / bare forward 0.25-0.55): the host validated the whole array before the
first batch and copied every batch to C order. This probe times that host work alone, the
way ``transform`` does it (``as_image_input(X, defer_range_check=True)``, then
``ImageInput.batches``' array slicing, run here in the calling thread), per call:

- ``validation``: ``as_image_input`` (the up-front checks);
- ``first batch``: from the call to the first batch ready for the device;
- ``all batches``: to the last one.

On the CPU path a float batch's ``[0, 1]`` check is part of this host work; on the
CUDA path (``--pin-memory``) ``transform`` checks the range on the device, and this
probe leaves it out as ``transform`` does.

Inputs: the same float32 ``(n, C, H, W)`` array as ``bench_embedding.py`` (a transposed
``uint8`` ``(n, H, W, C)`` array divided by 255: channels-last in memory), the same values
in C order, and the ``uint8`` array. ``--pin-memory`` runs the CUDA path (pinned batches,
which keep the array's layout; needs CUDA); without it, the CPU path (C-ordered batches).
Run::

    .venv/bin/python benchmarks/probe_image_batches.py [--pin-memory]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from skfair.transformers._image_io import Preprocessing, as_image_input


def host_times(X, prep, batch_size, pin_memory):
    """``(validation, first batch, all batches)`` in ms, for one call."""
    start = time.perf_counter()
    source = as_image_input(X, defer_range_check=True)
    checked = time.perf_counter()
    first = None
    # as transform does it: on CUDA (pinned batches) the range is checked on the device
    for _ in source._array_batches(batch_size, prep, pin_memory, check_range=not pin_memory):
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    return tuple(1e3 * (t - start) for t in (checked, first, end))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pin-memory", action="store_true",
                        help="pinned batches, as for a CUDA device (needs CUDA)")
    args = parser.parse_args(argv)
    if args.pin_memory and not torch.cuda.is_available():
        parser.error("--pin-memory needs CUDA")
    rng = np.random.default_rng(0)
    size = args.image_size
    imgs = rng.integers(0, 256, size=(args.n, size, size, 3), dtype=np.uint8)
    as_float = imgs.transpose(0, 3, 1, 2).astype(np.float32) / 255
    inputs = {
        "float, channels-last": as_float,
        "float, C order": np.ascontiguousarray(as_float),
        "uint8": imgs,
    }
    prep = Preprocessing(crop_size=size, resize_size=size)
    print(f"torch {torch.__version__} | n={args.n} size={size} batch={args.batch_size} "
          f"pin_memory={args.pin_memory} | ms per call, median of {args.repeats}")
    print(f"{'input':22s} {'validation':>10s} {'first batch':>12s} {'all batches':>12s}")
    for name, X in inputs.items():
        runs = [host_times(X, prep, args.batch_size, args.pin_memory)
                for _ in range(args.repeats)]
        med = [statistics.median(col) for col in zip(*runs, strict=True)]
        print(f"{name:22s} {med[0]:10.1f} {med[1]:12.1f} {med[2]:12.1f}")


if __name__ == "__main__":
    sys.exit(main())
