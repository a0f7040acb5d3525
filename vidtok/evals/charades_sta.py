"""Charades-STA (lmms-eval task ``charades_sta``).

Docs: rows of lmms-eval's Charades-STA test split (``video``, ``caption``, ``timestamp``
[start, end] in seconds, or that list as text). An answer's times are read by lmms-eval's
``extract_time``, whose rules move numbers and are kept: the answer is lower-cased and every
"to" becomes "-" (inside words too); sentences naming a start, end or "happens in" are
searched first; a clock range ("0:12 - 0:20"), else a number range ("12.5 - 20"), else pairs
of clock times, else the first number of each sentence in pairs, else ranges with an "s";
only the first interval counts (reversed if backwards). An answer with no interval scores
IoU 0. Items with the same video, sentence and interval count once (lmms-eval keys its
results by them); R1@0.3/0.5/0.7 and mIoU are percentages."""

from __future__ import annotations

import ast
import re

from .base import Benchmark

PRE_PROMPT = ("Please find the visual event described by a sentence in the video, determining its starting and "
              "ending times. The format should be: 'The event happens in the start time - end time'. For example, "
              "The event 'person turn a light on' happens in the 24.3 - 30.4 seonds. Now I will give you the "
              "textual sentence: ")
POST_PROMPT = "Please return its start time and end time."
EXAMPLE = "a specific example is : 20.8 - 30.0 seconds"
KEYWORDS = ("starts", "ends", "happens in", "start time", "end time", "start", "end", "happen")
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_CLOCK_RANGE = re.compile(rf"\b({_CLOCK})\s*[–-]\s*({_CLOCK})\b")
_NUMBER_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*[–-]\s*(\d+(?:\.\d+)?)")
_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?)\b")
_CLOCK_TIME = re.compile(rf"\b({_CLOCK})\b")
_SECONDS_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*s?\s*[–-]\s*(\d+(?:\.\d+)?)\s*s?")


def seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + parts[2] if len(parts) == 3 else parts[0] * 60 + parts[1]


def _pairs(times: list[float]) -> list[tuple[float, float]]:
    times = times[: len(times) // 2 * 2]
    return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]


def _first_ranges(sentences, pattern, convert) -> list:
    for s in sentences:
        found = pattern.findall(s)
        if found:
            return [(convert(a), convert(b)) for a, b in found]
    return []


def interval(answer: str):
    """(start, end) the answer names by the rules above, or None."""
    text = answer.lower().replace(EXAMPLE, "").replace("to", "-")
    sentences = re.split(r"[!?\n]", text)
    sentences = [s for s in sentences if any(k in s for k in KEYWORDS)] or sentences
    found = (_first_ranges(sentences, _CLOCK_RANGE, seconds) or _first_ranges(sentences, _NUMBER_RANGE, float)
             or _pairs([seconds(t) for s in sentences for t in _CLOCK_TIME.findall(s)])
             or _pairs([float(_NUMBER.findall(s)[0]) for s in sentences if _NUMBER.findall(s)])
             or _first_ranges(sentences, _SECONDS_RANGE, float))
    if not found:
        return None
    a, b = found[0]
    return (a, b) if b > a else (b, a)


def iou(a, b) -> float:
    denom = max(a[1], b[1]) - min(a[0], b[0])
    return 0.0 if denom <= 0 else max(min(a[1], b[1]) - max(a[0], b[0]), 0) / denom


def truth(doc: dict) -> tuple[float, float]:
    raw = ast.literal_eval(doc["timestamp"]) if isinstance(doc["timestamp"], str) else doc["timestamp"]
    return float(raw[0]), float(raw[1])


def prompt(doc: dict) -> str:
    return f"{PRE_PROMPT}{doc['caption']}. {POST_PROMPT}"


def score(doc: dict, answer: str, rng=None) -> dict:
    pred = interval(answer)
    value = iou(truth(doc), pred) if pred is not None else 0.0
    return {"key": f"{doc['video']}>>>{doc['caption']}>>>{doc['timestamp']}", "pred": pred, "iou": value,
            "score": int(value >= 0.5)}


def aggregate(rows: list[dict]) -> dict:
    last = {r["key"]: r["iou"] for r in rows}  # one per key, the last answer's (as lmms-eval's dict keeps it)
    ious = list(last.values())
    n = len(ious)
    out = {f"R1@{t}": 100 * sum(v >= t for v in ious) / n if n else 0 for t in (0.3, 0.5, 0.7)}
    out["mIoU"] = 100 * sum(ious) / n if n else 0
    return out


def videos(doc: dict) -> list[str]:
    return [f"Charades_v1_480/{doc['video']}"]


CHARADES_STA = Benchmark("charades_sta", prompt, score, aggregate, "mIoU", max_new_tokens=50, videos=videos,
                         files=("test-*.parquet", "*/test-*.parquet"))
