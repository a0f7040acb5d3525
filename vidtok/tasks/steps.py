"""What a command does with one video once its model is loaded, from its ``PipelineConfig``:
one function per command, called by the command itself and by ``batch`` (locally and on
Ray), so a flag that works on a command works the same in a batch."""

from __future__ import annotations

from typing import Optional

from ..defaults import DEFAULT_TEXT_ENCODER


def answer(video, question: str, model, cfg, *, use_cache: bool = True, on_text=None, subtitles=None) -> dict:
    """``ask``: the model's answer, its visual tokens compressed as ``cfg`` asks;
    ``subtitles``: cues already read (``decode.subtitles``), else those ``cfg.subtitles`` names."""
    from .ask import ask

    if subtitles is None and cfg.subtitles:
        from ..decode.subtitles import read_subtitles

        subtitles = read_subtitles(cfg.subtitles, video.path)
    return ask(video, question, model, compression=cfg.compression, max_new_tokens=cfg.max_new_tokens,
               use_cache=use_cache, on_text=on_text, subtitles=subtitles)


def locate(video, query: str, model, cfg, *, use_cache: bool = True) -> dict:
    """``ground``: intervals where ``query`` happens, by the LLM (``cfg.via == "llm"``; a
    grounding answer is a few numbers: 48 new tokens unless set) or by image-text similarity
    (``"embed"``, no ``model``)."""
    from .ground import ground_embed, ground_llm

    if cfg.via == "embed":
        return ground_embed(video, query, encoder=cfg.encoder or DEFAULT_TEXT_ENCODER)
    return ground_llm(video, query, model, compression=cfg.compression, chunk_seconds=cfg.chunk_seconds,
                      max_new_tokens=cfg.answer_tokens(48), use_cache=use_cache)


def pick_frames(video, cfg, *, query: Optional[str] = None, use_cache: bool = True, progress=None):
    """``keyframes``: the selector's ``Selection`` (``cfg.selector``, ``cfg.k``, its options)."""
    from ..select import select

    return select(video, cfg.selector, use_cache=use_cache, progress=progress, k=cfg.k, query=query,
                  encoder=cfg.encoder, **cfg.options.get(cfg.selector, {}))


def compress_pixels(video, cfg, *, num_frames: Optional[int] = None, **kw):
    """``compress``: the pixels encoder's tokens compressed as ``cfg`` asks, defaults applied
    (compressing is the whole job), with PSNR (``pipeline.compress_video``)."""
    from ..pipeline import compress_video

    return compress_video(video, cfg.compression.or_default(), num_frames=num_frames or cfg.num_frames, **kw)
