"""``--engine ray``: the same batch on a Ray cluster (``ray.init()`` starts a local one when
no address is set; ``RAY_ADDRESS`` joins a cluster). A pool of actors each builds the task
once (one model load per actor; an actor asks for a GPU when the machine has one) and
processes jobs; the driver alone writes the results file, so resume and exactly-once
semantics are the local engine's."""

from __future__ import annotations

import time
from typing import Callable, Optional

from ..config import DecodeOptions, PipelineConfig
from ..errors import MissingDependencyError
from .jsonl import JsonlWriter
from .runner import BatchSummary, Job, error_record, ok_record


def run_batch_ray(jobs: list[Job], task: str, cfg: PipelineConfig, out, *, resume: bool = True,
                  progress: Optional[Callable] = None, num_actors: Optional[int] = None,
                  decode: Optional[DecodeOptions] = None, use_cache: bool = True) -> BatchSummary:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--engine ray needs pip install 'vidtok[ray]'") from None

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 and task in ("ask", "ground") else 0

    @ray.remote(num_gpus=gpus)
    class Worker:
        def __init__(self, task, cfg_dict, decode_dict, use_cache):
            from ..batch.tasks import build_task
            from ..config import DecodeOptions, PipelineConfig
            from ..models.loading import load_configured

            cfg = PipelineConfig(**cfg_dict)
            self.prepare, self.run = build_task(task, cfg, lambda spec: load_configured(cfg, spec=spec),
                                                DecodeOptions(**decode_dict), use_cache)

        def process(self, job_dict):
            job = Job(**job_dict)
            t0 = time.perf_counter()
            try:
                return ok_record(job, task, self.run(job, self.prepare(job)), time.perf_counter() - t0)
            except Exception as e:
                return error_record(job, task, e, time.perf_counter() - t0)

    writer = JsonlWriter(out, resume=resume)
    summary = BatchSummary(total=len(jobs))
    todo = [j for j in jobs if j.id not in writer.done]
    summary.skipped = len(jobs) - len(todo)
    t_start = time.perf_counter()
    try:
        n = num_actors or max(1, int(ray.available_resources().get("CPU", 1)))
        actors = [Worker.remote(task, cfg.model_dump(exclude_unset=True), (decode or DecodeOptions()).model_dump(), use_cache) for _ in range(min(n, max(1, len(todo))))]
        pool = ray.util.ActorPool(actors)
        for rec in pool.map_unordered(lambda a, j: a.process.remote(j.__dict__), todo):
            summary.count(rec)
            writer.write(rec)
            if progress:
                progress(None, rec)
    finally:
        writer.close()
    summary.seconds = time.perf_counter() - t_start
    return summary


def ray_asker(cfg: PipelineConfig, decode: Optional[DecodeOptions] = None, use_cache: bool = True,
              num_actors: Optional[int] = None):
    """``eval --benchmark --engine ray``: jobs (video, prompt, compression, max_new_tokens)
    answered by a pool of actors (one model load each), results handed back in job order so
    the driver scores and writes them as the local engine does."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("--engine ray needs pip install 'vidtok[ray]'") from None

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0

    @ray.remote(num_gpus=gpus)
    class Asker:
        def __init__(self, cfg_dict, decode_dict, use_cache):
            from ..config import DecodeOptions, PipelineConfig
            from ..models.loading import load_configured

            from ..decode.subtitles import reader

            cfg = PipelineConfig(**cfg_dict)
            self.model, self.subtitles = load_configured(cfg), reader(cfg.subtitles) if cfg.subtitles else None
            self.decode, self.use_cache = DecodeOptions(**decode_dict), use_cache

        def ask(self, path, prompt, compression, max_new_tokens):
            from ..tasks.benchmark import ask_one

            return ask_one(self.decode.open(path), prompt, self.model, compression, max_new_tokens, self.use_cache,
                           self.subtitles)

    def run(jobs):
        jobs = list(jobs)
        if not jobs:
            return
        n = num_actors or max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1)))
        actors = [Asker.remote(cfg.model_dump(exclude_unset=True), (decode or DecodeOptions()).model_dump(), use_cache)
                  for _ in range(min(n, len(jobs)))]
        futures = [actors[i % len(actors)].ask.remote(str(v.path), p, c, t) for i, (v, p, c, t) in enumerate(jobs)]
        for f in futures:  # in job order: the driver scores in item order
            yield ray.get(f)

    return run
