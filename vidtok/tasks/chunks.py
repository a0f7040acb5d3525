"""Long videos in chunks: each chunk is sampled and asked on its own, and its answer's
times are offset by the chunk's start (so they never shrink towards 0)."""

from __future__ import annotations

import numpy as np

from ..decode import as_video
from ..defaults import DEFAULT_BUDGET, DEFAULT_METHOD


def ask_chunks(video, prompt, model, chunk_seconds, *, method=None, budget=None, max_new_tokens=48, options=None,
               backend=None, timeout=60.0, frames_per_chunk: int = 16):
    from ..compress import compress
    from .ask import sampled_fps

    v = as_video(video, backend=backend, timeout=timeout)
    start, end = v.info.start_time, v.info.end_time
    edges = np.arange(start, end, chunk_seconds).tolist() + [end]
    from ..select.samplers import smart_resize

    # with --resize decoder: the size Qwen's processor would pick for one frame (square towers: theirs)
    size = model.decode_size(smart_resize(*v.info.display_size, 28, 128 * 28 * 28, 768 * 28 * 28))
    for a, b in zip(edges[:-1], edges[1:]):
        t = np.linspace(a, b, frames_per_chunk, endpoint=False)
        idx = np.unique(v.indices_at(t))
        if len(idx) % 2:
            idx = idx[:-1] if len(idx) > 1 else idx
        fr = v.get_frames(idx, size=size)
        ends = np.append(fr.times[1:], b)
        in_chunk = int(np.count_nonzero((v.index.times >= a) & (v.index.times < b)))
        ts = model.encode(fr.data, fr.times, ends, sampled_fps(len(idx), in_chunk, v.info.fps,
                                                               len(idx) / max(b - a, 1e-6)))
        if method or budget is not None:
            ts = compress(ts, method or DEFAULT_METHOD, budget if budget is not None else DEFAULT_BUDGET,
                          options=options)
        answer, _ = model.generate(model.build_inputs(ts, prompt), max_new_tokens=max_new_tokens)
        yield a, answer, b - a
