"""Generate the synthetic test videos with exactly known ground truth.

    python sample_videos/make_synthetic.py [OUT_DIR]

Writes, with a ``<name>.json`` of ground truth beside each (frame indices and seconds):

* ``synthetic_cuts.mp4``    four shots joined by hard cuts at known frames;
* ``synthetic_object.mp4``  a static textured scene where a red square is visible
                             only during known frame ranges;
* ``synthetic_static.mp4``  a static scene (only encoder noise changes).

H.264 (libx264, bundled with PyAV), 25 fps, 160x120, a keyframe every 50 frames and
B-frames, so decoding exercises real GOP structure. Deterministic: fixed seeds.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

FPS = 25
W, H = 160, 120
GOP = 50


def _texture(seed: int) -> np.ndarray:
    """A smooth random texture (low-frequency noise, upsampled), distinct per seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(H // 8, W // 8, 3), dtype=np.uint8)
    return np.kron(small, np.ones((8, 8, 1), dtype=np.uint8))


def _write(path: Path, frames) -> int:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.gop_size = GOP
        s.codec_context.time_base = Fraction(1, FPS)
        s.options = {"crf": "18", "bf": "2", "preset": "medium", "sc_threshold": "0", "keyint_min": str(GOP)}
        n = 0
        for rgb in frames:
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = n
            f.time_base = Fraction(1, FPS)
            for pkt in s.encode(f):
                c.mux(pkt)
            n += 1
        for pkt in s.encode():
            c.mux(pkt)
    return n


def cuts(out: Path) -> dict:
    starts = [0, 40, 95, 150]
    total = 200
    shots = [_texture(10 + k) for k in range(len(starts))]

    def gen():
        for i in range(total):
            k = max(j for j, s in enumerate(starts) if s <= i)
            # slow pan inside a shot so frames are not identical
            yield np.roll(shots[k], i - starts[k], axis=1)

    n = _write(out / "synthetic_cuts.mp4", gen())
    return {
        "file": "synthetic_cuts.mp4", "fps": FPS, "num_frames": n, "width": W, "height": H,
        "cut_frames": starts[1:], "cut_times": [s / FPS for s in starts[1:]],
        "scenes": [[s, e - 1] for s, e in zip(starts, starts[1:] + [total])],
        "note": "hard cuts: frame i is the first frame of a new shot",
    }


def obj(out: Path) -> dict:
    total = 150
    visible = [[30, 60], [100, 125]]  # [first, last) frame ranges with the red square
    bg = _texture(99)

    def gen():
        for i in range(total):
            f = bg.copy()
            if any(a <= i < b for a, b in visible):
                f[40:80, 60:100] = (255, 0, 0)
            yield f

    n = _write(out / "synthetic_object.mp4", gen())
    return {
        "file": "synthetic_object.mp4", "fps": FPS, "num_frames": n, "width": W, "height": H,
        "object": "red square", "box_xyxy": [60, 40, 100, 80],
        "visible_frames": visible,
        "visible_times": [[a / FPS, b / FPS] for a, b in visible],
        "query": "a red square",
    }


def static(out: Path) -> dict:
    total = 100
    bg = _texture(7)
    n = _write(out / "synthetic_static.mp4", (bg for _ in range(total)))
    return {"file": "synthetic_static.mp4", "fps": FPS, "num_frames": n, "width": W, "height": H,
            "note": "every frame is the same image"}


def main(out_dir: str | None = None) -> None:
    out = Path(out_dir) if out_dir else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    for make in (cuts, obj, static):
        gt = make(out)
        (out / (Path(gt["file"]).stem + ".json")).write_text(json.dumps(gt, indent=2) + "\n")
        print(f"wrote {out / gt['file']} ({gt['num_frames']} frames)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
