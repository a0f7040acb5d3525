"""Frame samplers: which frames to decode, chosen by time so variable-frame-rate files
stay honest. Every sampler returns a ``Sampling`` that carries the exact times and the
effective sampling rate, so later stages (Qwen's M-RoPE time ids, timestamps in prompts,
grounding answers in seconds) cannot lose them (lmms-eval #1260, #1393).

Model defaults follow each model's own processor:

* ``qwen2_5_vl``: 2 fps, 4..768 frames, an even frame count (temporal patch of 2),
  frames resized to multiples of 28 under a total pixel budget (qwen-vl-utils).
* ``qwen3_vl``: 2 fps, 4..768 frames, even count, multiples of 32 (patch 16, merge 2).
* ``llava_onevision``: 32 frames uniformly, 384x384 (also LLaVA-Video).
* ``smolvlm2``: 1 fps up to 64 frames, longest side 384.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
from pydantic import BaseModel, Field

from ..decode.base import FrameIndex, VideoInfo
from ..errors import UsageError
from ..registry import Registry


class Sampling(BaseModel):
    """The frames a sampler chose, with everything later stages need about time."""

    sampler: str
    indices: list[int]
    times: list[float] = Field(description="exact presentation time (s) of each frame")
    fps: float = Field(description="effective sampling rate: frames / covered duration")
    duration: float = Field(description="duration of the video (s)")
    frame_size: Optional[tuple[int, int]] = Field(
        None, description="(width, height) the target model resizes frames to, if any"
    )
    params: dict = Field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.indices)


def _finish(name, info: VideoInfo, index: FrameIndex, idx: np.ndarray, size=None, **params) -> Sampling:
    idx = np.clip(np.asarray(idx, dtype=np.int64), 0, len(index) - 1)
    times = index.times[idx]
    n = len(idx)
    return Sampling(
        sampler=name,
        indices=idx.tolist(),
        times=[float(t) for t in times],
        fps=(n / info.duration) if info.duration > 0 else 0.0,
        duration=info.duration,
        frame_size=size,
        params=params,
    )


def uniform_indices(index: FrameIndex, n: int) -> np.ndarray:
    """``n`` frames evenly spaced in time from the first frame to the last. On constant
    frame rate this is the models' ``linspace(0, N-1, n).round()``; on VFR files it
    stays even in seconds, where index spacing would not."""
    if n <= 0:
        raise UsageError(f"number of frames must be positive, got {n}")
    times = index.times
    t = np.linspace(times[0], times[-1], n)
    right = np.clip(np.searchsorted(times, t), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    # nearest frame; ties go to the later frame, like round-half-up on indices
    return np.where(np.abs(times[left] - t) < np.abs(times[right] - t) - 1e-9, left, right).astype(np.int64)


def time_grid_indices(info: VideoInfo, index: FrameIndex, fps: float) -> np.ndarray:
    """Frames shown at start, start + 1/fps, ... (by time, so VFR files sample evenly)."""
    if fps <= 0:
        raise UsageError(f"fps must be positive, got {fps}")
    count = max(1, int(math.floor(info.duration * fps + 1e-9)))
    t = info.start_time + np.arange(count) / fps
    return index.index_of_time(np.minimum(t, info.end_time - 1e-6))


def smart_resize(width: int, height: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen-VL's resize rule: both sides multiples of ``factor``, area within bounds,
    aspect ratio kept as well as possible."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return w, h


SamplerFn = Callable[..., Sampling]
SAMPLERS: Registry[SamplerFn] = Registry("samplers")


@SAMPLERS.register("uniform")
def uniform(info: VideoInfo, index: FrameIndex, n: int = 16) -> Sampling:
    """N frames evenly spaced over the whole video."""
    return _finish("uniform", info, index, uniform_indices(index, min(n, len(index))), n=n)


@SAMPLERS.register("fps")
def fps_sampler(info: VideoInfo, index: FrameIndex, fps: float = 1.0, max_frames: int | None = None,
                min_frames: int = 1) -> Sampling:
    """A fixed rate in frames per second, by time; above ``max_frames`` it falls back to
    ``max_frames`` evenly spaced frames."""
    idx = time_grid_indices(info, index, fps)
    if max_frames is not None and len(idx) > max_frames:
        idx = uniform_indices(index, max_frames)
    if len(idx) < min_frames:
        idx = uniform_indices(index, min(min_frames, len(index)))
    return _finish("fps", info, index, idx, fps_requested=fps, max_frames=max_frames)


def _qwen(name: str, factor: int, info: VideoInfo, index: FrameIndex, fps: float, min_frames: int,
          max_frames: int, min_pixels: int, max_pixels: int, total_pixels: int, nframes: Optional[int] = None) -> Sampling:
    # qwen-vl-utils' frame count rule (smart_nframes): the rate's count clamped to
    # [min_frames rounded up, min(max_frames, frames) rounded down] and to the frame count,
    # then rounded *down* to whole temporal patches (pairs of frames); a frame count asked
    # for (``nframes``) is rounded to whole patches (qwen-vl-utils refuses one over the
    # video's frames; here it is capped at them)
    frame_factor = 2
    if nframes is not None:
        n = min(max(frame_factor, round(nframes / frame_factor) * frame_factor), len(index) // 2 * 2 or 2)
    else:
        lo = math.ceil(min_frames / frame_factor) * frame_factor
        hi = (min(max_frames, len(index)) // frame_factor) * frame_factor
        seconds = len(index) / info.fps if info.fps else info.duration  # qwen: total_frames / video_fps
        n = min(max(seconds * fps, lo), hi, len(index))
        n = max(frame_factor, int(n // frame_factor) * frame_factor)
    idx = uniform_indices(index, min(n, len(index)))
    per_frame = max(min(max_pixels, total_pixels / n * frame_factor), int(min_pixels * 1.05))
    w, h = info.display_size
    size = smart_resize(w, h, factor, min_pixels, int(per_frame))
    return _finish(name, info, index, idx, size=size, fps_requested=fps, factor=factor)


def _qwen_default(name: str, factor: int, doc: str) -> SamplerFn:
    """A Qwen family's default sampler: 2 fps, 4..768 frames, even count, ``factor``-px
    multiples, 128..768 patches of ``factor``² a frame, ~90 % of a 128k-token budget."""

    def sampler(info: VideoInfo, index: FrameIndex, fps: float = 2.0, min_frames: int = 4,
                max_frames: int = 768, nframes: Optional[int] = None, max_pixels: Optional[int] = None,
                min_pixels: Optional[int] = None) -> Sampling:
        # max_pixels / min_pixels: a checkpoint processor's own bounds where they differ from
        # qwen-vl-utils' (the adapter passes them, so the size reported is the one it gives)
        cap = 768 * factor * factor if max_pixels is None else min(max_pixels, 768 * factor * factor)
        floor = 128 * factor * factor if min_pixels is None else min_pixels
        return _qwen(name, factor, info, index, fps, min_frames, max_frames, min_pixels=floor,
                     max_pixels=cap, total_pixels=int(128000 * factor * factor * 0.9), nframes=nframes)

    sampler.__name__ = sampler.__qualname__ = name
    sampler.__doc__ = doc
    return SAMPLERS.register(name, sampler)


qwen2_5_vl = _qwen_default("qwen2_5_vl", 28, "Qwen2.5-VL default: 2 fps, 4..768 frames, even count, 28-px multiples, "
                                             "~90k-token budget.")
qwen3_vl = _qwen_default("qwen3_vl", 32, "Qwen3-VL default: 2 fps, 4..768 frames, even count, 32-px multiples.")


@SAMPLERS.register("llava_onevision")
def llava_onevision(info: VideoInfo, index: FrameIndex, n: int = 32) -> Sampling:
    """LLaVA-OneVision / LLaVA-Video default: 32 frames evenly spaced, 384x384."""
    idx = uniform_indices(index, min(n, len(index)))
    return _finish("llava_onevision", info, index, idx, size=(384, 384), n=n)


@SAMPLERS.register("smolvlm2")
def smolvlm2(info: VideoInfo, index: FrameIndex, fps: float = 1.0, max_frames: int = 64) -> Sampling:
    """SmolVLM2 default: 1 fps up to 64 frames, longest side 384."""
    s = fps_sampler(info, index, fps=fps, max_frames=max_frames)
    w, h = info.display_size
    scale = 384 / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return _finish("smolvlm2", info, index, np.asarray(s.indices), size=size, fps_requested=fps,
                   max_frames=max_frames)


def sample(video, method: str = "uniform", **params) -> Sampling:
    """Run sampler ``method`` on an opened ``Video`` (None-valued params are dropped)."""
    fn = SAMPLERS.get(method)
    params = {k: v for k, v in params.items() if v is not None}
    try:
        return fn(video.info, video.index, **params)
    except TypeError as e:
        raise UsageError(f"sampler '{method}' does not take these options: {e}") from e


def sample_window(video, method: str, start: float, end: float, **params) -> Sampling:
    """Sampler ``method`` on the part of ``video`` shown in [start, end) seconds, as if that
    part were the whole video (a long video asked in chunks: each chunk sampled by the
    model's own rule); indices are the video's own."""
    import dataclasses

    idx = video.index
    inside = np.flatnonzero((idx.times >= start) & (idx.times < end))
    if not len(inside):
        inside = np.asarray([int(video.indices_at([start])[0])])
    lo, hi = int(inside[0]), int(inside[-1]) + 1
    last = float(idx.times[hi]) - float(idx.times[hi - 1]) if hi < len(idx) else idx.frame_duration
    sub = dataclasses.replace(idx, pts=idx.pts[lo:hi], keyframe=idx.keyframe[lo:hi], frame_duration=last)
    t0 = float(idx.times[lo])
    duration = float(idx.times[hi - 1]) + last - t0
    info = dataclasses.replace(video.info, start_time=t0, duration=duration, num_frames=hi - lo,
                               fps=(hi - lo) / duration if duration > 0 else video.info.fps)
    fn = SAMPLERS.get(method)
    s = fn(info, sub, **{k: v for k, v in params.items() if v is not None})
    return s.model_copy(update={"indices": [i + lo for i in s.indices]})
