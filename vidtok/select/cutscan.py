"""The one pass over a video's frames at low resolution: per-frame HSV content change
(PySceneDetect's ContentDetector measure), brightness, and a tiny thumbnail. Constant
memory: only per-frame numbers are kept, never the frames.

``scan`` measures every frame (``stride=1``: the adaptive and fade detectors and
``redundancy`` read every frame's numbers). For threshold cuts, ``scan_cuts`` measures
less and finds exactly the same cuts, by three rules:

* every ``CUT_STRIDE``-th frame is measured at once;
* the frames between are measured only where the change across their gap reaches
  ``GAP_SHARE`` of the threshold (a cut inside a gap shows across it); elsewhere the gap's
  change stands for them (below the threshold: never a cut);
* on B-frame video where few frames are references, the guided scan
  (``cutscan_guided.py``) takes the same rule with the gaps between reference frames
  instead, decoding only the marked gaps' frames (chosen here, in ``scan_cuts``).

How the frames are decoded (keyframe runs in parallel, threads per run) is decode's
decision (``decode/runs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..decode.runs import iter_runs, plan_runs
from ..decode.video import Video

#: every how many frames the cut scan measures a frame
CUT_STRIDE = 3
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


def scan(video: Video, indices: Optional[np.ndarray] = None, *, threshold: Optional[float] = None,
         stride: int = 1, width: int = 256, progress=None, parts: Optional[int] = None) -> FrameStats:
    """Content change, brightness and thumbnail of the frames ``indices`` (default: all).

    ``stride=1`` measures every frame. With ``stride`` > 1 and a ``threshold``, only every
    ``stride``-th frame of each run (and its last) is converted and measured at once; the
    frames between wait unconverted and are measured, for their change alone, only when
    the change across their gap reaches ``GAP_SHARE`` of the threshold. ``parts``
    overrides how many parallel runs decode (``decode.runs.plan_runs``)."""
    idx = np.arange(len(video)) if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    if stride > 1 and threshold is None:
        raise ValueError("a strided scan needs the threshold its gaps are judged by")
    size = analysis_size(video.info, width)
    m = Measure()
    runs = plan_runs(video, idx, parts)
    rows: list[list] = []  # measured frames: [index, change, brightness or None]; thumbnail k = row k
    thumbs = np.zeros((len(idx), 8 * 8 * 3), np.float32)
    batch = Thumbs(thumbs, m)
    waiting: list[list] = [[] for _ in runs]  # per run: (index, rgb or its conversion) since its last measured frame
    last_hsv: list = [None] * len(runs)
    first: list = [None] * len(runs)  # per run: (row, hsv) of its first frame
    pos = [a for a, _ in runs]
    for r, j, rgb in iter_runs(video, idx, runs, size=size, fast_resize=True, convert=stride == 1):
        if progress:
            progress()
        k, (start, end) = pos[r], runs[r]
        pos[r] += 1
        if (k - start) % stride and k != end - 1:
            waiting[r].append((j, rgb))
            continue
        rgb = rgb() if callable(rgb) else rgb
        hsv = m.hsv(rgb)
        prev = last_hsv[r]
        across = m.change(hsv, prev) if prev is not None else 0.0
        if waiting[r] and across >= GAP_SHARE * threshold:  # a cut may hide in the gap: measure it
            for i, w in waiting[r]:
                w_hsv = m.hsv(w() if callable(w) else w)
                rows.append([i, m.change(w_hsv, prev), None])
                prev = w_hsv
            across = m.change(hsv, prev)
        waiting[r].clear()
        if first[r] is None:
            first[r] = (len(rows), hsv)
        rows.append([j, across, m.brightness(hsv)])
        batch.add(len(rows) - 1, rgb)
        last_hsv[r] = hsv
    batch.flush()
    for r in range(1, len(runs)):  # a run's first frame and the run before's last are neighbours
        if first[r] is not None and last_hsv[r - 1] is not None:
            rows[first[r][0]][1] = m.change(first[r][1], last_hsv[r - 1])
    order = sorted(range(len(rows)), key=lambda k: rows[k][0])
    out = np.array([rows[k][0] for k in order], dtype=np.int64)
    lum = [rows[k][2] for k in order]
    sampled = np.array([b is not None for b in lum])
    return FrameStats(out, video.index.times[out], np.array([rows[k][1] for k in order], np.float32),
                      np.array([0.0 if b is None else b for b in lum], np.float32), thumbs[order],
                      sampled=None if sampled.all() else sampled)


def scan_cuts(video: Video, threshold: float, width: int = 256, progress=None) -> FrameStats:
    """Every cut the full ``scan`` finds at ``threshold``, measuring as few frames as the
    rules in the module docstring allow: the guided scan where it pays, else the strided one."""
    from .cutscan_guided import guided_scan

    st = guided_scan(video, threshold, width, progress)
    return st if st is not None else scan(video, threshold=threshold, stride=CUT_STRIDE, width=width,
                                          progress=progress)
