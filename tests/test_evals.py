"""vidtok scores the published benchmarks as lmms-eval does, item by item: for each benchmark
a corpus of at least 300 raw answers (well-formed, chatty, empty, several letters, lower case,
the option's text, times in every format the parsers know, adversarial punctuation) gets the
same extracted answer and score from vidtok as from lmms-eval 0.7.3's own task functions, the
same aggregate, and the same prompt text for every item.

lmms-eval's task modules are loaded without its package ``__init__`` (which imports its whole
evaluator); lmms-eval itself is installed without its dependencies (``.ci/run`` does so: its
pins would downgrade PyAV below what vidtok runs)."""

import importlib
import importlib.util
import random
import sys
import types
from pathlib import Path

import pytest
import yaml

from vidtok.evals import BENCHMARKS

pytestmark = pytest.mark.skipif(importlib.util.find_spec("lmms_eval") is None or importlib.util.find_spec("loguru")
                                is None, reason="lmms-eval's scoring is the reference: pip install --no-deps "
                                                "lmms-eval==0.7.3 loguru (as .ci/run does)")



@pytest.fixture(autouse=True)
def hf_home(tmp_path, monkeypatch):
    """Some task modules read ``HF_HOME`` at import (where their videos would be)."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


def lmms(task: str):
    """lmms-eval's ``tasks/<task>/utils.py``, imported with its packages registered but not
    run, and the imports its scoring never uses stubbed (datasets, nltk's downloads)."""
    root = Path(importlib.util.find_spec("lmms_eval").submodule_search_locations[0])
    for name, path in (("lmms_eval.tasks", root / "tasks"), ("lmms_eval.tasks._task_utils", root / "tasks/_task_utils"),
                       (f"lmms_eval.tasks.{task}", root / "tasks" / task)):
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(path)]
            sys.modules[name] = pkg
    for name in ("datasets", "lmms_eval.utils"):  # stand-ins only where the real one is missing
        if name not in sys.modules and not installed(name):
            sys.modules[name] = types.ModuleType(name)
            sys.modules[name].Dataset = object
    sys.modules.setdefault("nltk", None)  # nextqa downloads corpora at import when nltk is there
    sys.modules.setdefault("pywsd", None)
    return importlib.import_module(f"lmms_eval.tasks.{task}.utils")


def installed(name: str) -> bool:
    """Whether ``name`` can be imported (a stand-in this module put in ``sys.modules`` is not)."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__spec__", None) is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def default_kwargs(task: str, yaml_name: str) -> dict:
    """The task's ``lmms_eval_specific_kwargs.default`` as its yaml file declares it."""
    root = Path(importlib.util.find_spec("lmms_eval").submodule_search_locations[0]) / "tasks" / task
    text = "".join(line for line in (root / yaml_name).read_text().splitlines(True) if "!function" not in line)
    return (yaml.safe_load(text).get("lmms_eval_specific_kwargs") or {}).get("default", {})


# -- the answers ------------------------------------------------------------------------------
def letter_answers(letters: str, texts: list[str], rng: random.Random, n: int = 320) -> list[str]:
    """Raw answers of every kind a model writes to a multiple-choice question."""
    forms = ["{L}", "({L})", "{L}.", "{L}:", "{L})", " {L} ", "{l}", "({l})", "{L}. {T}", "{L} {T}", "Answer: {L}",
             "The answer is {L}.", "The correct answer is ({L}).", "The best answer is {L}", "I choose {L}",
             "My answer is {L}, because {T} fits.", "答案是{L}", "정답은 {L}", "Best option: {L}", "The answer {L}",
             "{T}", "I think the video shows {T} in the end of it.", "Option {L}", "Not {L}, it is {M}.",
             "{L} or {M}", "({L}) or ({M})", "{L}. {M}.", "Between {L} and {M}, I pick {M}", "{L}{M}",
             "", "   ", "\n", "I don't know.", "None of the above", "It is unclear from the video what happens.",
             "A", "a", "The.", "e.g. {L}", "{L}!!!", "'{L}'", '"{L}"', "{L};", "...{L}...", "{L}\n\nExplanation: {T}",
             "<answer>{L}</answer>", "Answer:\n{M}", "**{L}**", "{L} - {T}", "1,000 people; {L}", "{T}. {L}.",
             "." * 40 + "{L}", "{L}" + "." * 40, "Both {L} and {M} are wrong; {T}", "The video (clearly) shows {M}"]
    out = []
    while len(out) < n:
        form = forms[len(out) % len(forms)] if len(out) < len(forms) else rng.choice(forms)
        L, M = rng.choice(letters), rng.choice(letters)
        T = texts[letters.index(L)] if texts else "something"
        out.append(form.format(L=L, l=L.lower(), M=M, T=T))
    return out


