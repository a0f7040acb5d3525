"""NExT-QA, multiple choice (lmms-eval task ``nextqa_mc_test``).

Docs: rows of the ``MC`` split (``video``, ``question``, ``a0`` ... ``a4``, ``answer``: the
right option's index). The prompt is the question and the five options, nothing more (the
task sets no instruction). An answer is read by the MMMU parser (``mmmu_letter``), which
draws a random letter when it finds none; accuracy is a fraction."""

from __future__ import annotations

from .base import LETTERS, Benchmark, named_options, per_group, strip_each


def mmmu_letter(response: str, letters: list[str], texts: dict[str, str], rng) -> str:
    """The letter an answer gives, as MMMU's parser reads it (lmms-eval's NExT-QA copy):
    "(B)" forms first, else "B " forms, else "B." forms; with none and more than five words,
    the options whose text the answer contains; several: the one written last; none: a
    letter drawn from ``rng``."""
    text = " " + strip_each(response, ",.!?;:'") + " "
    found = [c for c in letters if f"({c})" in text]
    bracketed = bool(found)
    if not found:
        found = [c for c in letters if f"{c} " in text]
    if not found:
        found = [c for c in letters if f"{c}." in text]
    by_text = not found and bool(named_options(text, texts))
    if by_text:
        found = named_options(text, texts)
    if not found:
        return rng.choice(letters)
    if len(found) == 1:
        return found[0]
    if by_text:
        at = [text.lower().rfind(texts[c].lower()) for c in found]
    elif bracketed:
        at = [text.rfind(f"({c})") for c in found]
    else:
        at = [text.rfind(f" {c} ") for c in found]
    return found[at.index(max(at))]  # the first of equals, as argmax takes it


def _options(doc: dict) -> dict[str, str]:
    return {LETTERS[i]: doc[f"a{i}"].strip() for i in range(5)}


def prompt(doc: dict) -> str:
    return "\n".join([doc["question"].strip()] + [f"{c}. {t}" for c, t in _options(doc).items()])


def score(doc: dict, answer: str, rng) -> dict:
    texts = _options(doc)
    pred = mmmu_letter(answer, list(texts), texts, rng)
    return {"pred": pred, "answer": LETTERS[int(doc["answer"])], "score": int(pred == LETTERS[int(doc["answer"])]),
            "type": doc.get("type")}


def aggregate(rows: list[dict]) -> dict:
    def fraction(part):
        return sum(r["score"] for r in part) / len(part) if part else 0

    return {"accuracy": fraction(rows), **per_group(rows, "type", fraction)}  # question types (CW, TN, ...)


def videos(doc: dict) -> list[str]:
    return [f"NExTVideo/{doc['video']}.{ext}" for ext in ("mp4", "MP4")]


NEXTQA = Benchmark("nextqa", prompt, score, aggregate, "accuracy", videos=videos,
                   files=("MC/test-*.parquet",))
