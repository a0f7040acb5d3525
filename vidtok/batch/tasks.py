"""The four batch tasks as (prepare, run) pairs. ``prepare`` does the I/O-bound part
(probe, decode, or the token cache) in worker threads; ``run`` does model work through the
same per-video step the command runs (``tasks.steps``), so every flag means the same here."""

from __future__ import annotations

from typing import Callable

from ..config import DecodeOptions, PipelineConfig
from ..errors import UsageError


def build_task(task: str, cfg: PipelineConfig, model_loader: Callable | None = None,
               decode: DecodeOptions | None = None, use_cache: bool = True):
    """``decode`` says how each video is opened (``--backend``, ``--stream``, ...); every
    ``prepare`` opens (probes) its video, so a broken file fails there, off the model thread.
    ``model_loader(spec)`` returns the configured model (``commands.load_model``)."""
    from ..tasks import steps

    decode = decode or DecodeOptions()

    def opened(job):
        return decode.open(job.video)

    def needs_query(job):
        if not job.query:
            raise UsageError(f"--task {task} needs --query or --queries")
        return job.query

    if task == "keyframes":
        def run(job, video):
            return {**steps.pick_frames(video, cfg, query=job.query, use_cache=use_cache).model_dump(), "damage": decode.damage(video)}

        return opened, run

    if task == "compress":
        def run(job, video):
            return {**steps.compress_pixels(video, cfg).summary(), "damage": decode.damage(video)}

        return opened, run

    if task not in ("ask", "ground"):
        raise UsageError(f"unknown task '{task}': ask, ground, keyframes or compress")
    if task == "ask" and cfg.via == "embed":
        raise UsageError("--via embed applies to --task ground")
    model = model_loader(cfg.model) if not (task == "ground" and cfg.via == "embed") else None

    if task == "ask":
        from ..tasks.ask import visual_tokens

        def prepare(job):
            # decode + vision tower land in the token cache; the question reuses them
            video = decode.open(job.video)
            if use_cache:
                visual_tokens(video, model, pre_keep=cfg.compression.pre_keep, pixels=cfg.compression.pixels,
                              tower=cfg.compression.tower)
            return video

        def run(job, video):
            r = steps.answer(video, needs_query(job), model, cfg, use_cache=use_cache)
            r.pop("frame_times", None)
            return {**r, "damage": decode.damage(video)}

        return prepare, run

    def run(job, video):
        r = steps.locate(video, needs_query(job), model, cfg, use_cache=use_cache)
        r.pop("curve", None)
        return {**r, "damage": decode.damage(video)}

    return opened, run
