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
#        run(command="bash benchmarks/gpu_session.sh", carry=[".gpuwheels"])
#      It writes its reports to $OUT (or ./gpu_out).
#
# DEVICE=cpu runs the same steps on the CPU (a dry run of this script).
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

# the CUDA tests (fused penalties, estimators, compile=True, embeddings)
if [ "$DEVICE" = cuda ]; then
    step cuda_tests "$PY" -m pytest -q -p no:cacheprovider tests -k cuda
fi
# issue 6: the training-step ratio of every fairness loss, eager and compiled
step bench_losses_mlp "$PY" benchmarks/bench_losses.py --device "$DEVICE" --rounds 15
step bench_losses_mlp_estimator "$PY" benchmarks/bench_losses.py --device "$DEVICE" \
    --harness estimator --rounds 15
step bench_losses_mlp_compile "$PY" benchmarks/bench_losses.py --device "$DEVICE" \
    --compile --rounds 15
step bench_losses_cnn "$PY" benchmarks/bench_losses.py --device "$DEVICE" --module cnn \
    --rounds 9
# the embedding extractor's throughput against the bare torchvision forward
step bench_embedding "$PY" benchmarks/bench_embedding.py --device "$DEVICE"
