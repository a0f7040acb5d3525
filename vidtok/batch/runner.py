"""The batch runner: jobs (video, query) -> results JSONL, with decode prefetched in
parallel with model work, bounded memory, resume, and one error record per failure.

A task is two functions: ``prepare(job) -> payload`` (I/O and decoding; runs in worker
threads, FFmpeg releases the GIL) and ``run(job, payload) -> dict`` (model work; runs in the
calling thread, one at a time). At most ``2 * workers`` payloads wait, so memory stays
bounded however large the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..errors import UsageError, VidtokError
from .jsonl import JsonlWriter

VIDEO_EXTS = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}


@dataclass
class Job:
    id: str
    video: str
    query: Optional[str]


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list = field(default_factory=list)

    def count(self, rec: dict) -> None:
        if rec["status"] == "ok":
            self.ok += 1
        else:
            self.failed += 1
            self.errors.append(rec["error"]["message"])


def find_videos(root: Path, recursive: bool = False, pattern: Optional[str] = None) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise UsageError("no such folder", root)
    it = root.rglob(pattern or "*") if recursive else root.glob(pattern or "*")
    files = [p for p in it if p.is_file() and (pattern or p.suffix.lower() in VIDEO_EXTS)]
    return sorted(files)


def file_identity(path: Path) -> str:
    """The file's real path (symlinks and ``..`` resolved, so however the folder was spelled)
    and its content (size and a hash of its first and last 64 KB): a job's id, so a rerun
    finds what is done and an edited file is done again. Unreadable: path only (the job
    then fails with its own error record)."""
    real = os.path.realpath(path)
    try:
        size = os.path.getsize(real)
        h = hashlib.sha1(str(size).encode())
        with open(real, "rb") as f:
            h.update(f.read(1 << 16))
            if size > 1 << 17:
                f.seek(-(1 << 16), os.SEEK_END)
                h.update(f.read(1 << 16))
        return f"{real}\0{h.hexdigest()}"
    except OSError:
        return real


def make_jobs(videos: Iterable[Path], queries: list[Optional[str]], task: str, config: dict) -> list[Job]:
    cfg = json.dumps(config, sort_keys=True, default=str)
    jobs: dict[str, Job] = {}
    for v in videos:
        ident = file_identity(v)
        for q in queries:
            key = hashlib.sha1(f"{task}\0{ident}\0{q}\0{cfg}".encode()).hexdigest()[:16]
            jobs.setdefault(key, Job(key, str(v), q))  # a file listed twice (a symlink) runs once
    return list(jobs.values())


def ok_record(job: Job, task: str, result: dict, seconds: float) -> dict:
    return {"id": job.id, "video": job.video, "query": job.query, "task": task, "status": "ok",
            "result": result, "seconds": round(seconds, 4)}


def error_record(job: Job, task: str, e: BaseException, seconds: float) -> dict:
    if isinstance(e, VidtokError):
        err = {"type": type(e).__name__, "message": e.one_line(), "exit_code": e.exit_code}
    else:
        err = {"type": type(e).__name__, "message": f"{job.video}: {e}", "exit_code": 1}
    return {"id": job.id, "video": job.video, "query": job.query, "task": task, "status": "error",
            "error": err, "seconds": round(seconds, 4)}


def run_batch(jobs: list[Job], task: str, prepare: Callable, run: Callable, out: Path, *, workers: int = 2,
              resume: bool = True, progress: Optional[Callable[[Job, dict], None]] = None) -> BatchSummary:
    writer = JsonlWriter(out, resume=resume)
    summary = BatchSummary(total=len(jobs))
    todo = [j for j in jobs if j.id not in writer.done]
    summary.skipped = len(jobs) - len(todo)
    t_start = time.perf_counter()

    def safe_prepare(job):
        t0 = time.perf_counter()
        try:
            return job, prepare(job), None, time.perf_counter() - t0
        except BaseException as e:  # recorded, never raised
            return job, None, e, time.perf_counter() - t0

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="vidtok-prefetch") as pool:
            pending: list = []
            it = iter(todo)
            window = 2 * max(1, workers)

            def fill():
                while len(pending) < window:
                    try:
                        pending.append(pool.submit(safe_prepare, next(it)))
                    except StopIteration:
                        return

            fill()
            while pending:
                fut = pending.pop(0)
                fill()
                job, payload, err, t_prep = fut.result()
                t0 = time.perf_counter()
                if err is None:
                    try:
                        rec = ok_record(job, task, run(job, payload), t_prep + time.perf_counter() - t0)
                    except BaseException as e:
                        if isinstance(e, KeyboardInterrupt):
                            raise
                        rec = error_record(job, task, e, t_prep + time.perf_counter() - t0)
                else:
                    if isinstance(err, KeyboardInterrupt):
                        raise err
                    rec = error_record(job, task, err, t_prep)
                del payload
                summary.count(rec)
                writer.write(rec)
                if progress:
                    progress(job, rec)
    finally:
        writer.close()
    summary.seconds = time.perf_counter() - t_start
    return summary
