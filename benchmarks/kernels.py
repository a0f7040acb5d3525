"""Kernel benchmark: each Triton kernel against its torch reference at video sizes.

    python benchmarks/kernels.py [--frames 16,32,64,256] [--tokens 64,196,729] [--dims 1152,3584]

On a CUDA GPU: median time of Triton vs torch (the speed-up) and the fraction of the
GPU's memory bandwidth the kernel reaches (bytes it must read and write / time / peak
bandwidth, with the peak given by ``--peak-gbs``, default H100 SXM 3350 GB/s). On CPU only the torch references run (Triton
needs a GPU), so the table shows their times for reference.
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

from vidtok.kernels import dispatch  # noqa: E402


def timeit(fn, reps=5):
    cuda = torch.cuda.is_available()
    fn()
    ts = []
    for _ in range(reps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="16,32,64,256")
    ap.add_argument("--tokens", default="64,196,729")
    ap.add_argument("--dims", default="1152,3584")
    ap.add_argument("--peak-gbs", type=float, default=3350.0)
    ap.add_argument("--max-tokens", type=int, default=24000, help="skip sizes above this many tokens on CPU")
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    backends = ["torch", "triton"] if cuda else ["torch"]
    name = torch.cuda.get_device_name() if cuda else "CPU (torch reference only; Triton needs a GPU)"
    print(f"device: {name}\n")
    print("| kernel | T | tokens/frame | D | " + " | ".join(f"{b} ms" for b in backends)
          + (" | speed-up | bandwidth |" if cuda else " |"))
    print("|---|---|---|---|" + "---|" * len(backends) + ("---|---|" if cuda else ""))
    g = torch.Generator(device=dev).manual_seed(0)
    for T in map(int, args.frames.split(",")):
        for P in map(int, args.tokens.split(",")):
            for D in map(int, args.dims.split(",")):
                N = T * P
                if not cuda and N > args.max_tokens:
                    continue
                x = torch.nn.functional.normalize(torch.randn(N, D, device=dev, generator=g), dim=-1)
                half = N // 2
                a, b = x[:half].contiguous(), x[half:].contiguous()
                idx = torch.randint(0, max(1, N // 10), (N,), device=dev, generator=g)
                w = torch.ones(N, device=dev)
                grid = x.view(T, P, D)
                cases = {
                    "rowmax (bipartite)": (lambda be: dispatch.rowmax(a, b, backend=be), 4 * (a.numel() + b.numel())),
                    "scatter_mean": (lambda be: dispatch.scatter_mean(x, w, idx, N // 10 or 1, backend=be), 8 * x.numel()),
                    "consecutive_sim": (lambda be: dispatch.consecutive_sim(grid, 0.9, backend=be), 4 * x.numel()),
                    "maxmin (k=64)": (lambda be: dispatch.maxmin(x, 64, 0, backend=be), 64 * 4 * x.numel()),
                }
                for kname, (fn, nbytes) in cases.items():
                    times = {be: timeit(lambda: fn(be)) for be in backends}
                    row = f"| {kname} | {T} | {P} | {D} | " + " | ".join(f"{times[be] * 1e3:.2f}" for be in backends)
                    if cuda:
                        sp = times["torch"] / times["triton"]
                        bw = nbytes / times["triton"] / 1e9 / args.peak_gbs
                        row += f" | {sp:.1f}x | {bw:.0%} |"
                    else:
                        row += " |"
                    print(row, flush=True)


if __name__ == "__main__":
    main()