def time_answers(rng: random.Random, n: int = 320) -> list[str]:
    """Raw answers to a grounding question, in every format the time parser knows."""
    forms = ["The event happens in {a} - {b} seconds.", "{a} - {b}", "from {a} to {b}", "{a}s - {b}s",
             "It starts at {a} and ends at {b}.", "start time: {a}, end time: {b}", "0:{A:02d} - 0:{B:02d}",
             "00:00:{A:02d} to 00:00:{B:02d}", "The event starts at 0:{A:02d} and ends at 0:{B:02d}",
             "{b} - {a}", "happens in {a}–{b}", "between {a} and {b} seconds", "tomato {a} to {b}",
             "A specific example is : 20.8 - 30.0 seconds. The event happens in {a} - {b}.", "",
             "I cannot tell.", "{a}", "At {a}.\nIt ends at {b}!", "The person starts at {a}? ends {b}",
             "1:02:03 - 1:02:{B:02d}", "12.5 s - 20 s", "From the start to {b}", "{a}-{b}-{c}",
             "The action happens in 3 to 4 seconds and again in {a} to {b}.", "starts: {a}\nends: {b}",
             "start {a} end {b}", "The event happens at {a} seconds.", "time 5:00 - 7:30"]
    out = []
    while len(out) < n:
        form = forms[len(out) % len(forms)] if len(out) < len(forms) else rng.choice(forms)
        a = round(rng.uniform(0, 30), rng.choice([0, 1, 2]))
        b = round(a + rng.uniform(0.5, 15), rng.choice([0, 1]))
        out.append(form.format(a=a, b=b, c=round(b + 3, 1), A=int(a) % 60, B=int(b) % 60))
    return out


# -- the documents ----------------------------------------------------------------------------
def videomme_docs(rng, u, n):
    return [{"question_id": f"{i:03d}-1", "videoID": f"v{i % 40}", "duration": rng.choice(u.VIDEO_TYPE),
             "domain": rng.choice(u.CATEGORIES), "sub_category": rng.choice(u.SUB_CATEGORIES),
             "task_type": rng.choice(u.TASK_CATEGORIES), "question": f"What happens in scene {i}?",
             "options": [f"{c}. choice {c.lower()} {i}" for c in "ABCD"], "answer": rng.choice("ABCD")}
            for i in range(n)]


def mvbench_docs(rng, n):
    docs = []
    for i in range(n):
        cands = [f"candidate {j} of {i}" for j in range(rng.choice([2, 3, 4, 5]))]
        docs.append({"video": f"{i}.mp4", "question": f"What is done {i}?", "candidates": cands,
                     "answer": rng.choice(cands)})
    return docs


def nextqa_docs(rng, n):
    return [{"video": i, "question": f" Why did the boy {i} run? ", **{f"a{j}": f" reason {j} of {i} " for j in range(5)},
             "answer": rng.randrange(5)} for i in range(n)]


