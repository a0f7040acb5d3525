"""Probe a file once with PyAV: validate it, choose the video stream, and build the exact
``FrameIndex`` by demuxing (packets only, no decoding), then decode one frame to prove the
stream really decodes.

Why demux instead of trusting the header: containers over-report frame counts (the cause
of decord's deadlocks, decord #363/#373), AVI/MKV often declare none, and only packet
timestamps give exact per-frame times on variable-frame-rate files.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import InputError, NotAVideoError
from .base import FrameIndex, VideoInfo
from .streams import choose_stream, discard_other_streams, stream_info


def check_path(path: str | os.PathLike) -> Path:
    """Fail early, with one clear line, on paths that cannot be a video."""
    p = Path(path)
    if not p.exists():
        scheme = str(path).partition("://")[0]
        if "://" in str(path) and scheme.isalpha():
            raise InputError(f"a {scheme} URL: vidtok reads local files; download the video first "
                             "(curl -LO, yt-dlp, hf download)", path)
        raise InputError("no such file", p)
    if p.is_dir():
        raise InputError("is a directory, not a video file", p)
    if not os.access(p, os.R_OK):
        raise InputError("permission denied (file is not readable)", p)
    if p.stat().st_size == 0:
        raise NotAVideoError("empty file (0 bytes)", p)
    return p


def open_container(p: Path) -> av.container.InputContainer:
    try:
        return av.open(str(p), mode="r", metadata_errors="ignore")
    except PermissionError as e:
        raise InputError("permission denied (file is not readable)", p) from e
    except av.error.InvalidDataError as e:
        raise NotAVideoError("not a video FFmpeg can read (invalid or truncated data)", p) from e
    except av.error.FFmpegError as e:
        raise NotAVideoError(f"cannot open as a video: {e.strerror or e}", p) from e


def _demux_index(container, stream, by_dts: bool):
    """pts (dts when ``by_dts``), keyframe flag and duration of every packet, in decode
    order, whether the data ended early, the first frame that decodes (None if none
    does) and the packets' total size. Packets are decoded only until that first frame:
    it proves the stream decodes and gives the rotation."""
    pts, key, dur, dts = [], [], [], []
    nbytes = 0
    truncated = False
    fallback_step = None
    first = None
    stream.thread_count = 1  # one frame to decode: a thread pool would cost more than it saves
    cc = stream.codec_context
    discard_other_streams(container, stream)
    try:
        for pkt in container.demux(stream):
            if first is None:
                try:
                    frames = cc.decode(pkt)
                    first = frames[0] if frames else None
                except (av.error.FFmpegError, OSError):
                    pass  # a broken packet; the next keyframe may decode
            if pkt.size == 0 or pkt.is_discard:
                continue
            t = pkt.dts if by_dts else pkt.pts
            if t is None:
                t = pkt.dts if pkt.pts is None else pkt.pts
            if t is None:  # no timestamps at all: count frames at the declared rate
                if fallback_step is None:
                    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
                    fallback_step = int(round(1 / (rate * stream.time_base)))
                t = (pts[-1] + fallback_step) if pts else 0
            pts.append(t)
            dts.append(t if pkt.dts is None else pkt.dts)
            key.append(pkt.is_keyframe)
            dur.append(pkt.duration or 0)
            nbytes += pkt.size
    except av.error.FFmpegError:
        truncated = True  # keep what demuxed; the decoder clamps to what decodes
    if first is None:  # frames held back by the decoder's reordering delay
        try:
            frames = cc.decode(None)
            first = frames[0] if frames else None
        except (av.error.FFmpegError, OSError):
            pass
    return (np.asarray(pts, np.int64), np.asarray(key, bool), np.asarray(dur, np.int64), np.asarray(dts, np.int64),
            truncated, first, nbytes)


#: a backward step of the decode timestamps larger than this (s) starts a new recording
#: (dts only grow within one; small steps back are muxer jitter, left alone)
JUMP_S = 1.0


def _unwrap(pts_dec: np.ndarray, dts_dec: np.ndarray, tb: float) -> tuple[np.ndarray, tuple[int, ...], int, list[int]]:
    """Raw pts in decode order -> pts on one timeline, the offset of each recording, the
    jump threshold in ticks and where (pts, on that timeline) each later recording starts.
    Where the decode timestamps step back by more than ``JUMP_S`` (two recordings joined end
    to end, a capture that restarted its clock), the packets from there on are moved to start
    one frame after the latest frame so far. (A 33-bit MPEG-TS wrap FFmpeg unwraps itself.)"""
    jump = max(1, int(round(JUMP_S / tb)))
    starts = np.flatnonzero(np.diff(dts_dec) < -jump) + 1
    if not starts.size:
        return pts_dec, (0,), jump, []
    bounds = [0, *starts.tolist(), len(pts_dec)]
    step = int(np.median(np.diff(np.unique(pts_dec[: bounds[1]])))) if bounds[1] > 1 else 1
    out = pts_dec.copy()
    offsets, restarts = [0], []
    for a, b in zip(bounds[1:-1], bounds[2:]):
        off = int(out[:a].max()) + max(step, 1) - int(pts_dec[a:b].min())
        out[a:b] = pts_dec[a:b] + off
        offsets.append(off)
        restarts.append(int(out[a:b].min()))
    return out, tuple(offsets), jump, restarts


def probe(
    path: str | os.PathLike, stream: int | None = None, *, allow_truncated: bool = False
) -> tuple[VideoInfo, FrameIndex]:
    """Validate ``path`` and return its ``VideoInfo`` and exact ``FrameIndex``.

    ``stream`` is an FFmpeg stream index (as ffprobe prints it); by default the best
    video stream is chosen. A truncated file (fewer frames present than its header
    declares) is an error unless ``allow_truncated``: then the frames present are used.
    """
    p = check_path(path)
    container = open_container(p)
    try:
        vs = choose_stream(container, stream, p)
        sinfo = [stream_info(s) for s in container.streams.video]
        # AVI stores no presentation times: its timestamps count frames in decode order,
        # and packed B-frames (XviD/DivX) make packet pts disagree with decoded frames.
        by_dts = container.format.name == "avi"
        pts_dec, key_dec, dur_dec, dts_dec, truncated, first, nbytes = _demux_index(container, vs, by_dts)
        if pts_dec.size == 0:
            raise NotAVideoError("video stream has no frames (no packets)", p)
        declared = int(vs.frames or 0)
        # MP4/MOV headers list every sample, so fewer packets than declared means the
        # data ends early; other containers only flag it through a demux error.
        if container.format.name.startswith("mov") and declared and pts_dec.size < declared:
            truncated = True
        if truncated and not allow_truncated:
            have = f"only {pts_dec.size} of {declared} frames present" if declared else \
                f"data ends after {pts_dec.size} frames"
            raise NotAVideoError(f"truncated file: {have} (--allow-truncated uses them)", p)
        if first is None:
            raise NotAVideoError("video stream has no decodable frames", p)

        tb = float(vs.time_base)
        offsets, jump, restarts = (0,), 0, []
        if not by_dts:
            pts_dec, offsets, jump, restarts = _unwrap(pts_dec, dts_dec, tb)
        order = np.argsort(pts_dec, kind="stable")
        pts = pts_dec[order]
        key = key_dec[order]
        # duplicate pts (broken muxers) would make two frames indistinguishable
        pts, uniq = np.unique(pts, return_index=True)
        key = key[uniq]
        # A recording cut mid-GOP (a TS capture started late, a packet-level cut) begins with
        # frames that reference a keyframe it does not hold: FFmpeg drops them, and the first
        # frame it outputs is the first this video has.
        # (only when that frame is an indexed one: a decoder-adjusted pts proves nothing)
        leading = 0
        if not by_dts and first is not None and first.pts is not None and int(first.pts) > int(pts[0]):
            pos = int(np.searchsorted(pts, int(first.pts)))
            if pos < len(pts) and int(pts[pos]) == int(first.pts):
                leading = pos
                pts, key = pts[leading:], key[leading:]
        if not key.any():
            key[0] = True
        num_keyframes = int(key.sum())
        if len(offsets) > 1:  # timestamps restart: frame 0 is the one seek point (see FrameIndex)
            key = np.zeros_like(key)
            key[0] = True
        deltas = np.diff(pts)
        last_dur = int(dur_dec[order][-1]) if dur_dec.size and dur_dec[order][-1] > 0 else 0
        if last_dur <= 0:
            last_dur = int(np.median(deltas)) if deltas.size else int(round(1 / (25 * tb)))
        index = FrameIndex(pts=pts, keyframe=key, time_base=tb, frame_duration=last_dur * tb, by_dts=by_dts,
                           packet_bytes=nbytes, segment_offsets=offsets if len(offsets) > 1 else (), jump_ticks=jump)

        start = float(pts[0] * tb)
        duration = float((pts[-1] + last_dur - pts[0]) * tb)
        n = int(pts.size)
        # VFR: intervals differ by more than timestamp rounding (2 ticks) and 5 %.
        is_vfr = False
        if deltas.size > 1:
            spread = int(deltas.max() - deltas.min())
            is_vfr = spread > 2 and spread > 0.05 * float(np.median(deltas))
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        cc = vs.codec_context
        info = VideoInfo(
            path=str(p),
            container=container.format.name,
            stream_index=vs.index,
            codec=cc.name,
            profile=cc.profile or None,
            pix_fmt=cc.format.name if cc.format else None,
            width=first.width,
            height=first.height,
            rotation=rotation,
            num_frames=n,
            fps=n / duration if duration > 0 else float(vs.average_rate or 0),
            is_vfr=is_vfr,
            start_time=start,
            duration=duration,
            container_duration=(container.duration / 1e6) if container.duration else None,
            num_keyframes=num_keyframes,
            truncated=truncated,
            undecodable_leading_frames=leading,
            discontinuities=[round(float(t * tb), 6) for t in restarts],
            num_streams=len(container.streams),
            video_streams=sinfo,
        )
    finally:
        container.close()
    return info, index
