"""``vidtok eval --benchmark``: a published benchmark's own file and video layout, asked with its
own prompt and scored by its own rules, resumable, checked whole before the model loads."""

import json
import shutil

import pytest

from .conftest import SAMPLES, one_line, run_cli

pa = pytest.importorskip("pyarrow", reason="parquet needs pip install 'vidtok[evals]'")


@pytest.fixture
def videomme(tmp_path):
    """Video-MME as `hf download lmms-lab/Video-MME` and lmms-eval's cache leave it: the
    parquet under videomme/, the videos under data/<videoID>.mp4."""
    import pyarrow.parquet as pq

    root = tmp_path / "videomme"
    (root / "data").mkdir(parents=True)
    (root / "videomme").mkdir()
    rows = []
    for i, name in enumerate(["synthetic_cuts.mp4", "synthetic_static.mp4", "synthetic_object.mp4"]):
        shutil.copy(SAMPLES / name, root / "data" / f"vid{i}.mp4")
        for q in range(2):
            rows.append({"video_id": f"{i:03d}", "duration": "short", "domain": "Knowledge",
                         "sub_category": "Astronomy", "url": "", "videoID": f"vid{i}", "question_id": f"{i:03d}-{q}",
                         "task_type": "Counting Problem", "question": f"How many cuts are there ({q})?",
                         "options": ["A. 0", "B. 1", "C. 2", "D. 3"], "answer": "ABCD"[(i + q) % 4]})
    pq.write_table(pa.Table.from_pylist(rows), root / "videomme" / "test-00000-of-00001.parquet")
    return root / "videomme" / "test-00000-of-00001.parquet"