def egoschema_docs(rng, n):
    return [{"video_idx": f"e{i}", "question": f"What is C doing {i}?",
             "option": [f"{c}. activity {c.lower()} number {i}" for c in "ABCDE"], "answer": rng.randrange(5)}
            for i in range(n)]


def lvb_docs(rng, n):
    docs = []
    for i in range(n):
        k = rng.choice([4, 5])
        opts = {f"option{j}": (f"option text {j} {i}" if j < k else "N/A") for j in range(5)}
        docs.append({"id": f"q{i}", "question": f"Question {i}?", **opts, "correct_choice": rng.randrange(k),
                     "duration_group": rng.choice([15, 60, 600, 3600]),
                     "question_category": rng.choice(["T3O", "S2A", "E2O", "O3O"])})
    return docs


def charades_docs(rng, n):
    docs = []
    for i in range(n):
        a = round(rng.uniform(0, 20), 1)
        docs.append({"video": f"c{i % 50}.mp4", "caption": f"person does thing {i % 70}",
                     "timestamp": [a, round(a + rng.uniform(1, 10), 1)] if i % 3 else f"[{a}, {a + 4}]"})
    return docs


def _answers_for(docs, letters_of, texts_of, rng):
    pool = []
    for d in docs:
        pool += letter_answers(letters_of(d), texts_of(d), rng, n=1)
    return pool


# -- the checks -------------------------------------------------------------------------------
def test_videomme_scores_and_prompts_as_lmms_eval():
    u, rng = lmms("videomme"), random.Random(1)
    docs = videomme_docs(rng, u, 330)
    answers = letter_answers("ABCD", [f"choice {c}" for c in "abcd"], rng, 330)
    b = BENCHMARKS.get("videomme")
    rows, metrics = b.score_all(docs, answers)
    theirs = [u.videomme_process_results(d, [a])["videomme_perception_score"] for d, a in zip(docs, answers)]
    for a, r, t in zip(answers, rows, theirs):
        assert (r["pred"], r["score"]) == (t["pred_answer"], t["score"]), a
    assert metrics["accuracy"] == pytest.approx(u.videomme_aggregate_results(theirs), abs=1e-9)
    assert 0 < metrics["accuracy"] < 100 and len({r["pred"] for r in rows}) == 5  # "" and four letters
    kw = default_kwargs("videomme", "videomme.yaml")
    assert all(b.prompt(d) == u.videomme_doc_to_text(d, kw) for d in docs)


def test_mvbench_drops_empty_answers_from_the_denominator_as_lmms_eval_does():
    u, rng = lmms("mvbench"), random.Random(2)
    docs = mvbench_docs(rng, 330)
    answers = [letter_answers("ABCDE"[:len(d["candidates"])], d["candidates"], rng, 1)[0] for d in docs]
    answers[:40] = letter_answers("ABCDE", [], rng, 40)  # the template set first, for coverage
    b = BENCHMARKS.get("mvbench")
    rows, metrics = b.score_all(docs, answers)
    theirs = [u.mvbench_process_results(d, [a])["mvbench_accuracy"] for d, a in zip(docs, answers)]
    for a, r, t in zip(answers, rows, theirs):
        assert r["score"] == t["score"], a
    assert metrics["accuracy"] == pytest.approx(u.mvbench_aggregate_results(theirs), abs=1e-9)
    assert metrics["answered"] < len(docs)  # empty answers left the denominator
    kw = default_kwargs("mvbench", "mvbench_action_count.yaml")
    assert all(b.prompt(d) == u.mvbench_doc_to_text(d, kw) for d in docs)


