"""Decode stage: probe a video once, then frames by index or time with exact timestamps."""

from .base import Decoder, FrameIndex, Frames, SeekMode, StreamInfo, VideoInfo
from .probe import probe
from .video import DECODERS, Video, as_video, available_backends, open_video

__all__ = [
    "DECODERS", "Decoder", "FrameIndex", "Frames", "SeekMode", "StreamInfo", "Video",
    "VideoInfo", "as_video", "available_backends", "open_video", "probe",
]
