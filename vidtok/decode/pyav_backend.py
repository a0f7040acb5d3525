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

from typing import Iterator

import os

import av
import numpy as np

from ..errors import NotAVideoError
from .base import Decoder, SeekMode


class PyAVDecoder(Decoder):
    """PyAV/FFmpeg: exact seeking on every container, any stream, skips unneeded frames (default)."""

    name = "pyav"
    extra = ""  # a core dependency
    can_select_stream = True

    @classmethod
    def available(cls) -> bool:
        return True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        #: work done by the last call: packets sent to the decoder, of them decoded in
        #: full (not NONREF/NONKEY-skippable), and seeks
        self.stats = {"packets": 0, "full": 0, "seeks": 0}
        self._known_pts = set(self.index.pts.tolist())

    def _open(self):
        container = av.open(self.path, metadata_errors="ignore")
        stream = next(s for s in container.streams if s.index == self.info.stream_index)
        # Frame threads for throughput; 0 lets FFmpeg pick the count.
        stream.thread_type = "AUTO"
        # Frame threads: twice the cores measured best here (FFmpeg's own default is
        # cores + 1); more threads keep the pipeline full across the skipped frames
        stream.thread_count = self.threads or min(16, 2 * (os.cpu_count() or 1))
        # Decode only this stream's packets.
        discard_all = getattr(getattr(av.stream, "Discard", None), "all", None)
        if discard_all is not None:
            for s in container.streams:
                if s.index != stream.index:
                    s.discard = discard_all
        return container, stream

    def _convert(self, frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
        if self._interp == "SAMPLE" and size is not None:
            small = _sample_yuv420(frame, size)
            if small is not None:
                return small
        if size is not None and (frame.width, frame.height) != tuple(size):
            # swscale's default (bicubic) costs ~4x bilinear when downscaling
            return frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation=self._interp)
        return frame.to_ndarray(format="rgb24")

    def iter_frames(
        self,
        indices: np.ndarray,
        *,
        size: tuple[int, int] | None = None,
        seek: SeekMode = "exact",
        fast_resize: bool = False,
    ) -> Iterator[tuple[int, np.ndarray]]:
        # analysis passes read a point sample of the planes (a fraction of the memory
        # traffic of a filtered resize); model input gets bilinear resampling
        self._interp = "SAMPLE" if fast_resize else "BILINEAR"
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return
        self.stats = {"packets": 0, "full": 0, "seeks": 0}
        self._container, self._stream = self._open()
        self._fresh = True
        try:
            if seek == "keyframe":
                yield from self._iter_keyframes(indices, size)
            else:
                yield from self._iter_exact(indices, size)
        finally:
            self._container.close()

    def iter_reference_frames(self, size=None, fast_resize: bool = True) -> Iterator[tuple[int, np.ndarray]]:
        """One pass over the whole stream decoding only frames that others reference
        (``skip_frame=NONREF``): a cheap coarse view for analysis (scene cuts), at a
        fraction of a full decode on B-frame-heavy video. Exact frames, exact indices."""
        self._interp = "SAMPLE" if fast_resize else "BILINEAR"
        container, stream = self._open()
        try:
            cc = stream.codec_context
            cc.skip_frame = "NONREF"
            pts_sorted = self.index.pts
            for packet in container.demux(stream):
                try:
                    frames = cc.decode(packet)
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    if frame.pts is None:
                        continue
                    j = int(np.clip(np.searchsorted(pts_sorted, frame.pts), 0, len(pts_sorted) - 1))
                    yield j, self._rotate(self._convert(frame, size))
        finally:
            container.close()

    # -- seeking ---------------------------------------------------------------------------
    def _packets_from_key(self, key: int) -> Iterator[av.Packet]:
        """Packets in decode order starting at a keyframe at or before frame ``key``.

        Some demuxers (MPEG-TS, by DTS) land after the keyframe asked for; then seek
        earlier, and in the end restart from the top of the file.
        """
        idx = self.index
        key_pts = int(idx.pts[key])
        ticks_per_s = 1.0 / idx.time_base
        if key == int(idx.keyframe_indices[0]) and self._fresh:
            # nothing read yet and the first keyframe wanted: no seek at all
            self._fresh = False
            yield from self._container.demux(self._stream)
            return
        self._fresh = False
        self.stats["seeks"] += 1
        steps = (None,) if key == int(idx.keyframe_indices[0]) else (0.0, 1.0, 5.0, 30.0, None)
        for back_s in steps:
            if back_s is None:  # reopen: decode from the very start (exact on any container)
                self._container.close()
                self._container, self._stream = self._open()
                packets = self._container.demux(self._stream)
            else:
                target = key_pts - int(back_s * ticks_per_s)
                try:
                    self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
                except av.error.FFmpegError:
                    continue
                self._stream.codec_context.flush_buffers()
                packets = self._container.demux(self._stream)
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
    def _iter_exact(self, indices, size):
        idx = self.index
        keys_for = idx.keyframe_at_or_before(indices)
        last_good: np.ndarray | None = None
        pos, n = 0, len(indices)
        while pos < n:
            # A run starts with a seek to the keyframe before its first target and takes
            # every following target that no keyframe separates from the previous one.
            run_end = pos + 1
            while run_end < n:
                a, b = int(indices[run_end - 1]), int(indices[run_end])
                # keep walking unless a keyframe lies between and is far enough ahead that
                # skipping the walk to it pays for a seek (which flushes the decoder threads)
                if _keyframe_between(idx, a, b) and int(keys_for[run_end]) - a > WALK_FRAMES:
                    break
                run_end += 1
            wanted = [int(i) for i in indices[pos:run_end]]
            got: dict[int, np.ndarray] = {}
            for i, frame in self._decode_walk(int(keys_for[pos]), wanted):
                got[i] = self._rotate(self._convert(frame, size))
                while pos < run_end and int(indices[pos]) in got:  # deliver in order
                    last_good = got.pop(int(indices[pos]))
                    yield int(indices[pos]), last_good
                    pos += 1
            # Targets the stream could not deliver (truncated or corrupt file) are clamped
            # to the last frame that did decode, so callers get one frame per index.
            while pos < run_end:
                if last_good is None:
                    raise NotAVideoError("no frame could be decoded at the requested positions", self.path)
                yield int(indices[pos]), last_good
                pos += 1

    def _decode_walk(self, key: int, wanted: list[int], skip: str = "NONREF"):
        """Decode forward from keyframe ``key``, yielding ``(index, frame)`` for the wanted
        frames; packets that are not wanted are decoded with ``skip`` (NONREF: frames no
        other frame references are dropped before any pixel work)."""
        idx = self.index
        cc = self._stream.codec_context
        if idx.by_dts:
            # Timestamps are decode-order counters (AVI): the n-th frame out after the
            # keyframe is frame key + n. No skipping: skipped frames would shift the count.
            pending = set(wanted)
            cc.skip_frame = "DEFAULT"
            n = key
            for packet in self._packets_from_key(key):
                self.stats["packets"] += 1
                self.stats["full"] += 1
                try:
                    frames = cc.decode(packet)
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    if n in pending:
                        pending.discard(n)
                        yield n, frame
                    n += 1
                if not pending:
                    return
            return
        pending = {int(idx.pts[i]): i for i in wanted}
        for packet in self._packets_from_key(key):
            p = packet.pts
            full = p is None or p in pending
            cc.skip_frame = "DEFAULT" if full else skip
            self.stats["packets"] += 1
            self.stats["full"] += full
            try:
                frames = cc.decode(packet)
            except av.error.FFmpegError:
                continue  # a corrupt packet costs that frame only
            for frame in frames:
                i = self._match(frame.pts, pending)
                if i is not None:
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
        pts_sorted = self.index.pts
        j = int(np.clip(np.searchsorted(pts_sorted, fp), 0, len(pts_sorted) - 1))
        near = int(pts_sorted[j])
        return pending.pop(near) if near in pending else None

    def _rotate(self, rgb: np.ndarray) -> np.ndarray:
        r = self.info.rotation
        if r == 0:
            return rgb
        return np.ascontiguousarray(np.rot90(rgb, k=r // 90))

    # -- keyframes -----------------------------------------------------------------------
    def _iter_keyframes(self, indices, size):
        """``indices`` are keyframe indices (the caller snaps); decode keyframes only."""
        for i in indices:
            i = int(i)
            skip = "DEFAULT" if self.index.by_dts else "NONKEY"
            for j, frame in self._decode_walk(i, [i], skip=skip):
                yield j, self._rotate(self._convert(frame, size))


_LIMITED_Y = np.clip((np.arange(256) - 16) * 255.0 / 219.0, 0, 255).round().astype(np.uint8)
_LIMITED_C = np.clip((np.arange(256) - 128) * 255.0 / 224.0 + 128, 0, 255).round().astype(np.uint8)


def _sample_yuv420(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray | None:
    """A small RGB frame by point-sampling the Y, U and V planes in place (no full-size
    conversion): for analysis (cut detection, thumbnails), not for model input. None for
    pixel formats other than 4:2:0."""
    fmt = frame.format.name
    if fmt not in ("yuv420p", "yuvj420p"):
        return None
    W, H = frame.width, frame.height
    w, h = size
    rows = (np.arange(h) * H // h).astype(np.intp)
    cols = (np.arange(w) * W // w).astype(np.intp)
    p = frame.planes
    y = np.frombuffer(p[0], np.uint8).reshape(-1, p[0].line_size)[rows][:, cols]
    u = np.frombuffer(p[1], np.uint8).reshape(-1, p[1].line_size)[rows // 2][:, cols // 2]
    v = np.frombuffer(p[2], np.uint8).reshape(-1, p[2].line_size)[rows // 2][:, cols // 2]
    try:
        import cv2

        yuv = cv2.merge([y, u, v])
        if fmt == "yuv420p":  # limited range: stretch luma and chroma to full range
            yuv = cv2.convertScaleAbs(yuv, alpha=1.0)  # contiguous copy for the LUTs below
            yuv[..., 0] = _LIMITED_Y[yuv[..., 0]]
            yuv[..., 1] = _LIMITED_C[yuv[..., 1]]
            yuv[..., 2] = _LIMITED_C[yuv[..., 2]]
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB)
    except ImportError:
        pass
    yf = y.astype(np.float32)
    if fmt == "yuv420p":  # limited range (BT.601)
        yf = (yf - 16.0) * (255.0 / 219.0)
        k = 255.0 / 224.0
    else:
        k = 1.0
    uf = (u.astype(np.float32) - 128.0) * k
    vf = (v.astype(np.float32) - 128.0) * k
    rgb = np.stack([yf + 1.402 * vf, yf - 0.344136 * uf - 0.714136 * vf, yf + 1.772 * uf], -1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _packet_time(pkt: av.Packet, by_dts: bool) -> int | None:
    return pkt.dts if by_dts or pkt.pts is None else pkt.pts


#: Walking forward (NONREF, no flush) beats seeking when the next keyframe is this close.
WALK_FRAMES = 24


def _keyframe_between(idx, a: int, b: int) -> bool:
    """Whether a keyframe lies in (a, b]: then seeking beats walking from a to b."""
    keys = idx.keyframe_indices
    lo = np.searchsorted(keys, a, side="right")
    hi = np.searchsorted(keys, b, side="right")
    return bool(hi > lo)
