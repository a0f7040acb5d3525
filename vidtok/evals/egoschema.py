"""EgoSchema, the public 500-question subset (lmms-eval task ``egoschema_subset``).

Docs: rows of the ``Subset`` split (``video_idx``, ``question``, ``option`` ["A. ...", ...],
``answer``: the right option's index). The parser is an MMMU variant with lmms-eval's own
quirks, kept because they move the score: every written form of every letter is a candidate
(not only the forms of the first kind found, as MMMU's parser takes them); with several, the
one written *first* wins (MMMU's: the last); with none, a random letter. The score is a
fraction, not a percent."""

from __future__ import annotations

from .base import LETTERS, Benchmark, named_options, strip_each

POST_PROMPT = "\nAnswer with the option's letter from the given choices directly."


def egoschema_choice(response: str, texts: dict[str, str], rng) -> str:
    """The letter lmms-eval's EgoSchema parser reads in ``response``."""
    letters = list(texts)
    text = " " + strip_each(response, ",.!?;:'") + " "
    found = [f"({c})" for c in letters if f"({c})" in text]
    found += [f"{c} " for c in letters if f"{c} " in text]
    found += [f"{c}." for c in letters if f"{c}." in text]
    by_text = not found and bool(named_options(text, texts))
    if by_text:
        found = named_options(text, texts)
    if not found:
        return rng.choice(letters)
    at = [text.lower().rfind(texts[c].lower()) for c in found] if by_text else [text.rfind(c) for c in found]
    first = found[at.index(min(at))]
    return first.replace("(", "").replace(")", "").replace(".", "").strip()


def prompt(doc: dict) -> str:
    return doc["question"] + "".join("\n" + op for op in doc["option"]) + POST_PROMPT


def score(doc: dict, answer: str, rng) -> dict:
    texts = {LETTERS[i]: doc["option"][i].strip() for i in range(5)}
    pred = {c: i for i, c in enumerate(texts)}.get(egoschema_choice(answer, texts, rng), -1)
    return {"pred": pred, "answer": doc["answer"], "score": int(str(pred) == str(doc["answer"]))}


def aggregate(rows: list[dict]) -> dict:
    return {"score": sum(str(r["pred"]) == str(r["answer"]) for r in rows) / len(rows) if rows else 0}


def videos(doc: dict) -> list[str]:
    return [f"videos/{doc['video_idx']}.{ext}" for ext in ("mp4", "MP4")]


EGOSCHEMA = Benchmark("egoschema", prompt, score, aggregate, "score", videos=videos,
                      files=("Subset/test-*.parquet",))
