"""OpenCV decoder: sequential grab/retrieve, the fastest dense decoder measured here.

It never seeks: OpenCV's ``CAP_PROP_POS_FRAMES`` seek returns wrong frames on
variable-frame-rate files, so frames are reached by grabbing forward (grab() skips the
colour conversion of frames that are not wanted). OpenCV always reads the first video
stream, so it refuses another one.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import NotAVideoError, UsageError
from .base import Decoder, SeekMode


class OpenCVDecoder(Decoder):
    """OpenCV: fastest sequential decode; first video stream only, never seeks."""

    name = "opencv"
    requires = ("cv2",)
    # it counts decoded frames from the top, and FFmpeg (inside OpenCV) drops the frames a
    # cut-mid-GOP start cannot reconstruct and decodes joined recordings through: the count
    # matches the index (tested against FFmpeg's own decode)
    reads_irregular_streams = True

    def iter_frames(self, indices, *, size=None, seek: SeekMode = "exact", fast_resize: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        first_video = self.info.video_streams[0].index
        if self.info.stream_index != first_video:
            raise UsageError(
                f"the opencv backend reads only stream {first_video}; use --backend pyav for stream "
                f"{self.info.stream_index}",
                self.path,
            )
        cap = cv2.VideoCapture(self.path)
        if not cap.isOpened():
            raise NotAVideoError("OpenCV cannot open this file", self.path)
        if self.threads:
            cv2.setNumThreads(self.threads)
        try:
            cur = -1
            last = None
            for i in np.asarray(indices, dtype=np.int64):
                i = int(i)
                ok = True
                while cur < i and ok:
                    ok = cap.grab()
                    cur += 1 if ok else 0
                if ok and cur == i:
                    ok, bgr = cap.retrieve()
                    if ok:
                        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                        if size is not None and (rgb.shape[1], rgb.shape[0]) != tuple(size):
                            rgb = cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA)
                        last = rgb
                if last is None:
                    raise NotAVideoError("no frame could be decoded at the requested positions", self.path)
                yield i, last  # clamped to the last decodable frame at the end of a broken file
        finally:
            cap.release()
