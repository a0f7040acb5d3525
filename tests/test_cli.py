"""The CLI: info and sample, and every bad input as one clear line with an exit code."""

import json
import os
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest

from .conftest import run_cli, SAMPLES


def run(argv, capsys):
    return run_cli(argv, capsys)


def test_info_json(capsys, cuts_video, cuts_truth):
    code, out, err = run(["info", str(cuts_video), "--json", "--frames"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["num_frames"] == cuts_truth["num_frames"]
    assert d["fps"] == pytest.approx(25)
    assert d["duration"] == pytest.approx(cuts_truth["num_frames"] / 25)
    assert len(d["frame_times"]) == d["num_frames"] and d["frame_times"][40] == pytest.approx(1.6)
    assert d["keyframes"][0] == 0


def test_info_human(capsys, cuts_video):
    code, out, _ = run(["info", str(cuts_video)], capsys)
    assert code == 0 and "200" in out and "h264" in out


def test_sample_writes_frames_and_times(capsys, tmp_path, cuts_video):
    code, out, err = run(["sample", str(cuts_video), "-n", "5", "--out", str(tmp_path / "f"), "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [r["index"] for r in d["frames"]] == [0, 50, 100, 149, 199]
    assert [r["time"] for r in d["frames"]] == pytest.approx([0, 2.0, 4.0, 5.96, 7.96])
    files = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert "frames.json" in files and len([f for f in files if f.endswith(".jpg")]) == 5
    assert json.loads((tmp_path / "f" / "frames.json").read_text())["frames"] == d["frames"]


def test_sample_fps_and_model_default(capsys, cuts_video):
    code, out, _ = run(["sample", str(cuts_video), "--fps", "2", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["num_frames"] == 16
    # the frame shown at 0.5 s (25 fps) is the one that starts at 0.48 s
    assert [r["time"] for r in d["frames"]][:3] == pytest.approx([0, 0.48, 1.0])
    code, out, _ = run(["sample", str(cuts_video), "--sampler", "qwen2_5_vl", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["num_frames"] == 16 and d["num_frames"] % 2 == 0
    assert all(x % 28 == 0 for x in d["frame_size"])


def test_sample_keyframe_mode(capsys, cuts_video):
    code, out, _ = run(["sample", str(cuts_video), "-n", "4", "--seek", "keyframe", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and [r["index"] for r in d["frames"]] == [0, 50, 150]


def test_methods_lists_components(capsys):
    code, out, _ = run(["methods", "--json"], capsys)
    names = {(r["kind"], r["name"]) for r in json.loads(out)}
    assert ("decoder", "pyav") in names and ("sampler", "qwen2_5_vl") in names


# -- bad input ---------------------------------------------------------------------------------

def _audio_only(path):
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        n = 0
        for _ in range(20):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate = 16000
            f.pts = n
            n += 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _garbage_frames(src, dst):
    """Same container and timestamps, every packet's payload replaced by noise."""
    rng = np.random.default_rng(1)
    with av.open(str(src)) as i, av.open(str(dst), "w", format="matroska") as o:
        si = i.streams.video[0]
        so = o.add_stream_from_template(si)
        for p in i.demux(si):
            if not p.size:
                continue
            q = av.Packet(rng.integers(0, 256, p.size, dtype=np.uint8).tobytes())
            q.pts, q.dts, q.time_base, q.stream = p.pts, p.dts, p.time_base, so
            o.mux(q)


def _make_bad(kind, tmp_path):
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "empty":
        p = tmp_path / "empty.mp4"
        p.write_bytes(b"")
        return p
    if kind == "text":
        p = tmp_path / "notes.mp4"
        p.write_text("this is not a video\n" * 20)
        return p
    if kind == "truncated":
        data = (SAMPLES / "film_bw_his_girl_friday_cc0.mp4").read_bytes()
        p = tmp_path / "truncated.mp4"
        p.write_bytes(data[: len(data) // 3])
        return p
    if kind == "truncated_no_index":
        data = (SAMPLES / "synthetic_cuts.mp4").read_bytes()  # index (moov) at the end
        p = tmp_path / "truncated2.mp4"
        p.write_bytes(data[: len(data) // 2])
        return p
    if kind == "audio_only":
        p = tmp_path / "speech.mp4"
        _audio_only(p)
        return p
    if kind == "directory":
        p = tmp_path / "folder.mp4"
        p.mkdir()
        return p
    if kind == "zero_frames":
        p = tmp_path / "noise.mkv"
        _garbage_frames(SAMPLES / "synthetic_cuts.mp4", p)
        return p
    if kind == "unicode_bad":
        p = tmp_path / "vidéo_测试 ✓.mp4"
        p.write_bytes(b"\x00" * 1000)
        return p
    raise AssertionError(kind)


BAD = {
    "missing": (3, "no such file"),
    "empty": (4, "empty file"),
    "text": (4, "not a video"),
    "truncated": (4, "truncated"),
    "truncated_no_index": (4, "not a video"),
    "audio_only": (4, "no video stream (audio only)"),
    "directory": (3, "is a directory"),
    "zero_frames": (4, "no decodable frames"),
    "unicode_bad": (4, "not a video"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("command", ["info", "sample"])
def test_bad_input_one_line_error(kind, command, tmp_path, capsys):
    path = _make_bad(kind, tmp_path)
    code, out, err = run([command, str(path)], capsys)
    want_code, want_text = BAD[kind]
    assert code == want_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    assert lines[0].startswith("vidtok: error: ") and str(path) in lines[0] and want_text in lines[0]
    assert "Traceback" not in err


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    p = tmp_path / "secret.mp4"
    shutil.copy(SAMPLES / "synthetic_static.mp4", p)
    p.chmod(0)
    if os.access(p, os.R_OK):  # running as root: permissions do not bind, simulate them
        real = os.access
        monkeypatch.setattr(os, "access", lambda q, m, *a, **k: False if str(q) == str(p) else real(q, m, *a, **k))
    code, _, err = run(["info", str(p)], capsys)
    assert code == 3 and "permission denied" in err and str(p) in err


def test_truncated_allowed_uses_present_frames(tmp_path, capsys):
    p = _make_bad("truncated", tmp_path)
    code, out, err = run(["info", str(p), "--json", "--allow-truncated"], capsys)
    d = json.loads(out)
    assert code == 0 and d["truncated"] and 0 < d["num_frames"] < 185
    code, out, err = run(["sample", str(p), "-n", "4", "--json", "--allow-truncated"], capsys)
    assert code == 0 and json.loads(out)["frames"][-1]["index"] == d["num_frames"] - 1


def test_unicode_file_name_works(tmp_path, capsys):
    p = tmp_path / "vidéo_测试 ✓.mp4"
    shutil.copy(SAMPLES / "synthetic_cuts.mp4", p)
    code, out, err = run(["sample", str(p), "-n", "3", "--json", "--out", str(tmp_path / "ü")], capsys)
    assert code == 0, err
    assert json.loads(out)["video"] == str(p)


def test_debug_shows_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidtok.cli.main", "--debug", "info", str(tmp_path / "x.mp4")],
                       capture_output=True, text=True)
    assert r.returncode == 3 and "Traceback" in r.stderr  # --debug keeps the documented exit code


def test_console_script_exit_code(tmp_path):
    exe = shutil.which("vidtok", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("vidtok console script not on this interpreter's bin path")
    r = subprocess.run([exe, "info", str(tmp_path / "x.mp4")], capture_output=True, text=True)
    assert r.returncode == 3 and r.stderr.count("\n") == 1


def test_bad_option_values(capsys, cuts_video):
    assert run(["sample", str(cuts_video), "--seek", "sideways"], capsys)[0] == 2
    assert run(["sample", str(cuts_video), "-n", "3", "--fps", "1"], capsys)[0] == 2
    assert run(["sample", str(cuts_video), "--sampler", "nope"], capsys)[0] == 2
    assert run(["info", str(cuts_video), "--stream", "5"], capsys)[0] == 2
