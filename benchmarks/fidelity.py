"""Fidelity benchmark: how much of a video each compressor keeps, without any model.

    python benchmarks/fidelity.py [--videos DIR] [--frames 16] [--size 224] [--patch 16]
                                  [--out docs/fidelity.md] [--plot docs/fidelity_rd.png]

Every video -> 16 uniform frames at 224x224 -> ``pixels`` tokens (16x16 RGB patches,
3136 tokens) -> every registered compressor at budgets 25 %, 10 %, 5 % -> unmerge ->
PSNR (dB) against the original patches. Baselines at the same exact budget: ``uniform``
(keep whole frames, hold them) and ``pool`` (spatial average pooling, 2x2 at 25 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidtok import open_video  # noqa: E402
from vidtok.compress import COMPRESSORS, NEEDS_MODEL, compress  # noqa: E402
from vidtok.encode.pixels import PixelsEncoder, fidelity  # noqa: E402
from vidtok.select import sample  # noqa: E402

BUDGETS = [0.25, 0.10, 0.05]
BASELINES = ("uniform", "pool")
EXTS = {".mp4", ".mkv", ".webm", ".ts", ".avi", ".mov"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--methods", default=None, help="comma-separated subset (default: all registered)")
    ap.add_argument("--out", default=None, help="write the markdown report here")
    ap.add_argument("--plot", default=None, help="write the rate-distortion plot (PNG) here")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    methods = args.methods.split(",") if args.methods else [m for m in COMPRESSORS.names() if m not in NEEDS_MODEL]
    files = sorted(p for p in Path(args.videos).iterdir() if p.is_file() and p.suffix.lower() in EXTS)
    enc = PixelsEncoder(args.patch)
    res: dict = {}  # video -> budget -> method -> psnr
    secs: dict = {m: 0.0 for m in methods}
    for path in files:
        v = open_video(path)
        s = sample(v, "uniform", n=args.frames)
        fr = v.get_frames(s.indices, size=(args.size, args.size))
        ts = enc.encode(fr.data, fr.times, np.append(fr.times[1:], v.info.end_time))
        res[path.name] = {}
        for b in BUDGETS:
            row = {}
            for m in methods:
                t0 = time.perf_counter()
                out = compress(ts, m, b)
                secs[m] += time.perf_counter() - t0
                row[m] = fidelity(ts, out)
            res[path.name][b] = row
            best = max((m for m in methods if m not in BASELINES), key=row.get)
            print(f"{path.name[:44]:44s} {b:>5.0%}  best={best} {row[best]:.2f} dB  "
                  f"uniform={row.get('uniform', float('nan')):.2f}  pool={row.get('pool', float('nan')):.2f}",
                  flush=True)

    # -- report -------------------------------------------------------------------------------
    ours = [m for m in methods if m not in BASELINES]
    lines = [
        "# Fidelity: PSNR of compressed pixel tokens",
        "",
        f"Measured by `python benchmarks/fidelity.py` ({args.frames} uniform frames at "
        f"{args.size}x{args.size}, {args.patch}x{args.patch} RGB patches = "
        f"{args.frames * (args.size // args.patch) ** 2} tokens per video; PSNR in dB of the "
        "compressed set unmerged onto the original grid; higher is better). Baselines at the same "
        "exact budget: `uniform` (keep whole frames) and `pool` (spatial pooling).",
        "",
    ]
    wins = {}
    for b in BUDGETS:
        lines += [f"## Budget {b:.0%}", "", "| video | " + " | ".join(methods) + " | best |",
                  "|---|" + "---|" * (len(methods) + 1)]
        n_win = n_win_novq = 0
        for name, by_b in res.items():
            others = [m for m in ours if m != "vq"]
            if others:
                n_win_novq += all(max(by_b[b][m] for m in others) > by_b[b][x] for x in BASELINES if x in by_b[b])
            row = by_b[b]
            best = max(ours, key=row.get)
            beat = all(row[best] > row[x] for x in BASELINES if x in row)
            n_win += beat
            cells = [(f"**{row[m]:.2f}**" if m == best else f"{row[m]:.2f}") for m in methods]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {best}{'' if beat else ' (baseline wins)'} |")
        wins[b] = n_win
        mean = {m: float(np.mean([res[n][b][m] for n in res])) for m in methods}
        lines.append("| **mean** | " + " | ".join(f"{mean[m]:.2f}" for m in methods) + " | |")
        lines += ["", f"Best vidtok compressor beats both baselines on **{n_win} of {len(res)}** videos "
                  f"({n_win_novq} of {len(res)} without `vq`, whose per-token hash the model must also be given).", ""]
    total = {m: secs[m] / max(1, len(res) * len(BUDGETS)) for m in methods}
    lines += ["## Time per compression (CPU, mean over videos and budgets)", "",
              "| " + " | ".join(methods) + " |", "|" + "---|" * len(methods),
              "| " + " | ".join(f"{total[m] * 1000:.0f} ms" for m in methods) + " |", ""]
    report = "\n".join(lines)
    print()
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"psnr": res, "seconds": secs}, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for m in methods:
            ys = [float(np.mean([res[n][b][m] for n in res])) for b in BUDGETS]
            style = "--" if m in BASELINES else "-"
            ax.plot([b * 100 for b in BUDGETS], ys, style, marker="o", label=m)
        ax.set_xlabel("tokens kept (% of input)")
        ax.set_ylabel(f"mean PSNR over {len(res)} videos (dB)")
        ax.set_title("Rate-distortion of vidtok compressors (pixels encoder)")
        ax.set_xticks([b * 100 for b in BUDGETS], [f"{b:.0%}" for b in BUDGETS])
        ax.grid(alpha=0.3)
        ax.legend(ncol=2, fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    return wins


if __name__ == "__main__":
    main()