def test_nextqa_random_fallbacks_draw_the_same_letters_when_seeded_the_same():
    u, rng = lmms("nextqa"), random.Random(3)
    docs = nextqa_docs(rng, 330)
    answers = [letter_answers("ABCDE", [d[f"a{j}"].strip() for j in range(5)], rng, 1)[0] for d in docs]
    answers[:57] = letter_answers("ABCDE", [f"reason {j} of 0" for j in range(5)], rng, 57)
    b = BENCHMARKS.get("nextqa")
    rows, metrics = b.score_all(docs, answers, seed=0)
    random.seed(0)  # lmms-eval's --seed default seeds Python's random with 0
    theirs = [u.nextqa_mc_process_results(d, [a])["exact_match"] for d, a in zip(docs, answers)]
    for a, r, t in zip(answers, rows, theirs):
        assert bool(r["score"]) == bool(t), a
    assert metrics["accuracy"] == pytest.approx(sum(theirs) / len(theirs), abs=1e-12)
    assert all(b.prompt(d) == u.nextqa_doc_to_text_mc(d, {}) for d in docs)


def test_egoschema_subset_is_a_fraction_with_lmms_evals_parser():
    u, rng = lmms("egoschema"), random.Random(4)
    docs = egoschema_docs(rng, 330)
    answers = [letter_answers("ABCDE", [o.split(". ", 1)[1] for o in d["option"]], rng, 1)[0] for d in docs]
    answers[:57] = letter_answers("ABCDE", [o.split(". ", 1)[1] for o in docs[0]["option"]], rng, 57)
    b = BENCHMARKS.get("egoschema")
    rows, metrics = b.score_all(docs, answers, seed=0)
    random.seed(0)
    theirs = [u.egoschema_process_results_generation(d, [a])["score"] for d, a in zip(docs, answers)]
    for a, r, t in zip(answers, rows, theirs):
        assert r["pred"] == t["pred"], a
    assert metrics["score"] == pytest.approx(u.egoschema_aggregate_score(theirs, None), abs=1e-12)
    assert 0 < metrics["score"] < 1
    kw = default_kwargs("egoschema", "egoschema_subset.yaml")
    assert all(b.prompt(d) == u.egoschema_doc_to_text(d, kw) for d in docs)


def test_longvideobench_scores_and_prompts_as_lmms_eval():
    u, rng = lmms("longvideobench"), random.Random(5)
    docs = lvb_docs(rng, 330)
    answers = [letter_answers("ABCDE", [d[f"option{j}"] for j in range(5)], rng, 1)[0] for d in docs]
    answers[:57] = letter_answers("ABCDE", [], rng, 57)
    b = BENCHMARKS.get("longvideobench")
    rows, metrics = b.score_all(docs, answers, seed=0)
    random.seed(0)
    theirs = [u.longvideobench_process_results(d, [a])["lvb_acc"] for d, a in zip(docs, answers)]
    for a, r, t in zip(answers, rows, theirs):
        assert r["pred"] == t["parsed_pred"], a
    assert metrics["accuracy"] == u.longvideobench_aggregate_results(theirs)
    kw = default_kwargs("longvideobench", "longvideobench_val_v.yaml")
    assert all(b.prompt(d) == u.longvideobench_doc_to_text(d, kw) for d in docs)


def test_charades_sta_reads_times_and_aggregates_as_lmms_eval():
    u, rng = lmms("charades_sta"), random.Random(6)
    docs = charades_docs(rng, 300)
    docs += [dict(d) for d in docs[:30]]  # the same item twice (Charades-STA has such rows)
    answers = time_answers(rng, 330)
    b = BENCHMARKS.get("charades_sta")
    rows, metrics = b.score_all(docs, answers)
    from vidtok.evals.charades_sta import interval

    for a in answers:
        theirs = u.extract_time(a)
        mine = interval(a)
        assert (mine is None and theirs == []) or [list(mine)] == [list(t) for t in theirs], a
    theirs = [u.temporal_grounding_process_results_generation(d, [a])["charades_sta_mIOU"]
              for d, a in zip(docs, answers)]
    ref = u._temporal_grounding_compute_metrics(theirs)
    assert metrics == pytest.approx({"R1@0.3": ref["IOU@3"], "R1@0.5": ref["IOU@5"], "R1@0.7": ref["IOU@7"],
                                     "mIoU": ref["mIOU"]}, abs=1e-9)
    assert len({r["key"] for r in rows}) < len(rows)  # repeated items counted once, as lmms-eval keys them
    kw = default_kwargs("charades_sta", "charades.yaml")
    assert all(b.prompt(d) == u.temporal_grounding_doc_to_text(d, kw) for d in docs)


