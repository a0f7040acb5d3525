"""Robust parsing of temporal-grounding answers into intervals in seconds.

Accepts what models say: ``12.5-17s``, ``12.5 - 17.0 seconds``, ``from 00:12 to 00:17``,
``between 1:02.5 and 1:10``, ``[12.5, 17.0]``, ``(12.5, 17)``, ``start: 3.2, end: 8``,
percentages (``20% to 35%``) and relative positions in [0, 1] when ``relative=True``.
Intervals are ordered, clamped to the video and de-duplicated.
"""

from __future__ import annotations

import re

_NUM = r"\d+(?:\.\d+)?"
_CLOCK = r"(?:\d+:)?\d{1,2}:\d{2}(?:\.\d+)?"
_TIME = rf"(?:{_CLOCK}|{_NUM})"
_PAIR = re.compile(
    rf"(?P<a>{_TIME})\s*(?P<pa>%|s|sec|secs|seconds?)?\s*(?:-|–|—|to|and|,|until|till)\s*(?P<b>{_TIME})\s*(?P<pb>%|s|sec|secs|seconds?)?",
    re.IGNORECASE,
)


def to_seconds(tok: str) -> float:
    if ":" in tok:
        parts = [float(p) for p in tok.split(":")]
        s = 0.0
        for p in parts:
            s = s * 60 + p
        return s
    return float(tok)


def parse_intervals(text: str, duration: float, relative: bool = False) -> list[tuple[float, float]]:
    """All intervals found in ``text``, in seconds, clamped to [0, duration]."""
    out: list[tuple[float, float]] = []
    for m in _PAIR.finditer(text):
        a, b = to_seconds(m.group("a")), to_seconds(m.group("b"))
        pct = (m.group("pa") == "%") or (m.group("pb") == "%")
        if pct:
            a, b = a / 100 * duration, b / 100 * duration
        elif relative and a <= 1.0 and b <= 1.0:
            a, b = a * duration, b * duration
        if a > b:
            a, b = b, a
        a, b = max(0.0, min(a, duration)), max(0.0, min(b, duration))
        if b > a and (a, b) not in out:
            out.append((a, b))
    return out
