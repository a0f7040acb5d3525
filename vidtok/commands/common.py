"""What the commands share: the status callback type, and pages and thumbnails for reports."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, ContextManager

#: ``status(message)``: a context manager the caller shows while a slow step runs
Status = Callable[[str], ContextManager]


def quiet(message: str) -> ContextManager:
    return contextlib.nullcontext()


def thumbs(video, indices) -> list:
    """(index, time, small RGB) of frames of the opened ``video``, for a report."""
    if not indices:
        return []
    w, h = video.info.display_size
    size = (320, max(2, round(h * 320 / w) // 2 * 2))
    f = video.get_frames(sorted(set(int(i) for i in indices)), size=size)
    return list(zip(f.indices.tolist(), f.times.tolist(), f.data))


def write_report(path: Path, title: str, video: str, **kw) -> Path:
    from ..output import write_file
    from ..report.html import render

    return write_file(path, render(title, video, **kw))
