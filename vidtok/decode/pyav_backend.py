"""PyAV (FFmpeg) decoder: the default, and the only backend that seeks exactly on every
container, decodes any stream of a multi-stream file, and skips work it does not need.

How exact sparse sampling stays fast:

* Targets are visited in order. The decoder seeks only when a keyframe lies between
  where it is and the next target and is more than ``WALK_FRAMES`` ahead; otherwise it
  keeps walking forward (no seek, no flush of the decoder threads).
* While walking a GOP towards a target, every packet that is not a target is decoded
  with ``skip_frame=NONREF``: frames nothing else references (most B-frames) are
  dropped by FFmpeg before any pixel work, so reaching frame 240 of a GOP costs only
  its reference frames. The target packet itself is decoded in full.
* Only target frames are converted to RGB (and resized in swscale, not numpy).

``seek="keyframe"`` snaps each target to its nearest keyframe and decodes keyframes
only (``skip_frame=NONKEY``); times stay exact, spacing does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import functools
import os

import av
import numpy as np

from ..errors import NotAVideoError
from .base import Decoder, SeekMode
from .convert import to_rgb
from .streams import discard_other_streams


@dataclass
class _Pass:
    """One call's decoding state: the opened file, how frames become RGB, and whether
    anything was read yet. Local to the call, so a decoder holds no state between calls."""

    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    rgb: Callable  # frame -> RGB array, or a callable returning it (lazy)
    fresh: bool = True  # nothing read yet: the first keyframe needs no seek


class PyAVDecoder(Decoder):
    """PyAV/FFmpeg: exact seeking on every container, any stream, skips unneeded frames (default)."""

    name = "pyav"
    requires = ("av",)
    extra = ""  # a core dependency
    can_select_stream = True
    can_defer_conversion = True
    reads_irregular_streams = True  # matches frames by pts, offsets per recording (FrameIndex)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        #: work done by the last call: packets sent to the decoder, of them decoded in
        #: full (not NONREF/NONKEY-skippable), and seeks
        self.stats = {"packets": 0, "full": 0, "seeks": 0}
        self._known_pts = set(self.index.pts.tolist())

    def _open(self, threads: int | None = None):
        """The file opened for decoding this stream only, with ``threads`` frame threads
        (default: twice the cores, which keeps FFmpeg's pipeline full across skipped frames)."""
        container = av.open(self.path, metadata_errors="ignore")
        stream = next(s for s in container.streams if s.index == self.info.stream_index)
        stream.thread_type = "AUTO"
        stream.thread_count = threads or self.threads or min(16, 2 * (os.cpu_count() or 1))
        discard_other_streams(container, stream)
        return container, stream

    def _converter(self, size: tuple[int, int] | None, fast_resize: bool, lazy: bool) -> Callable:
        """frame -> RGB at ``size``, rotated for display; with ``lazy`` a callable that
        converts when called, so the consumer converts in its own thread (swscale runs
        without the GIL) while this one decodes on. Analysis passes (``fast_resize``) read
        a point sample of the planes; model input gets bilinear resampling."""
        interp = "POINT" if fast_resize else "BILINEAR"

        def rgb(frame):
            return self._rotate(to_rgb(frame, size, interp))

        if lazy:
            return lambda frame: functools.partial(rgb, frame)
        return rgb

    def iter_frames(self, indices: np.ndarray, *, size: tuple[int, int] | None = None, seek: SeekMode = "exact",
                    fast_resize: bool = False, lazy: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """``lazy=True`` yields zero-argument callables that return the RGB array instead
        of the array (see ``_converter``)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return
        self.stats = {"packets": 0, "full": 0, "seeks": 0}
        # a short walk decodes faster on one thread than through the frame-thread pipeline
        container, stream = self._open(1 if _frames_walked(self.index, indices) < SHORT_WALK else None)
        p = _Pass(container, stream, self._converter(size, fast_resize, lazy))
        try:
            if seek == "keyframe":
                yield from self._iter_keyframes(p, indices)
            else:
                yield from self._iter_exact(p, indices)
        finally:
            p.container.close()

    # -- seeking ---------------------------------------------------------------------------
    def _packets_from_key(self, p: _Pass, key: int) -> Iterator[av.Packet]:
        """Packets in decode order starting at a keyframe at or before frame ``key``.

        Some demuxers (MPEG-TS, by DTS) land after the keyframe asked for; then seek
        earlier, and in the end restart from the top of the file.
        """
        idx = self.index
        key_pts = int(idx.pts[key])
        ticks_per_s = 1.0 / idx.time_base
        if key == int(idx.keyframe_indices[0]) and p.fresh:  # nothing read yet: no seek at all
            p.fresh = False
            yield from p.container.demux(p.stream)
            return
        p.fresh = False
        self.stats["seeks"] += 1
        steps = (None,) if key == int(idx.keyframe_indices[0]) else (0.0, 1.0, 5.0, 30.0, None)
        for back_s in steps:
            if back_s is None:  # reopen: decode from the very start (exact on any container)
                p.container.close()
                p.container, p.stream = self._open()
                packets = p.container.demux(p.stream)
            else:
                target = key_pts - int(back_s * ticks_per_s)
                try:
                    p.container.seek(target, stream=p.stream, backward=True, any_frame=False)
                except av.error.FFmpegError:
                    continue
                p.stream.codec_context.flush_buffers()
                packets = p.container.demux(p.stream)
            first = None
            for pkt in packets:
                if pkt.size:
                    first = pkt
                    break
            if first is None:
                continue
            t = _packet_time(first, idx.by_dts)
            if back_s is None or (first.is_keyframe and t is not None and t <= key_pts):
                yield first
                yield from packets
                return

    # -- exact ---------------------------------------------------------------------------
    def _iter_exact(self, p: _Pass, indices):
        if not len(indices):
            return
        idx = self.index
        keys_for = idx.keyframe_at_or_before(indices)
        # A run starts with a seek to the keyframe before its first target and takes every
        # following target that no keyframe separates from the previous one, or whose
        # keyframe lies within WALK_FRAMES (a seek flushes the decoder threads).
        starts = np.flatnonzero(_keyframe_between(idx, indices[:-1], indices[1:])
                                & (keys_for[1:] - indices[:-1] > WALK_FRAMES)) + 1
        bounds = [0, *starts.tolist(), len(indices)]
        order = indices.tolist()
        last_good: np.ndarray | None = None
        pos = 0
        for run_end in bounds[1:]:
            got: dict[int, np.ndarray] = {}
            for i, frame in self._decode_walk(p, int(keys_for[pos]), order[pos:run_end]):
                got[i] = p.rgb(frame)
                while pos < run_end and order[pos] in got:  # deliver in order
                    last_good = got.pop(order[pos])
                    yield order[pos], last_good
                    pos += 1
            # Targets the stream could not deliver (truncated or corrupt file) are clamped
            # to the last frame that did decode, so callers get one frame per index.
            while pos < run_end:
                if last_good is None:
                    raise NotAVideoError("no frame could be decoded at the requested positions", self.path)
                self.damage.frames.add(order[pos])  # a stand-in, not the frame asked for
                yield order[pos], last_good
                pos += 1

    def _decode_walk(self, p: _Pass, key: int, wanted: list[int], skip: str = "NONREF"):
        """Decode forward from keyframe ``key``, yielding ``(index, frame)`` for the wanted
        frames; packets that are not wanted are decoded with ``skip`` (NONREF: frames no
        other frame references are dropped before any pixel work). Refused packets are
        counted in ``self.damage``, and so is every wanted frame FFmpeg flags corrupt or
        that comes out after a refused packet before the next keyframe decodes cleanly.
        AVI (``by_dts``): timestamps count frames in decode order, so the n-th frame out
        after the keyframe is frame key + n, and nothing is skipped (it would shift the count)."""
        by_count = self.index.by_dts
        pending = set(wanted) if by_count else {int(self.index.pts[i]): i for i in wanted}
        # joined recordings (FrameIndex.segment_offsets): packets by their dts, frames by their pts
        offsets = self.index.segment_offsets
        packet_time, frame_time = _Timeline(self.index), _Timeline(self.index)
        cc = p.stream.codec_context
        n, tainted = key, False  # tainted: a packet was refused since the last clean keyframe
        for packet in self._packets_from_key(p, key):
            ppts = packet.pts
            if offsets and ppts is not None:
                ppts += packet_time.offset(packet.dts)
            full = by_count or ppts is None or ppts in pending
            cc.skip_frame = "DEFAULT" if full else skip
            self.stats["packets"] += 1
            self.stats["full"] += full
            try:
                frames = cc.decode(packet)
            except av.error.FFmpegError:  # a corrupt packet: that frame is lost, later ones suspect
                self.damage.errors += 1
                tainted = True
                continue
            tainted = tainted and not packet.is_keyframe
            for frame in frames:
                if by_count:
                    i, n = (n if n in pending else None), n + 1
                    pending.discard(i)
                else:
                    fp = frame.pts
                    if offsets and fp is not None:
                        fp += frame_time.offset(fp)
                    i = self._match(fp, pending)
                if i is not None:
                    if tainted or frame.is_corrupt:
                        self.damage.frames.add(i)
                    yield i, frame
            if not pending:
                return

    def _match(self, fp: int | None, pending: dict[int, int]) -> int | None:
        """The pending frame index a decoded frame is, if any."""
        if fp is None:
            return None
        if fp in pending:
            return pending.pop(fp)
        if fp in self._known_pts:  # an indexed frame that is not wanted
            return None
        # decoder-adjusted pts: match to the nearest indexed frame
        near = int(self.index.pts[self._nearest_index(fp)])
        return pending.pop(near) if near in pending else None

    def _nearest_index(self, fp: int) -> int:
        """The indexed frame at or just after pts ``fp`` (clamped to the last one)."""
        pts = self.index.pts
        return int(np.clip(np.searchsorted(pts, fp), 0, len(pts) - 1))

    def _rotate(self, rgb: np.ndarray) -> np.ndarray:
        r = self.info.rotation
        if r == 0:
            return rgb
        return np.ascontiguousarray(np.rot90(rgb, k=r // 90))

    # -- keyframes -----------------------------------------------------------------------
    def _iter_keyframes(self, p: _Pass, indices):
        """``indices`` are keyframe indices (the caller snaps); decode keyframes only."""
        for i in indices:
            i = int(i)
            skip = "DEFAULT" if self.index.by_dts else "NONKEY"
            for j, frame in self._decode_walk(p, i, [i], skip=skip):
                yield j, p.rgb(frame)


class _Timeline:
    """Which of a file's joined recordings a stream of raw timestamps (in decode order for
    packets' dts, presentation order for frames' pts) has reached: the next one at each step
    back larger than ``FrameIndex.jump_ticks``. ``offset(t)`` is what moves ``t`` onto the
    index's one timeline."""

    def __init__(self, index):
        self.offsets, self.jump = index.segment_offsets, index.jump_ticks
        self.seg, self.last = 0, None

    def offset(self, t: int | None) -> int:
        if t is not None:
            if self.last is not None and t < self.last - self.jump:
                self.seg = min(self.seg + 1, len(self.offsets) - 1)
            self.last = t
        return self.offsets[self.seg]


def _packet_time(pkt: av.Packet, by_dts: bool) -> int | None:
    return pkt.dts if by_dts or pkt.pts is None else pkt.pts


#: fewer frames to decode than this: one decoder thread, not the frame-thread pipeline
SHORT_WALK = 32


def _frames_walked(index, indices: np.ndarray) -> int:
    """About how many frames exact decoding of the sorted ``indices`` passes through."""
    keys = index.keyframe_at_or_before(indices)
    prev = np.r_[-1, indices[:-1]]
    return int(np.minimum(indices - keys, indices - prev - 1).clip(0).sum()) + len(indices)


#: Walking forward (NONREF, no flush) beats seeking when the next keyframe is this close.
WALK_FRAMES = 24


def _keyframe_between(idx, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether a keyframe lies in (a, b], pair by pair: then seeking may beat walking."""
    keys = idx.keyframe_indices
    return np.searchsorted(keys, b, side="right") > np.searchsorted(keys, a, side="right")
