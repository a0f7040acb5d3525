"""float32 vs bfloat16 on a CPU, with and without bfloat16 units: the basis of the CPU dtype
rule in ``models.cpu_dtype.cpu_needs_float32`` (published SmolVLM2, Qwen and LLaVA checkpoints are stored in
bfloat16, which is what transformers' ``dtype="auto"`` would load).

SmolVLM2-256M-Video's real dimensions (random weights): its vision tower on 8 frames and a
prefill of ``--tokens`` tokens, best of ``--repeat``, each dtype in a fresh process. "without
bfloat16 units" runs the same processes with oneDNN, MKL and ATen limited to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2``): a stand-in
for the many CPUs without AVX512-BF16/AMX (most laptops, AMD before Zen 4), taken on this one.

    python benchmarks/cpu_dtype.py [--repeat 2] [--tokens 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def child(dtype: str, repeat: int, tokens: int) -> dict:
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from vidtok.models.loading import load_model

    m = load_model("random:smolvlm2-256m", device="cpu", dtype=dtype)
    frames = np.random.default_rng(0).integers(0, 256, (8, 512, 512, 3), dtype=np.uint8)
    t = np.arange(8.0)
    embeds = torch.randn(1, tokens, m.model.config.text_config.hidden_size, dtype=m.model.dtype)
    pos = torch.arange(tokens)[None]

    def best(fn) -> float:
        fn()  # warm-up
        out = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            out = min(out, time.perf_counter() - t0)
        return out

    with torch.inference_mode():
        tower = best(lambda: m.encode(frames, t, t + 1, 1.0))
        prefill = best(lambda: m.model.model.text_model(inputs_embeds=embeds, position_ids=pos))
    return {"dtype": dtype, "tower_s": tower, "prefill_s": prefill,
            "bf16_units": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat, args.tokens)))
        return
    rows = []
    for cpu, env in (("this CPU", {}), ("limited to AVX2", AVX2)):
        for dtype in ("float32", "bfloat16"):
            out = subprocess.run([sys.executable, __file__, "--child", dtype, "--repeat", str(args.repeat),
                                  "--tokens", str(args.tokens)], capture_output=True, text=True, check=True,
                                 env={**os.environ, **env})
            rows.append({"cpu": cpu, **json.loads(out.stdout.strip().splitlines()[-1])})
    print(f"SmolVLM2-256M dimensions, {os.cpu_count()} cores, best of {args.repeat}: tower on 8 frames at 512 px, "
          f"prefill of {args.tokens} tokens\n")
    print("| CPU | bfloat16 units (oneDNN) | dtype | tower s | prefill s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cpu']} | {'yes' if r['bf16_units'] else 'no'} | {r['dtype']} | {r['tower_s']:.2f} | "
              f"{r['prefill_s']:.2f} |")
    for cpu in ("this CPU", "limited to AVX2"):
        f32, b16 = (next(r for r in rows if r["cpu"] == cpu and r["dtype"] == d) for d in ("float32", "bfloat16"))
        print(f"\n{cpu}: bfloat16 / float32 time: tower {b16['tower_s'] / f32['tower_s']:.2f}, "
              f"prefill {b16['prefill_s'] / f32['prefill_s']:.2f}")


if __name__ == "__main__":
    main()
