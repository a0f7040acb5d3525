"""``vidtok eval``: accuracy against token budget, for users with weights.

* grounding: Charades-STA lines ``VIDEO_ID start end##sentence``; metrics R1@IoU 0.3 / 0.5 /
  0.7 and mIoU of the top interval;
* QA: JSONL lines ``{"video", "question", "options": [...], "answer": "B" | 1}`` (Video-MME /
  NExT-QA style); metric accuracy. A line without options is open-ended: ``"answer"`` is the
  expected text, and the model's answer is right when it says exactly that, case,
  punctuation and articles aside (short answers: a colour, a count, yes or no).
Each report also gives mean visual tokens and seconds per item.

The whole input is checked before a model loads (``load_items``): every line parsed, every
video found and probed, every interval inside its video, each problem one line naming the
file and the line. The command appends each item's result to ``--out`` as it is scored
(``batch``'s writer and lock), so a killed run resumes where it stopped and every
item is scored once.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Optional

from ..compress.request import Compression
from ..defaults import DEFAULT_TEXT_ENCODER
from ..errors import InputError, UsageError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts"}
LETTERS = "ABCDEFGH"


def iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def find_video(vid: str, roots: list[Path]) -> Path:
    for root in roots:
        for p in sorted(root.glob(f"*{vid}*")):
            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
                return p
    raise InputError(f"no video file for id '{vid}' under " + ", ".join(str(r) for r in roots))


def _read_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise UsageError(f"line {line}: not UTF-8 text", path) from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_grounding(path: Path) -> list[dict]:
    items = []
    for n, line in _read_lines(path):
        head, sep, sentence = line.partition("##")
        parts = head.split()
        if not sep or len(parts) != 3 or not sentence.strip():
            raise UsageError(f"line {n}: expected 'VIDEO_ID start end##sentence', got {line[:60]!r}", path)
        try:
            start, end = float(parts[1]), float(parts[2])
        except ValueError:
            raise UsageError(f"line {n}: start and end must be seconds, got {parts[1]!r} {parts[2]!r}", path) from None
        if not (0 <= start < end < float("inf")):
            raise UsageError(f"line {n}: the interval {parts[1]}-{parts[2]} is "
                             f"{'reversed or empty' if start >= end else 'out of range'}", path)
        items.append({"line": n, "video": parts[0], "start": start, "end": end, "query": sentence.strip()})
    return items


def read_qa(path: Path) -> list[dict]:
    items = []
    for n, line in _read_lines(path):
        try:
            it = json.loads(line)
        except ValueError as e:
            raise UsageError(f"line {n}: not JSON ({e.msg})", path) from None
        if not isinstance(it, dict) or not all(k in it for k in ("video", "question", "answer")):
            raise UsageError(f"line {n}: a QA item is an object with video, question, options and answer", path)
        opts = it.get("options")
        if opts is None:  # open-ended
            if not isinstance(it["answer"], str) or not normal(it["answer"]):
                raise UsageError(f"line {n}: an open-ended item (no options) needs the answer as text", path)
            items.append({"line": n, "video": str(it["video"]), "question": str(it["question"]), "options": None,
                          "answer": it["answer"]})
            continue
        if not isinstance(opts, list) or not 2 <= len(opts) <= len(LETTERS):
            raise UsageError(f"line {n}: options must be a list of 2 to {len(LETTERS)} choices", path)
        ans = it["answer"]
        if isinstance(ans, bool) or not (isinstance(ans, int) and 0 <= ans < len(opts)
                                         or isinstance(ans, str) and ans in LETTERS[: len(opts)]):
            raise UsageError(f"line {n}: answer {ans!r} is not one of the options "
                             f"({LETTERS[0]}-{LETTERS[len(opts) - 1]} or 0-{len(opts) - 1})", path)
        items.append({"line": n, "video": str(it["video"]), "question": str(it["question"]),
                      "options": [str(o) for o in opts], "answer": ans if isinstance(ans, str) else LETTERS[ans]})
    return items


def load_items(ann: Path, task: str, roots: list[Path], decode, limit: Optional[int] = None) -> list[dict]:
    """The items to score, checked whole before any model loads: each line parsed, each
    video found and opened (probed once), each grounding interval inside its video.
    ``item["video"]`` becomes the opened ``Video``."""
    items = (read_grounding(ann) if task == "ground" else read_qa(ann))[:limit]
    if not items:
        raise UsageError("no items to evaluate", ann)
    opened: dict[str, object] = {}
    for it in items:
        name = it["video"]
        if name not in opened:
            p = Path(name)
            if not p.is_absolute() and (ann.parent / p).is_file():  # relative to the annotation file
                p = ann.parent / p
            if not p.is_file():
                try:
                    p = find_video(Path(name).stem if task == "qa" else name, roots)
                except InputError as e:
                    raise InputError(f"line {it['line']}: {e.problem}", ann) from None
            opened[name] = decode.open(p)
        it["video"] = video = opened[name]
        if task == "ground" and it["start"] >= video.info.end_time + 0.5:
            raise UsageError(f"line {it['line']}: the interval starts at {it['start']:g}s, after the end of "
                             f"{Path(video.path).name} ({video.info.end_time:.2f}s)", ann)
    return items


def record_id(payload: dict) -> str:
    """An ``--out`` record's id: the same item under the same setting, the same id (so a
    rerun finds what is done), whatever the order of the payload's keys."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _item_id(task: str, it: dict, setting: dict) -> str:
    return record_id({"task": task, **{k: v for k, v in it.items() if k != "video"},
                      "file": Path(it["video"].path).name, "setting": setting})


