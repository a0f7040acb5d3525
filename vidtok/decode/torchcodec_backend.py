"""torchcodec decoder (needs torch and a system FFmpeg: ``apt-get install ffmpeg``).
Exact seek mode; reads any stream index.

Measured on the shared videos (torchcodec 0.17, FFmpeg 5.1): the same pixels as the PyAV
backend on MP4, MKV and WebM, but other frames than asked on AVI with packed B-frames
(whose timestamps lie) and on MPEG-TS (seeking lands elsewhere). There it refuses with a
clear error, and every batch's timestamps are checked against vidtok's index."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import NotAVideoError
from .base import Decoder, SeekMode


class TorchCodecDecoder(Decoder):
    """torchcodec: exact seeking, any stream (needs torch and a system FFmpeg)."""

    name = "torchcodec"
    requires = ("torchcodec",)
    extra = "torchcodec"
    can_select_stream = True

    @classmethod
    def installed(cls) -> bool:
        """Found, and FFmpeg's shared libraries are on the system (what ``vidtok methods``
        shows without importing torchcodec, which loads torch)."""
        import ctypes.util

        return cls.found() and ctypes.util.find_library("avutil") is not None

    @classmethod
    def unavailable(cls) -> str | None:
        """torchcodec (0.17) imports without FFmpeg's shared libraries and fails only when a
        decoder opens; it leaves ``ffmpeg_major_version`` None then (its public attribute
        for downstream builds), which is what is checked here."""
        why = super().unavailable()
        if why is None:
            import torchcodec

            if getattr(torchcodec, "ffmpeg_major_version", 0) is None:
                why = ("torchcodec cannot load FFmpeg's shared libraries (it needs FFmpeg 4-9 installed on the "
                       "system: apt-get install ffmpeg)")
        return why

    def iter_frames(self, indices, *, size=None, seek: SeekMode = "exact", fast_resize: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        from torchcodec.decoders import VideoDecoder

        if self.index.by_dts or "mpegts" in self.info.container:
            kind = "AVI with packed B-frames" if self.index.by_dts else "MPEG-TS"
            raise NotAVideoError(f"torchcodec returns other frames than asked on {kind}; use --backend pyav",
                                 self.path)
        times = self.index.times
        tol = 0.5 / max(self.info.fps or 1.0, 1e-6)

        try:
            dec = VideoDecoder(self.path, stream_index=self.info.stream_index, seek_mode="exact",
                               num_ffmpeg_threads=self.threads, dimension_order="NHWC")
        except Exception as e:  # torchcodec raises RuntimeError/ValueError
            raise NotAVideoError(f"torchcodec cannot open this file: {e}", self.path) from e
        idx = np.minimum(np.asarray(indices, dtype=np.int64), len(dec) - 1)
        for start in range(0, len(idx), 32):
            chunk = idx[start : start + 32].tolist()
            fb = dec.get_frames_at(chunk)
            got = fb.pts_seconds.numpy().astype(np.float64)
            bad = np.flatnonzero(np.abs(got - times[chunk]) > tol)
            if len(bad):
                j = chunk[int(bad[0])]
                raise NotAVideoError(f"torchcodec returned the frame at {got[bad[0]]:.3f}s for frame {j} "
                                     f"({times[j]:.3f}s); use --backend pyav", self.path)
            batch = fb.data.numpy()
            for i, rgb in zip(np.asarray(indices)[start : start + 32], batch):
                if size is not None and (rgb.shape[1], rgb.shape[0]) != tuple(size):
                    from PIL import Image

                    rgb = np.asarray(Image.fromarray(rgb).resize(tuple(size), Image.BILINEAR))
                yield int(i), rgb
