"""``scenes``: cut detection on downscaled frames, one representative frame per scene.

* ``content`` (default): a cut where the mean HSV change from the previous frame reaches
  ``threshold`` (PySceneDetect's ContentDetector measure and default of 27);
* ``adaptive``: a cut where the change is ``adaptive_threshold`` times the rolling average of
  its ``window`` neighbours on each side and at least ``min_content`` (AdaptiveDetector);
* ``fade``: cuts in the middle of dark stretches (fade to black and back);
* ``all``: the union.

A minimum scene length of ``min_scene_len`` frames is kept by PySceneDetect's own rule
(its ``FlashFilter``): ``merge`` (its default) folds a burst of above-threshold frames that
comes too soon after a cut into one cut at the burst's last frame, once the burst has
lasted the minimum length; ``suppress`` drops every cut closer than the minimum to the last
kept one (or to the start). The representative of a scene is its most typical frame that is not dark, so
fades never make a black frame stand for a scene.
"""

from __future__ import annotations

from typing import Literal, Optional

import numpy as np

from ..errors import UsageError
from .cutscan import FrameStats


def content_cuts(content: np.ndarray, threshold: float = 27.0) -> np.ndarray:
    return np.flatnonzero(content >= threshold)


def adaptive_cuts(content: np.ndarray, adaptive_threshold: float = 3.0, window: int = 2,
                  min_content: float = 15.0) -> np.ndarray:
    n = len(content)
    out = []
    for k in range(1, n):
        lo, hi = max(1, k - window), min(n, k + window + 1)
        nb = [content[j] for j in range(lo, hi) if j != k]
        avg = float(np.mean(nb)) if nb else 0.0
        ratio = content[k] / avg if avg > 1e-6 else (255.0 if content[k] >= min_content else 0.0)
        if ratio >= adaptive_threshold and content[k] >= min_content:
            out.append(k)
    return np.asarray(out, dtype=np.int64)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as half-open (start, stop) positions."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def fade_cuts(brightness: np.ndarray, dark: float = 12.0) -> np.ndarray:
    """The middle of every dark run that has light on both sides."""
    n = len(brightness)
    out = [(a + b) // 2 for a, b in true_runs(brightness < dark) if a > 0 and b < n]
    return np.asarray(out, dtype=np.int64)


FILTERS = ("merge", "suppress")


def flash_filter(above: np.ndarray, min_len: int, mode: str = "merge", end: Optional[int] = None) -> np.ndarray:
    """PySceneDetect's ``FlashFilter`` over the sorted frame numbers ``above`` whose change
    reached the threshold (frames counted from the first analysed one, which starts the
    first scene), in the video's ``end`` frames: the frame numbers of the cuts it reports.
    Only above-threshold frames are needed: every other frame is below, and a below frame
    changes the filter's state only once ``min_len`` frames have passed since the last
    above one, which its number alone decides."""
    above = [int(t) for t in sorted(set(int(t) for t in above))]
    if min_len <= 0:
        return np.asarray(above, dtype=np.int64)
    if mode not in FILTERS:
        raise UsageError(f"--filter must be merge or suppress, got '{mode}'")
    out: list[int] = []
    last = 0  # the last frame above the threshold (the first frame to begin with)
    if mode == "suppress":
        for t in above:
            if t - last >= min_len:
                out.append(t)
                last = t
        return np.asarray(out, dtype=np.int64)
    enabled = merging = False  # merging starts only after the first cut was reported
    start = 0
    end = (above[-1] if above else 0) + min_len + 1 if end is None else end

    def below_until(stop: int) -> None:  # the below frames last+1 .. stop-1 pass
        nonlocal merging
        if merging and last + min_len < stop and last - start >= min_len:
            merging = False
            out.append(last)

    for t in above:
        below_until(t)
        met = t - last >= min_len
        last = t
        if merging:
            continue
        if met:
            enabled = True
            out.append(t)
        elif enabled:
            merging, start = True, t
    below_until(end)
    return np.asarray(out, dtype=np.int64)


def detect(stats: FrameStats, detector: Literal["content", "adaptive", "fade", "all"] = "content",
           threshold: float = 27.0, adaptive_threshold: float = 3.0, min_scene_len: int = 15,
           dark: float = 12.0, filter: str = "merge", end: Optional[int] = None) -> np.ndarray:
    """Positions (into ``stats``) of the first frame of each new scene; ``filter`` keeps the
    minimum scene length (``flash_filter``); ``end``: the video's frame count (default: the
    analysed frames')."""
    parts = []
    if detector in ("content", "all"):
        parts.append(content_cuts(stats.content, threshold))
    if detector in ("adaptive", "all"):
        parts.append(adaptive_cuts(stats.content, adaptive_threshold))
    if detector in ("fade", "all"):  # on the frames whose brightness was measured
        rows = np.arange(len(stats.indices)) if stats.sampled is None else np.flatnonzero(stats.sampled)
        parts.append(rows[fade_cuts(stats.brightness[rows], dark)])
    cuts = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    frame = stats.indices - stats.indices[0]  # frame numbers from the first analysed frame
    end = int(frame[-1]) + 1 if end is None else end - int(stats.indices[0])
    kept = flash_filter(frame[np.unique(cuts)] if len(cuts) else cuts, min_scene_len, filter, end)
    return np.searchsorted(frame, kept).astype(np.int64)


def representatives(stats: FrameStats, cuts: np.ndarray, dark: float = 12.0) -> list[int]:
    """Per scene, the position of its most typical frame that is not dark, among the
    frames whose brightness and thumbnail were measured (``FrameStats.sampled``)."""
    bounds = [0, *cuts.tolist(), len(stats.indices)]
    reps = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        pos = np.arange(a, b)
        if stats.sampled is not None and stats.sampled[a:b].any():
            pos = pos[stats.sampled[a:b]]
        light = pos[stats.brightness[pos] >= dark]
        cand = light if len(light) else pos
        mean = stats.thumbs[cand].mean(0)
        reps.append(int(cand[np.argmin(((stats.thumbs[cand] - mean) ** 2).sum(1))]))
    return reps
