"""Video-MME (lmms-eval tasks ``videomme`` and ``videomme_w_subtitle``).

Docs: rows of ``videomme/test-*.parquet`` (``videoID``, ``duration`` short/medium/long,
``domain``, ``sub_category``, ``task_type``, ``question``, ``options`` ["A. ...", ...],
``answer`` letter). The answer's letter is found by lmms-eval's multiple-choice extractor
(``best_letter``); the score is the share of items whose letter is the answer's, in percent,
also per duration."""

from __future__ import annotations

import re

from .base import Benchmark, strip_each

INSTRUCTION = ("Select the best answer to the following multiple-choice question based on the video and the "
               "subtitles. Respond with only the letter (A, B, C, or D) of the correct option.")
POST_PROMPT = "\nAnswer with the option's letter from the given choices directly."

#: phrases after which a letter is the answer (lmms-eval 0.7.3's list, in its order)
ANSWER_PHRASES = (
    "the answer is", "answer is", "the correct answer is", "correct answer is", "the best answer is",
    "best answer is", "the correct option is", "correct option is", "the best option is", "best option is",
    "the choice is", "choice is", "the correct choice is", "correct choice is", "i choose", "i select", "i pick",
    "my answer is", "my choice is", "옵션", "정답은", "답은", "답:", "答案是", "答案为", "选", "答えは",
)
#: how much each way of writing a letter is trusted; the most trusted, then the latest, wins
PRIORITY = {"start": 10, "end": 9, "phrase": 7, "parentheses": 6, "period": 5, "colon": 4, "right_paren": 3,
            "space": 2, "fallback": 0}
#: the written forms searched for each letter, in lmms-eval's order
FORMS = (("parentheses", "({})"), ("period", "{}."), ("colon", "{}:"), ("right_paren", "{})"), ("space", "{} "))


def best_letter(response: str, choices=("A", "B", "C", "D")) -> str:
    """The choice letter ``response`` gives, or "" (lmms-eval's ``extract_mcq_answer``): every
    letter found in any of the forms above is a candidate at its last position; a letter
    opening or closing the answer outranks one after an answer phrase, which outranks the
    written forms; a bare letter anywhere counts only when nothing else does."""
    if not response or not response.strip():
        return ""
    text = " " + strip_each(response.strip(), ",.!?;:'\"") + " "
    found: list[tuple[int, int, str]] = []  # (priority, position, letter), in search order
    for form, pattern in FORMS:
        for ch in choices:
            at = text.rfind(pattern.format(ch))
            if at != -1:
                found.append((PRIORITY[form], at, ch))
    lower = text.lower()
    for phrase in ANSWER_PHRASES:
        start = lower.find(phrase)
        if start == -1:
            continue
        for ch in choices:
            at = text.find(ch, start + len(phrase))
            if at != -1:
                found.append((PRIORITY["phrase"], at, ch))
    core = text.strip()
    for ch in choices:
        if core.startswith(ch) and (len(core) == 1 or not core[1].isalpha()):
            found.append((PRIORITY["start"], 0, ch))
    for ch in choices:
        if core.endswith(ch) and (len(core) == 1 or not core[-2].isalpha()):
            found.append((PRIORITY["end"], len(text) - 1, ch))
    if not found:
        found = [(PRIORITY["fallback"], text.rfind(ch), ch) for ch in choices if ch in text]
    if not found:
        return ""
    return max(found, key=lambda f: (f[0], f[1]))[2]  # the first of equals, as a stable sort keeps it


def _question(doc: dict) -> str:
    return doc["question"] + "\n" + "\n".join(doc["options"])


def prompt(doc: dict) -> str:
    return INSTRUCTION + "\n" + _question(doc) + "\n" + POST_PROMPT


def prompt_with_subtitles(doc: dict) -> str:
    """The subtitle setting's prompt: ``doc["_subtitles"]`` (``subtitles_for``), or "No
    subtitles available" where the video has no subtitle file."""
    text = doc.get("_subtitles")
    return ("This video's subtitles are listed below: \n" + ("No subtitles available" if text is None else text)
            + "\n" + INSTRUCTION + "\n" + _question(doc) + "\n" + "The best answer is:")


_WHITE_FONT = re.compile(r'<font color="white" size=".72c">(.*?)</font>')


def _srt_time(text: str) -> float:
    h, m, rest = text.split(":")
    s, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def subtitle_text(srt: str, fps: float, total_frames: int, frame_num: int = 32) -> str:
    """The subtitle lines lmms-eval puts in the prompt: Video-MME's SRT blocks (one per
    (start, end): a later block with the same times replaces an earlier one), each as the
    frames int(t * fps) it spans; those holding one of ``frame_num`` frames spaced evenly over
    the video's ``total_frames``; of each, the text of its white ``<font>`` tag (a block without
    one is left out). lmms-eval collects the blocks in a ``set``; its iteration order is kept."""
    import numpy as np

    blocks: dict = {}
    for section in srt.split("\n\n"):
        lines = section.split("\n")
        if section.strip() and len(lines) >= 3:
            start, end = lines[1].split(" --> ")
            blocks[(_srt_time(start), _srt_time(end))] = " ".join(lines[2:])
    spans = [(int(a * fps), int(b * fps), text) for (a, b), text in blocks.items()]
    frames = np.linspace(0, total_frames - 1, frame_num, dtype=int).tolist()
    hit = [k for f in frames for k, (a, b, _) in enumerate(spans) if a <= f < b]
    texts = [_WHITE_FONT.findall(spans[k][2]) for k in list(set(hit))]  # (set order, as lmms-eval iterates)
    return "\n".join(t[0] for t in texts if t)


def subtitles_for(doc: dict, root, video):
    """``subtitle/<videoID>.srt`` under the dataset's folder as ``subtitle_text`` reads it, at
    the video's frame rate and frame count; None where there is no such file."""
    path = root / "subtitle" / f"{doc['videoID']}.srt"
    if not path.is_file():
        return None
    return subtitle_text(path.read_text(encoding="utf-8"), video.info.fps, len(video.index))


def score(doc: dict, answer: str, rng=None) -> dict:
    pred = best_letter(answer)
    return {"question_id": doc.get("question_id"), "duration": doc["duration"], "pred": pred,
            "answer": doc["answer"], "score": int(pred.lower() == doc["answer"].lower())}


def aggregate(rows: list[dict]) -> dict:
    """Percent of items whose letter equals the answer, overall and per duration."""
    out = {"accuracy": _percent(rows)}
    for duration in ("short", "medium", "long"):
        part = [r for r in rows if r["duration"] == duration]
        if part:
            out[f"accuracy_{duration}"] = _percent(part)
    return out


def _percent(rows: list[dict]) -> float:
    return 100 * sum(r["pred"] == r["answer"] for r in rows) / len(rows) if rows else 0


def videos(doc: dict) -> list[str]:
    """``data/<videoID>.mp4`` (or .MP4, .mkv) under the dataset's folder, as lmms-eval looks."""
    return [f"data/{doc['videoID']}.{ext}" for ext in ("mp4", "MP4", "mkv")]


VIDEOMME = Benchmark("videomme", prompt, score, aggregate, "accuracy", videos=videos,
                     files=("videomme/test-*.parquet",))
VIDEOMME_SUBTITLES = Benchmark("videomme_w_subtitle", prompt_with_subtitles, score, aggregate, "accuracy",
                               videos=videos, subtitles=subtitles_for, files=("videomme/test-*.parquet",))