def test_videomme_runs_from_its_published_layout_and_resumes(videomme, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "r.jsonl"
    argv = ["eval", str(videomme), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.5",
            "--out", str(out), "--json"]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    r = json.loads(stdout)
    setting = r["settings"][0]["setting"]
    assert r["items"] == 6 and setting["max_new_tokens"] == 16 and setting["method"] == "holitom"
    from vidtok.evals import BENCHMARKS

    bench = BENCHMARKS.get("videomme")
    # every row is the benchmark's own reading of the raw answer, and the metric its aggregate
    import random

    rng = random.Random(0)
    for row in r["rows"]:
        assert bench.score({"duration": "short", "answer": row["answer"]}, row["raw_answer"], rng)["pred"] == row["pred"]
    assert r["metrics"]["accuracy"] == pytest.approx(bench.aggregate(r["rows"])["accuracy"])
    assert all(0 < row["visual_tokens"] for row in r["rows"]) and len(out.read_text().splitlines()) == 6
    # a rerun asks nothing: every item is already in --out
    import vidtok.tasks.ask as ask_mod

    real_ask = ask_mod.ask
    monkeypatch.setattr(ask_mod, "ask", lambda *a, **k: pytest.fail("asked again"))
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0 and json.loads(stdout)["metrics"] == r["metrics"], err
    assert len(out.read_text().splitlines()) == 6
    monkeypatch.setattr(ask_mod, "ask", real_ask)


def test_a_method_by_budget_table_encodes_each_video_once(videomme, tmp_path, capsys, monkeypatch):
    """Two methods x two budgets in one run: four settings per item, one JSON line each, each
    video through the vision tower once per share of frames the plan sends through it (the
    later settings read the token cache), and every setting's headline relative to the first
    (here the full-token row)."""
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    import vidtok.models.qwen2_5_vl as qwen

    encoded, real = [], qwen.Qwen25VLAdapter.encode
    monkeypatch.setattr(qwen.Qwen25VLAdapter, "encode", lambda self, *a: encoded.append(1) or real(self, *a))
    out = tmp_path / "table.jsonl"
    code, stdout, err = run_cli(["eval", str(videomme), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny",
                                 "--method", "holitom;dtd,holitom", "--budget", "100%,25%", "--out", str(out),
                                 "--report", str(tmp_path / "table.html"), "--json"], capsys)
    assert code == 0, err
    r = json.loads(stdout)
    described = [(e["setting"]["method"], e["setting"]["budget"]) for e in r["settings"]]
    assert described == [("holitom", "100%"), ("holitom", "0.25"), ("dtd,holitom", "100%"), ("dtd,holitom", "0.25")]
    tokens = [e["mean_visual_tokens"] for e in r["settings"]]
    assert tokens[1] < tokens[0] and tokens[3] < tokens[2] and tokens[0] == tokens[2]
    full = r["settings"][0]["metrics"]["accuracy"]
    assert r["settings"][0]["relative"] == (1.0 if full else None)  # (a random model may score 0)
    assert len(r["rows"]) == 24 == len(out.read_text().splitlines())
    assert len(encoded) == 6, encoded  # --plan auto: all frames at 100 %, 0.75 of them at 25 %; each once per video
    assert [e["setting"]["pre_keep"] for e in r["settings"]] == [None, 0.75, None, 0.75]
    page = (tmp_path / "table.html").read_text()
    assert page.count("<tr>") == 5 and "<svg" in page and "dtd,holitom" in page


def test_benchmark_input_is_checked_before_the_model(videomme, tmp_path, capsys, no_model):
    (videomme.parent.parent / "data" / "vid2.mp4").unlink()
    code, out, err = run_cli(["eval", str(videomme), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny"], capsys)
    assert code == 3 and "no video at data/vid2.mp4" in err and one_line(err), err
    bad = tmp_path / "rows.jsonl"
    bad.write_text(json.dumps({"videoID": "x"}) + "\n")
    code, out, err = run_cli(["eval", str(bad), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny"], capsys)
    assert code == 2 and "row 1: not a videomme row" in err and one_line(err), err
    code, out, err = run_cli(["eval", str(bad), "--benchmark", "nosuch", "-m", "random:qwen2_5_vl-tiny"], capsys)
    assert code == 2 and "unknown benchmark 'nosuch'" in err, err


def test_videomme_with_subtitles_puts_the_sampled_frames_lines_in_the_prompt(videomme, tmp_path, capsys, monkeypatch):
    """Video-MME's subtitle setting reads subtitle/<videoID>.srt under the dataset's folder;
    a video without one is asked with "No subtitles available"."""
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    (videomme.parent.parent / "subtitle").mkdir()
    (videomme.parent.parent / "subtitle" / "vid0.srt").write_text(
        '1\n00:00:00,000 --> 00:00:04,000\n<font color="white" size=".72c">the first words</font>\n\n'
        '2\n00:00:04,000 --> 00:00:08,000\n<font color="white" size=".72c">and the last ones</font>\n')
    import vidtok.tasks.ask as ask_mod

    asked, real = [], ask_mod.ask
    monkeypatch.setattr(ask_mod, "ask", lambda v, q, *a, **k: asked.append(q) or real(v, q, *a, **k))
    code, out, err = run_cli(["eval", str(videomme), "--benchmark", "videomme_w_subtitle", "-m",
                              "random:qwen2_5_vl-tiny", "--limit", "3", "--json"], capsys)
    assert code == 0, err
    assert asked[0].startswith("This video's subtitles are listed below: \nthe first words\nand the last ones\n")
    assert asked[2].startswith("This video's subtitles are listed below: \nNo subtitles available\n")


def test_ray_engine_gives_the_local_rows(videomme, tmp_path, capsys, monkeypatch):
    """--engine ray: the items answered by a local Ray cluster's actors, scored and written by
    the driver in item order: the same rows as the local run."""
    ray = pytest.importorskip("ray", reason="pip install 'vidtok[ray]'")
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    base = ["eval", str(videomme), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.5",
            "--no-cache", "--json"]
    code, out, err = run_cli(base + ["--out", str(tmp_path / "local.jsonl")], capsys)
    assert code == 0, err
    local = json.loads(out)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        code, out, err = run_cli(base + ["--engine", "ray", "--out", str(tmp_path / "ray.jsonl")], capsys)
    finally:
        ray.shutdown()
    assert code == 0, err
    remote = json.loads(out)
    assert [r["raw_answer"] for r in remote["rows"]] == [r["raw_answer"] for r in local["rows"]]
    assert remote["metrics"] == local["metrics"] and len((tmp_path / "ray.jsonl").read_text().splitlines()) == 6


def test_a_checkpoint_runs_videomme_from_its_dataset_folder_and_lmms_eval_rescores_the_jsonl(videomme, tmp_path,
                                                                                               capsys, monkeypatch):
    """`vidtok eval --benchmark videomme --data <folder> --method holitom --budget 100%,10% -m
    <checkpoint dir>` writes the JSONL, the table, the plot and the report; each JSON line's raw
    answer rescored by lmms-eval's own functions gives vidtok's score."""
    from .checkpoints import write_checkpoint

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    ckpt = write_checkpoint("qwen2_5_vl", tmp_path / "ckpt")
    out, page = tmp_path / "vm.jsonl", tmp_path / "vm.html"
    code, stdout, err = run_cli(["eval", "--benchmark", "videomme", "--data", str(videomme.parent.parent), "--method",
                                 "holitom", "--budget", "100%,10%", "-m", str(ckpt), "--out", str(out), "--report",
                                 str(page)], capsys)
    assert code == 0, err
    assert "relative" in stdout and "visual tokens" in stdout  # the table on the terminal
    html = page.read_text()
    assert "<svg" in html and "<polyline" in html and html.count("<tr>") == 3  # the plot and the two settings
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 12 and {line["setting"]["budget"] for line in lines} == {"100%", "0.1"}
    import importlib.util

    if importlib.util.find_spec("lmms_eval") is None:
        pytest.skip("rescoring with lmms-eval needs pip install --no-deps lmms-eval==0.7.3 (as .ci/run does)")
    from .test_evals import lmms

    u = lmms("videomme")
    import pyarrow.parquet as pq

    docs = pq.read_table(videomme).to_pylist()
    for line in lines:
        row = line["row"]
        theirs = u.videomme_process_results(docs[row["row"] - 1], [row["raw_answer"]])["videomme_perception_score"]
        assert (theirs["pred_answer"], theirs["score"]) == (row["pred"], row["score"])


def test_a_killed_two_setting_eval_resumes_each_item_and_setting_once(videomme, tmp_path, capsys, monkeypatch):
    """Killed after the fifth answer of twelve (six items x two settings), the rerun asks the
    other seven: --out then holds each (item, setting) exactly once, as one run writes it."""
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    import vidtok.tasks.benchmark as bench_mod

    out = tmp_path / "r.jsonl"
    argv = ["eval", str(videomme), "--benchmark", "videomme", "-m", "random:qwen2_5_vl-tiny", "--budget", "100%,25%",
            "--out", str(out), "--json"]
    real, calls = bench_mod.ask_one, []

    def dies_at_five(*a, **k):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(bench_mod, "ask_one", dies_at_five)
    code, stdout, err = run_cli(argv, capsys)
    assert code == 130 and len(out.read_text().splitlines()) == 5, err
    calls.clear()
    monkeypatch.setattr(bench_mod, "ask_one", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0 and len(calls) == 7, err
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert len(ids) == 12 == len(set(ids))
    whole = tmp_path / "whole.jsonl"
    monkeypatch.setattr(bench_mod, "ask_one", real)
    code, again, err = run_cli(argv[:-2] + [str(whole), "--json"], capsys)
    timeless = lambda rows: [{k: v for k, v in r.items() if k not in ("ttft", "seconds")} for r in rows]  # noqa: E731
    assert timeless(json.loads(again)["rows"]) == timeless(json.loads(stdout)["rows"])  # as one run gives them
