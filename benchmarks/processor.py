"""Qwen's video processor on a long video: one call over every frame (what vidtok did until
the tenth session, and what a user's own script does) against vidtok's calls of
``TOWER_FRAMES`` frames pinned to the same size (``models.chunking.processor_chunks``). Both
give the same rows (checked here, and by a test); the table shows seconds (best of
``--repeat``) and the peak memory each adds over the decoded frames (each variant measured
in a fresh process, so one's peak cannot hide the other's).

Default: the 120 s shared video at each family's own sampling (2 fps: 240 frames).

    python benchmarks/processor.py [--video PATH] [--families qwen2_5_vl,qwen3_vl] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "videos" / "long_static_cam_fly_courtship_120s.mp4"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(family: str, variant: str, video: str, repeat: int) -> dict:
    """Run in a child process: decode, then ``variant`` ``repeat`` times."""
    import hashlib

    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from vidtok.decode import open_video
    from vidtok.models.loading import load_model
    from vidtok.select import sample

    m = load_model(f"random:{family}-tiny", device="cpu")  # the processor does not depend on the model's size
    v = open_video(video)
    s = sample(v, m.default_sampler)
    frames = v.get_frames(s.indices).data
    base = peak_mb()
    vp = m.video_processor()

    def whole():
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        x = torch.cat([x, x[-1:]]) if len(x) % 2 else x
        out = vp(videos=[x], return_tensors="pt", do_sample_frames=False, cap_pixels_per_frame=True)
        return [(out["pixel_values_videos"], out["video_grid_thw"])]

    def chunked():  # each chunk's rows go to the tower and are dropped: hashed here, not kept
        return m.pixel_chunks(frames)

    run = whole if variant == "one call" else chunked
    best, digest, grid = float("inf"), None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        h, grids = hashlib.sha1(), []
        for rows, g in run():
            h.update(rows.numpy().tobytes())
            grids.append(g)
        best = min(best, time.perf_counter() - t0)
        digest = h.hexdigest()
        grid = [int(sum(int(g[0, 0]) for g in grids)), int(grids[0][0, 1]), int(grids[0][0, 2])]
    return {"family": family, "variant": variant, "frames": len(frames), "size": list(frames.shape[1:3]),
            "grid": grid, "seconds": best, "peak_over_frames_mb": peak_mb() - base, "rows_sha1": digest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(VIDEO))
    ap.add_argument("--families", default="qwen2_5_vl,qwen3_vl")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(*args.child, args.video, args.repeat)))
        return
    if not Path(args.video).exists():
        sys.exit(f"processor.py: {args.video} not found (the shared videos; --video PATH)")
    rows = []
    for family in args.families.split(","):
        for variant in ("one call", "chunks"):
            out = subprocess.run([sys.executable, __file__, "--video", args.video, "--repeat", str(args.repeat),
                                  "--child", family, variant], capture_output=True, text=True, check=True,
                                 env={**os.environ, "TRANSFORMERS_VERBOSITY": "error"})
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{Path(args.video).name}, {os.cpu_count()} cores, best of {args.repeat}\n")
    print("| family | frames (decoded size) | grid | variant | seconds | peak over frames MB | same rows |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ref = next(x for x in rows if x["family"] == r["family"] and x["variant"] == "one call")
        print(f"| {r['family']} | {r['frames']} ({r['size'][1]}x{r['size'][0]}) | {'x'.join(map(str, r['grid']))} | "
              f"{r['variant']} | {r['seconds']:.2f} | {r['peak_over_frames_mb']:.0f} | "
              f"{'yes' if r['rows_sha1'] == ref['rows_sha1'] else 'NO'} |")
    for family in args.families.split(","):
        a, b = (next(x for x in rows if x["family"] == family and x["variant"] == v) for v in ("one call", "chunks"))
        print(f"\n{family}: chunks {a['seconds'] / b['seconds']:.2f}x faster, peak "
              f"{a['peak_over_frames_mb']:.0f} -> {b['peak_over_frames_mb']:.0f} MB over the frames")


if __name__ == "__main__":
    main()
