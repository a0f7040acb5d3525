"""The four batch tasks as (prepare, run) pairs. ``prepare`` does the I/O-bound part
(probe, decode, or the token cache) in worker threads; ``run`` does model work."""

from __future__ import annotations

from typing import Callable

from ..config import DecodeOptions, PipelineConfig
from ..defaults import DEFAULT_BUDGET, DEFAULT_METHOD, DEFAULT_TEXT_ENCODER
from ..errors import UsageError


def build_task(task: str, cfg: PipelineConfig, model_loader: Callable | None = None,
               decode: DecodeOptions | None = None):
    """``decode`` says how each video is opened (``--backend``, ``--stream``, ...); every
    ``prepare`` opens (probes) its video, so a broken file fails there, off the model thread."""
    decode = decode or DecodeOptions()
    if task == "keyframes":
        from ..select import select

        def prepare(job):
            return decode.open(job.video)

        def run(job, video):
            sel = select(video, cfg.selector, k=cfg.k, query=job.query, encoder=cfg.encoder,
                         **cfg.options.get(cfg.selector, {}))
            return {**sel.model_dump(), "damage": decode.damage(video)}

        return prepare, run

    if task == "compress":
        from ..pipeline import compress_video

        def prepare(job):
            return decode.open(job.video)

        def run(job, video):
            r = compress_video(video, cfg.method or DEFAULT_METHOD, cfg.budget or DEFAULT_BUDGET, num_frames=cfg.num_frames,
                               options=cfg.options)
            return {**r.summary(), "damage": decode.damage(video)}

        return prepare, run

    if task in ("ask", "ground"):
        if task == "ask" and cfg.via == "embed":
            raise UsageError("--via embed applies to --task ground")
        need_model = not (task == "ground" and cfg.via == "embed")
        model = model_loader(cfg.model) if need_model else None
        if model is not None:
            model.configure(cfg)

        if task == "ask":
            from ..tasks.ask import ask, visual_tokens

            def prepare(job):
                # decode + vision tower land in the token cache; the question reuses them
                video = decode.open(job.video)
                visual_tokens(video, model, pre_keep=cfg.pre_keep)
                return video

            def run(job, video):
                if not job.query:
                    raise UsageError("--task ask needs --query or --queries")
                r = ask(video, job.query, model, method=cfg.method, budget=cfg.budget,
                        max_new_tokens=cfg.max_new_tokens, pre_keep=cfg.pre_keep, options=cfg.options)
                r.pop("frame_times", None)
                return {**r, "damage": decode.damage(video)}

            return prepare, run

        from ..tasks.ground import ground_embed, ground_llm

        def prepare(job):
            return decode.open(job.video)

        def run(job, video):
            if not job.query:
                raise UsageError("--task ground needs --query or --queries")
            if cfg.via == "embed":
                r = ground_embed(video, job.query, encoder=cfg.encoder or DEFAULT_TEXT_ENCODER)
                r.pop("curve", None)
            else:
                r = ground_llm(video, job.query, model, method=cfg.method, budget=cfg.budget,
                               chunk_seconds=cfg.chunk_seconds, pre_keep=cfg.pre_keep, options=cfg.options,
                               max_new_tokens=cfg.answer_tokens(48))
            return {**r, "damage": decode.damage(video)}

        return prepare, run

    raise UsageError(f"unknown task '{task}': ask, ground, keyframes or compress")
