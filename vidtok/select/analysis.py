"""One cheap pass over a video's frames at low resolution: per-frame HSV content change
(PySceneDetect's ContentDetector measure), brightness, and a tiny thumbnail descriptor.
Constant memory: only per-frame numbers are kept, never the frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..decode.video import Video


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit HSV convention: H in [0, 180), S and V in [0, 255]."""
    try:
        import cv2

        return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    except ImportError:
        x = rgb.astype(np.float32)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        v = x.max(-1)
        mn = x.min(-1)
        d = v - mn
        s = np.where(v > 0, 255 * d / np.maximum(v, 1e-6), 0)
        h = np.zeros_like(v)
        nz = d > 0
        rm = nz & (v == r)
        gm = nz & (v == g) & ~rm
        bm = nz & ~rm & ~gm
        h[rm] = (60 * (g - b)[rm] / d[rm]) % 360
        h[gm] = 60 * (b - r)[gm] / d[gm] + 120
        h[bm] = 60 * (r - g)[bm] / d[bm] + 240
        return np.stack([np.round(h / 2) % 180, np.round(s), v], -1).astype(np.uint8)


@dataclass
class FrameStats:
    indices: np.ndarray  # frames analysed
    times: np.ndarray
    content: np.ndarray  # HSV change from the previous analysed frame (0 for the first)
    brightness: np.ndarray  # mean V in [0, 255]
    thumbs: np.ndarray  # (N, 8*8*3) float32 tiny descriptors


def analysis_size(info, width: int = 256) -> tuple[int, int]:
    """PySceneDetect-like downscale: width about 256 px (never upscaled), even sides."""
    w, h = info.width, info.height
    factor = max(1, w // width)
    return max(2, (w // factor) // 2 * 2), max(2, (h // factor) // 2 * 2)


def analyse(video: Video, indices: Optional[np.ndarray] = None, width: int = 256,
            progress=None) -> FrameStats:
    """Content change per frame over ``indices`` (default: every frame)."""
    idx = np.arange(len(video)) if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    size = analysis_size(video.info, width)
    content = np.zeros(len(idx), np.float32)
    bright = np.zeros(len(idx), np.float32)
    thumbs = np.zeros((len(idx), 8 * 8 * 3), np.float32)
    times = np.zeros(len(idx))
    try:
        import cv2
    except ImportError:
        cv2 = None
    prev = None
    for k, (i, t, rgb) in enumerate(video.iter_frames(idx, size=size, fast_resize=True)):
        hsv = rgb_to_hsv(rgb)
        if cv2 is not None:  # SIMD absdiff and mean: ~20x numpy on int16
            if prev is not None:
                content[k] = sum(cv2.mean(cv2.absdiff(hsv, prev))[:3]) / 3
            bright[k] = cv2.mean(hsv)[2]
            small = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32)
        else:
            if prev is not None:
                content[k] = np.abs(hsv.astype(np.int16) - prev.astype(np.int16)).mean()
            bright[k] = hsv[..., 2].mean()
            hh, ww = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
            small = rgb[:hh, :ww].reshape(8, hh // 8, 8, ww // 8, 3).mean((1, 3))
        prev = hsv
        thumbs[k] = small.reshape(-1) / 255.0
        times[k] = t
        if progress:
            progress()
    return FrameStats(idx, times, content, bright, thumbs)
