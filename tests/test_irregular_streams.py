"""Recordings that start without a keyframe (a TS capture started mid-GOP, a packet-level
cut) and recordings joined end to end (timestamps restart): every frame FFmpeg can
reconstruct is indexed with a unique, exact time and decoded as FFmpeg's own decode gives
it; backends that cannot do that refuse in one line."""

import json

import av
import numpy as np
import pytest

from .conftest import run_cli
from .videogen import write_frames

FPS = 25


def _frames(n: int, base: int = 0) -> list[np.ndarray]:
    """Each frame's colour encodes its number, and a bar moves: no two frames alike."""
    out = []
    for i in range(n):
        img = np.zeros((64, 96, 3), np.uint8)
        v = (i + base) * 2 % 256
        img[...] = (v, 255 - v, 128)
        img[:, (i * 3) % 90:(i * 3) % 90 + 6] = 255
        out.append(img)
    return out


@pytest.fixture(scope="module")
def irregular(tmp_path_factory):
    d = tmp_path_factory.mktemp("irregular")
    opts = {"crf": "18", "preset": "ultrafast", "g": "25", "bf": "2"}
    a = write_frames(d / "a.ts", _frames(100), options=opts)
    b = write_frames(d / "b.ts", _frames(60, 100), options=opts)
    data = a.read_bytes()
    cut = (len(data) // 3) // 188 * 188  # a capture that starts at a TS packet mid-GOP
    (d / "midgop.ts").write_bytes(data[cut:])
    (d / "joined.ts").write_bytes(data + b.read_bytes())  # `cat a.ts b.ts`
    # MPEG-TS timestamps are 33 bits: a recording whose clock passes 2^33 ticks (26.5 h at
    # 90 kHz) mid-file; FFmpeg's demuxer unwraps that one itself
    with av.open(str(d / "wrapped.ts"), "w", options={"output_ts_offset": "95442"}) as c:
        from fractions import Fraction

        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.codec_context.time_base = Fraction(1, FPS)
        s.options = opts
        for i, rgb in enumerate(_frames(100)):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, FPS)
            for pkt in s.encode(f.reformat(format="yuv420p")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return {"midgop": d / "midgop.ts", "joined": d / "joined.ts", "wrapped": d / "wrapped.ts"}


def ffmpeg_decode(path) -> tuple[list[int], list[np.ndarray]]:
    """FFmpeg's own decode of the file, start to end (raw pts, RGB)."""
    with av.open(str(path)) as c:
        frames = [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    return [p for p, _ in frames], [x for _, x in frames]


def test_a_mid_gop_start_is_indexed_from_the_first_frame_ffmpeg_reconstructs(irregular, capsys):
    from vidtok import open_video

    pts, ref = ffmpeg_decode(irregular["midgop"])
    code, out, err = run_cli(["info", str(irregular["midgop"]), "--json", "--frames"], capsys)
    assert code == 0, err
    info = json.loads(out)
    with av.open(str(irregular["midgop"])) as c:
        packets = sum(1 for p in c.demux(video=0) if p.size)
        tb = float(c.streams.video[0].time_base)
    assert info["num_frames"] == len(ref) and info["undecodable_leading_frames"] == packets - len(ref) > 0
    assert np.allclose(info["frame_times"], np.array(pts) * tb)
    v = open_video(irregular["midgop"])
    assert np.array_equal(v.get_frames(np.arange(len(v))).data, np.stack(ref))
    idx = np.array([0, 7, 24, 25, 31, len(v) - 1])
    got = v.get_frames(idx)
    assert np.array_equal(got.data, np.stack(ref)[idx]) and np.allclose(got.times, np.array(pts)[idx] * tb)
    assert not v.damage


def test_joined_recordings_keep_every_frame_with_unique_times(irregular, capsys):
    from vidtok import open_video

    pts, ref = ffmpeg_decode(irregular["joined"])
    code, out, err = run_cli(["info", str(irregular["joined"]), "--json", "--frames"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["num_frames"] == len(ref) == 160
    times = np.array(info["frame_times"])
    assert np.all(np.diff(times) > 0) and len(info["discontinuities"]) == 1
    assert np.allclose(np.diff(times), 1 / FPS)  # the second recording follows the first
    v = open_video(irregular["joined"])
    assert np.array_equal(v.get_frames(np.arange(len(v))).data, np.stack(ref))
    for idx in ([3, 99, 100, 101, 159], [120, 130], [5, 150]):  # across the join, only after it
        assert np.array_equal(v.get_frames(idx).data, np.stack(ref)[idx]), idx
    assert not v.damage


def test_a_wrapped_timestamp_keeps_every_frame(irregular):
    from vidtok import open_video

    pts, ref = ffmpeg_decode(irregular["wrapped"])
    v = open_video(irregular["wrapped"])
    assert len(v) == len(ref) == 100 and np.all(np.diff(v.times) > 0) and not v.info.discontinuities
    assert np.array_equal(v.get_frames(np.arange(len(v))).data, np.stack(ref))
    assert np.array_equal(v.get_frames([3, 42, 43, 90]).data, np.stack(ref)[[3, 42, 43, 90]])


@pytest.mark.parametrize("kind", ["midgop", "joined", "wrapped"])
def test_commands_work_on_irregular_streams(kind, irregular, capsys):
    path = str(irregular[kind])
    code, out, err = run_cli(["sample", path, "-n", "5", "--json"], capsys)
    assert code == 0, err
    s = json.loads(out)
    assert len(s["frames"]) == 5 and not s["damage"]["damaged_frames"]
    code, out, err = run_cli(["keyframes", path, "--method", "uniform", "-k", "4", "--json", "--no-cache"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["ask", path, "What happens?", "-m", "random:qwen2_5_vl-tiny", "--json", "--no-cache",
                              "--max-new-tokens", "2"], capsys)
    assert code == 0, err
    r = json.loads(out)
    info = json.loads(run_cli(["info", path, "--json", "--frames"], capsys)[1])
    assert np.all(np.isin(np.round(r["frame_times"], 3), np.round(info["frame_times"], 3)))


@pytest.mark.parametrize("kind", ["midgop", "joined"])
@pytest.mark.parametrize("backend", ["opencv", "decord", "torchcodec"])
def test_other_backends_give_ffmpegs_frames_or_refuse(kind, backend, irregular, capsys):
    from vidtok import open_video
    from vidtok.decode import DECODERS

    if not DECODERS.get(backend).available():
        pytest.skip(f"{backend}: {DECODERS.get(backend).unavailable()}")
    pts, ref = ffmpeg_decode(irregular[kind])
    if DECODERS.get(backend).reads_irregular_streams:
        v = open_video(irregular[kind], backend=backend)
        assert np.array_equal(v.get_frames(np.arange(len(v))).data, np.stack(ref))
    else:
        code, out, err = run_cli(["sample", str(irregular[kind]), "-n", "3", "--backend", backend], capsys)
        assert code == 4 and err.count("\n") == 1 and "--backend pyav" in err, err
