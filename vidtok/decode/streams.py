"""Which video stream of a file to read, and reading only it."""

from __future__ import annotations

from pathlib import Path

import av

from ..errors import NotAVideoError, UsageError
from .base import StreamInfo


def discard_other_streams(container, stream) -> None:
    """Have the demuxer skip every other stream's packets (audio, subtitles, other video
    streams): only this stream's packets are read and wrapped."""
    discard_all = getattr(getattr(av.stream, "Discard", None), "all", None)
    if discard_all is not None:
        for s in container.streams:
            if s.index != stream.index:
                s.discard = discard_all


def stream_info(s: av.video.stream.VideoStream) -> StreamInfo:
    cc = s.codec_context
    rate = s.average_rate or s.guessed_rate
    return StreamInfo(
        index=s.index,
        codec=cc.name,
        width=cc.width,
        height=cc.height,
        fps=float(rate) if rate else None,
        frames=s.frames or None,
        bit_rate=cc.bit_rate or None,
        is_default=bool(s.disposition & av.stream.Disposition.default),
    )


def best_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The stream ffprobe/torchcodec would call best: never a cover picture, then the
    default disposition, then the highest bit rate, then the most pixels."""
    candidates = [
        s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)
    ] or list(container.streams.video)

    def rank(s):
        cc = s.codec_context
        return (
            bool(s.disposition & av.stream.Disposition.default),
            cc.bit_rate or 0,
            (cc.width or 0) * (cc.height or 0),
            -s.index,
        )

    return max(candidates, key=rank)


def choose_stream(container, stream: int | None, p: Path):
    """The video stream with FFmpeg index ``stream``, or the best one (``best_video_stream``);
    one clear error for a file without video or an index that is not a video stream."""
    vstreams = list(container.streams.video)
    if not vstreams:
        kinds = sorted({s.type for s in container.streams})
        what = "audio only" if "audio" in kinds else ("only " + ", ".join(kinds) if kinds else "no streams")
        raise NotAVideoError(f"no video stream ({what})", p)
    if stream is None:
        return best_video_stream(container)
    for s in vstreams:
        if s.index == stream:
            return s
    raise UsageError(f"stream {stream} is not a video stream; video streams: "
                     + ", ".join(str(s.index) for s in vstreams), p)
