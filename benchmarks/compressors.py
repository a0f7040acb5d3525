"""Every compressor at video scale, on the device the tokens live on: milliseconds per call
(median of ``--repeat`` after a warm-up; CUDA synchronised), at a 10 % budget. On a GPU the
same tokens also run on the CPU in the same run, and the speed-up is printed beside them.

Default size: 60 temporal patches of 22 x 22 tokens (29,040 tokens: Qwen2.5-VL at its own
2 fps over two minutes) of 2,048 dimensions (Qwen2.5-VL-3B's), made like the host-sync
test's tokens (a slowly drifting scene plus noise), so merging has real structure to find.

    python benchmarks/compressors.py [--frames 60] [--side 22] [--dim 2048] [--budget 0.1]
                                     [--methods holitom,dtd,...] [--repeat 5] [--cpu-too]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidtok.compress import COMPRESSORS, compress  # noqa: E402
from vidtok.compress.tokenset import TokenSet  # noqa: E402


def tokens(T: int, side: int, D: int) -> TokenSet:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(1, side, side, D, generator=g)
    drift = torch.cumsum(torch.randn(T, 1, 1, D, generator=g) * 0.3, 0)
    x = base + drift + 0.05 * torch.randn(T, side, side, D, generator=g)
    ts = TokenSet.from_grid(x, torch.arange(T, dtype=torch.float64))
    ts.meta = {"attn": torch.rand(T * side * side, generator=g), "llm_attn": torch.rand(T * side * side, generator=g)}
    return ts


def ms(ts: TokenSet, method: str, budget: float, repeat: int) -> float:
    def sync():
        if ts.device.type == "cuda":
            torch.cuda.synchronize()

    compress(ts, method, budget)  # warm-up (Triton compiles its kernels here)
    times = []
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        compress(ts, method, budget)
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--side", type=int, default=22)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--methods", default=",".join(COMPRESSORS.names()))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu-too", action="store_true", help="on a GPU, also time the CPU (slow at this size)")
    args = ap.parse_args()
    ts = tokens(args.frames, args.side, args.dim)
    cuda = torch.cuda.is_available()
    where = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"{len(ts)} tokens ({args.frames} x {args.side} x {args.side}) x {args.dim} dims, budget {args.budget}, "
          f"{where}, torch {torch.__version__}, median of {args.repeat}\n")
    gpu = ts.to("cuda") if cuda else None
    cols = ["method"] + (["GPU ms"] if cuda else []) + (["CPU ms"] if not cuda or args.cpu_too else [])
    cols += ["speed-up"] if cuda and args.cpu_too else []
    print("| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|")
    for method in args.methods.split(","):
        row = [method]
        g = ms(gpu, method, args.budget, args.repeat) if cuda else None
        c = ms(ts, method, args.budget, args.repeat) if not cuda or args.cpu_too else None
        if g is not None:
            row.append(f"{g:.2f}")
        if c is not None:
            row.append(f"{c:.1f}")
        if g is not None and c is not None:
            row.append(f"{c / g:.1f}x")
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
