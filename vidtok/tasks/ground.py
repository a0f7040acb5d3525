"""``ground``: when does something happen? Intervals in seconds with scores.

* through the video LLM: the model is asked for start and end times; the answer is parsed
  robustly (``parse.py``) and clamped to the video. When the answer names no time
  (``parsed: false``), the whole video is returned with score 0. Long videos are asked in chunks of
  ``chunk_seconds`` whose answers are offset by the chunk's start, so timestamps never
  shrink towards the start (TimeChat #38).
* ``via="embed"``: zero-shot, no LLM: image-text similarity over frames sampled at
  ``fps``, smoothed, and cut into intervals where it stays above mean + ``k`` std.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from ..compress.request import Compression
from ..defaults import DEFAULT_TEXT_ENCODER
from .parse import parse_intervals

PROMPT = ("When does the following happen in the video: \"{query}\"? Answer with the start and end time "
          "in seconds, in the form 'from <start> to <end>'.")


def similarity_intervals(times: np.ndarray, sim: np.ndarray, end: float, smooth: int = 3, k: float = 0.5,
                         min_len: float = 0.0) -> list[dict]:
    """Intervals where the smoothed similarity stays above mean + k * std; scored by
    their mean similarity. The best interval comes first."""
    if len(sim) == 0:
        return []
    w = max(1, smooth)
    pad = np.pad(sim, (w // 2, w - 1 - w // 2), mode="edge")
    s = np.convolve(pad, np.ones(w) / w, mode="valid")
    thr = s.mean() + k * s.std()
    above = s > thr if s.std() > 1e-9 else np.ones_like(s, bool)
    from ..select.scenes import true_runs

    out, n = [], len(s)
    for i, j in true_runs(above):
        start = float(times[i])
        stop = float(times[j]) if j < n else end
        if stop - start >= min_len:
            out.append({"start": round(start, 3), "end": round(stop, 3), "score": float(s[i:j].mean())})
    return sorted(out, key=lambda r: -r["score"])


def ground_embed(video, query: str, encoder=DEFAULT_TEXT_ENCODER, fps: float = 2.0,
                 backend=None, timeout=60.0) -> dict:
    from ..decode import as_video
    from ..encode.base import load_encoder
    from ..select.selectors import candidates, embed_frames

    t0 = time.perf_counter()
    v = as_video(video, backend=backend, timeout=timeout)
    enc = load_encoder(encoder) if isinstance(encoder, str) else encoder
    idx = candidates(v, fps, max_frames=4096)
    emb = embed_frames(v, idx, enc)
    txt = enc.encode_text([query]).numpy()[0]
    sim = emb @ txt
    intervals = similarity_intervals(v.index.times[idx], sim, v.info.end_time)
    return {"video": v.path, "query": query, "via": "embed", "intervals": intervals,
            "duration": v.info.duration, "frames_scored": len(idx),
            "curve": {"times": [round(float(t), 3) for t in v.index.times[idx]], "similarity": sim.round(5).tolist()},
            "seconds": {"total": round(time.perf_counter() - t0, 4)}}


def ground_llm(video, query: str, model, *, compression: Optional[Compression] = None, chunk_seconds: float = 600.0,
               max_new_tokens: int = 48, use_cache: bool = True, backend=None, timeout=60.0) -> dict:
    """Ask the model for the interval; a video longer than ``chunk_seconds`` is asked one
    window at a time (each through ``ask`` with its window: the same sampling rule, token
    cache, pre-keep and compression), its answers offset by the window's start.
    ``video``: an opened ``Video`` or a path."""
    from ..decode import as_video
    from .ask import ask

    video = as_video(video, backend=backend, timeout=timeout)
    info = video.info
    t0 = time.perf_counter()
    edges = [info.start_time, info.end_time]
    if info.duration > chunk_seconds:
        edges = np.arange(info.start_time, info.end_time, chunk_seconds).tolist() + [info.end_time]
    answers, intervals = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        r = ask(video, PROMPT.format(query=query), model, compression=compression, max_new_tokens=max_new_tokens,
                use_cache=use_cache, backend=backend, timeout=timeout,
                window=(a, b) if len(edges) > 2 else None)
        answers.append(r["answer"])
        for s, e in parse_intervals(r["answer"], b - a):
            intervals.append({"start": round(a + s, 3), "end": round(a + e, 3), "score": 1.0})
    parsed = bool(intervals)
    if not parsed:  # the model named no time: say so, and fall back to the whole video
        intervals = [{"start": round(info.start_time, 3), "end": round(info.end_time, 3), "score": 0.0}]
    return {"video": video.path, "query": query, "via": "llm", "model": model.spec, "parsed": parsed,
            "intervals": intervals, "answers": answers, "duration": info.duration,
            "seconds": {"total": round(time.perf_counter() - t0, 4)}}


def to_srt(intervals: list[dict], label: str) -> str:
    def ts(t):
        ms = int(round(t * 1000))
        h, ms = divmod(ms, 3600_000)
        m, ms = divmod(ms, 60_000)
        s, ms = divmod(ms, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"

    return "\n".join(f"{i}\n{ts(r['start'])} --> {ts(r['end'])}\n{label} ({r['score']:.2f})\n"
                     for i, r in enumerate(sorted(intervals, key=lambda r: r["start"]), 1))


def to_vtt(intervals: list[dict], label: str) -> str:
    return "WEBVTT\n\n" + to_srt(intervals, label).replace(",", ".")
