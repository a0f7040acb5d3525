#!/usr/bin/env bash
# Everything vidtok measures on a lent GPU machine, in one call (see docs/benchmarks.md):
# CUDA tests, the kernel benchmark (with a tile sweep) and the end-to-end benchmark.
# The machine has torch/triton but not vidtok's other dependencies and no network, so
# wheels come along in .whl/ and the video in .gpu/ (both ignored by git):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d .whl \
#       av pydantic pydantic_core annotated-types typing-inspection platformdirs transformers
# Usage there: bash benchmarks/gpu_session.sh [kernels|e2e|tests|all]   (writes into $OUT)
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
what=" ${*:-all} "
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
rm -rf /tmp/vidtok; python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/vidtok . || exit 1
export PYTHONPATH=/tmp/vidtok:/tmp/site
# run from a copy outside the checkout, so the source tree's vidtok/ (which lacks the
# vidtok.kernels / vidtok.cli mapping) never shadows the installed package
REPO=$PWD; rm -rf /tmp/run; mkdir -p /tmp/run; cp -r benchmarks tests /tmp/run/; cd /tmp/run
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, triton, transformers; print('torch', torch.__version__, 'triton', triton.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
if [[ $what == *" all "* || $what == *" tests "* ]]; then
  timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -15 | tee "$OUT/tests.txt"
fi
if [[ $what == *" all "* || $what == *" kernels "* ]]; then
  timeout 450 python3 benchmarks/kernels.py ${TUNE:-} --out "$OUT/kernels.json" > "$OUT/kernels.md" 2>&1
  grep -v "^| " "$OUT/kernels.md" | tail -40; grep -E "^\| [0-9]+ \||\| 32 \| 729 \| 1152 \|" "$OUT/kernels.md"
fi
if [[ $what == *" all "* || $what == *" e2e "* ]]; then
  v=$REPO/.gpu/cooking_flipping_pancake_h264_opus.mkv
  timeout 300 python3 benchmarks/e2e.py --model random:qwen2_5_vl-3b --dtype bfloat16 --frames 32 --new-tokens 8 \
      --video $v --out "$OUT/e2e_qwen2_5_vl_3b_gpu.md" 2>&1 | grep -v "^\[{" | tail -12
  timeout 200 python3 benchmarks/e2e.py --model random:llava_onevision-0.5b --dtype bfloat16 --frames 16 --new-tokens 16 \
      --video $v --out "$OUT/e2e_llava_onevision_0.5b_gpu.md" 2>&1 | grep -v "^\[{" | tail -12
fi
