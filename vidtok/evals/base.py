"""What every benchmark is: a prompt per item, a row per scored answer, metrics over rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Optional

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Benchmark:
    name: str
    #: doc -> the prompt text lmms-eval's task builds with its default settings
    prompt: Callable[[dict], str]
    #: (doc, raw answer, rng) -> the item's row (``score``: 1 or 0, and what aggregate reads)
    score: Callable[[dict, str, random.Random], dict]
    #: rows -> {metric: value}, on lmms-eval's scale
    aggregate: Callable[[list[dict]], dict]
    #: the metric a table shows first
    headline: str
    #: lmms-eval's ``max_new_tokens`` for the task
    max_new_tokens: int = 16
    #: doc -> where its video may lie, relative to the benchmark's folder (lmms-eval's
    #: cache layout first); None: the benchmark is scored here but not run yet
    videos: Optional[Callable[[dict], list[str]]] = None
    #: the benchmark's files in its dataset folder as ``hf download`` leaves it (globs, in
    #: order; ``--data DIR`` reads every file the first glob that matches finds)
    files: tuple[str, ...] = ()
    #: (doc, the dataset's folder, the opened video) -> the text its prompt carries as
    #: ``doc["_subtitles"]`` (None: the item has no subtitle file); None: no subtitles
    subtitles: Optional[Callable] = None

    def score_all(self, docs: list[dict], answers: list[str], seed: int = 0) -> tuple[list[dict], dict]:
        """Rows and metrics for ``answers`` to ``docs`` in order, random fallbacks drawn from
        ``random.Random(seed)`` in that order."""
        rng = random.Random(seed)
        rows = [self.score(d, a, rng) for d, a in zip(docs, answers)]
        return rows, self.aggregate(rows)


def per_group(rows: list[dict], key: str, measure: Callable[[list[dict]], float]) -> dict:
    """``accuracy_<group>``: ``measure`` of the rows of each value of ``row[key]`` (rows
    without one left out), groups in sorted order: the per-category metrics (MVBench's task,
    NExT-QA's question type, LongVideoBench's duration group), each on its benchmark's scale."""
    groups = sorted({r.get(key) for r in rows if r.get(key) not in (None, "")}, key=str)
    return {f"accuracy_{g}": measure([r for r in rows if r.get(key) == g]) for g in groups}


def strip_each(text: str, chars: str) -> str:
    """``text`` stripped of each character of ``chars`` in turn (one ``str.strip`` per
    character, in order: how the MMMU-style parsers clean an answer's ends)."""
    for c in chars:
        text = text.strip(c)
    return text


def named_options(text: str, texts: dict[str, str]) -> list[str]:
    """The MMMU parsers' last resort: in an answer of more than five words, the letters whose
    option text it contains (case aside)."""
    if len(text.split()) <= 5:
        return []
    return [c for c, t in texts.items() if t.lower() in text.lower()]
