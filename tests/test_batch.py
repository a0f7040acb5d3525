"""Batch runs: one line per (video, query), error records for bad files, documented exit
code, exact resume after a kill, and recipes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from vidtok.batch.jsonl import JsonlWriter, read_done
from .conftest import run_cli, SAMPLES, SHARED, needs_shared


def run(argv, capsys):
    return run_cli(argv, capsys)


def folder(tmp_path, copies=1, broken=True):
    d = tmp_path / "videos"
    d.mkdir()
    for k in range(copies):
        for v in ("synthetic_cuts.mp4", "synthetic_static.mp4", "synthetic_object.mp4"):
            shutil.copy(SAMPLES / v, d / f"{k:02d}_{v}")
    if broken:
        (d / "broken.mp4").write_bytes(b"not a video at all" * 10)
    return d


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_batch_writes_one_line_per_video_and_an_error_record(tmp_path, capsys):
    d, out = folder(tmp_path), tmp_path / "r.jsonl"
    code, stdout, err = run(["batch", str(d), "--task", "keyframes", "-o", "detector=content", "--out", str(out), "--json"], capsys)
    assert code == 7  # documented: some items failed
    recs = lines(out)
    assert len(recs) == 4 and len({r["id"] for r in recs}) == 4
    bad = [r for r in recs if r["status"] == "error"]
    assert len(bad) == 1 and bad[0]["video"].endswith("broken.mp4")
    assert "broken.mp4" in bad[0]["error"]["message"] and bad[0]["error"]["exit_code"] == 4
    cuts = next(r for r in recs if r["video"].endswith("synthetic_cuts.mp4"))["result"]["cuts"]
    assert [c["index"] for c in cuts] == [40, 95, 150]
    # rerun: successes are skipped, the failure is retried and still recorded once
    code, stdout, _ = run(["batch", str(d), "--task", "keyframes", "-o", "detector=content", "--out", str(out), "--json"], capsys)
    s = json.loads(stdout)
    assert code == 7 and s["skipped_done"] == 3 and s["failed"] == 1
    assert len(lines(out)) == 4


def test_batch_all_good_exits_zero_and_queries_multiply(tmp_path, capsys):
    d, out = folder(tmp_path, broken=False), tmp_path / "r.jsonl"
    q = tmp_path / "q.txt"
    q.write_text("a red square\na cut\n")
    code, stdout, err = run(["batch", str(d), "--task", "keyframes", "--selector", "query", "--encoder", "random:clip-tiny",
                             "-k", "3", "--queries", str(q), "--out", str(out), "--json"], capsys)
    assert code == 0, err
    recs = lines(out)
    assert len(recs) == 6 and {r["query"] for r in recs} == {"a red square", "a cut"}


def test_killed_batch_resumes_exactly_once(tmp_path):
    d, out = folder(tmp_path, copies=6, broken=False), tmp_path / "r.jsonl"  # 18 videos
    cmd = [sys.executable, "-m", "vidtok.cli.main", "batch", str(d), "--task", "compress", "--budget", "0.1",
           "--out", str(out), "--workers", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    first = len(lines(out)) if out.exists() else 0
    assert first < 18, "the batch finished before it could be killed"
    r = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    recs = lines(out)
    ids = [x["id"] for x in recs]
    assert len(recs) == 18 and len(set(ids)) == 18
    assert json.loads(r.stdout)["skipped_done"] >= first - 1


def test_partial_last_line_is_dropped_on_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps({"id": "a", "status": "ok"}) + "\n" + '{"id": "b", "sta')
    w = JsonlWriter(out)
    assert set(w.done) == {"a"}
    w.write({"id": "b", "status": "ok"})
    w.close()
    assert set(read_done(out)[0]) == {"a", "b"} and len(out.read_text().splitlines()) == 2


def test_recipes_are_valid_and_flags_override(capsys):
    from vidtok.config import list_recipes, load_recipe, resolve

    names = list_recipes()
    assert {"fast-cpu", "balanced", "max-compression", "grounding", "long-video"} <= set(names)
    for n in names:
        load_recipe(n)
    cfg = resolve("balanced", budget="0.05")
    assert cfg.budget == "0.05" and cfg.method == "holitom"
    code, out, _ = run(["recipes", "--json"], capsys)
    assert code == 0 and len(json.loads(out)) == len(names)
    assert run(["batch", ".", "--recipe", "nope"], capsys)[0] == 2


@needs_shared
def test_batch_over_the_shared_videos_plus_a_corrupt_file(tmp_path, capsys):
    d = tmp_path / "v"
    d.mkdir()
    for p in SHARED.iterdir():
        if p.is_file() and p.suffix != ".md":
            os.symlink(p, d / p.name)
    (d / "corrupt.mp4").write_bytes((SAMPLES / "synthetic_cuts.mp4").read_bytes()[:5000])
    out = tmp_path / "r.jsonl"
    code, stdout, _ = run(["batch", str(d), "--task", "keyframes", "--selector", "uniform", "-k", "4",
                           "--out", str(out), "--json"], capsys)
    recs = lines(out)
    assert code == 7 and len(recs) == 16
    assert [r["video"].endswith("corrupt.mp4") for r in recs if r["status"] == "error"] == [True]


def test_ray_engine_gives_the_local_results(tmp_path, capsys):
    ray = pytest.importorskip("ray", reason="pip install 'vidtok[ray]'")
    d = folder(tmp_path)
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert run(["batch", str(d), "--task", "keyframes", "--out", str(local), "--json"], capsys)[0] == 7
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        code, out, err = run(["batch", str(d), "--task", "keyframes", "--engine", "ray", "--out", str(remote),
                              "--json"], capsys)
    finally:
        ray.shutdown()
    assert code == 7, err
    a = {r["id"]: r for r in lines(local)}
    b = {r["id"]: r for r in lines(remote)}
    assert a.keys() == b.keys()
    for k in a:
        assert a[k]["status"] == b[k]["status"] and a[k].get("result") == b[k].get("result")


def test_search_index_updates_incrementally(tmp_path, capsys):
    d = folder(tmp_path)  # 3 videos + a broken one
    idx = tmp_path / "idx.sqlite"
    args = ["search", str(d), "a red square", "--encoder", "random:clip-tiny", "--index", str(idx), "-k", "3", "--json"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    r = json.loads(out)
    assert r["index"]["added"] == 3 and len(r["index"]["failed"]) == 1 and r["index"]["videos"] == 3
    assert len(r["moments"]) == 3
    for m in r["moments"]:
        assert 0 <= m["start"] < m["end"] <= 8.0 + 1e-6 and m["video"].endswith(".mp4")
    # a second search embeds nothing new; adding a video embeds only that one
    code, out, _ = run(args, capsys)
    assert json.loads(out)["index"]["added"] == 0 and json.loads(out)["index"]["unchanged"] == 3
    shutil.copy(SAMPLES / "synthetic_cuts.mp4", d / "new.mp4")
    code, out, _ = run(args, capsys)
    r = json.loads(out)
    assert r["index"]["added"] == 1 and r["index"]["videos"] == 4
    (d / "new.mp4").unlink()
    code, out, _ = run(args, capsys)
    assert json.loads(out)["index"]["removed"] == 1


def test_batch_ask_passes_pre_keep_and_fastv(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    d = tmp_path / "v"
    d.mkdir()
    for name in ("synthetic_cuts.mp4", "synthetic_object.mp4"):
        shutil.copy(SAMPLES / name, d / name)
    out = tmp_path / "ask.jsonl"
    code, _, err = run(["batch", str(d), "--task", "ask", "-q", "What happens?", "-m", "random:qwen2_5_vl-tiny",
                        "--method", "fastv", "--budget", "0.1", "--pre-keep", "0.5", "--proportional",
                        "--out", str(out), "--json"], capsys)
    assert code == 0, err
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 2 and all(r["status"] == "ok" for r in recs)
    for r in recs:
        res = r["result"]
        assert res["frames_used"] < res["frames_sampled"]
        assert res["visual_tokens_after"] == round(0.1 * res["visual_tokens_before"])
