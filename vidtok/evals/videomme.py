"""Video-MME (lmms-eval tasks ``videomme`` and ``videomme_w_subtitle``).

Docs: rows of ``videomme/test-*.parquet`` (``videoID``, ``duration`` short/medium/long,
``domain``, ``sub_category``, ``task_type``, ``question``, ``options`` ["A. ...", ...],
``answer`` letter). The answer's letter is found by lmms-eval's multiple-choice extractor
(``best_letter``); the score is the share of items whose letter is the answer's, in percent,
also per duration."""

from __future__ import annotations

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


def prompt_with_subtitles(doc: dict, subtitles: str = "") -> str:
    """The subtitle setting's prompt: the subtitle lines of the sampled frames (lmms-eval
    picks those shown at its 32 uniformly sampled frames; "No subtitles available" when the
    video has none)."""
    return ("This video's subtitles are listed below: \n" + (subtitles or "No subtitles available") + "\n"
            + INSTRUCTION + "\n" + _question(doc) + "\n" + "The best answer is:")


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


VIDEOMME = Benchmark("videomme", prompt, score, aggregate, "accuracy", videos=videos)
# the subtitle setting is scored and prompted as lmms-eval does, not run yet (its subtitle
# lines are picked at lmms-eval's own 32 sampled frames)
VIDEOMME_SUBTITLES = Benchmark("videomme_w_subtitle", prompt_with_subtitles, score, aggregate, "accuracy")
