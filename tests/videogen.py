"""Small test videos in the pixel formats, sizes and states people's footage comes in.

The shared corpus is all 8-bit 4:2:0; phones and cameras also write 10-bit HDR
(``yuv420p10le``), 4:2:2 and 4:4:4 (ProRes, camera H.264), full-range JPEG-style YUV,
grey, RGB, odd sizes and rotation metadata. Each clip here is written with PyAV's bundled
FFmpeg encoders (no system ffmpeg needed) and holds two shots with one hard cut at
``CUT``, so cut detection has a known answer on every format.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

FPS = 25
FRAMES = 30
CUT = 15

#: name -> (codec, pixel format, width, height, container): one case per row of the matrix
FORMATS = {
    "yuv420p10le": ("libx264", "yuv420p10le", 320, 240, "mp4"),  # 10-bit phone / HDR footage
    "yuv422p": ("libx264", "yuv422p", 320, 240, "mp4"),  # 4:2:2 camera H.264
    "yuv444p": ("libx264", "yuv444p", 320, 240, "mp4"),
    "yuv422p10le-prores": ("prores_ks", "yuv422p10le", 320, 240, "mov"),  # ProRes 422
    "yuv444p12le-hevc": ("libx265", "yuv444p12le", 320, 240, "mp4"),
    "yuvj420p": ("libx264", "yuvj420p", 320, 240, "mp4"),  # full-range (JPEG) YUV
    "gray": ("libx264", "gray", 320, 240, "mp4"),
    "gbrp": ("libx265", "gbrp", 320, 240, "mp4"),  # planar RGB
    "bgr0-ffv1": ("ffv1", "bgr0", 320, 240, "mkv"),  # packed RGB
    "odd-7x5": ("libx264", "yuv444p", 7, 5, "mp4"),  # odd, tiny
    "odd-33x17": ("ffv1", "yuv420p", 33, 17, "mkv"),  # odd 4:2:0
}


def frames_rgb(width: int, height: int, n: int = FRAMES, cut: int = CUT) -> list[np.ndarray]:
    """``n`` frames: a dark-blue shot with a slowly moving bar, then a bright-orange one."""
    out = []
    for i in range(n):
        img = np.empty((height, width, 3), np.uint8)
        if i < cut:
            img[...] = (20, 40, 160)
            x = (i * max(1, width // 16)) % width
            img[:, x: x + max(1, width // 8)] = (60, 80, 200)
        else:
            img[...] = (240, 150, 30)
            y = ((i - cut) * max(1, height // 16)) % height
            img[y: y + max(1, height // 8)] = (250, 200, 90)
        out.append(img)
    return out


#: encoder settings per codec: fast, near-lossless, B-frames and a keyframe every 50 frames
OPTIONS = {"libx264": {"crf": "18", "preset": "ultrafast", "bf": "2", "g": "50"},
           "libx265": {"crf": "18", "preset": "ultrafast", "x265-params": "log-level=error"}}


def write_clip(path: Path, codec: str, pix_fmt: str, width: int, height: int, *,
               rotation: int = 0, n: int = FRAMES) -> Path:
    """Write ``n`` frames of ``frames_rgb`` in ``pix_fmt`` with ``codec``; ``rotation``
    sets the display matrix (what a phone held upright writes)."""
    return write_frames(path, frames_rgb(width, height, n), pix_fmt, codec=codec, options=OPTIONS.get(codec, {}),
                        rotation=rotation)


def write_frames(path: Path, frames, pix_fmt: str = "yuv420p", *, codec: str = "libx264",
                 options: dict | None = None, rotation: int = 0, fps: int = FPS) -> Path:
    """Write RGB ``frames`` at ``fps`` in ``pix_fmt`` with ``codec`` (default: H.264, crf 18,
    a keyframe every 50 frames); ``rotation`` sets the display matrix."""
    path = Path(path)
    frames = iter(frames)  # streamed: a long clip never sits in memory whole
    first = next(frames)
    frames = itertools.chain([first], frames)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.codec_context.time_base = Fraction(1, fps)
        s.options = {"crf": "18", "preset": "ultrafast", "g": "50"} if options is None else options
        if rotation:
            s.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = i
            f.time_base = Fraction(1, fps)
            for pkt in s.encode(f.reformat(format=pix_fmt)):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def write_format(folder: Path, name: str, **kw) -> Path:
    codec, fmt, w, h, ext = FORMATS[name]
    return write_clip(Path(folder) / f"{name}.{ext}", codec, fmt, w, h, **kw)


def damage(src: Path, dst: Path, *, at: float = 0.5, nbytes: int = 10_000, seed: int = 0) -> Path:
    """A copy of ``src`` with ``nbytes`` random bytes written over the middle of the file
    (the container's index stays intact, so the demuxer still finds every packet)."""
    data = bytearray(Path(src).read_bytes())
    start = int(len(data) * at)
    rng = np.random.default_rng(seed)
    data[start: start + nbytes] = rng.integers(0, 256, size=min(nbytes, len(data) - start), dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data))
    return Path(dst)
