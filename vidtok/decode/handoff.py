"""The one worker thread a decode run happens in, and the stall timeout that watches it:
a decoder that makes no progress for ``timeout`` seconds becomes a ``DecodeTimeoutError``
instead of a frozen program (a native decoder stuck in C cannot be killed, so its daemon
thread is abandoned). Memory stays bounded: at most ``IN_FLIGHT`` batches wait."""

from __future__ import annotations

import queue
import threading
import time
from typing import Iterator

from ..errors import DecodeTimeoutError

_DONE = object()
#: batches of frames a decoder thread may run ahead of its consumer (bounded memory)
IN_FLIGHT = 8
#: Hand-off rule: the decoder thread hands frames over at once while its consumer waits
#: (an empty queue), otherwise in batches of at most BATCH_FRAMES frames (and about
#: BATCH_PIXELS of pictures), and never holds a frame longer than BATCH_AGE_S, so the stall
#: timeout sees a slow decoder's every frame. Each hand-off wakes both threads and takes the
#: GIL twice, which small frames feel most
BATCH_FRAMES = 32
BATCH_AGE_S = 0.002
#: 2 Mpx: 32 frames of 256x240, 2 of 720p, one of 1080p and up
BATCH_PIXELS = 2_000_000


def batch_frames(pixels: int) -> int:
    """Frames of ``pixels`` each that go in one hand-off: up to ``BATCH_FRAMES`` and about
    ``BATCH_PIXELS`` (a frame waiting for conversion holds its full-size picture)."""
    return max(1, min(BATCH_FRAMES, BATCH_PIXELS // max(1, pixels)))


def with_stall_timeout(gen: Iterator, timeout: float | None, path: str, backend: str,
                        batch_frames: int = BATCH_FRAMES) -> Iterator:
    """Run ``gen`` in a daemon thread; fail if nothing arrives within ``timeout`` s.

    A native decoder stuck inside C code cannot be interrupted, so the thread is left
    behind (daemon) and the caller gets a clear error instead of a hang.
    """
    if timeout is None:
        yield from gen
        return
    q: queue.Queue = queue.Queue(maxsize=IN_FLIGHT)  # bounded memory
    stop = threading.Event()
    clock = time.perf_counter

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        batch, since = [], clock()
        try:
            for item in gen:
                batch.append(item)
                # the age counts from the last hand-off, so a frame that took long to
                # decode goes at once (the stall timeout sees every frame as it comes)
                if len(batch) >= batch_frames or clock() - since >= BATCH_AGE_S or q.empty():
                    if not put(batch):
                        break
                    batch, since = [], clock()
            else:
                if not batch or put(batch):
                    put(_DONE)
        except BaseException as e:  # forwarded to the caller, after the frames before it
            if not batch or put(batch):
                put(e)
        finally:
            close = getattr(gen, "close", None)
            if close and stop.is_set():
                try:
                    close()
                except Exception:
                    pass

    th = threading.Thread(target=work, name=f"vidtok-decode-{backend}", daemon=True)
    th.start()
    try:
        while True:
            try:
                item = q.get(timeout=timeout)
            except queue.Empty:
                other = "" if backend == "pyav" else "--backend pyav or "
                raise DecodeTimeoutError(
                    f"decoder '{backend}' made no progress for {timeout:g}s (file may be corrupt; "
                    f"try {other}a larger --timeout)",
                    path,
                ) from None
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