def test_videomme_subtitle_prompt_is_lmms_evals(tmp_path, monkeypatch):
    """The subtitle setting's prompt, subtitle lines at lmms-eval's 32 sampled frames
    included, equals lmms-eval's for SRT files with repeated times, lines without the white
    font tag, and cues between the sampled frames."""
    import shutil

    from vidtok.decode import open_video
    from vidtok.evals.videomme import subtitles_for

    u = lmms("videomme")
    root = tmp_path / "videomme"
    (root / "data").mkdir(parents=True)
    (root / "subtitle").mkdir()
    monkeypatch.setattr(u, "base_cache_dir", str(tmp_path))
    b = BENCHMARKS.get("videomme_w_subtitle")
    kw = default_kwargs("videomme", "videomme_w_subtitle.yaml")
    rng = random.Random(7)
    for k, name in enumerate(["synthetic_cuts.mp4", "synthetic_static.mp4", "synthetic_object.mp4"]):
        shutil.copy(Path(__file__).parent.parent / "sample_videos" / name, root / "data" / f"v{k}.mp4")
        blocks, t = [], 0.0
        for i in range(40):
            a, t = t, t + rng.choice([0.05, 0.2, 0.31, 0.5])
            line = f'<font color="white" size=".72c">line {i} of v{k}</font>' if i % 7 else f"plain {i}"
            blocks.append(f"{i + 1}\n{u_time(a)} --> {u_time(t)}\n{line}")
        blocks.append(blocks[3].replace("line 3", "line 3 again"))  # the same times twice
        (root / "subtitle" / f"v{k}.srt").write_text("\n\n".join(blocks) + "\n")
        doc = {"videoID": f"v{k}", "question": "Q?", "options": ["A. a", "B. b", "C. c", "D. d"]}
        doc["_subtitles"] = subtitles_for(doc, root, open_video(root / "data" / f"v{k}.mp4"))
        assert b.prompt(doc) == u.videomme_doc_to_text_subtitle(doc, kw)
        assert "line" in doc["_subtitles"]
    doc = {"videoID": "none", "question": "Q?", "options": ["A. a"]}
    assert subtitles_for(doc, root, None) is None
    assert b.prompt({**doc, "_subtitles": None}) == u.videomme_doc_to_text_subtitle(doc, kw)


