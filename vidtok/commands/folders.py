"""The commands over folders: ``batch`` (a task per video, resumable) and ``search``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from ..checks import check_answering, check_number, check_selection
from ..defaults import DEFAULT_TEXT_ENCODER
from ..errors import UsageError
from ..output import check_file
from .common import write_report

if TYPE_CHECKING:
    from ..config import DecodeOptions, PipelineConfig


BATCH_TASKS = ("ask", "ground", "keyframes", "compress")


def batch(folder, *, cfg: PipelineConfig, decode: DecodeOptions, task: str = "keyframes", queries: list[Optional[str]] = (None,),
          out: Path = Path("results.jsonl"), use_cache: bool = True, recursive: bool = False, glob: Optional[str] = None, workers: int = 2,
          engine: str = "local", restart: bool = False, wait: bool = False, report: Optional[Path] = None,
          progress: Optional[Callable[[int], Callable[[dict], None]]] = None) -> dict:
    """Run ``task`` over a folder with the ``PipelineConfig`` ``cfg``: one JSON line per
    (video, query) in ``out``, resumable, each item exactly once (``BatchLock``).
    ``progress(total)`` returns the function to call with each record written."""
    from ..batch.jsonl import BatchLock, read_done
    from ..batch.runner import find_videos, make_jobs

    if task not in BATCH_TASKS:
        raise UsageError(f"--task must be {', '.join(BATCH_TASKS[:-1])} or {BATCH_TASKS[-1]}, got '{task}'")
    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got '{engine}'")
    queries = list(queries) or [None]
    out, report = check_file(out, "--out"), check_file(report, "--report")
    if task in ("ask", "ground"):
        if queries == [None]:
            raise UsageError(f"--task {task} needs --query or --queries")
        check_answering(cfg, task=task)
    elif task == "keyframes":
        check_selection(cfg.selector, query=queries[0], encoder=cfg.encoder, options=cfg.options.get(cfg.selector))
    else:
        cfg.compression  # noqa: B018  (reading it checks the method and the budget)
    videos = find_videos(Path(folder), recursive=recursive, pattern=glob)
    if not videos:
        raise UsageError("no video files found", folder)
    jobs = make_jobs(videos, queries, task, cfg.model_dump())
    on_done = progress(len(jobs)) if progress else None
    with BatchLock(out, wait=wait):  # before the model loads: a refused run costs nothing
        if engine == "ray":
            from ..batch.ray_engine import run_batch_ray

            summary = run_batch_ray(jobs, task, cfg, out, resume=not restart, progress=on_done and
                                    (lambda job, rec: on_done(rec)), decode=decode, use_cache=use_cache)
        else:
            from ..batch.runner import run_batch
            from ..batch.tasks import build_task
            from .answering import load_model

            prepare, run_fn = build_task(task, cfg, lambda spec: load_model(cfg, spec=spec), decode, use_cache)
            summary = run_batch(jobs, task, prepare, run_fn, out, workers=workers, resume=not restart,
                                progress=on_done and (lambda job, rec: on_done(rec)))
    if report is not None:
        write_report(report, f"vidtok batch {task}", str(folder), rows=list(read_done(Path(out))[0].values()),
                     extra={"total": summary.total, "ok": summary.ok + summary.skipped, "failed": summary.failed})
    return {"out": str(out), "total": summary.total, "skipped_done": summary.skipped, "ok": summary.ok,
            "failed": summary.failed, "seconds": round(summary.seconds, 3), "errors": summary.errors[:20]}


def search(folder, query: str, *, decode: DecodeOptions, k: int = 10, encoder: str = DEFAULT_TEXT_ENCODER,
           fps: float = 1.0, index: Optional[Path] = None, recursive: bool = False,
           progress: Optional[Callable[[int], Callable[[], None]]] = None) -> dict:
    """Top-``k`` moments for ``query`` across a folder, from an incremental SQLite index."""
    from ..batch.runner import find_videos
    from ..weights import check_encoder

    check_number("--fps", fps, 1e-3, 1000)
    index = check_file(index, "--index")
    videos = find_videos(Path(folder), recursive=recursive)
    check_encoder(encoder)
    from ..encode.base import load_encoder  # torch: only once the options are good
    from ..tasks.search import SearchIndex, default_index

    idx = SearchIndex(index or default_index(Path(folder)))
    enc = load_encoder(encoder)
    tick = progress(len(videos)) if progress else None
    st = idx.update(videos, enc, encoder, fps, progress=tick and (lambda p, s: tick()), decode=decode)
    hits = idx.search(enc.encode_text([query]).numpy()[0], k=k)
    return {"query": query, "moments": hits, "index": {**idx.stats(), **st}}
