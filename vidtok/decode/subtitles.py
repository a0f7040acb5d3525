"""Subtitles: a video's text streams (read with PyAV) or a sidecar SRT / WebVTT file, as cues
with their times in seconds on the video's timeline.

``--subtitles auto`` takes the first text stream of the file, else a sidecar beside it with
the video's name (``talk.srt``, ``talk.en.vtt``, ...), else none; ``--subtitles FILE`` reads
that file. Markup (``<font ...>``, ``<i>``, ASS ``{\\...}`` overrides) is removed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import InputError, UsageError

SIDECARS = (".srt", ".vtt")
_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})")
_ARROW = re.compile(rf"({_TIME.pattern})\s*-->\s*({_TIME.pattern})")
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _seconds(h, m, s, ms) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def parse(text: str) -> list[Cue]:
    """Cues of SRT or WebVTT text: each block's first ``a --> b`` line and the lines after it."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        for k, line in enumerate(lines):
            m = _ARROW.search(line)
            if m:
                g = m.groups()
                words = " ".join(_MARKUP.sub("", x).strip() for x in lines[k + 1:])
                if words.strip():
                    cues.append(Cue(_seconds(*g[1:5]), _seconds(*g[6:10]), " ".join(words.split())))
                break
    return cues


def embedded(path) -> list[Cue]:
    """The first text stream of ``path`` (mov_text, SubRip, WebVTT, ASS), decoded with PyAV."""
    import av

    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == "subtitle"]
        if not streams:
            return []
        s, cues = streams[0], []
        for pkt in c.demux(s):
            if pkt.pts is None or not pkt.size:
                continue
            start = float(pkt.pts * s.time_base)
            end = start + float((pkt.duration or 0) * s.time_base)
            for sub in pkt.decode():
                text = getattr(sub, "dialogue", None) or getattr(sub, "text", None) or b""
                text = _MARKUP.sub("", text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))
                text = " ".join(text.replace("\\N", " ").split())
                if text:
                    cues.append(Cue(start, end, text))
        return cues


def read_subtitles(spec: Optional[str], video_path) -> list[Cue]:
    """The cues ``spec`` names for the video at ``video_path`` (see the module docstring)."""
    if not spec:
        return []
    if spec != "auto":
        p = Path(spec)
        if not p.is_file():
            raise InputError("subtitle file not found", p)
        if p.suffix.lower() not in SIDECARS:
            raise UsageError("--subtitles takes auto, an .srt or a .vtt file", p)
        try:
            cues = parse(p.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise UsageError("the subtitle file is not UTF-8 text", p) from None
        if not cues:
            raise UsageError("no subtitle cues in this file (SRT or WebVTT: 'start --> end' lines)", p)
        return cues
    cues = embedded(video_path)
    if cues:
        return cues
    v = Path(video_path)
    for side in sorted(v.parent.glob(v.stem + ".*")):
        if side.suffix.lower() in SIDECARS and side.is_file():
            return parse(side.read_text(encoding="utf-8-sig", errors="replace"))
    return []


def reader(spec: Optional[str]):
    """``read_subtitles`` for ``spec`` with each video's cues read once: a run that asks many
    questions (and settings) of one video demuxes its text stream or parses its file once."""
    seen: dict[str, list[Cue]] = {}

    def cues(path) -> list[Cue]:
        if str(path) not in seen:
            seen[str(path)] = read_subtitles(spec, path)
        return seen[str(path)]

    return cues


def clock(t: float) -> str:
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m)}:{s:04.1f}"


def lines_for(cues: list[Cue], spans) -> str:
    """The cues that overlap any of ``spans`` ((start, end) of the frames shown), one line
    each with its time: the text placed before the question."""
    shown = [c for c in cues if any(c.start < b and c.end > a for a, b in spans)]
    return "\n".join(f"[{clock(c.start)}-{clock(c.end)}] {c.text}" for c in shown)
