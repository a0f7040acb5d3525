"""Types shared by every decoder: what a video is (``VideoInfo``), where its frames lie
(``FrameIndex``) and what a decoder must do (``Decoder``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import ClassVar, Iterator, Literal, Optional

import numpy as np

SeekMode = Literal["exact", "keyframe"]


@dataclass(kw_only=True)
class StreamInfo:
    """One video stream of the container (``index`` is FFmpeg's absolute stream index)."""

    index: int
    codec: str
    width: int
    height: int
    fps: Optional[float] = None
    frames: Optional[int] = None  # frame count the container declares
    bit_rate: Optional[int] = None
    is_default: bool = False


@dataclass(kw_only=True)
class VideoInfo:
    """What a user needs to know before sampling. Times are seconds on the stream's own
    timeline (the first frame's time is its real presentation time, not forced to 0).

    A plain dataclass (``to_dict()`` is what ``vidtok info --json`` prints): as a pydantic
    model it made ``vidtok info`` import pydantic (docs/benchmarks.md, Start-up)."""

    path: str
    container: str  # FFmpeg demuxer name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2'
    stream_index: int  # the video stream decoded (FFmpeg stream index)
    codec: str
    profile: Optional[str] = None
    pix_fmt: Optional[str] = None
    width: int  # coded width in pixels (before rotation)
    height: int  # coded height in pixels (before rotation)
    rotation: int = 0  # display rotation in degrees, counter-clockwise
    num_frames: int  # frames that can be decoded from this stream
    fps: float  # average frame rate (frames / duration)
    is_vfr: bool  # true when frame intervals vary beyond timestamp rounding
    start_time: float  # presentation time of the first frame
    duration: float  # end of the last frame minus start of the first (s)
    container_duration: Optional[float] = None  # duration the container declares
    num_keyframes: int
    truncated: bool = False  # the file ends before all declared frames
    #: frames at the start that no decoder can reconstruct (a recording started mid-GOP:
    #: they reference a keyframe the file does not hold); not counted in num_frames
    undecodable_leading_frames: int = 0
    #: times (s, on this index's timeline) where the timestamps restart (recordings joined
    #: end to end): later frames are moved to follow on, so every frame keeps a unique time
    discontinuities: list[float] = field(default_factory=list)
    num_streams: int  # all streams in the file (video, audio, subtitles, ...)
    video_streams: list[StreamInfo]

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def end_time(self) -> float:
        return self.start_time + self.duration

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of frames as returned (rotation applied)."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class FrameIndex:
    """Every frame of the stream in presentation order: exact pts (stream time base),
    whether it is a keyframe, and its time in seconds. Built by demuxing, not decoding."""

    pts: np.ndarray  # int64 (N,), sorted ascending
    keyframe: np.ndarray  # bool (N,)
    time_base: float
    frame_duration: float  # duration of the last frame (s)
    #: timestamps are decode-order counters (AVI): frames are matched by counting
    by_dts: bool = False
    #: compressed size of all the stream's packets (bytes): with the pixel count, what a
    #: frame costs to decode (CABAC work grows with the bits)
    packet_bytes: int = 0
    #: timestamps restart in this file (joined recordings): ``pts`` are the raw ones moved
    #: on by these offsets, one per recording in file order, and a decoder adds the offset
    #: of the recording it is in (it starts over at each backward jump of a frame's raw pts
    #: larger than ``jump_ticks``). Seeking by time is ambiguous there: frame 0 is the only
    #: seek point, so decoding walks from the top.
    segment_offsets: tuple[int, ...] = ()
    jump_ticks: int = 0

    @property
    def bytes_per_frame(self) -> float:
        return self.packet_bytes / max(1, len(self))

    @cached_property
    def times(self) -> np.ndarray:
        return self.pts.astype(np.float64) * self.time_base

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    @cached_property
    def keyframe_indices(self) -> np.ndarray:
        return np.flatnonzero(self.keyframe)

    def keyframe_at_or_before(self, i: np.ndarray | int) -> np.ndarray:
        """For each frame index, the index of the last keyframe at or before it."""
        keys = self.keyframe_indices
        pos = np.searchsorted(keys, np.asarray(i), side="right") - 1
        return keys[np.clip(pos, 0, len(keys) - 1)]

    def nearest_keyframe(self, i: np.ndarray) -> np.ndarray:
        keys = self.keyframe_indices
        i = np.asarray(i)
        pos = np.clip(np.searchsorted(keys, i), 0, len(keys) - 1)
        prev = keys[np.clip(pos - 1, 0, len(keys) - 1)]
        nxt = keys[pos]
        return np.where(np.abs(i - prev) <= np.abs(nxt - i), prev, nxt)

    def index_of_time(self, t: np.ndarray) -> np.ndarray:
        """Index of the frame shown at time ``t``: the last frame whose time is <= t
        (times before the first frame map to frame 0)."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=np.float64) + 1e-9, side="right") - 1
        return np.clip(idx, 0, len(self) - 1)


@dataclass
class Frames:
    """A batch of decoded frames, each with its frame index and exact time (s)."""

    indices: np.ndarray  # int64 (N,)
    times: np.ndarray  # float64 (N,)
    data: np.ndarray  # uint8 (N, H, W, 3) RGB

    def __len__(self) -> int:
        return int(self.indices.shape[0])


class Damage:
    """What decoding a file turned up broken, over every call on one opened video: packets
    FFmpeg refused (``errors``) and the indices of frames handed out that may show it
    (``frames``): flagged corrupt by FFmpeg, decoded after a refused packet and before the
    next keyframe (they may reference the lost data: smeared, concealed), or stood in for
    by the last good frame. Decoders append from their threads (``set.add`` and ``+=`` on
    an int attribute under the GIL are enough for counts that only grow)."""

    def __init__(self) -> None:
        self.errors = 0
        self.frames: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.errors or self.frames)

    def as_dict(self) -> dict:
        return {"decode_errors": self.errors, "damaged_frames": sorted(self.frames)}

    def merge(self, d: dict | None) -> None:
        """Add what an earlier decode recorded (``as_dict()``, kept with a cached result), so
        a result served from a cache reports the damage its decoding met."""
        if d:
            self.errors += int(d.get("decode_errors", 0))
            self.frames.update(int(i) for i in d.get("damaged_frames", ()))

    def summary(self) -> str:
        n = len(self.frames)
        return (f"damaged data: {self.errors} decode error{'s' * (self.errors != 1)}, "
                f"{n} frame{'s' * (n != 1)} used may be damaged"
                + (f" ({', '.join(map(str, sorted(self.frames)[:8]))}{' ...' if n > 8 else ''})" if n else ""))


class Decoder(ABC):
    """A backend that turns sorted, unique frame indices into RGB arrays.

    Backends do not compute times: the ``FrameIndex`` built by the probe is the one
    source of truth, so every backend reports the same, exact times.
    """

    name: ClassVar[str]
    #: pip extra that provides this backend
    extra: ClassVar[str] = "decoders"
    #: True when the backend can decode any video stream, not only the one it picks itself
    can_select_stream: ClassVar[bool] = False
    #: True when ``iter_frames(..., lazy=True)`` can hand back conversions to run in the
    #: caller's thread
    can_defer_conversion: ClassVar[bool] = False
    #: True when it returns the right frames of a stream that starts without a keyframe or
    #: whose timestamps restart (``VideoInfo.undecodable_leading_frames``, ``discontinuities``);
    #: others refuse such files in one line (tests compare with FFmpeg's own decode)
    reads_irregular_streams: ClassVar[bool] = False

    def __init__(self, path: str, info: VideoInfo, index: FrameIndex, *, threads: int = 0):
        self.path = path
        self.info = info
        self.index = index
        self.threads = threads
        #: where this decoder records broken data (``Video`` shares one across its decoders);
        #: backends that cannot tell (OpenCV, decord, torchcodec) leave it empty
        self.damage = Damage()

    #: modules the backend needs; ``installed()`` looks for them without importing them
    requires: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this backend cannot decode here (None when it can): a module it needs does
        not import. Backends whose import succeeds without what decoding needs (torchcodec
        without FFmpeg's libraries) check that too, so "available" means "can decode"."""
        import importlib

        for m in cls.requires:
            try:
                importlib.import_module(m)
            except ImportError:
                return f"{m} is not installed"
            except Exception as e:  # an import that fails for another reason says so
                return f"{m} fails to import: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return None

    @classmethod
    def available(cls) -> bool:
        """Whether this backend can decode here (``unavailable()`` says why not)."""
        return cls.unavailable() is None

    @classmethod
    def found(cls) -> bool:
        """Whether the modules it needs are installed (found, not imported: torchcodec's
        import loads torch, which a listing must not wait for)."""
        import importlib.util

        return all(importlib.util.find_spec(m) is not None for m in cls.requires)

    @classmethod
    def installed(cls) -> bool:
        """What ``vidtok methods`` shows without importing anything: ``found()``, plus what a
        backend can tell cheaply of the rest it needs."""
        return cls.found()

    @abstractmethod
    def iter_frames(
        self,
        indices: np.ndarray,
        *,
        size: tuple[int, int] | None = None,
        seek: SeekMode = "exact",
        fast_resize: bool = False,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, rgb)`` for each requested index, ascending. ``size`` is
        (width, height) of the returned frames before rotation; ``fast_resize`` trades
        resampling quality for speed (analysis passes, not model input)."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass
