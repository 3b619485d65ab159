#!/usr/bin/env bash
# Every GPU check and figure the issues ask for, in one run on a CUDA machine.
#
# The project's CI machine has no GPU; a device machine (torch, torchvision, scikit-learn
# and pandas installed, no internet) may be lent to a session. There:
#
#   1. Here, with the package registry reachable, fetch the pure-Python dependencies the
#      device machine lacks, into a folder git ignores:
#        echo /.gpuwheels/ >> .git/info/exclude
#        .venv/bin/pip download --no-deps --only-binary=:all: -d .gpuwheels \
#            skorch imbalanced-learn sklearn-compat fairlearn narwhals tabulate tqdm
#   2. Run this script there with that folder carried, e.g. the device tool's
#        run(command="bash benchmarks/gpu_session.sh eager", carry=[".gpuwheels"])
#      It writes one report per step to $OUT (or ./gpu_out).
#
# Arguments: the groups of steps to run (default: all four, in this order):
#   eager     bench_losses.py eager (MLP bare/estimator, SmallCNN, ResNet-18 at 112 px
#             bare/estimator), probe_gpu_step.py
#   compiled  bench_losses.py --compile and --compile-mode reduce-overhead, MLP bare and
#             estimator
#   tests     the CUDA tests (pytest -k cuda)
#   embedding issue 5's figure: bench_embedding.py at batch 32 and 128, bf16 and fp32, and
#             the host work of the array path (probe_image_batches.py --pin-memory)
# The device tool allows 10 minutes a command and returns 8 files: run one group per call
# (on an H100, 2026-11-23, no step took more than about 2.5 minutes).
#
# DEVICE=cpu runs the same steps on the CPU (a dry run of this script; the CUDA tests are
# skipped there).
set -euo pipefail

OUT=${OUT:-gpu_out}
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # skfair from this checkout, no build

if [ -d .gpuwheels ]; then
    "$PY" -m pip install -q --no-index --find-links .gpuwheels \
        skorch imbalanced-learn fairlearn
fi
"$PY" - <<'EOF' | tee "$OUT/env.txt"
import platform

import sklearn
import skorch
import torch

gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print(f"python {platform.python_version()} | torch {torch.__version__} | "
      f"scikit-learn {sklearn.__version__} | skorch {skorch.__version__} | {gpu}")
EOF

step() {  # step NAME COMMAND...: run, keep the output, go on after a failure
    local name=$1
    shift
    echo "== $name: $*"
    if "$@" >"$OUT/$name.txt" 2>&1; then echo "   ok"; else echo "   FAILED (exit $?)"; fi
    tail -n 20 "$OUT/$name.txt"
}

SELECTED=${*:-eager compiled tests embedding}
B=benchmarks/bench_losses.py
for group in $SELECTED; do
    case $group in
    eager)
        # issue 6: the training-step ratio of every fairness loss over the plain step
        step losses_mlp "$PY" $B --device "$DEVICE" --rounds 15
        step losses_mlp_estimator "$PY" $B --device "$DEVICE" --harness estimator --rounds 15
        step losses_cnn "$PY" $B --device "$DEVICE" --module cnn --rounds 9
        step losses_resnet18 "$PY" $B --device "$DEVICE" --module resnet18 --image-size 112 \
            --rounds 9 --steps 10
        step losses_resnet18_estimator "$PY" $B --device "$DEVICE" --module resnet18 \
            --image-size 112 --rounds 9 --steps 10 --harness estimator
        # why the small steps cost what they cost there: kernels, operators, syncs
        step probe_step "$PY" benchmarks/probe_gpu_step.py --device "$DEVICE"
        ;;
    compiled)
        step losses_mlp_compile "$PY" $B --device "$DEVICE" --compile --rounds 15
        step losses_mlp_estimator_compile "$PY" $B --device "$DEVICE" --harness estimator \
            --compile --rounds 15
        step losses_mlp_graphs "$PY" $B --device "$DEVICE" --compile-mode reduce-overhead \
            --rounds 11
        step losses_mlp_estimator_graphs "$PY" $B --device "$DEVICE" --harness estimator \
            --compile-mode reduce-overhead --rounds 11
        ;;
    embedding)
        E=benchmarks/bench_embedding.py
        step embedding_bf16_b32 "$PY" $E --device "$DEVICE"
        step embedding_fp32_b32 "$PY" $E --device "$DEVICE" --precision fp32
        step embedding_bf16_b128 "$PY" $E --device "$DEVICE" --batch-size 128 --n 1024
        step embedding_fp32_b128 "$PY" $E --device "$DEVICE" --precision fp32 \
            --batch-size 128 --n 1024
        if [ "$DEVICE" = cuda ]; then
            step image_batches "$PY" benchmarks/probe_image_batches.py --pin-memory
        fi
        ;;
    tests)
        if [ "$DEVICE" = cuda ]; then
            step cuda_tests "$PY" -m pytest -q -p no:cacheprovider tests -k cuda
        fi
        ;;
    *)
        echo "unknown group '$group' (eager, compiled, tests, embedding)" >&2
        exit 2
        ;;
    esac
done
