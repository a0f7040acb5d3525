"""Every file a command writes: the destination is checked before any work (before a
model loads), written atomically, and nothing is left behind when the command fails."""

import json

import pytest

from .conftest import SAMPLES, one_line, run_cli
from .videogen import damage, write_clip

CUTS = str(SAMPLES / "synthetic_cuts.mp4")
TINY = "random:qwen2_5_vl-tiny"


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _commands(dest):
    """Each command that writes, with ``dest`` where it writes (a file or a folder)."""
    return {
        "sample --out": ["sample", CUTS, "-n", "2", "--out", str(dest)],
        "keyframes --out": ["keyframes", CUTS, "-m", "uniform", "-k", "2", "--out", str(dest)],
        "compress --out": ["compress", CUTS, "-n", "4", "--size", "64", "--out", str(dest)],
        "keyframes --report": ["keyframes", CUTS, "-m", "uniform", "-k", "2", "--report", str(dest)],
        "ask --report": ["ask", CUTS, "q", "-m", TINY, "--report", str(dest)],
        "ground --report": ["ground", CUTS, "q", "-m", TINY, "--report", str(dest)],
        "batch --out": ["batch", CUTS, "--task", "keyframes", "--out", str(dest)],
        "batch --report": ["batch", CUTS, "--task", "keyframes", "--out", str(dest.parent.parent / "ok.jsonl"),
                           "--report", str(dest)],
        "search --index": ["search", str(SAMPLES), "x", "--encoder", "random:clip-tiny", "--index", str(dest)],
    }


@pytest.mark.parametrize("name", list(_commands(SAMPLES / "x")))
def test_a_read_only_destination_fails_first(name, read_only, capsys, no_model):
    argv = _commands(read_only / "sub" / "result.json")[name]
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and one_line(err) and "cannot write" in err, err
    assert _leftovers(read_only) == []


@pytest.mark.parametrize("name", list(_commands(SAMPLES / "x")))
def test_a_file_where_a_folder_is_wanted_and_the_reverse(name, tmp_path, capsys, no_model):
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    a_dir = tmp_path / "folder"
    a_dir.mkdir()
    wants_dir = name.endswith("--out") and not name.startswith("batch")
    code, out, err = run_cli(_commands(a_file if wants_dir else a_dir)[name], capsys)
    assert code == 2 and one_line(err), err
    assert a_file.read_text() == "keep me" and _leftovers(a_dir) == []
    code, out, err = run_cli(_commands(a_file / "below" / "x")[name], capsys)  # a folder under a file
    assert code == 2 and one_line(err), err


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    clean = write_clip(d / "clean.mp4", "libx264", "yuv420p", 320, 240, n=120)
    return damage(clean, d / "damaged.mp4")


@pytest.mark.parametrize("argv", [["sample", "-n", "16"], ["keyframes", "-m", "uniform", "-k", "4"],
                                  ["compress", "-n", "8", "--size", "64"]])
def test_strict_failure_leaves_nothing(argv, damaged, tmp_path, capsys):
    out_dir = tmp_path / "out" / "frames"
    code, out, err = run_cli([argv[0], str(damaged), *argv[1:], "--strict", "--out", str(out_dir)], capsys)
    assert code == 4, err
    assert _leftovers(tmp_path) == []  # not even out/


def test_a_decode_that_fails_midway_leaves_nothing(tmp_path, capsys, monkeypatch):
    from vidtok.decode.video import Video
    from vidtok.errors import NotAVideoError

    real = Video.iter_frames

    def broken(self, *a, **kw):
        for n, item in enumerate(real(self, *a, **kw)):
            if n == 2:
                raise NotAVideoError("the data ends here", self.path)
            yield item

    monkeypatch.setattr(Video, "iter_frames", broken)
    code, out, err = run_cli(["sample", CUTS, "-n", "8", "--out", str(tmp_path / "frames")], capsys)
    assert code == 4 and one_line(err)
    assert _leftovers(tmp_path) == []


def test_outputs_replace_earlier_ones_whole(tmp_path, capsys):
    out_dir = tmp_path / "frames"
    assert run_cli(["sample", CUTS, "-n", "3", "--out", str(out_dir)], capsys)[0] == 0
    first = json.loads((out_dir / "frames.json").read_text())
    assert run_cli(["sample", CUTS, "-n", "5", "--out", str(out_dir)], capsys)[0] == 0
    assert len(json.loads((out_dir / "frames.json").read_text())["frames"]) == 5 != len(first["frames"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_write_file_is_atomic(tmp_path):
    from vidtok.output import write_file

    p = tmp_path / "report.html"
    p.write_text("old")

    def half(path):
        path.write_text("new, but")
        raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError):
        write_file(p, half)
    assert p.read_text() == "old" and _leftovers(tmp_path) == ["report.html"]
    write_file(p, "new")
    assert p.read_text() == "new" and _leftovers(tmp_path) == ["report.html"]


@pytest.mark.parametrize("how", ["a file", "read-only"])
def test_an_unusable_cache_means_running_without_it(how, tmp_path, capsys, monkeypatch, request):
    if how == "a file":
        cache = tmp_path / "cache"
        cache.write_text("not a folder")
    else:
        cache = request.getfixturevalue("read_only")
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(cache))
    for _ in range(2):
        code, out, err = run_cli(["keyframes", CUTS, "-m", "scenes", "--detector", "content", "--json"], capsys)
        assert code == 0, err
        assert json.loads(out)["cuts"]
        assert err.count("\n") == 1 and "cache cannot be used" in err and str(cache) in err, err
    code, out, err = run_cli(["ask", CUTS, "q", "-m", TINY, "--max-new-tokens", "2", "--json"], capsys)
    assert code == 0 and err.count("cache cannot be used") == 1, err


def test_batch_leaves_no_lock_file(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    code, stdout, err = run_cli(["batch", CUTS, "--task", "keyframes", "--selector", "uniform", "--out", str(out)],
                                capsys)
    assert code == 0, err
    assert _leftovers(tmp_path) == ["r.jsonl"]
