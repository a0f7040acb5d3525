"""End-to-end helpers the CLI and benchmarks call: decode -> sample -> encode -> compress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .decode import as_video
from .compress.request import Compression
from .errors import UsageError
from .select import sample


@dataclass
class CompressResult:
    video: str
    methods: list[str]
    budget: str
    tokens_in: int
    tokens_out: int
    grid: tuple[int, int, int]
    frame_times: list[float]
    psnr: Optional[float]
    seconds: dict = field(default_factory=dict)
    original: object = None  # TokenSet
    compressed: object = None  # TokenSet
    frames: Optional[np.ndarray] = None

    def summary(self) -> dict:
        return {
            "video": self.video, "methods": self.methods, "budget": self.budget,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "ratio": self.tokens_out / self.tokens_in, "grid": list(self.grid),
            "frame_times": [round(t, 6) for t in self.frame_times],
            "psnr_db": None if self.psnr is None else round(self.psnr, 3),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }


def compress_video(
    video,
    compression: Compression,
    *,
    num_frames: int = 16,
    size: int = 224,
    patch: int = 16,
    encoder: str = "pixels",
    backend: Optional[str] = None,
    timeout: Optional[float] = 60.0,
) -> CompressResult:
    """Sample ``num_frames`` frames (size x size) of ``video`` (an opened ``Video`` or a
    path), encode, compress as ``compression`` asks (all its defaults applied:
    ``Compression.of(..., default=True)``), measure fidelity."""
    from .encode.pixels import PixelsEncoder, fidelity

    if encoder != "pixels":
        raise UsageError(f"encoder '{encoder}' is not available yet; use --encoder pixels")
    if size % patch:
        raise UsageError(f"--size {size} must be a multiple of the patch size {patch}")
    sec = {}
    t0 = time.perf_counter()
    v = as_video(video, backend=backend, timeout=timeout)
    s = sample(v, "uniform", n=num_frames)
    frames = v.get_frames(s.indices, size=(size, size))
    ends = np.append(frames.times[1:], v.info.end_time)
    sec["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    enc = PixelsEncoder(patch)
    ts = enc.encode(frames.data, frames.times, ends)
    sec["encode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = compression.apply(ts)
    sec["compress"] = time.perf_counter() - t0
    return CompressResult(
        video=v.path, methods=list(compression.methods), budget=str(compression.budget), tokens_in=len(ts), tokens_out=len(out),
        grid=ts.grid, frame_times=[float(t) for t in frames.times], psnr=fidelity(ts, out),
        seconds=sec, original=ts, compressed=out, frames=frames.data,
    )
