"""Kernel benchmark: each Triton kernel against its torch reference at video sizes.

    python benchmarks/kernel_speed.py [--frames 16,32,64,256] [--tokens 64,196,729] [--dims 1152,3584]
                                 [--dtypes float32,bfloat16] [--tune] [--out results.json]

On a CUDA GPU: the median time of Triton and of the torch reference (``triton.testing.do_bench``,
CUDA events), the speed-up, and the fraction of memory bandwidth reached: the fewest bytes
the kernel must move (inputs read once, outputs written once) over its time, against the
device-to-device copy bandwidth measured at the start of the same run. Every timed Triton
result is first checked against the reference on the same inputs. It also prints how
peak GPU memory of matching grows with the number of tokens, and with ``--tune`` sweeps
tile configurations at 32 frames x 729 tokens. On CPU only the torch references run
(Triton needs a GPU): their times are printed for reference.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidtok.kernels import dispatch  # noqa: E402

CUDA = torch.cuda.is_available()
DEV = "cuda" if CUDA else "cpu"


def timeit(fn) -> float:
    """Median seconds of ``fn``."""
    if CUDA:
        import triton.testing

        return triton.testing.do_bench(fn, warmup=25, rep=150, return_mode="median") / 1e3
    fn()
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def copy_bandwidth_gbs() -> float:
    """Device-to-device copy of 2 GiB, bytes read + written per second."""
    x = torch.empty(2**29, dtype=torch.float32, device="cuda").uniform_()
    y = torch.empty_like(x)
    t = timeit(lambda: y.copy_(x))
    return 2 * x.numel() * 4 / t / 1e9


def inputs(T, P, D, dtype, seed):
    g = torch.Generator(device=DEV).manual_seed(seed)
    N = T * P
    x = torch.nn.functional.normalize(torch.randn(N, D, device=DEV, generator=g), dim=-1).to(dtype)
    half = N // 2
    k = max(1, N // 10)
    idx = torch.randint(0, k, (N,), device=DEV, generator=g)
    w = torch.rand(N, device=DEV, generator=g) + 0.5
    return x, x[:half].contiguous(), x[half:].contiguous(), idx, w, k


def cases(T, P, D, dtype, seed=0):
    """name -> (fn(backend, config), bytes it must move, check(triton_out, ref_out) -> str)."""
    x, a, b, idx, w, k = inputs(T, P, D, dtype, seed)
    es = x.element_size()
    N, half = len(x), len(a)

    def agree(o, r):  # share of rows whose argmax agrees, and max value error
        return f"argmax agrees {float((o[1] == r[1]).float().mean()):.4%}, max |dv| {float((o[0] - r[0]).abs().max()):.1e}"

    def close(o, r):
        return f"max |d| {float((o[0] - r[0]).abs().max()):.1e}"

    grid = x.view(T, P, D)
    return {
        # compute-bound: its "bytes" entry is negative FLOPs, reported as TFLOP/s
        "rowmax (bipartite matching)": (lambda be, c=None: dispatch.rowmax(a, b, backend=be, **_c(be, c)),
                                        -2 * half * len(b) * D, agree),
        "scatter_mean (merging)": (lambda be, c=None: dispatch.scatter_mean(x, w, idx, k, backend=be, **_c(be, c)),
                                   es * x.numel() + 12 * N + 4 * k * D, close),
        "consecutive_sim": (lambda be, c=None: dispatch.consecutive_sim(grid, 0.9, backend=be, **_c(be, c)),
                            es * x.numel() + 5 * (T - 1) * P, close),
        "maxmin (k=64)": (lambda be, c=None: dispatch.maxmin(x, 64, 0, backend=be, **_c(be, c)),
                          64 * es * x.numel(),
                          lambda o, r: f"same picks {float((o == r).float().mean()):.0%}"),
    }


def _c(backend, config):
    return {"config": config} if (backend == "triton" and config) else {}


def memory_scaling():
    print("\nPeak GPU memory of matching (rowmax, D=1152, float32), MB above the inputs:\n")
    print("| tokens | torch reference | triton |\n|---|---|---|")
    out = []
    for n in (4096, 16384, 65536):
        x = torch.nn.functional.normalize(torch.randn(n, 1152, device="cuda"), dim=-1)
        row = {"tokens": n}
        for be in ("torch", "triton"):
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            dispatch.rowmax(x, x, backend=be)
            torch.cuda.synchronize()
            row[be] = (torch.cuda.max_memory_allocated() - base) / 2**20
        print(f"| {n} | {row['torch']:.1f} | {row['triton']:.2f} |")
        out.append(row)
    return out


def tune(dtype):
    from vidtok.kernels import triton_kernels as tk

    print(f"\nTile sweep at 32 frames x 729 tokens, D=1152, {dtype}:\n")
    T, P, D = 32, 729, 1152
    cs = cases(T, P, D, dtype)
    grids = {
        "rowmax (bipartite matching)": [dict(BLOCK_M=m, BLOCK_N=n, BLOCK_D=d, num_warps=wp, num_stages=s)
                                        for m, n, d, wp, s in itertools.product((64, 128), (64, 128), (32, 64), (4, 8), (3, 4))],
        "scatter_mean (merging)": [dict(BLOCK_N=n, BLOCK_D=d, num_warps=wp)
                                   for n, d, wp in itertools.product((16, 32, 64), (64, 128, 256), (4, 8))],
        "consecutive_sim": [dict(BLOCK_P=p, BLOCK_D=d, num_warps=wp)
                            for p, d, wp in itertools.product((8, 16, 32, 64), (64, 128, 256), (2, 4, 8))],
        "maxmin (k=64)": [dict(BLOCK_N=n, BLOCK_D=d, num_warps=wp)
                          for n, d, wp in itertools.product((32, 64, 128, 256), (64, 128, 256), (4, 8))],
    }
    best = {}
    for name, configs in grids.items():
        fn = cs[name][0]
        res = []
        for c in configs:
            try:
                res.append((timeit(lambda: fn("triton", c)), c))
            except Exception as e:  # out of shared memory / registers: not a candidate
                print(f"  {name} {c}: {type(e).__name__}")
        res.sort(key=lambda r: r[0])
        default = timeit(lambda: fn("triton", None))
        print(f"{name}: default {tk.CONFIGS[name.split()[0]]} {default * 1e3:.3f} ms; best:")
        for t, c in res[:3]:
            print(f"   {t * 1e3:.3f} ms  {c}")
        best[name] = {"default_ms": default * 1e3, "best": [(t * 1e3, c) for t, c in res[:3]]}
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="16,32,64,256")
    ap.add_argument("--tokens", default="64,196,729")
    ap.add_argument("--dims", default="1152,3584")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--max-tokens", type=int, default=200_000 if CUDA else 24_000,
                    help="skip sizes above this many tokens")
    ap.add_argument("--tune", action="store_true", help="sweep tile sizes at 32 x 729 x 1152 first")
    ap.add_argument("--out", default=None, help="write all numbers as JSON here")
    args = ap.parse_args(argv)
    results = {"device": torch.cuda.get_device_name() if CUDA else "CPU", "torch": torch.__version__}
    if CUDA:
        import triton

        results["triton"] = triton.__version__
        results["copy_gbs"] = bw = copy_bandwidth_gbs()
        print(f"device: {results['device']}, torch {torch.__version__}, triton {triton.__version__}; "
              f"measured copy bandwidth {bw:.0f} GB/s (read + write)")
        results["memory"] = memory_scaling()
        if args.tune:
            results["tune"] = {dt: tune(getattr(torch, dt)) for dt in args.dtypes.split(",")}
    else:
        print("device: CPU (torch reference only; Triton needs a GPU)")
    backends = ["torch", "triton"] if CUDA else ["torch"]
    print("\n| kernel | dtype | T | tokens/frame | D | " + " | ".join(f"{b} ms" for b in backends)
          + (" | speed-up | bandwidth (rowmax: rate) | check |" if CUDA else " |"))
    print("|---|---|---|---|---|" + "---|" * len(backends) + ("---|---|---|" if CUDA else ""))
    rows = []
    for dt in args.dtypes.split(","):
        dtype = getattr(torch, dt)
        for T, P, D in itertools.product(*(map(int, s.split(",")) for s in (args.frames, args.tokens, args.dims))):
            if T * P > args.max_tokens:
                continue
            for name, (fn, nbytes, check) in cases(T, P, D, dtype, seed=T * P + D).items():
                times = {be: timeit(lambda: fn(be)) for be in backends}
                row = {"kernel": name, "dtype": dt, "T": T, "P": P, "D": D, **{f"{be}_ms": times[be] * 1e3 for be in backends}}
                line = f"| {name} | {dt} | {T} | {P} | {D} | " + " | ".join(f"{times[be] * 1e3:.3f}" for be in backends)
                if CUDA:
                    row["check"] = check(fn("triton"), fn("torch"))
                    row["speedup"] = times["torch"] / times["triton"]
                    if nbytes < 0:
                        row["tflops"] = -nbytes / times["triton"] / 1e12
                        rate = f"{row['tflops']:.0f} TFLOP/s"
                    else:
                        row["bandwidth"] = nbytes / times["triton"] / 1e9 / results["copy_gbs"]
                        rate = f"{row['bandwidth']:.0%}"
                    line += f" | {row['speedup']:.1f}x | {rate} | {row['check']} |"
                else:
                    line += " |"
                print(line, flush=True)
                rows.append(row)
    results["rows"] = rows
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
