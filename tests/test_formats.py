"""Every pixel format and size people's footage comes in, through every command that decodes.

The clips are generated (tests/videogen.py): two flat-coloured shots with one hard cut, in
10-bit, 4:2:2, 4:4:4, 12-bit HEVC, ProRes, full-range, grey, planar and packed RGB, odd and
tiny sizes, and with rotation metadata. Each must decode to the colours it was written with,
cut where it was cut, and go through compress, ask and batch with no internal error.
"""

import json

import numpy as np
import pytest

from .conftest import run_cli
from .videogen import CUT, FORMATS, FRAMES, frames_rgb, write_clip, write_format

# what the second shot looks like in RGB, and in grey (BT.601 luma)
SHOT2 = np.array(frames_rgb(64, 64, FRAMES)[CUT + 1].reshape(-1, 3).mean(0))
GREY2 = float(SHOT2 @ [0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    paths = {name: write_format(folder, name) for name in FORMATS}
    paths["rotated-90"] = write_clip(folder / "rotated-90.mp4", "libx264", "yuv420p10le", 320, 240, rotation=90)
    return paths


CASES = [*FORMATS, "rotated-90"]


@pytest.mark.parametrize("name", CASES)
def test_info_and_sample_give_the_written_colours(name, clips, capsys, tmp_path):
    code, out, err = run_cli(["info", str(clips[name]), "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["num_frames"] == FRAMES
    code, out, err = run_cli(["sample", str(clips[name]), "-n", "2", "--json", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [f["index"] for f in d["frames"]] == [0, FRAMES - 1]
    _check_colours(name, clips[name], "pyav", info)


def _check_colours(name, path, backend, info):
    from vidtok.decode import open_video

    fr = open_video(path, backend=backend).get_frames([CUT + 1])
    if name == "rotated-90":
        assert fr.data.shape[1:3] == (320, 240), backend  # shown upright: the display matrix applied
    else:
        assert fr.data.shape[1:3] == (info["height"], info["width"]), backend
    mean = fr.data[0].reshape(-1, 3).mean(0)
    if name == "gray":
        assert np.allclose(mean, GREY2, atol=12), (backend, mean)
    else:
        # limited and full range, 8 to 12 bits: within a few levels of what was written
        assert np.allclose(mean, SHOT2, atol=12), (backend, mean, SHOT2)


@pytest.mark.parametrize("backend", ["opencv", "decord", "torchcodec"])
def test_other_backends_give_the_same_colours(backend, clips):
    from vidtok.decode import DECODERS, probe

    if not DECODERS.get(backend).available():
        pytest.skip(f"{backend}: {DECODERS.get(backend).unavailable()}")
    for name in CASES:
        info, _ = probe(clips[name])
        _check_colours(name, clips[name], backend, info.to_dict())


@pytest.mark.parametrize("name", CASES)
def test_keyframes_every_detector_finds_the_cut(name, clips, capsys):
    for detector in ("content", "adaptive", "all"):
        code, out, err = run_cli(["keyframes", str(clips[name]), "--detector", detector, "--json", "--no-cache"], capsys)
        assert code == 0, (detector, err)
        assert [c["index"] for c in json.loads(out)["cuts"]] == [CUT], detector
    code, out, err = run_cli(["keyframes", str(clips[name]), "--detector", "fade", "--json", "--no-cache"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["keyframes", str(clips[name]), "-m", "redundancy", "-k", "4", "--json", "--no-cache"], capsys)
    assert code == 0, err
    assert len(json.loads(out)["frames"]) == 4


@pytest.mark.parametrize("name", CASES)
def test_compress_and_ask(name, clips, capsys):
    code, out, err = run_cli(["compress", str(clips[name]), "-n", "4", "--size", "32", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["tokens_out"] > 0
    code, out, err = run_cli(["ask", str(clips[name]), "What colour?", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.5",
                              "--max-new-tokens", "2", "--json", "--no-cache"], capsys)
    assert code == 0, err
    assert json.loads(out)["visual_tokens_after"] > 0


def test_batch_over_every_format(clips, capsys, tmp_path):
    folder = next(iter(clips.values())).parent
    out_path = tmp_path / "kf.jsonl"
    code, out, err = run_cli(["batch", str(folder), "--task", "keyframes", "-o", "detector=content", "--out", str(out_path), "--json"], capsys)
    assert code == 0, err
    recs = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert len(recs) == len(CASES)
    assert all(r["status"] == "ok" for r in recs), [r for r in recs if r["status"] != "ok"]
