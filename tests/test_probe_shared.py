"""VideoInfo against ffprobe measurements and torchcodec's per-frame ground truth."""

import json
from fractions import Fraction

import numpy as np
import pytest

from vidtok.decode import probe
from .conftest import SHARED, needs_shared, shared_measurements

MEAS = shared_measurements()
NAMES = sorted(MEAS)


@needs_shared
@pytest.mark.parametrize("name", NAMES or ["(none)"])
def test_info_matches_ffprobe(name):
    m = MEAS[name]
    info, index = probe(SHARED / name, stream=m["video"][0]["index"])
    v = m["video"][0]
    assert info.codec == v["codec"]
    assert (info.width, info.height) == (v["width"], v["height"])
    assert info.rotation == 0 and v["rotation"] == []
    assert info.num_streams == len(m["video"]) + len(m["audio"]) + len(m["subtitles"])
    assert [s.index for s in info.video_streams] == [s["index"] for s in m["video"]]
    # every frame that ffmpeg decodes, exactly
    assert info.num_frames == m["decoded_frames_v0"]
    frame = 1.0 / float(Fraction(v["avg_frame_rate"]))
    if name.startswith("nasa_webb"):
        # ffprobe's 16.57 s counts the audio and subtitle tracks; the video stream ends at
        # 13.0 s (checked frame by frame against torchcodec below).
        assert abs(info.duration - 13.0) <= 1 / 25
    else:
        dur_err = min(abs(info.duration - m["duration_s"]), abs((info.container_duration or 0) - m["duration_s"]))
        assert dur_err <= frame, (info.duration, info.container_duration, m["duration_s"])
    assert info.is_vfr == ("vfr" in name)
    if "vfr" not in name:
        assert info.fps == pytest.approx(float(Fraction(v["avg_frame_rate"])), rel=0.01)
    assert len(index) == info.num_frames
    assert np.all(np.diff(index.times) > 0)


@needs_shared
@pytest.mark.parametrize("stream", [0, 3])
def test_multistream_frame_times_equal_torchcodec(stream):
    gt = json.loads((SHARED / "annotations" / "nasa_13013" / f"nasa_13013.mp4.stream{stream}.all_frames_info.json").read_text())
    info, index = probe(SHARED / "nasa_webb_cleanroom_multistream_subs.mp4", stream=stream)
    assert info.stream_index == stream
    expected = np.array([float(f["pts_time"]) for f in gt])
    assert len(index) == len(expected)
    np.testing.assert_allclose(index.times, expected, atol=1e-6)
    last = float(gt[-1]["pts_time"]) + float(gt[-1]["duration_time"])
    assert info.duration == pytest.approx(last, abs=1e-6)


@needs_shared
def test_best_stream_is_torchcodecs_default():
    info, _ = probe(SHARED / "nasa_webb_cleanroom_multistream_subs.mp4")
    assert info.stream_index == 3
    assert [s.index for s in info.video_streams] == [0, 3]


@needs_shared
def test_vfr_times_are_exact():
    info, index = probe(SHARED / "static_cam_traffic_highway_vfr.mp4")
    assert info.is_vfr
    # frames 0-287 at 25 fps, 288-575 at 12.5 fps (SOURCES.md)
    assert index.times[288] == pytest.approx(11.52)
    assert index.times[-1] == pytest.approx(34.48)
    np.testing.assert_allclose(np.diff(index.times[:288]), 0.04, atol=1e-9)
    np.testing.assert_allclose(np.diff(index.times[288:]), 0.08, atol=1e-9)


@needs_shared
def test_webm_keeps_real_start_time():
    # decord and OpenCV report times relative to the stream start (3 ms early here)
    info, index = probe(SHARED / "animation_bbb_0-30s_vp8_vorbis.webm")
    assert index.times[0] == pytest.approx(0.003)
    assert info.start_time == pytest.approx(0.003)
