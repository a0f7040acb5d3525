"""``vidtok eval``: accuracy against token budget, for users with weights.

* grounding: Charades-STA lines ``VIDEO_ID start end##sentence``; metrics R1@IoU 0.3 / 0.5 /
  0.7 and mIoU of the top interval;
* QA: JSONL lines ``{"video", "question", "options": [...], "answer": "B" | 1}`` (Video-MME /
  NExT-QA style); metric accuracy.
Each report also gives mean visual tokens and seconds per item.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Optional

from ..defaults import DEFAULT_TEXT_ENCODER
from ..errors import InputError, UsageError


def iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def find_video(vid: str, roots: list[Path]) -> Path:
    for root in roots:
        for p in sorted(root.glob(f"*{vid}*")):
            if p.is_file() and p.suffix.lower() in {".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts"}:
                return p
    raise InputError(f"no video file for id '{vid}' under " + ", ".join(str(r) for r in roots))


def read_grounding(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        head, sep, sentence = line.partition("##")
        parts = head.split()
        if not sep or len(parts) != 3:
            raise UsageError(f"line {n}: expected 'VIDEO_ID start end##sentence'", path)
        items.append({"video": parts[0], "start": float(parts[1]), "end": float(parts[2]), "query": sentence.strip()})
    return items


def eval_grounding(ann: Path, model, roots: list[Path], method=None, budget=None, via="llm", encoder=None,
                   limit: Optional[int] = None, pre_keep: Optional[float] = None, decode=None,
                   options: Optional[dict] = None) -> dict:
    """``decode``: a ``DecodeOptions`` for opening each video (default options when None)."""
    from ..config import DecodeOptions
    from .ground import ground_embed, ground_llm

    decode = decode or DecodeOptions()

    items = read_grounding(ann)[:limit]
    rows, t0 = [], time.perf_counter()
    for it in items:
        video = decode.open(find_video(it["video"], roots))
        if via == "embed":
            r = ground_embed(video, it["query"], encoder=encoder or DEFAULT_TEXT_ENCODER)
            tokens = None
        else:
            r = ground_llm(video, it["query"], model, method=method, budget=budget, pre_keep=pre_keep, options=options)
            tokens = None
        pred = (r["intervals"][0]["start"], r["intervals"][0]["end"]) if r["intervals"] else (0.0, 0.0)
        rows.append({"video": video.path, "query": it["query"], "truth": [it["start"], it["end"]],
                     "pred": list(pred), "iou": iou(pred, (it["start"], it["end"])), "tokens": tokens})
    n = max(1, len(rows))
    metrics = {f"R1@{t}": sum(r["iou"] >= t for r in rows) / n for t in (0.3, 0.5, 0.7)}
    metrics["mIoU"] = sum(r["iou"] for r in rows) / n
    return {"task": "ground", "items": len(rows), "metrics": metrics,
            "seconds_per_item": (time.perf_counter() - t0) / n, "rows": rows}


LETTERS = "ABCDEFGH"


def eval_qa(ann: Path, model, roots: list[Path], method=None, budget=None, limit: Optional[int] = None,
            pre_keep: Optional[float] = None, decode=None, options: Optional[dict] = None) -> dict:
    from ..config import DecodeOptions
    from .ask import ask

    decode = decode or DecodeOptions()

    rows, t0 = [], time.perf_counter()
    lines = [json.loads(x) for x in ann.read_text().splitlines() if x.strip()][:limit]
    for it in lines:
        video = Path(it["video"])
        if not video.exists():
            video = find_video(Path(it["video"]).stem, roots)
        opts = it.get("options", [])
        q = it["question"] + "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(opts)) + \
            "\nAnswer with the option's letter."
        r = ask(decode.open(video), q, model, method=method, budget=budget, max_new_tokens=8, pre_keep=pre_keep,
                options=options)
        m = re.search(r"\b([A-H])\b", r["answer"])
        pred = m.group(1) if m else None
        truth = it["answer"] if isinstance(it["answer"], str) else LETTERS[int(it["answer"])]
        rows.append({"video": str(video), "pred": pred, "truth": truth, "correct": pred == truth,
                     "tokens": r["visual_tokens_after"]})
    n = max(1, len(rows))
    return {"task": "qa", "items": len(rows), "metrics": {"accuracy": sum(r["correct"] for r in rows) / n},
            "mean_visual_tokens": sum(r["tokens"] for r in rows) / n,
            "seconds_per_item": (time.perf_counter() - t0) / n, "rows": rows}
