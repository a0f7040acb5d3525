"""HTML reports: user text escaped, and the page renders in headless Chromium."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from .conftest import run_cli

from vidtok.report.html import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def run(argv, capsys):
    return run_cli(argv, capsys)


def test_user_text_is_escaped():
    evil = "<script>alert('x')</script> & \"q\""
    page = render(evil, evil, question=evil, answer=evil, duration=10.0,
                  intervals=[{"start": 1.0, "end": 2.0, "score": 0.5}],
                  frames=[(0, 0.0, np.zeros((8, 8, 3), np.uint8))],
                  rows=[{"video": evil, "query": evil, "status": "error", "error": {"message": evil}}])
    assert "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_ground_report_renders_in_headless_chromium(tmp_path, capsys, samples):
    html = tmp_path / "ground.html"
    code, out, err = run(["ground", str(samples / "synthetic_object.mp4"), "a red square", "--via", "embed",
                          "--encoder", "random:clip-tiny", "--report", str(html), "--json"], capsys)
    assert code == 0 and html.exists()
    assert json.loads(out)["intervals"]
    png = tmp_path / "shot.png"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,800",
                        f"--screenshot={png}", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.exists(), r.stderr[-2000:]
    from PIL import Image

    im = np.asarray(Image.open(png).convert("RGB"))
    assert im.shape[0] >= 700 and im.shape[1] >= 900
    # the page drew something: not a blank screenshot
    assert (im.std(axis=(0, 1)) > 10).all()


def test_batch_report(tmp_path, capsys, samples):
    d = tmp_path / "v"
    d.mkdir()
    shutil.copy(samples / "synthetic_cuts.mp4", d)
    (d / "bad.mp4").write_text("<b>not</b> a video")
    html = tmp_path / "batch.html"
    code, _, _ = run(["batch", str(d), "--task", "keyframes", "-o", "detector=content", "--out", str(tmp_path / "r.jsonl"),
                      "--report", str(html), "--json"], capsys)
    page = html.read_text()
    assert code == 7 and "synthetic_cuts.mp4" in page and "3 cuts" in page and "<b>not" not in page


@pytest.mark.parametrize("argv", [
    ["ground", "{v}", "a red square", "-m", "random:qwen2_5_vl-tiny"],
    ["ground", "{v}", "a red square", "--via", "embed", "--encoder", "random:clip-tiny"],
    ["ask", "{v}", "what?", "-m", "random:qwen2_5_vl-tiny", "--max-new-tokens", "2"],
    ["keyframes", "{v}", "-m", "redundancy", "-k", "4"],
])
def test_a_command_with_its_report_probes_the_file_once(argv, tmp_path, capsys, samples, monkeypatch):
    """Open once: the command, its task and its report share one opened video, so the file
    is probed (demuxed) once, however many steps read frames from it."""
    from vidtok.decode import video as video_mod

    probes = []
    real = video_mod.probe
    monkeypatch.setattr(video_mod, "probe", lambda *a, **k: probes.append(a[0]) or real(*a, **k))
    path = str(samples / "synthetic_object.mp4")
    code, out, err = run_cli([a.replace("{v}", path) for a in argv] + ["--report", str(tmp_path / "r.html"), "--json"],
                             capsys)
    assert code == 0, err
    assert (tmp_path / "r.html").exists() and probes == [path]
