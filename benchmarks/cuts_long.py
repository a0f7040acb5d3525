"""Scene cuts on a long video, as whole commands: vidtok's default detector against
PySceneDetect's content detector, in the same run, with their wall time, peak memory and
the cuts each found.

    python benchmarks/cuts_long.py [--hours 2] [--size 64x36] [--fps 25] [--cuts 6] [--repeat 1]

The video is generated here (kept in a temporary folder): still shots of flat colours and
gradients with a shape in each, at a small size, cut at known frames, H.264. It stands for a
long recording whose shots change rarely (a lecture, a slideshow, a static camera); footage
with motion everywhere is the transnet_scan.py benchmark's. Commands run through
``/usr/bin/time`` (wall seconds, peak resident memory), taking turns.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_video(path: Path, hours: float, size: tuple[int, int], fps: int, cuts: int) -> list[int]:
    """Write the video; return the frames where a new shot starts."""
    import av

    w, h = size
    n = int(hours * 3600 * fps)
    bounds = [round(n * (k + 1) / (cuts + 1)) for k in range(cuts)]
    rng = np.random.default_rng(0)
    shots = []
    for k in range(cuts + 1):
        top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        img = np.linspace(top, bottom, h)[:, None, :].repeat(w, 1).astype(np.uint8)
        x, y = int(rng.integers(0, w - w // 4)), int(rng.integers(0, h - h // 4))
        img[y:y + h // 4, x:x + w // 4] = rng.integers(0, 256, 3)
        shots.append(img)
    t0 = time.perf_counter()
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.time_base = Fraction(1, fps)
        s.options = {"crf": "23", "preset": "ultrafast", "g": str(10 * fps)}
        frames = [av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p") for img in shots]
        shot = 0
        for i in range(n):
            while shot < cuts and i >= bounds[shot]:
                shot += 1
            f = frames[shot]
            f.pts = i
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    print(f"generated {n} frames ({hours:g} h at {fps} fps, {w}x{h}) in {time.perf_counter() - t0:.0f} s; "
          f"cuts at {bounds}", flush=True)
    return bounds


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, peak MB, stdout) of one whole command."""
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {r.stderr[-500:]}")
    wall, kb = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, r.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--size", default="64x36")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--cuts", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "long.mp4"
        truth = make_video(video, args.hours, size, args.fps, args.cuts)
        vidtok = [sys.executable, "-m", "vidtok.cli.main", "keyframes", str(video), "--method", "scenes", "--json",
                  "--no-cache"]
        psd = ["scenedetect", "-q", "-i", str(video), "-o", tmp, "detect-content", "list-scenes"]
        runs: dict[str, list] = {"vidtok keyframes (default detector)": [], "PySceneDetect detect-content": []}
        found = {}
        for _ in range(args.repeat):
            wall, mb, out = timed(vidtok)
            d = json.loads(out)
            found["vidtok keyframes (default detector)"] = ([c["index"] for c in d["cuts"]], d["params"])
            runs["vidtok keyframes (default detector)"].append((wall, mb))
            wall, mb, _ = timed(psd)
            csv = next(Path(tmp).glob("*-Scenes.csv"))
            rows = csv.read_text().splitlines()[2:]
            found["PySceneDetect detect-content"] = ([int(r.split(",")[1]) - 1 for r in rows[1:]], {})
            runs["PySceneDetect detect-content"].append((wall, mb))
        print(f"\n{args.repeat} run(s) each, taking turns; the median.\n")
        print("| command | wall s | peak MB | cuts found | all true cuts |")
        print("|---|---|---|---|---|")
        base = statistics.median(w for w, _ in runs["PySceneDetect detect-content"])
        for label, rs in runs.items():
            wall = statistics.median(w for w, _ in rs)
            cuts = found[label][0]
            print(f"| {label} | {wall:.1f} ({wall / base:.2f}x) | {max(m for _, m in rs):.0f} | {cuts} | "
                  f"{'yes' if cuts == truth else 'no'} |")
        print(f"\nvidtok params: {found['vidtok keyframes (default detector)'][1]}")


if __name__ == "__main__":
    main()
