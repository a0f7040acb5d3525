"""LongVideoBench, validation set with the video only (lmms-eval task ``longvideobench_val_v``).

Docs: rows of ``lvb_val.json`` (``id``, ``question``, ``option0`` ... ``option4`` with "N/A"
for a missing one, ``correct_choice``, ``duration_group``, ``question_category``). An answer is
read as LongVideoBench's authors do: a few answer prefixes removed, then its first capital A-E;
none (or more than ten words and no such capital): a random letter. The accuracy lmms-eval
reports counts every item once per duration group and once per question category, which
weighs all items equally, rounded to five decimals."""

from __future__ import annotations

import re

from .base import Benchmark, per_group

POST_PROMPT = "Answer with the option's letter from the given choices directly.\n"
PREFIXES = ("The best answer is", "The correct answer is", "The answer is", "The answer", "The best option is",
            "The correct option is", "Best answer:", "Best option:")
_CAPITAL = re.compile(r"[ABCDE]")


def lvb_letter(response: str, letters: list[str], rng) -> str:
    s = response.strip()
    for prefix in PREFIXES:
        s = s.replace(prefix, "")
    m = _CAPITAL.search(s)
    if m is None:  # (more than ten words without a capital A-E is the same case)
        return rng.choice(letters)
    return m.group(0)


def prompt(doc: dict) -> str:
    options = [doc.get(f"option{i}") for i in range(5)]
    shown = [o for o in options if o != "N/A"]
    return (doc["question"] + "\n" + "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(shown)) + "\n"
            + POST_PROMPT)


def score(doc: dict, answer: str, rng) -> dict:
    letters = []
    for i in range(5):  # up to the first missing option, as lmms-eval scores
        if doc.get(f"option{i}") == "N/A":
            break
        letters.append(chr(65 + i))
    pred = lvb_letter(answer, letters, rng)
    right = chr(65 + int(doc["correct_choice"]))
    return {"pred": pred, "answer": right, "score": int(pred == right), "duration_group": doc["duration_group"],
            "question_category": doc["question_category"]}


def aggregate(rows: list[dict]) -> dict:
    def fraction(part):
        return round(sum(r["score"] for r in part) / len(part), 5) if part else 0

    return {"accuracy": fraction(rows), **per_group(rows, "duration_group", fraction)}


def videos(doc: dict) -> list[str]:
    return [f"videos/{doc['video_path']}"]


LONGVIDEOBENCH = Benchmark("longvideobench", prompt, score, aggregate, "accuracy", max_new_tokens=32,
                           videos=videos, files=("lvb_val.json",))
