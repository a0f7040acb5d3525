"""``open_video``: the one entry point to decoding. Probes once (exact index), picks a
backend, and hands out frames by index or by time, always with exact times, through a
stall timeout so a hung decoder becomes a clear error instead of a frozen program."""

from __future__ import annotations

import copy
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np

from ..errors import NotAVideoError, UsageError
from .backends import DECODERS, available_backends, pick_backend  # noqa: F401  (re-exported)
from .base import Damage, Decoder, FrameIndex, Frames, SeekMode, VideoInfo
from .handoff import batch_frames, with_stall_timeout
from .probe import probe
from .runs import parallel_parts, split_runs

DEFAULT_TIMEOUT_S = 60.0


class Video:
    """A probed video. Cheap to keep: it holds the index, not frames.

    >>> v = open_video("clip.mp4")
    >>> frames = v.get_frames([0, 10, 20])    # Frames(indices, times, data)
    >>> v.get_frames_at([0.5, 1.0]).times      # exact times of the frames shown then
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        backend: str | None = None,
        stream: int | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        threads: int = 0,
        allow_truncated: bool = False,
    ):
        if timeout is not None and not timeout > 0:
            raise UsageError(f"--timeout must be more than 0 seconds, got {timeout:g}")
        self.path = str(path)
        self.info: VideoInfo
        self.index: FrameIndex
        cls = pick_backend(backend)
        #: broken data met by every decode of this video and its forks (pyav backend)
        self.damage = Damage()
        self.info, self.index = probe(path, stream, allow_truncated=allow_truncated)
        self.decoder: Decoder = self._new_decoder(cls, threads)
        self.timeout = timeout

    @property
    def backend(self) -> str:
        return self.decoder.name

    def __len__(self) -> int:
        return len(self.index)

    @property
    def times(self) -> np.ndarray:
        """Exact presentation time (s) of every frame."""
        return self.index.times

    def clamp(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Indices past the decodable end (or negative) are clamped into range."""
        return np.clip(np.asarray(indices, dtype=np.int64), 0, len(self) - 1)

    def indices_at(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Frame shown at each time (s, on the stream's timeline)."""
        return self.index.index_of_time(np.asarray(times, dtype=np.float64))

    def snap_to_keyframes(self, indices: np.ndarray) -> np.ndarray:
        return self.index.nearest_keyframe(self.clamp(indices))

    # -- frames ---------------------------------------------------------------------------
    def _targets(self, indices, seek: SeekMode) -> np.ndarray:
        """The frames to decode for ``indices`` (clamped; snapped to keyframes when
        ``seek='keyframe'``)."""
        idx = self.clamp(indices)
        if seek == "keyframe":
            return self.snap_to_keyframes(idx)
        if seek != "exact":
            raise UsageError(f"unknown seek mode '{seek}' (use exact or keyframe)")
        return idx

    def iter_frames(
        self,
        indices: Sequence[int] | np.ndarray,
        *,
        size: tuple[int, int] | None = None,
        seek: SeekMode = "exact",
        fast_resize: bool = False,
        convert: bool = True,
    ) -> Iterator[tuple[int, float, np.ndarray]]:
        """Yield ``(index, time, rgb)`` in ascending index order, one per unique index,
        streaming (constant memory). ``seek='keyframe'`` snaps to keyframes first.

        ``convert=False`` yields, where the backend can (PyAV), a zero-argument callable
        in place of each array, converting the decoded picture to RGB only when called:
        frames a consumer looks at and then drops cost no conversion."""
        idx = self._targets(indices, seek)
        lazy = None if convert else self.decoder.can_defer_conversion
        for i, t, rgb in self._iter_unconverted(np.unique(idx), size, seek, fast_resize, lazy):
            yield i, t, rgb() if convert and callable(rgb) else rgb

    def _iter_unconverted(self, idx: np.ndarray, size, seek: SeekMode, fast_resize: bool = False,
                          lazy: bool | None = None):
        """``(index, time, rgb or a callable returning it)`` for sorted unique ``idx``.
        By default (``lazy=None``), where the decoder runs in a thread of its own (the
        stall timeout), colour conversion is left to the consumer, to run in parallel
        with decoding on."""
        times = self.index.times
        if lazy is None:
            lazy = self.decoder.can_defer_conversion and self.timeout is not None
        kw = {"lazy": True} if lazy else {}
        gen = self.decoder.iter_frames(idx, size=size, seek=seek, fast_resize=fast_resize, **kw)
        for i, rgb in with_stall_timeout(gen, self.timeout, self.path, self.backend, self.batch_frames()):
            yield i, float(times[i]), rgb

    def batch_frames(self) -> int:
        """Frames the decoder thread may hand over at once (``handoff.batch_frames``)."""
        return batch_frames(self.info.width * self.info.height)

    def get_frames(
        self,
        indices: Sequence[int] | np.ndarray,
        *,
        size: tuple[int, int] | None = None,
        seek: SeekMode = "exact",
        parts: int | None = None,
    ) -> Frames:
        """Decode the given frames (clamped; duplicates allowed, order kept) into one
        preallocated (N, H, W, 3) array, filled as frames arrive (no second copy).

        When the frames span several keyframes they are split into ``parts`` runs (default:
        one per core, at most 4), each starting at a keyframe and decoded in its own thread
        by its own decoder with its share of the cores (``fork_for``): FFmpeg's frame
        threads gain ~12 % on 2 cores, separate runs use every core. ``parts=1`` decodes
        in one run. A request for one frame returns the converter's own array as is (a
        view that may keep row padding, so not always C-contiguous): no copy at all."""
        want = self._targets(indices, seek)
        positions: dict[int, list[int]] = {}
        for pos, i in enumerate(want.tolist()):
            positions.setdefault(i, []).append(pos)
        uniq = np.unique(want)
        runs = split_runs(self, uniq, parallel_parts(self) if parts is None else parts)
        out: dict = {"data": None}
        times = np.zeros(len(want))
        got = np.zeros(len(want), dtype=bool)
        lock = threading.Lock()

        def fill(frames) -> None:
            for i, t, rgb in frames:
                rgb = rgb() if callable(rgb) else rgb  # converted here, beside the decoding
                if len(want) == 1:  # a lone frame: its own array, no copy
                    out["data"], times[0], got[0] = rgb[None], t, True
                    continue
                if out["data"] is None:
                    with lock:
                        if out["data"] is None:
                            out["data"] = np.empty((len(want), *rgb.shape), dtype=np.uint8)
                data = out["data"]
                for pos in positions.get(i, ()):
                    data[pos] = rgb
                    times[pos] = t
                    got[pos] = True

        if len(runs) == 1:  # decoded in its worker thread, converted in this one
            fill(self._iter_unconverted(uniq, size, seek))
        else:  # one worker per run, each with a decoder of its own
            with ThreadPoolExecutor(len(runs)) as pool:
                for job in [pool.submit(fill, self.fork_for(len(runs))._iter_unconverted(uniq[a:b], size, seek))
                            for a, b in runs]:
                    job.result()  # a worker's error is raised here, in the caller's thread
        data = out["data"]
        if data is None:
            return Frames(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 0, 0, 3), np.uint8))
        if not got.all():  # cannot happen with exact seeking; keep the contract anyway
            raise NotAVideoError("some requested frames could not be decoded", self.path)
        return Frames(want.astype(np.int64), times, data)

    def fork_for(self, runs: int) -> "Video":
        """Another handle on the same probed video with a decoder of its own (a decoder is
        not shared between threads), for one of ``runs`` parallel runs: the cores shared
        out between them."""
        cap = self.decoder.threads or os.cpu_count() or 1
        other = copy.copy(self)
        other.decoder = self._new_decoder(type(self.decoder), max(1, cap // max(1, runs)))
        return other

    def _new_decoder(self, cls: type[Decoder], threads: int) -> Decoder:
        """A decoder of this probed video, recording damage where the video does; one that
        cannot read this stream's irregular start or restarting timestamps refuses here."""
        if not cls.reads_irregular_streams and (self.info.undecodable_leading_frames or self.info.discontinuities):
            why = (f"its timestamps restart at {', '.join(f'{t:.3f}s' for t in self.info.discontinuities)} "
                   "(recordings joined end to end)" if self.info.discontinuities else
                   f"it starts without a keyframe ({self.info.undecodable_leading_frames} leading frames cannot be "
                   "decoded)")
            raise NotAVideoError(f"the {cls.name} backend cannot decode this file exactly: {why}; use --backend pyav",
                                 self.path)
        decoder = cls(self.path, self.info, self.index, threads=threads)
        decoder.damage = self.damage
        return decoder

    def get_frames_at(self, times: Sequence[float] | np.ndarray, **kw) -> Frames:
        """Frames shown at the given times (s); each result carries its exact pts time."""
        return self.get_frames(self.indices_at(times), **kw)

    def close(self) -> None:
        self.decoder.close()

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return (f"Video({self.path!r}, {i.num_frames} frames, {i.duration:.3f}s, "
                f"{i.width}x{i.height}, backend={self.backend})")


def open_video(path: str | os.PathLike, **options) -> Video:
    """Open a video for exact-time frame access.

    backend: ``pyav`` (default), ``torchcodec``, ``decord`` or ``opencv``.
    stream: FFmpeg stream index of the video stream; default the best one.
    timeout: seconds a decoder may go without producing a frame before
      ``DecodeTimeoutError``; ``None`` waits forever.
    threads: decoding threads (0: by the core count); 1 keeps all decoding in one thread
      (no parallel runs), e.g. when many processes decode side by side.
    allow_truncated: use the frames a truncated file has instead of failing.
    """
    return Video(path, **options)


def as_video(video: "Video | str | os.PathLike", **open_kw) -> Video:
    """``video`` itself when it is already opened, else ``open_video(video, **open_kw)``: the
    tasks take either, so a command opens (and probes) its file once."""
    return video if isinstance(video, Video) else open_video(video, **open_kw)
