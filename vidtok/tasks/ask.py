"""``ask``: decode -> sample (the model's default) -> vision tower -> compress -> answer,
with frames used, visual tokens before and after, and the time of every stage. Visual
tokens are cached on disk, so a second question on the same video skips decode and the
vision tower."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
from typing import Optional

import numpy as np

from .. import cache as token_cache
from .. import weights
from ..decode import as_video
from ..compress.request import Compression
from ..errors import UsageError
from ..select import sample
from ..select.samplers import sample_window
from ..select.prefilter import distinct_frames, full_token_count


def sampled_fps(kept: int, frames: int, video_fps: float, fallback: float) -> float:
    """The sampled rate as the processors take it from the video's metadata (and
    qwen-vl-utils computes it): frames kept / frames in the video (or chunk) * its rate."""
    return kept / frames * video_fps if video_fps and frames else fallback


def visual_tokens(video, model, *, num_frames: Optional[int] = None, fps: Optional[float] = None,
                  use_cache: bool = True, backend=None, timeout=60.0, times: dict | None = None,
                  pre_keep: Optional[float] = None, defer: Optional[list] = None,
                  window: Optional[tuple[float, float]] = None, pixels: Optional[float] = None,
                  tower: Optional[float] = None):
    """The model's TokenSet for a video (an opened ``Video`` or a path; from the cache when
    possible) and frame info. With ``defer`` (a list), writing newly encoded tokens to the
    cache is appended to it as a call for later, so a caller can answer first: a long
    video's tokens take seconds to write.

    ``pre_keep`` (0 < f < 1): encode only that fraction of the sampled frames, the most
    distinct ones (:func:`vidtok.select.prefilter.distinct_frames`); each kept frame then
    covers the time up to the next kept one. ``pixels`` (0 < p < 1): each frame at that share
    of the pixels the model's sampler gives it (its processor's own resize under a lower cap:
    ``VideoLLM.pixel_cap``). ``tower`` (0 < t < 1): the tower carries that share of its units
    past its merge point (``models.tower_merging``). ``extra["tokens_full"]`` is what all
    sampled frames at their full size would have cost, so budgets stay relative to the full video.

    ``window`` (start, end) in seconds: only that part of the video, sampled by the model's
    own rule as if it were the whole video and shown to the model as a video that starts
    where this one starts (a long video asked in chunks); ``extra["frame_times"]`` stay the
    video's own."""
    times = {} if times is None else times
    asked = model.sampler_params(num_frames if num_frames is not None else model.frames,
                                 fps if fps is not None else model.fps)  # the call's, else the configured ones
    params = {k: v for k, v in asked.items() if v is not None}
    if pre_keep is not None and not 0 < pre_keep <= 1:
        raise UsageError(f"--pre-keep must lie in (0, 1], got {pre_keep}")
    pre = {"pre_keep": pre_keep} if pre_keep is not None and pre_keep < 1 else {}
    if pixels is not None and not 0 < pixels <= 1:
        raise UsageError(f"the share of pixels must lie in (0, 1], got {pixels}")
    shrink = {"pixels": pixels} if pixels is not None and pixels < 1 else {}
    if shrink:
        model.check_plan(f"pixels={pixels:g}")
    if tower is not None and not 0 < tower <= 1:
        raise UsageError(f"the share of the tower's units must lie in (0, 1], got {tower}")
    merge = {"tower": tower} if tower is not None and tower < 1 else {}
    if merge:
        model.check_plan(f"tower={tower:g}")
    v = as_video(video, backend=backend, timeout=timeout)  # a bad file fails here, cached or not
    start, end = window or (v.info.start_time, v.info.end_time)
    part = {"window": [round(start, 6), round(end, 6)]} if window else {}
    key = token_cache.entry_key(v.path, model=weights.identity(model.spec), dtype=str(model.model.dtype),
                                sampler=model.default_sampler,
                                stream=v.info.stream_index, resize=model.resize, **params, **pre, **shrink, **merge, **part)
    if use_cache:
        t0 = time.perf_counter()
        hit = token_cache.load(key)
        if hit is not None:
            times["cache_load"] = time.perf_counter() - t0
            v.damage.merge(hit[1].get("damage"))  # what decoding these tokens met, reported again
            return hit[0].to(model.device), hit[1], True  # compression runs where the model does
    t0 = time.perf_counter()

    def sampled(params):
        return sample_window(v, model.default_sampler, start, end, **params) if window else \
            sample(v, model.default_sampler, **params)

    s, area, capped = shrink_frames(model, sampled(params), pixels if shrink else None,
                                    lambda cap: sampled({**params, "max_pixels": cap}))
    fr = v.get_frames(s.indices, size=model.decode_size(tuple(s.frame_size) if s.frame_size else None))
    data, ftimes, findices = fr.data, fr.times, fr.indices
    n_sampled = len(ftimes)
    if pre:
        keep = distinct_frames(data, int(round(pre_keep * n_sampled)), model.frames_per_step)
        data, ftimes, findices = data[keep], ftimes[keep], np.asarray(findices)[keep]
    ends = np.append(ftimes[1:], end)
    times["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    shift = start - v.info.start_time  # 0 unless a window
    in_part = len(v.index) if not window else \
        int(np.count_nonzero((v.index.times >= start) & (v.index.times < end)))
    with capped(), model.tower_merging(tower if merge else None):
        ts = model.encode(data, ftimes - shift, ends - shift,
                          sampled_fps(len(s.indices), in_part, v.info.fps, s.fps))
    times["encode"] = time.perf_counter() - t0
    tokens_full = int(round(full_token_count(ts.num_original, len(ftimes), n_sampled, model.frames_per_step) * area))
    extra = {"frames": [int(i) for i in findices], "frame_times": [float(t) for t in ftimes],
             "frames_sampled": n_sampled, "tokens_full": tokens_full,
             "duration": end - start, "start": start, "sample_fps": s.fps,
             "damage": v.damage.as_dict()}
    if use_cache:
        save = functools.partial(token_cache.save, key, ts, extra)
        if defer is not None:
            defer.append(save)
        else:
            save()
    return ts, extra, False


def shrink_frames(model, s, pixels: Optional[float], resample):
    """(sampling, area, capped) for a plan's ``pixels`` share: ``s`` (the model's sampling at
    full size) sampled again by ``resample(max_pixels)`` under ``model.pixel_cap`` at that share
    of its frame's pixels; ``area``: a full frame's tokens over a shrunk one's; ``capped()``:
    the cap again, for the processor. Without a share (or a frame size): ``s`` as it is."""
    if not pixels or pixels >= 1 or not s.frame_size:
        return s, 1.0, contextlib.nullcontext
    w, h = s.frame_size
    capped = functools.partial(model.pixel_cap, max(1, int(pixels * w * h)))
    with capped():
        small = resample(model.max_pixels)
    return small, w * h / (small.frame_size[0] * small.frame_size[1]), capped


def write_deferred(later: list, times: dict) -> None:
    """Run the cache writes ``visual_tokens`` deferred into ``later`` (emptying it), timed as
    ``times["cache_save"]``; nothing when there are none."""
    if not later:
        return
    t0 = time.perf_counter()
    while later:
        later.pop(0)()
    times["cache_save"] = time.perf_counter() - t0


def ask(video, question: str, model, *, compression: Optional[Compression] = None, max_new_tokens: int = 64,
        use_cache: bool = True, num_frames: Optional[int] = None, fps: Optional[float] = None, backend=None,
        timeout=60.0, on_text=None, window: Optional[tuple[float, float]] = None, subtitles=None) -> dict:
    """Answer ``question`` about ``video`` (an opened ``Video`` or a path), its visual
    tokens compressed as ``compression`` asks (``Compression.of(method, budget, ...)``;
    None: all of them); ``on_text(delta)`` receives the answer as it is generated (the
    model's ``sampling`` and ``system`` settings apply, see ``VideoLLM.configure``);
    ``window``: only that part of the video (``visual_tokens``); ``subtitles``: cues
    (``decode.subtitles``), those overlapping a frame still shown after compression placed
    before the question with their times."""
    comp = compression if compression is not None else Compression()
    times: dict = {}
    t_all = time.perf_counter()
    video = as_video(video, backend=backend, timeout=timeout)
    later: list = []  # the token cache's write, once the answer is out (it is not on its way)
    ts, extra, cached = visual_tokens(video, model, num_frames=num_frames, fps=fps, use_cache=use_cache,
                                      backend=backend, timeout=timeout, times=times, pre_keep=comp.pre_keep,
                                      defer=later, window=window, pixels=comp.pixels, tower=comp.tower)
    n_encoded = len(ts)
    n_before = extra.get("tokens_full", n_encoded)
    if comp.active:
        t0 = time.perf_counter()

        def prepare(name, tokens):  # fastv: the LLM's attention from the question, on a new set
            return dataclasses.replace(tokens, meta={**tokens.meta, "llm_attn": model.text_attention(tokens, question)})

        ts = comp.apply(ts, n_before, prepare=prepare)
        times["compress"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    asked, n_lines = with_subtitles(question, subtitles, ts)
    inp = model.build_inputs(ts, asked)
    times["build_inputs"] = time.perf_counter() - t0
    gen = model.generate(inp, max_new_tokens=max_new_tokens, on_text=on_text)
    write_deferred(later, times)
    times["prefill"] = gen.prefill
    times["generate"] = gen.decode
    times["total"] = time.perf_counter() - t_all
    return {
        "video": video.path, "question": question, "answer": gen.text, "model": model.spec,
        "frames_used": len(extra["frames"]), "frame_indices": extra["frames"],
        "frames_sampled": extra.get("frames_sampled", len(extra["frames"])),
        "frame_times": [round(t, 3) for t in extra["frame_times"]],
        "visual_tokens_before": n_before, "visual_tokens_encoded": n_encoded, "visual_tokens_after": len(ts),
        "visual_tokens_budget": budget_tokens(comp, n_before, ts),
        "text_tokens": inp.num_text, "subtitle_lines": n_lines,
        "compression": {**comp.describe(), "proportional_attention": model.proportional_attention},
        "cached_tokens": cached, "cached_prefix_kv": gen.prefix_hit, "new_tokens": gen.new_tokens,
        "prefill_tokens": gen.prefill_tokens, "generation": model.generation_summary(),
        "seconds": {k: round(v, 4) for k, v in times.items()},
    }


def budget_tokens(comp: Compression, n_before: int, tokens) -> Optional[int]:
    """The visual tokens ``comp``'s budget asks the method for on a video whose full tokens
    are ``n_before`` (None: no budget), as ``compress.chain`` resolves it for ``tokens`` (a
    per-frame budget counts their temporal steps). A plan that cuts frames or pixels before
    the tower below this leaves the method nothing to choose (``render.after`` says so)."""
    if not comp.active:
        return None
    return comp.budget.of(n_before).resolve(n_before, tokens.grid[0], math.inf)  # what it asks, not what exists


def with_subtitles(question: str, cues, tokens) -> tuple[str, int]:
    """``question`` after the subtitle lines that overlap a frame ``tokens`` still shows, and
    how many lines that is."""
    if not cues:
        return question, 0
    from ..decode.subtitles import lines_for

    covered = tokens.covered_frames().tolist()
    spans = [(float(tokens.frame_times[t]), float(tokens.frame_ends[t])) for t, c in enumerate(covered) if c]
    lines = lines_for(cues, spans)
    return (f"Subtitles:\n{lines}\n{question}", lines.count("\n") + 1) if lines else (question, 0)
