"""Decoding only the frames a look at the reference frames says matter (PyAV only: it
drives FFmpeg's ``skip_frame``). The cut scan uses it on B-frame video where few frames are
references (``select/cutscan.py`` decides when); everything else decodes every frame.

``reference_counts`` reads how many frames are references from H.264/HEVC NAL headers
without decoding (``nal.py``); ``iter_guided`` runs a scout decoder over the reference
frames and a main decoder through the gaps the scout marks, in one pass.
"""

from __future__ import annotations

import bisect
import os
import threading
from typing import Iterator

import av
import numpy as np

from . import nal

#: reference frames the scout of ``iter_guided`` is let ahead once the main decoder caught up
SCOUT_LEAD = 16


def reference_share(video, limit: int = 600) -> float | None:
    """Share of frames that other frames reference (what a decoder skipping non-reference
    frames still decodes), from the first ``limit`` packets' NAL headers without decoding;
    None when the backend or codec cannot tell (only PyAV on H.264/HEVC can)."""
    counts = None if video.index.by_dts else video.decoder.reference_counts(limit)
    return counts[0] / counts[1] if counts else None


def iter_guided(video, judge, size: tuple[int, int] | None = None, max_ref_share: float | None = None):
    """(index, time, rgb) of the frames in the gaps between reference frames that
    ``judge(index, rgb)`` marks (``GuidedDecoding.iter_guided``), through the stall
    timeout; None when the backend cannot skip frames, the stream has nothing to skip (no
    reordering), the video was opened with ``threads=1`` (this runs two decoders), or more
    than ``max_ref_share`` of its frames are references (read only once the rest holds)."""
    from .handoff import with_stall_timeout

    d = video.decoder
    if not d.can_skip_frames or video.index.by_dts or not video.index.reordered or d.threads == 1:
        return None
    if max_ref_share is not None and (reference_share(video) or 0.0) > max_ref_share:
        return None
    times = video.index.times

    def gen():
        for i, rgb in with_stall_timeout(d.iter_guided(judge, size=size), video.timeout, video.path, video.backend,
                                         video.batch_frames()):
            if i >= 0:  # not a heartbeat
                yield i, float(times[i]), rgb

    return gen()


class GuidedDecoding:
    """Mixed into ``PyAVDecoder`` (uses its ``_open``, ``_converter``, ``_nearest_index``,
    ``damage``, ``index`` and ``threads``)."""

    def reference_counts(self, limit: int = 600) -> tuple[int, int] | None:
        """(reference frames, frames) among the first ``limit`` packets, from NAL headers
        (no decoding; H.264 and HEVC only, else None)."""
        container, stream = self._open(1)
        try:
            cc = stream.codec_context
            if cc.name not in ("h264", "hevc"):
                return None
            refs = total = 0
            size = ...
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                data = bytes(packet)
                if size is ...:
                    size = nal.length_size(cc.name, cc.extradata, data)
                r = nal.is_reference(data, cc.name, size)
                if r is not None:
                    total += 1
                    refs += r
                    if total >= limit:
                        break
            return (refs, total) if total else None
        finally:
            container.close()

    def iter_guided(self, judge, size=None, fast_resize: bool = True) -> Iterator[tuple[int, np.ndarray]]:
        """Frames only where a look at the reference frames says they matter, in one pass.

        Two decoders run over the stream at once, one per core. The scout decodes only
        reference frames (``skip_frame=NONREF``, display order) and calls
        ``judge(index, rgb)`` on each, from its own thread; a true answer marks the gap
        since the previous reference frame. The main decoder walks the stream once in
        decode order, decoding each non-reference frame only when it lies inside a marked
        gap (the scout is always ahead: before each packet it waits until the scout has
        judged past that frame), and yields ``(index, rgb)`` for every frame of the marked
        gaps, bounding reference frames included, in display order. Unlike decoding the
        marked gaps afterwards, nothing is sought and no GOP is walked twice."""
        rgb = self._converter(size, fast_resize, lazy=False)
        # each decoder gets half the cores (on 2 cores one thread each: NONREF decoding
        # gains nothing from frame threads)
        threads = max(1, (self.threads or os.cpu_count() or 2) // 2)
        cond = threading.Condition()
        refs: list[int] = []  # pts of reference frames judged so far, ascending
        marked: set[int] = set()  # pts of reference frames that end a marked gap
        state = {"done": False, "error": None}

        def scout():
            try:
                container, stream = self._open(threads)
                try:
                    cc = stream.codec_context
                    cc.skip_frame = "NONREF"
                    for packet in container.demux(stream):
                        try:
                            frames = cc.decode(packet)
                        except av.error.FFmpegError:
                            continue
                        for frame in frames:
                            if frame.pts is None or (refs and frame.pts <= refs[-1]):
                                continue
                            keep = judge(self._nearest_index(frame.pts), rgb(frame))
                            with cond:
                                if keep and refs:
                                    marked.add(frame.pts)
                                refs.append(frame.pts)
                                cond.notify_all()
                finally:
                    container.close()
            except BaseException as e:  # handed to the main decoder
                state["error"] = e
            finally:
                with cond:
                    state["done"] = True
                    cond.notify_all()

        def gap_of(p):
            """Whether pts ``p`` lies in a marked gap (a reference frame: in a marked gap
            on either side); waits for the scout to judge past ``p``."""
            with cond:
                if not state["done"] and not (refs and refs[-1] > p):
                    # caught up: let the scout get well ahead before waking (each wake-up
                    # is a GIL hand-off between two busy threads)
                    goal = len(refs) + SCOUT_LEAD
                    while not state["done"] and not (refs and refs[-1] > p and len(refs) >= goal):
                        cond.wait()
                if state["error"] is not None:
                    raise state["error"]
                k = bisect.bisect_left(refs, p)
                if k < len(refs) and refs[k] == p:  # a reference frame: in the gaps on both sides
                    return refs[k] in marked or (k + 1 < len(refs) and refs[k + 1] in marked)
                return 0 < k < len(refs) and refs[k] in marked

        th = threading.Thread(target=scout, name="vidtok-scout", daemon=True)
        th.start()
        container, stream = self._open(threads)
        tainted = False  # a packet was refused since the last clean keyframe
        try:
            cc = stream.codec_context
            for n, packet in enumerate(container.demux(stream)):
                if n % 64 == 63:
                    yield -1, None  # a heartbeat: progress with nothing to show (stall timeout)
                p = packet.pts
                cc.skip_frame = "DEFAULT" if p is not None and gap_of(p) else "NONREF"
                try:
                    frames = cc.decode(packet)
                except av.error.FFmpegError:  # counted here only: the scout sees the same packets
                    self.damage.errors += 1
                    tainted = True
                    continue
                tainted = tainted and not packet.is_keyframe
                for frame in frames:
                    if frame.pts is not None and gap_of(frame.pts):
                        i = self._nearest_index(frame.pts)
                        if tainted or frame.is_corrupt:
                            self.damage.frames.add(i)
                        yield i, rgb(frame)
        finally:
            container.close()
        th.join()
        if state["error"] is not None:
            raise state["error"]
