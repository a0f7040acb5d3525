"""Selector registry: which frames or clips of a video reach the model.

Every selector is ``fn(video, *, k, query, encoder, budget, progress, **options) ->
Selection`` and is listed by ``vidtok methods``. The algorithms live beside it as pure
functions on arrays (tested on inputs whose right answer is known); these wrappers only
decode, embed and convert positions into exact frame indices and times.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..decode.video import Video
from ..errors import UsageError
from ..registry import Registry
from .base import Clip, Cut, SelectedFrame, Selection

SelectorFn = Callable[..., Selection]
SELECTORS: Registry[SelectorFn] = Registry("selectors")

from ..defaults import DEFAULT_TEXT_ENCODER  # noqa: E402  (re-exported)


#: what ``-o`` (and the keyframes flags) may set each selector option to (inclusive; None:
#: unbounded), checked before any work. Rates are frames per second, above zero.
OPTION_RANGES = {"k": (1, 100_000), "fps": (1e-3, 1000.0), "threshold": (0.0, 255.0), "min_scene_len": (0, None),
                 "analysis_fps": (1e-3, 1000.0), "candidate_fps": (1e-3, 1000.0), "clip_fps": (1e-3, 1000.0),
                 "coverage": (0, 100_000), "spread": (0.0, None), "lam": (0.0, 1.0), "budget": (1, None)}


def _frames(video: Video, positions, scores=None) -> list[SelectedFrame]:
    t = video.index.times
    return [SelectedFrame(index=int(i), time=float(t[int(i)]), score=float(s) if scores is not None else 0.0)
            for i, s in zip(positions, scores if scores is not None else [0.0] * len(positions))]


def candidates(video: Video, fps: float = 2.0, max_frames: int = 512) -> np.ndarray:
    from .samplers import time_grid_indices, uniform_indices

    idx = np.unique(time_grid_indices(video.info, video.index, fps))
    if len(idx) > max_frames:
        idx = np.unique(uniform_indices(video.index, max_frames))
    return idx


def embed_frames(video: Video, indices: np.ndarray, encoder, side: int = 224, progress=None):
    w, h = video.info.width, video.info.height
    scale = side / min(w, h)
    size = (max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2))
    out, batch = [], []
    for i, t, rgb in video.iter_frames(indices, size=size):
        batch.append(rgb)
        if len(batch) == 32:
            out.append(encoder.encode_images(np.stack(batch)))
            batch = []
        if progress:
            progress()
    if batch:
        out.append(encoder.encode_images(np.stack(batch)))
    import torch

    return torch.cat(out).numpy()


#: selectors that embed frames (and the query) with an image-text encoder
ENCODER_SELECTORS = ("query", "diverse", "clips", "search")


def encoder_spec(encoder: Optional[str], query: Optional[str]) -> str:
    """The encoder such a selector loads: the one asked for, else the default text encoder
    when there is a query, else raw pixels (no weights)."""
    return encoder or (DEFAULT_TEXT_ENCODER if query else "pixels")


def _encoder(encoder, query):
    from ..encode.base import load_encoder

    if encoder is None or isinstance(encoder, str):
        return load_encoder(encoder_spec(encoder, query))
    return encoder


def _relevance(video, idx, query, encoder, progress):
    enc = _encoder(encoder, query)
    emb = embed_frames(video, idx, enc, progress=progress)
    if query:
        txt = enc.encode_text([query]).numpy()[0]
        rel = emb @ txt
    else:  # no query: uniqueness (distance from the video's mean frame)
        m = emb.mean(0)
        rel = -(emb @ (m / (np.linalg.norm(m) + 1e-12)))
    return emb, rel


@SELECTORS.register("uniform")
def uniform(video: Video, *, k: int = 16, **_) -> Selection:
    """k frames evenly spaced in time."""
    from .samplers import uniform_indices

    return Selection(method="uniform", frames=_frames(video, uniform_indices(video.index, min(k, len(video)))))


@SELECTORS.register("fps")
def fps(video: Video, *, fps: float = 1.0, k: Optional[int] = None, **_) -> Selection:
    """A fixed rate in frames per second (capped at k)."""
    from .samplers import fps_sampler

    s = fps_sampler(video.info, video.index, fps=fps, max_frames=k)
    return Selection(method="fps", frames=_frames(video, s.indices), params={"fps": fps})


@SELECTORS.register("scenes")
def scenes(video: Video, *, k: Optional[int] = None, detector: str = "auto", threshold: Optional[float] = None,
           min_scene_len: int = 15, filter: str = "merge", full: Optional[bool] = None, runtime: str = "auto",
           progress=None, **_) -> Selection:
    """Scene cuts by a detector (``detectors.py``: content, adaptive, fade, all, transnet,
    combined; ``auto``: combined when the transnet extra is installed, else content) and one
    representative frame per scene. ``full``: transnet runs on every segment (default on
    CUDA; on a CPU the frame differences propose the segments). ``runtime``: what runs
    transnet (``detectors.load_runner``: auto, torch or openvino)."""
    from .detectors import DETECTORS, RUNTIMES, resolve_detector
    from .scenes import FILTERS

    detector = DETECTORS.check(resolve_detector(detector))
    if filter not in FILTERS:  # checked before any decoding; flash_filter holds the rule
        raise UsageError(f"--filter must be merge or suppress, got '{filter}'")
    if runtime not in RUNTIMES:
        raise UsageError(f"-o runtime must be {', '.join(RUNTIMES)}, got '{runtime}'")
    if runtime == "openvino" and detector in ("transnet", "combined"):
        from .transnet_openvino import available

        if not available():
            from ..errors import MissingDependencyError

            raise MissingDependencyError("-o runtime=openvino needs pip install 'vidtok[cuts]' (OpenVINO is not installed)")
    shots = DETECTORS.get(detector)(video, threshold=threshold, min_scene_len=min_scene_len, filter=filter,
                                    full=full, runtime=runtime, progress=progress)
    params = {"detector": detector, **shots.params}  # the one that ran (auto resolved)
    cut_frames, rep_frames = shots.cuts, shots.representatives
    t = video.index.times
    end = video.info.end_time
    starts = [0, *cut_frames]
    spans = [(float(t[a]), float(t[b]) if b < len(video) else end) for a, b in zip(starts, [*cut_frames, len(video)])]
    lengths = np.array([b - a for a, b in spans])
    order = np.arange(len(rep_frames))
    if k is not None and k < len(rep_frames):  # the k longest scenes
        order = np.sort(np.argsort(-lengths, kind="stable")[:k])
    frames = _frames(video, [rep_frames[i] for i in order], [lengths[i] for i in order])
    return Selection(method="scenes", frames=frames, scenes=spans,
                     cuts=[Cut(index=c, time=float(t[c])) for c in cut_frames], params=params)


@SELECTORS.register("redundancy")
def redundancy(video: Video, *, k: int = 16, analysis_fps: float = 4.0, progress=None, **_) -> Selection:
    """Keyframes where content changes most (KFFocus-style), cheap."""
    from .cutscan import scan
    from .redundancy import change_keyframes

    idx = candidates(video, analysis_fps, max_frames=4096)
    st = scan(video, idx, progress=progress)
    pos = change_keyframes(st.content, st.times, k)
    return Selection(method="redundancy", frames=_frames(video, st.indices[pos], st.content[pos]),
                     params={"analysis_fps": analysis_fps})


@SELECTORS.register("query")
def query(video: Video, *, k: int = 16, query: Optional[str] = None, encoder=None, candidate_fps: float = 2.0,
          coverage: Optional[int] = None, spread: Optional[float] = None, progress=None, **_) -> Selection:
    """Query-aware frames: image-text similarity, temporal spreading, coverage floor (DATE TASS)."""
    from .query import query_select

    if not query:
        raise UsageError("the query selector needs --query")
    idx = candidates(video, candidate_fps)
    _, rel = _relevance(video, idx, query, encoder, progress)
    pos = query_select(rel, video.index.times[idx], k, coverage=coverage, spread=spread)
    return Selection(method="query", frames=_frames(video, idx[pos], rel[pos]), params={"query": query})


@SELECTORS.register("diverse")
def diverse(video: Video, *, k: int = 16, query: Optional[str] = None, encoder=None, candidate_fps: float = 2.0,
            lam: float = 0.5, progress=None, **_) -> Selection:
    """Max-min diversity over frame embeddings (MMR with relevance when a query is given)."""
    from .diverse import maxmin_select, mmr_select

    idx = candidates(video, candidate_fps)
    emb, rel = _relevance(video, idx, query, encoder, progress)
    pos = mmr_select(emb, rel, k, lam) if query else maxmin_select(emb, k)
    return Selection(method="diverse", frames=_frames(video, idx[pos], rel[pos]))


@SELECTORS.register("clips")
def clips(video: Video, *, k: int = 4, budget: int = 4096, query: Optional[str] = None, encoder=None,
          candidate_fps: float = 2.0, clip_fps: float = 2.0, progress=None, **_) -> Selection:
    """Key clips under a fixed token budget, clip length traded against resolution (F2C)."""
    from .clips import select_clips, tokens_for

    idx = candidates(video, candidate_fps)
    emb, rel = _relevance(video, idx, query, encoder, progress)
    step = max(1, int(round(video.info.fps / clip_fps)))
    chosen, length, size = select_clips(emb, rel, video.index.times[idx], idx, k, budget, step, len(video))
    t = video.index.times
    out = []
    for a, frames, score in sorted(chosen, key=lambda c: c[1][0] if c[1] else 0):
        if not frames:
            continue
        last = frames[-1]
        end = float(t[last + 1]) if last + 1 < len(t) else video.info.end_time
        out.append(Clip(start=float(t[frames[0]]), end=end, score=score, frames=frames, size=size,
                        tokens=len(frames) * tokens_for(size)))
    frames_all = sorted({f for c in out for f in c.frames})
    return Selection(method="clips", clips=out, frames=_frames(video, frames_all),
                     params={"budget": budget, "clip_len": length, "size": size,
                             "tokens": sum(c.tokens for c in out)})


@SELECTORS.register("search")
def search(video: Video, *, k: int = 16, budget: int = 128, query: Optional[str] = None, encoder=None,
           progress=None, **_) -> Selection:
    """Coarse-to-fine temporal search: score sparse frames, zoom into the best (T* / TimeSearch)."""
    from .search import coarse_to_fine

    if not query:
        raise UsageError("the search selector needs --query")
    enc = _encoder(encoder, query)
    txt = enc.encode_text([query]).numpy()[0]

    def score(indices):
        return embed_frames(video, indices, enc, progress=progress) @ txt

    idx, scores, used = coarse_to_fine(score, len(video), budget, k)
    return Selection(method="search", frames=_frames(video, idx, scores), params={"frames_scored": used})


def select(video: Video, method: str = "uniform", use_cache: bool = True, **kw) -> Selection:
    """Run selector ``method`` (None-valued options are dropped). Results are cached on
    disk by file content, method and options (not when an encoder object is passed)."""
    from .. import cache

    fn = SELECTORS.get(method)
    kw = {k: v for k, v in kw.items() if v is not None}
    if method == "scenes":  # the cache keys the detector that runs, not "auto"
        from .detectors import resolve_detector

        kw["detector"] = resolve_detector(kw.get("detector", "auto"))
    cacheable = use_cache and all(isinstance(v, (str, int, float, bool)) for k, v in kw.items() if k != "progress")
    key = None
    if cacheable:
        opts = {k: v for k, v in kw.items() if k != "progress"}
        key = cache.entry_key(video.path, kind="selection", method=method, stream=video.info.stream_index, **opts)
        hit = cache.load_json("selections", key)
        if hit is not None:
            video.damage.merge(hit.pop("damage", None))  # what decoding it met, reported again
            return Selection(**hit)
    sel = fn(video, **kw)
    if key is not None:
        cache.save_json("selections", key, {**sel.model_dump(), "damage": video.damage.as_dict()})
    return sel
