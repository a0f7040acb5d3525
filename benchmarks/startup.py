"""What a user waits for before vidtok reads a byte: whole commands, start-up included, beside
``python -c pass`` and ``ffprobe`` in the same run (the commands take turns, median of
``--repeat`` runs after one warm-up each).

    python benchmarks/startup.py [--repeat 9] [--video sample_videos/synthetic_cuts.mp4]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--video", default=str(ROOT / "sample_videos" / "synthetic_cuts.mp4"))
    args = ap.parse_args()
    vidtok = [sys.executable, "-m", "vidtok.cli.main"]
    exe = shutil.which("vidtok")
    if exe:  # the console script, as users run it
        vidtok = [exe]
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "vidtok --help": [*vidtok, "--help"],
        "vidtok info --json": [*vidtok, "info", "--json", args.video],
    }
    if shutil.which("ffprobe"):
        cmds["ffprobe -show_streams"] = ["ffprobe", "-v", "error", "-show_streams", args.video]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd in cmds.values():  # warm-up: the files in the page cache
        subprocess.run(cmd, capture_output=True)
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["python -c pass"])
    print(f"| command | median s | min s | over python -c pass |\n|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {min(ts):.3f} | +{med - base:.3f} s |")


if __name__ == "__main__":
    main()
