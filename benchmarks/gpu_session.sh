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
#        run(command="bash benchmarks/gpu_session.sh losses", carry=[".gpuwheels"])
#      It writes one report per step to $OUT (or ./gpu_out).
#
# Arguments: the groups of steps to run (default: all three, in this order):
#   losses    bench_losses.py (the MLP head, and ResNet-18 at 112 px)
#   tests     the CUDA tests (pytest -k cuda)
#   embedding issue 5's figure: bench_embedding.py at batch 32 and 128, bf16 and fp32
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

SELECTED=${*:-losses tests embedding}
for group in $SELECTED; do
    case $group in
    losses)
        # the training-step time of every fairness loss over the plain task loss
        step losses_mlp "$PY" benchmarks/bench_losses.py --device "$DEVICE" --modules mlp
        step losses_resnet18 "$PY" benchmarks/bench_losses.py --device "$DEVICE" \
            --modules resnet18 --image-size 112
        ;;
    embedding)
        E=benchmarks/bench_embedding.py
        step embedding_bf16_b32 "$PY" $E --device "$DEVICE"
        step embedding_fp32_b32 "$PY" $E --device "$DEVICE" --precision fp32
        step embedding_bf16_b128 "$PY" $E --device "$DEVICE" --batch-size 128 --n 1024
        step embedding_fp32_b128 "$PY" $E --device "$DEVICE" --precision fp32 \
            --batch-size 128 --n 1024
        ;;
    tests)
        if [ "$DEVICE" = cuda ]; then
            step cuda_tests "$PY" -m pytest -q -p no:cacheprovider tests -k cuda
        fi
        ;;
    *)
        echo "unknown group '$group' (losses, tests, embedding)" >&2
        exit 2
        ;;
    esac
done
