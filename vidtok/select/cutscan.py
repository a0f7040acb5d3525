"""The one pass over a video's frames at low resolution: per-frame HSV content change
(PySceneDetect's ContentDetector measure), brightness, and a tiny thumbnail. Constant
memory: only per-frame numbers are kept, never the frames.

``scan`` measures every frame (``stride=1``: the adaptive and fade detectors and
``redundancy`` read every frame's numbers). For threshold cuts, ``scan_cuts`` measures
less and finds exactly the same cuts, by two rules:

* every ``CUT_STRIDE``-th frame is measured at once;
* the frames between are measured only where the change across their gap reaches
  ``GAP_SHARE`` of the threshold (a cut inside a gap shows across it); elsewhere the gap's
  change stands for them (below the threshold: never a cut).

Every frame is decoded, by any backend; there is no second path (docs/benchmarks.md says
what the one that decoded only the gaps between reference frames paid, and why it went).

How the frames are decoded (keyframe runs in parallel, threads per run) is decode's
decision (``decode/runs.py``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..decode.runs import iter_runs, plan_runs
from ..decode.video import Video
from .measure import GAP_SHARE, FrameStats, Measure, Thumbs, analysis_size, rgb_to_hsv  # noqa: F401  (re-exported)

#: every how many frames the cut scan measures a frame
CUT_STRIDE = 3


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
    rules in the module docstring allow."""
    return scan(video, threshold=threshold, stride=CUT_STRIDE, width=width, progress=progress)
