"""Decoding many frames in parallel (every function takes an opened ``Video``): a pass over sorted frame indices is cut into runs that
each start at a keyframe (so they decode independently), and each run gets a decoder of
its own with its share of the cores (``Video.fork_for``). Decode decides the split:
callers (``get_frames``, the cut scan) only consume the frames.

Rules: one run per core, at most 4, for frames of ``PARALLEL_MIN_PIXELS`` or more (below,
decoding is cheaper than the Python looking at the frames, and runs would only contend
for the interpreter; ``get_frames`` splits whenever the request spans keyframes); a lone
run of frames lighter than ``HEAVY_FRAME_BYTES`` (compressed) leaves half the cores to its
consumer.
"""

from __future__ import annotations

import itertools
import os
from typing import Iterator

import numpy as np

PARALLEL_MIN_PIXELS = 100_000
HEAVY_FRAME_BYTES = 2000


def parallel_parts(video) -> int:
    """How many runs to decode at once by default: one per core, at most 4, and never
    more than the ``threads`` the video was opened with (``threads=1``: one run)."""
    return max(1, min(4, video.decoder.threads or os.cpu_count() or 1))


def split_runs(video, idx: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Sorted frame indices ``idx`` cut into at most ``parts`` runs spanning about equal
    stretches of the video (the decoding work), as (start, stop) positions into ``idx``;
    each run's first frame lies in a GOP of its own."""
    n = len(idx)
    if parts <= 1 or n < 2 * parts:
        return [(0, n)]
    keys = video.index.keyframe_at_or_before(idx)  # the keyframe each frame decodes from
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # first position of each GOP
    lo, hi = int(keys[0]), int(idx[-1])
    at = keys[starts]  # where each candidate run would start decoding
    bounds = sorted({int(starts[np.argmin(np.abs(at - (lo + (hi - lo) * r / parts)))])
                     for r in range(1, parts)} - {0})
    edges = [0, *bounds, n]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def plan_runs(video, idx: np.ndarray, parts: int | None = None) -> list[tuple[int, int]]:
    """The runs of a pass over ``idx`` (``parts`` overrides their count)."""
    if parts is None:
        big = video.info.width * video.info.height >= PARALLEL_MIN_PIXELS
        parts = parallel_parts(video) if big else 1
    return split_runs(video, idx, parts)


def iter_runs(video, idx: np.ndarray, runs: list[tuple[int, int]], *, size=None,
              fast_resize: bool = False, convert: bool = True) -> Iterator[tuple[int, int, object]]:
    """``(run, index, rgb)`` of every run's frames (``idx[a:b]`` for each run), the runs
    taking turns, each decoded by a decoder of its own."""
    if len(runs) > 1:
        handles = [video.fork_for(len(runs)) for _ in runs]
    else:
        handles = [video if video.index.bytes_per_frame >= HEAVY_FRAME_BYTES else video.fork_for(2)]
    streams = [h.iter_frames(idx[a:b], size=size, fast_resize=fast_resize, convert=convert)
               for h, (a, b) in zip(handles, runs)]
    for items in itertools.zip_longest(*streams):
        for r, item in enumerate(items):
            if item is not None:
                yield r, item[0], item[2]