def evaluate(ann: Path, task: str, items: list[dict], model, *, compression: Optional[Compression] = None, via="llm",
             encoder=None, max_new_tokens: Optional[int] = None, use_cache: bool = True, done: Optional[dict] = None,
             record=None, progress=None, subtitles: Optional[str] = None) -> dict:
    """Score ``items`` (from ``load_items``). ``max_new_tokens``: the longest answer (default
    48 for grounding, 8 for a letter or a short answer). ``done``: records already written
    (by id), whose rows are taken, not scored again; ``record(rec)`` is called with each new
    item's record as it is scored (the command appends it to ``--out``). ``subtitles``: a
    ``--subtitles`` spec whose cues go before each QA question (grounding prompts take none)."""
    from ..decode.subtitles import reader

    done = done or {}
    comp = compression if compression is not None else Compression()
    cues = reader(subtitles) if subtitles else None  # each video's read once
    setting = {"model": getattr(model, "spec", None), **comp.describe(), "via": via, "encoder": encoder,
               "options": comp.options}
    score = _ground_one if task == "ground" else _qa_one
    rows, t0 = [], time.perf_counter()
    for it in items:
        key = _item_id(task, it, setting)
        if key in done:
            rows.append(done[key]["row"])
        else:
            row = score(it, model, compression=comp, via=via, encoder=encoder, use_cache=use_cache,
                        max_new_tokens=max_new_tokens or (48 if task == "ground" else 8), subtitles=cues)
            row["line"] = it["line"]
            if record is not None:
                record({"id": key, "status": "ok", "annotations": str(ann), "setting": setting, "row": row})
            rows.append(row)
        if progress:
            progress()
    n = len(rows)
    if task == "ground":
        metrics = {f"R1@{t}": sum(r["iou"] >= t for r in rows) / n for t in (0.3, 0.5, 0.7)}
        metrics["mIoU"] = sum(r["iou"] for r in rows) / n
        extra = {}
    else:
        metrics = {"accuracy": sum(r["correct"] for r in rows) / n}
        extra = {"mean_visual_tokens": sum(r["tokens"] for r in rows) / n}
    return {"task": task, "items": n, "metrics": metrics, **extra,
            "seconds_per_item": (time.perf_counter() - t0) / n, "rows": rows}


def _ground_one(it, model, *, compression, via, encoder, use_cache, max_new_tokens, subtitles=None) -> dict:
    from .ground import ground_embed, ground_llm

    video = it["video"]
    if via == "embed":
        r = ground_embed(video, it["query"], encoder=encoder or DEFAULT_TEXT_ENCODER)
    else:
        r = ground_llm(video, it["query"], model, compression=compression, use_cache=use_cache,
                       max_new_tokens=max_new_tokens)
    pred = (r["intervals"][0]["start"], r["intervals"][0]["end"]) if r["intervals"] else (0.0, 0.0)
    return {"video": video.path, "query": it["query"], "truth": [it["start"], it["end"]], "pred": list(pred),
            "iou": iou(pred, (it["start"], it["end"])), "tokens": None}


def normal(text: str) -> str:
    """An answer as open-ended items compare it: lower case, no punctuation, no articles."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    return " ".join(w for w in words if w not in ("a", "an", "the"))


def _qa_one(it, model, *, compression, via, encoder, use_cache, max_new_tokens, subtitles=None) -> dict:
    from .ask import ask

    open_ended = it["options"] is None
    q = it["question"] if open_ended else (
        it["question"] + "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(it["options"]))
        + "\nAnswer with the option's letter.")
    r = ask(it["video"], q, model, compression=compression, max_new_tokens=max_new_tokens, use_cache=use_cache,
            subtitles=subtitles(it["video"].path) if subtitles else None)
    if open_ended:
        pred, correct = r["answer"], normal(r["answer"]) == normal(it["answer"])
    else:
        m = re.search(r"\b([A-H])\b", r["answer"])
        pred = m.group(1) if m else None
        correct = pred == it["answer"]
    return {"video": it["video"].path, "pred": pred, "truth": it["answer"], "correct": correct,
            "tokens": r["visual_tokens_after"]}
