"""``ask``: decode -> sample (the model's default) -> vision tower -> compress -> answer,
with frames used, visual tokens before and after, and the time of every stage. Visual
tokens are cached on disk, so a second question on the same video skips decode and the
vision tower."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from .. import cache as token_cache
from ..decode import open_video
from ..select import sample


def visual_tokens(video_path, model, *, num_frames: Optional[int] = None, fps: Optional[float] = None,
                  use_cache: bool = True, backend=None, timeout=60.0, times: dict | None = None):
    """The model's TokenSet for a video (from the cache when possible) and frame info."""
    times = {} if times is None else times
    family = model.family
    params = {"n": num_frames} if family == "llava_onevision" else {"fps": fps}
    key = token_cache.entry_key(video_path, model=model.spec, sampler=model.default_sampler, **params)
    if use_cache:
        t0 = time.perf_counter()
        hit = token_cache.load(key)
        if hit is not None:
            times["cache_load"] = time.perf_counter() - t0
            return hit[0], hit[1], True
    t0 = time.perf_counter()
    v = open_video(video_path, backend=backend, timeout=timeout)
    s = sample(v, model.default_sampler, **params)
    size = tuple(s.frame_size) if s.frame_size else None
    if hasattr(model, "frame_size"):
        size = model.frame_size
    fr = v.get_frames(s.indices, size=size)
    ends = np.append(fr.times[1:], v.info.end_time)
    times["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ts = model.encode(fr.data, fr.times, ends, s.fps)
    times["encode"] = time.perf_counter() - t0
    extra = {"frames": [int(i) for i in fr.indices], "frame_times": [float(t) for t in fr.times],
             "duration": v.info.duration, "start": v.info.start_time, "sample_fps": s.fps}
    if use_cache:
        token_cache.save(key, ts, extra)
    return ts, extra, False


def ask(video_path, question: str, model, *, method: Optional[str] = None, budget=None,
        max_new_tokens: int = 64, use_cache: bool = True, num_frames: Optional[int] = None,
        fps: Optional[float] = None, backend=None, timeout=60.0) -> dict:
    from ..compress import compress

    times: dict = {}
    t_all = time.perf_counter()
    ts, extra, cached = visual_tokens(video_path, model, num_frames=num_frames, fps=fps, use_cache=use_cache,
                                      backend=backend, timeout=timeout, times=times)
    n_before = len(ts)
    if method or budget is not None:
        t0 = time.perf_counter()
        ts = compress(ts, method or "holitom", budget if budget is not None else "0.1")
        times["compress"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    inp = model.build_inputs(ts, question)
    times["build_inputs"] = time.perf_counter() - t0
    answer, gen = model.generate(inp, max_new_tokens=max_new_tokens)
    times["prefill"] = gen["prefill"]
    times["generate"] = gen["decode"]
    times["total"] = time.perf_counter() - t_all
    return {
        "video": str(video_path), "question": question, "answer": answer, "model": model.spec,
        "frames_used": len(extra["frames"]), "frame_times": [round(t, 3) for t in extra["frame_times"]],
        "visual_tokens_before": n_before, "visual_tokens_after": len(ts),
        "text_tokens": inp.num_text, "compression": {"method": method or ("holitom" if budget is not None else None),
                                                      "budget": None if budget is None else str(budget)},
        "cached_tokens": cached, "cached_prefix_kv": gen.get("prefix_cached", False), "new_tokens": gen["new_tokens"],
        "seconds": {k: round(v, 4) for k, v in times.items()},
    }
