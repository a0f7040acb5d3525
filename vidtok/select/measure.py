"""What the cut scans measure on one small frame: PySceneDetect's HSV content change,
brightness and an 8x8 thumbnail, and the shared rule for the gaps between measured frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: the frames of a gap are measured when the change across it reaches this share of the threshold
GAP_SHARE = 0.5


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit HSV convention: H in [0, 180), S and V in [0, 255]."""
    try:
        import cv2

        return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    except ImportError:
        x = rgb.astype(np.float32)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        v = x.max(-1)
        d = v - x.min(-1)
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
    #: rows whose brightness and thumbnail were measured (None: all). The cut scan measures
    #: them on its stride frames only: a frame between them, measured because a cut may
    #: lie there, carries its change alone (0 in the other two)
    sampled: Optional[np.ndarray] = None


def analysis_size(info, width: int = 256) -> tuple[int, int]:
    """About ``width`` pixels wide (never upscaled), even sides, aspect kept: the
    resolution PySceneDetect analyses 720p at, and enough to see a cut."""
    w, h = info.width, info.height
    if w <= width:
        return max(2, w // 2 * 2), max(2, h // 2 * 2)
    return width // 2 * 2, max(2, round(h * width / w) // 2 * 2)


class Measure:
    """HSV change, brightness and an 8x8 thumbnail of one small RGB frame."""

    def __init__(self):
        try:
            import cv2
        except ImportError:
            cv2 = None
        self.cv2 = cv2

    def hsv(self, rgb):
        return rgb_to_hsv(rgb)

    def change(self, a, b) -> float:
        if self.cv2 is not None:  # one SIMD L1 norm
            return self.cv2.norm(a, b, self.cv2.NORM_L1) / a.size
        return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())

    def brightness(self, hsv) -> float:
        return self.cv2.mean(hsv)[2] if self.cv2 is not None else float(hsv[..., 2].mean())

    def thumb(self, rgb) -> np.ndarray:
        if self.cv2 is not None:  # area-average a 32x32 point sample
            grid = self.cv2.resize(rgb, (32, 32), interpolation=self.cv2.INTER_NEAREST)
            small = self.cv2.resize(grid, (8, 8), interpolation=self.cv2.INTER_AREA).astype(np.float32)
        else:
            hh, ww = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
            small = rgb[:hh, :ww].reshape(8, hh // 8, 8, ww // 8, 3).mean((1, 3))
        return small.reshape(-1) / 255.0


class Thumbs:
    """The same thumbnails as ``Measure.thumb``, into rows of ``out``, made in batches: a
    32x32 point sample per frame as it passes, and one area resize for a whole batch
    stacked as one tall image (a 4x4 block never crosses two frames). Without OpenCV, one
    frame at a time."""

    BATCH = 256

    def __init__(self, out: np.ndarray, m: Measure):
        self.out, self.m, self.cv2 = out, m, m.cv2
        self.grid = np.empty((self.BATCH, 32, 32, 3), np.uint8) if self.cv2 is not None else None
        self.rows: list[int] = []

    def add(self, k: int, rgb: np.ndarray) -> None:
        if self.cv2 is None:
            self.out[k] = self.m.thumb(rgb)
            return
        self.cv2.resize(rgb, (32, 32), dst=self.grid[len(self.rows)], interpolation=self.cv2.INTER_NEAREST)
        self.rows.append(k)
        if len(self.rows) == self.BATCH:
            self.flush()

    def flush(self) -> None:
        n = len(self.rows)
        if n:
            small = self.cv2.resize(self.grid[:n].reshape(n * 32, 32, 3), (8, n * 8), interpolation=self.cv2.INTER_AREA)
            self.out[self.rows] = small.reshape(n, 8 * 8 * 3).astype(np.float32) / 255.0
            self.rows = []