def u_time(t: float) -> str:
    ms = int(round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def test_vidtok_is_an_lmms_eval_model(tmp_path):
    """lmms-eval's own model registry finds ``vidtok`` through the entry point, and its
    ``generate_until`` on lmms-eval's own ``Instance`` requests answers as ``vidtok ask`` does
    on the same video and prompt, compression included, cut at the task's stop strings."""
    pytest.importorskip("pytz", reason="lmms-eval's model base class imports pytz (the dev extra has it)")
    from lmms_eval.api.instance import Instance
    from lmms_eval.models import get_model

    from vidtok.compress.request import Compression
    from vidtok.integrations.lmms_eval import cut
    from vidtok.models.loading import load_model
    from vidtok.tasks.ask import ask

    cls = get_model("vidtok")
    lm = cls(pretrained="random:qwen2_5_vl-tiny", method="holitom", budget=0.25)
    video = str(Path(__file__).parent.parent / "sample_videos" / "synthetic_cuts.mp4")
    lm.task_dict = {"t": {"test": [{"video": video}]}}
    doc_to_visual = lambda doc: [doc["video"]]  # noqa: E731
    reqs = [Instance("generate_until", (f"Question {i}?", {"max_new_tokens": 5, "until": ["\n\n"]}, doc_to_visual, 0,
                                        "t", "test"), idx=i, metadata={"task": "t", "doc_id": 0, "repeats": 1})
            for i in range(2)]
    got = lm.generate_until(reqs)
    m = load_model("random:qwen2_5_vl-tiny")
    want = [cut(ask(video, f"Question {i}?", m, compression=Compression.of("holitom", "0.25"), max_new_tokens=5,
                    use_cache=False)["answer"], ["\n\n"]) for i in range(2)]
    assert got == want and all(isinstance(a, str) for a in got)
    assert cut("A\n\nmore", ["\n\n"]) == "A" and cut("B. yes", "\n") == "B. yes"


LMMS_RUNTIME = ("accelerate", "datasets", "evaluate", "sacrebleu", "tenacity", "pytablewriter")


def test_lmms_eval_runs_a_local_task_with_vidtok_end_to_end(tmp_path):
    """lmms-eval's own command, offline, on a task and dataset this test writes: ``--model
    vidtok`` with a checkpoint directory and compression; lmms-eval writes its results and
    samples, and each sample's answer is vidtok's for that prompt and video."""
    import json
    import os
    import subprocess

    from .checkpoints import write_checkpoint

    missing = [m for m in LMMS_RUNTIME if not installed(m)]
    if missing:
        pytest.skip(f"lmms-eval's evaluator needs {', '.join(missing)} (the dev extra lists them)")
    video = str(Path(__file__).parent.parent / "sample_videos" / "synthetic_cuts.mp4")
    task = tmp_path / "task"
    task.mkdir()
    with open(task / "docs.jsonl", "w") as f:
        for i in range(3):
            f.write(json.dumps({"video": video, "question": f"What happens, part {i}?", "answer": "A"}) + "\n")
    (task / "vidtok_local.yaml").write_text(
        f"task: vidtok_local\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {task / 'docs.jsonl'}\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_visual: !function utils.doc_to_visual\n"
        "doc_to_text: !function utils.doc_to_text\ndoc_to_target: answer\ngeneration_kwargs:\n  max_new_tokens: 4\n"
        "process_results: !function utils.process_results\nmetric_list:\n  - metric: acc\n    aggregation: mean\n"
        "    higher_is_better: true\n")
    (task / "utils.py").write_text(
        "def doc_to_visual(doc):\n    return [doc['video']]\n\n\ndef doc_to_text(doc, lmms_eval_specific_kwargs=None):\n"
        "    return doc['question']\n\n\ndef process_results(doc, results):\n"
        "    return {'acc': float(results[0].strip().upper().startswith(doc['answer']))}\n")
    ckpt = write_checkpoint("qwen2_5_vl", tmp_path / "ckpt")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    r = subprocess.run([sys.executable, "-m", "lmms_eval", "--model", "vidtok", "--model_args",
                        f"pretrained={ckpt},method=holitom,budget=0.5", "--tasks", "vidtok_local", "--include_path",
                        str(task), "--output_path", str(tmp_path / "out"), "--batch_size", "1", "--log_samples"],
                       capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    samples = [json.loads(line) for p in (tmp_path / "out").rglob("*samples_vidtok_local.jsonl")
               for line in p.read_text().splitlines()]
    assert len(samples) == 3 and list((tmp_path / "out").rglob("*_results.json"))
    from vidtok.compress.request import Compression
    from vidtok.models.loading import load_model
    from vidtok.tasks.ask import ask

    m = load_model(str(ckpt))
    for s in samples:  # lmms-eval logs the prompt as "input" and the answer as "filtered_resps"
        mine = ask(video, s["input"], m, compression=Compression.of("holitom", "0.5"), max_new_tokens=4,
                   use_cache=False)["answer"]
        got = s["filtered_resps"]
        assert (got[0] if isinstance(got, list) else got) == mine, (s, mine)
