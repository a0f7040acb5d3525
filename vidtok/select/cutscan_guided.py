"""The guided cut scan: the cut scan's one second path, for B-frame video where few frames
are references. A scout decoder measures only the reference frames, giving the change
across each gap between consecutive ones; only gaps whose change reaches ``GAP_SHARE`` of
the threshold get their frames decoded and measured, by a second decoder running alongside
(``decode.guided.iter_guided``: one pass, no seeks). Cut positions stay exact (tested equal to the
full scan on every shared video).

It pays (measured in docs/benchmarks.md) only where both rules hold:

* frames of at least ``GUIDED_MIN_PIXELS`` (smaller ones decode faster than Python looks
  at them, and the scout judges reference frames twice);
* at most ``GUIDED_MAX_REF_SHARE`` of the frames are references (read from the NAL headers
  before any decoding): the scout and the main decoder each decode every reference frame.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..decode.guided import iter_guided
from ..decode.video import Video
from .measure import GAP_SHARE, FrameStats, Measure, analysis_size

GUIDED_MIN_PIXELS = 100_000
GUIDED_MAX_REF_SHARE = 0.45


def guided_scan(video: Video, threshold: float, width: int = 256, progress=None) -> Optional[FrameStats]:
    """The cut scan's ``FrameStats`` by the guided path, or None where it does not pay or
    cannot run (another backend, no B-frames, ``threads=1``)."""
    if video.info.width * video.info.height < GUIDED_MIN_PIXELS:
        return None
    m = Measure()
    refs: dict[int, list] = {}  # reference frame index -> [change vs previous reference, brightness, thumb]
    last: list = [None, None]  # previous reference frame: index, hsv

    def judge(i: int, rgb: np.ndarray) -> bool:  # runs in the scout's thread
        hsv = m.hsv(rgb)
        prev_i, prev_hsv = last
        c = m.change(hsv, prev_hsv) if prev_hsv is not None else 0.0
        refs[i] = [c, m.brightness(hsv), m.thumb(rgb)]
        last[:] = [i, hsv]
        if progress:
            progress()
        return prev_i is not None and c >= GAP_SHARE * threshold and i - prev_i > 1

    guided = iter_guided(video, judge, size=analysis_size(video.info, width), max_ref_share=GUIDED_MAX_REF_SHARE)
    if guided is None:
        return None
    exact: dict[int, list] = {}  # frame index -> [change or None, brightness, thumb]
    prev_j, prev_hsv = None, None
    for j, t, rgb in guided:
        hsv = m.hsv(rgb)
        exact[j] = [m.change(hsv, prev_hsv) if prev_j == j - 1 else None, m.brightness(hsv), m.thumb(rgb)]
        prev_j, prev_hsv = j, hsv
        if progress and j not in refs:
            progress()
    if not refs:
        return None
    for j, (c, b, th) in exact.items():
        if c is None:  # no decoded frame just before: keep the change across the gap
            c = refs[j][0] if j in refs else 0.0
        refs[j] = [c, b, th]
    idx = np.array(sorted(refs), dtype=np.int64)
    vals = [refs[i] for i in idx.tolist()]
    return FrameStats(idx, video.index.times[idx], np.array([v[0] for v in vals], np.float32),
                      np.array([v[1] for v in vals], np.float32), np.stack([v[2] for v in vals]))
