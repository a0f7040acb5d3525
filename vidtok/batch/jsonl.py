"""Append-only JSONL results that survive being killed at any moment.

Each record is written with one ``write`` of the whole line on an ``O_APPEND`` descriptor
and flushed to disk, so a reader never sees half a record except possibly the very last
line of a killed run; ``open_for_resume`` cuts such a tail off and returns the ids already
done, so a rerun does each (video, query) exactly once.

Only one writer at a time: ``BatchLock`` holds an exclusive ``flock`` on ``<out>.lock``
(a file beside the results) for the whole run, so two batches on one output never both
write a record. The holder deletes the lock file before it lets go, and whoever acquires a
lock checks that the file it locked is still the one at that path (else it locks anew), so
no lock file is left behind and a third run never locks a file nobody else sees.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UsageError


class BatchLock:
    """Exclusive right to write ``out``. A second holder fails at once with a UsageError
    (exit 2), or with ``wait=True`` blocks until the first is done."""

    def __init__(self, out: Path, wait: bool = False):
        self.path = Path(str(out) + ".lock")
        self.out = Path(out)
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> "BatchLock":
        try:
            import fcntl
        except ImportError:  # not POSIX (Windows): no lock, as before
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise UsageError("another vidtok batch is writing these results; wait for it to finish, "
                                 "or pass --wait to queue behind it", self.out) from None
            try:  # the previous holder may have deleted (and a newer run re-made) the file
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            try:
                os.unlink(self.path)  # while still holding it: waiters see a stale file and retry
            except FileNotFoundError:
                pass
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def read_done(path: Path) -> tuple[dict[str, dict], int]:
    """Records by id from complete lines, and the byte length of the complete part."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done, 0
    good = 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl]
        try:
            rec = json.loads(line)
            if isinstance(rec, dict) and "id" in rec:
                done[rec["id"]] = rec
        except ValueError:
            break  # a damaged line: everything from here is redone
        pos = nl + 1
        good = pos
    return done, good


class JsonlWriter:
    """Results file. On resume, successful records count as done; failed ones are
    retried, and their old error lines are removed first (atomic rewrite), so the file
    ends with exactly one record per job."""

    def __init__(self, path: Path, resume: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records, good = read_done(self.path) if resume else ({}, 0)
        self.done = {k: r for k, r in records.items() if r.get("status") == "ok"}
        if resume and self.path.exists():
            if len(self.done) != len(records):
                tmp = self.path.with_suffix(self.path.suffix + ".tmp")
                with open(tmp, "w", encoding="utf-8") as f:
                    for r in self.done.values():
                        f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            elif self.path.stat().st_size != good:
                os.truncate(self.path, good)  # drop a partial last line from a killed run
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if resume else os.O_TRUNC)
        self.fd = os.open(self.path, flags, 0o644)

    def write(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        os.write(self.fd, line)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)
