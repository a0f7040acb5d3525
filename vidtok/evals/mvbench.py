"""MVBench (lmms-eval task group ``mvbench``: 20 tasks of ``OpenGVLab/MVBench``).

Docs: rows of ``json/<task>.json`` (``video``, ``question``, ``candidates``, ``answer``: the
right candidate's text). An answer is read by lmms-eval's ``mcq_acc``: "B. text" is B;
otherwise the answer is cleaned of punctuation (VQA-style) and its first standalone letter
A-E, else the cleaned text itself, must equal the right letter. Accuracy is in percent over
the items with a non-empty answer: an empty answer leaves the denominator."""

from __future__ import annotations

import re

from .base import LETTERS, Benchmark, per_group

POST_PROMPT = "Only give the best option.\n"

#: VQA-style punctuation lmms-eval removes (or turns into a space), in its order
PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?",
               "!")
_LEADING_OPTION = re.compile(r"^([A-E])\.\s*(.+)$", re.IGNORECASE)
_COMMA_IN_NUMBER = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"\.(?!\d)")  # a period not before a digit
_LETTER = re.compile(r"\b([A-E])\b", re.IGNORECASE)


def _without_punctuation(text: str) -> str:
    """Each mark dropped where it touches a space (or the text has a comma inside a number),
    else replaced by a space, judged on the text as given; then periods not before a digit
    dropped, at most 32 of them (lmms-eval passes ``re.UNICODE``, 32, as ``sub``'s count)."""
    out = text
    glued = _COMMA_IN_NUMBER.search(text) is not None
    for p in PUNCTUATION:
        out = out.replace(p, "" if (p + " " in text or " " + p in text or glued) else " ")
    return _PERIOD.sub("", out, count=32)


def reading(text: str) -> str:
    """An answer (or the right letter) as lmms-eval compares them."""
    m = _LEADING_OPTION.match(text.strip())
    if m:
        return m.group(1).upper()
    text = _without_punctuation(text.replace("\n", " ").replace("\t", " ").strip())
    text = text.strip("'").strip('"').strip(")").strip("(").strip().lower()
    m = _LETTER.search(text)
    return m.group(1).upper() if m else text


def prompt(doc: dict) -> str:
    options = "".join(f"({LETTERS[i]}) {c}\n" for i, c in enumerate(doc["candidates"]))
    return "Question:" + doc["question"] + "\nOption:\n" + options + POST_PROMPT


def score(doc: dict, answer: str, rng=None) -> dict:
    right = LETTERS[doc["candidates"].index(doc["answer"])]
    return {"pred": answer, "answer": right, "score": int(reading(right) == reading(answer)), "task": doc.get("_task")}


def aggregate(rows: list[dict]) -> dict:
    answered = [r for r in rows if r["pred"] != ""]
    def percent(part):
        return 100 * sum(r["score"] for r in part) / len(part) if part else 0

    return {"accuracy": percent(answered), "answered": len(answered),
            **per_group(answered, "task", percent)}  # per task, the same rule


#: where each MVBench task's videos lie in the dataset (its README's layout, as lmms-eval reads it)
FOLDERS = {
    "action_antonym": "ssv2_video_mp4", "action_count": "perception/videos",
    "action_localization": "sta/sta_video_segment", "action_prediction": "star/Charades_segment",
    "action_sequence": "star/Charades_segment", "character_order": "perception/videos",
    "counterfactual_inference": "clevrer/video_validation", "egocentric_navigation": "vlnqa",
    "episodic_reasoning": "tvqa/video_fps3_hq_segment", "fine_grained_action": "Moments_in_Time_Raw/videos",
    "fine_grained_pose": "nturgbd_convert", "moving_attribute": "clevrer/video_validation",
    "moving_count": "clevrer/video_validation", "moving_direction": "clevrer/video_validation",
    "object_existence": "clevrer/video_validation", "object_interaction": "star/Charades_segment",
    "object_shuffle": "perception/videos", "scene_transition": "scene_qa/video", "state_change": "perception/videos",
    "unexpected_action": "FunQA_test/test",
}


def videos(doc: dict) -> list[str]:
    """The task's folder (a doc read from ``json/<task>.json`` carries its task as ``_task``)."""
    folder = FOLDERS.get(doc.get("_task", ""), "")
    return [f"{folder}/{doc['video']}", f"data0613/{folder}/{doc['video']}"] if folder else [doc["video"]]


MVBENCH = Benchmark("mvbench", prompt, score, aggregate, "accuracy", videos=videos, files=("json/*.json",))
