"""Decoded FFmpeg frames to RGB arrays: through one kept swscale context per thread, and
for analysis passes a point sample of 4:2:0 planes (no full-size conversion)."""

from __future__ import annotations

import threading

import av
import numpy as np

_local = threading.local()


def _reformatter():
    """This thread's swscale converter. ``VideoFrame.to_ndarray(format=...)`` builds a
    new swscale context for every frame; a kept one is reused while the frames' size and
    format stay the same (same pixels)."""
    sws = getattr(_local, "sws", None)
    if sws is None:
        from av.video.reformatter import VideoReformatter

        sws = _local.sws = VideoReformatter()
    return sws


def to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None, interp: str) -> np.ndarray:
    """RGB at ``size`` (width, height; None: as decoded) through this thread's swscale
    context; ``POINT`` (analysis) first tries a point sample of 4:2:0 planes."""
    if interp == "POINT" and size is not None:
        small = _sample_yuv420(frame, size)
        if small is not None:
            return small
    sws = _reformatter()
    if size is not None and (frame.width, frame.height) != tuple(size):
        # swscale's default (bicubic) costs ~4x bilinear when downscaling
        return sws.reformat(frame, format="rgb24", width=size[0], height=size[1], interpolation=interp).to_ndarray()
    return sws.reformat(frame, format="rgb24").to_ndarray()


def _sample_yuv420(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray | None:
    """A small RGB frame by point-sampling the Y, U and V planes in place (no full-size
    conversion): for analysis (cut detection, thumbnails), not for model input. None for
    pixel formats other than 4:2:0 and for odd sizes.

    The samples form a small I420 picture that one OpenCV call turns into RGB (BT.601,
    limited range), far cheaper than merging planes and stretching ranges in numpy."""
    fmt = frame.format.name
    w, h = size
    if fmt not in ("yuv420p", "yuvj420p") or w % 2 or h % 2:
        return None
    W, H = frame.width, frame.height
    p = frame.planes
    y = np.frombuffer(p[0], np.uint8).reshape(-1, p[0].line_size)[:H, :W]
    u = np.frombuffer(p[1], np.uint8).reshape(-1, p[1].line_size)[: H // 2, : W // 2]
    v = np.frombuffer(p[2], np.uint8).reshape(-1, p[2].line_size)[: H // 2, : W // 2]
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None and fmt == "yuv420p":
        # nearest-neighbour resizes straight into one I420 buffer, one conversion
        buf = np.empty((h * 3 // 2, w), np.uint8)
        flat = buf.reshape(-1)
        q = h * w // 4
        for plane, dst in ((y, buf[:h]), (u, flat[h * w: h * w + q].reshape(h // 2, w // 2)),
                           (v, flat[h * w + q:].reshape(h // 2, w // 2))):
            if plane.shape == dst.shape:
                dst[...] = plane
            else:
                cv2.resize(plane, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=cv2.INTER_NEAREST)
        return cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_I420)
    if (w, h) != (W, H):
        rows, cols = _grid(H, h), _grid(W, w)
        rows2, cols2 = _grid(H // 2, h // 2), _grid(W // 2, w // 2)
        y, u, v = y[rows][:, cols], u[rows2][:, cols2], v[rows2][:, cols2]
    u = u.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
    v = v.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
    yf = y.astype(np.float32)
    if fmt == "yuv420p":  # limited range (BT.601)
        yf = (yf - 16.0) * (255.0 / 219.0)
        u, v = u * (255.0 / 224.0), v * (255.0 / 224.0)
    rgb = np.stack([yf + 1.402 * v, yf - 0.344136 * u - 0.714136 * v, yf + 1.772 * u], -1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _grid(full: int, n: int) -> np.ndarray:
    """``n`` evenly spread sample positions in ``range(full)``."""
    return (np.arange(n) * full // n).astype(np.intp)
