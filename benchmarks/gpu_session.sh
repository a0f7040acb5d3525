#!/usr/bin/env bash
# Everything vidtok measures on a lent GPU machine (see docs/benchmarks.md). A session has
# ~15 minutes of device time and 10 minutes a call, so run it in parts, e.g. two calls:
#   bash benchmarks/gpu_session.sh tests compile compressors processor   (~6 min)
#   bash benchmarks/gpu_session.sh long                          (~5 min)
# (kernels, e2e: the kernel table and the short end-to-end setting, when time is left).
# The machine has torch/triton but not vidtok's other dependencies and no network, so
# wheels come along in .whl/ and the videos in .gpu/ (both ignored by git; pass both in
# the device tool's carry):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d .whl \
#       av pydantic pydantic_core annotated-types typing-inspection platformdirs transformers==5.24.0 \
#       "typer<0.29" rich shellingham annotated-doc markdown-it-py mdurl pygments num2words
# (with --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64: ~51 MiB, which with
# the two videos (4.3 MB) fits the device tool's 64 MiB carry;
# the first line is what earlier sessions carried; the CLI test in tests/test_cuda.py needs
# typer and rich, SmolVLM2's processor num2words; check `python3 -c "import transformers"`
# there first: its own dependencies were present on the machines lent so far)
#   cp ../shared/videos/{cooking_flipping_pancake_h264_opus.mkv,long_static_cam_fly_courtship_120s.mp4} .gpu/
# Usage there: bash benchmarks/gpu_session.sh [tests|compile|compressors|processor|long|kernels|e2e|all]...
# (writes into $OUT)
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
what=" ${*:-all} "
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
rm -rf /tmp/vidtok; python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/vidtok . || exit 1
export PYTHONPATH=/tmp/vidtok:/tmp/site
# run from a copy outside the checkout, so the source tree's vidtok/ (which lacks the
# vidtok.cli mapping) never shadows the installed package
REPO=$PWD; rm -rf /tmp/run; mkdir -p /tmp/run; cp -r benchmarks tests /tmp/run/; cd /tmp/run
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, triton, transformers; print('torch', torch.__version__, 'triton', triton.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
if [[ $what == *" all "* || $what == *" tests "* ]]; then
  timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -15 | tee "$OUT/tests.txt"
fi
if [[ $what == *" all "* || $what == *" compile "* ]]; then
  # per-token decode: eager generate, vidtok, vidtok --compile (and its compile seconds)
  timeout 240 python3 benchmarks/generation.py --models qwen2_5_vl-3b --dtype bfloat16 --compile \
      --new-tokens 32 --repeat 3 2>&1 | grep -v "^Loading\|^Writing" | tail -6 | tee "$OUT/generation.txt"
fi
if [[ $what == *" all "* || $what == *" compressors "* ]]; then
  # every compressor at 29,040 tokens x 2,048 dims on the GPU (#19: holitom at 0.1 under 5 ms)
  timeout 150 python3 benchmarks/compressors.py --repeat 5 2>&1 | tail -16 | tee "$OUT/compressors.md"
fi
if [[ $what == *" all "* || $what == *" processor "* ]]; then
  # Qwen's processor (CPU work on a GPU machine too): one call vs vidtok's pinned chunks, 240 frames
  timeout 200 python3 benchmarks/processor.py --repeat 2 --video $REPO/.gpu/long_static_cam_fly_courtship_120s.mp4 \
      2>&1 | tail -12 | tee "$OUT/processor.md"
fi
if [[ $what == *" all "* || $what == *" long "* ]]; then
  # the long setting: 120 s at Qwen's own 2 fps, full vs 0.1 vs 0.1 + pre-keep
  timeout 420 python3 benchmarks/e2e.py --long --model random:qwen2_5_vl-3b --dtype bfloat16 --new-tokens 32 \
      --pre-keep 0.5 --video $REPO/.gpu/long_static_cam_fly_courtship_120s.mp4 \
      --out "$OUT/e2e_long_qwen2_5_vl_3b_gpu.md" 2>&1 | grep -v "^\[{" | tail -12
fi
if [[ $what == *" all "* || $what == *" kernels "* ]]; then
  timeout 450 python3 benchmarks/kernel_speed.py ${TUNE:-} --out "$OUT/kernels.json" > "$OUT/kernels.md" 2>&1
  grep -v "^| " "$OUT/kernels.md" | tail -40; grep -E "^\| [0-9]+ \||\| 32 \| 729 \| 1152 \|" "$OUT/kernels.md"
fi
if [[ $what == *" all "* || $what == *" e2e "* ]]; then
  v=$REPO/.gpu/cooking_flipping_pancake_h264_opus.mkv
  timeout 300 python3 benchmarks/e2e.py --model random:qwen2_5_vl-3b --dtype bfloat16 --frames 32 --new-tokens 8 \
      --video $v --out "$OUT/e2e_qwen2_5_vl_3b_gpu.md" 2>&1 | grep -v "^\[{" | tail -12
  timeout 200 python3 benchmarks/e2e.py --model random:llava_onevision-0.5b --dtype bfloat16 --frames 16 --new-tokens 16 \
      --video $v --out "$OUT/e2e_llava_onevision_0.5b_gpu.md" 2>&1 | grep -v "^\[{" | tail -12
fi
