"""Frame access: exact frames and times, clamping, seeking, keyframe mode, backends."""

import importlib
import dataclasses
import time

import numpy as np
import pytest

from vidtok.decode import runs as runs_mod

import av
from vidtok import open_video
from vidtok.decode import DECODERS, available_backends
from vidtok.decode.base import Decoder
from vidtok.errors import DecodeTimeoutError
from .conftest import SAMPLES, SHARED, needs_shared


def reference_frames(path, stream_index=None):
    """Every frame by plain sequential PyAV decoding: the ground truth."""
    with av.open(str(path)) as c:
        s = c.streams.video[0] if stream_index is None else next(x for x in c.streams if x.index == stream_index)
        return [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(s)]


SAMPLE_FILES = ["synthetic_cuts.mp4", "film_bw_his_girl_friday_cc0.mp4", "animation_bbb_1s_vp9_opus.webm"]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_exact_frames_equal_sequential_decode(name):
    path = SAMPLES / name
    ref = reference_frames(path)
    v = open_video(path)
    assert len(v) == len(ref)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(ref), size=min(15, len(ref)), replace=False))
    f = v.get_frames(idx)
    assert f.indices.tolist() == idx.tolist()
    for i, t, rgb in zip(f.indices, f.times, f.data):
        assert t == pytest.approx(ref[i][0], abs=1e-9)
        np.testing.assert_array_equal(rgb, ref[i][1])


def test_duplicates_and_order_are_kept(cuts_video):
    v = open_video(cuts_video)
    f = v.get_frames([50, 3, 50, 199])
    assert f.indices.tolist() == [50, 3, 50, 199]
    np.testing.assert_array_equal(f.data[0], f.data[2])


def test_indices_past_end_are_clamped(cuts_video):
    v = open_video(cuts_video)
    f = v.get_frames([-5, 10_000])
    assert f.indices.tolist() == [0, len(v) - 1]
    assert f.times[-1] == pytest.approx(v.times[-1])


def test_frames_by_time(cuts_video):
    v = open_video(cuts_video)  # 25 fps
    f = v.get_frames_at([0.0, 1.0, 1.59, 1.61, 100.0])
    assert f.indices.tolist() == [0, 25, 39, 40, 199]
    assert f.times.tolist() == pytest.approx([0.0, 1.0, 1.56, 1.6, 7.96])


def test_sparse_sampling_does_not_decode_everything(cuts_video):
    v = open_video(cuts_video)  # keyframe every 50 frames
    v.get_frames([5, 120])
    st = v.decoder.stats
    # walks only the GOPs that hold the targets, and decodes in full only the targets
    assert st["seeks"] == 1  # the first run starts at the top of the file: no seek
    assert st["packets"] < 0.5 * len(v)
    assert st["full"] <= 2 + 4  # the targets and the frames a seek lands on


def test_parallel_runs_return_the_same_frames(cuts_video):
    v = open_video(cuts_video)  # keyframes at 0, 50, 100, 150
    want = [199, 3, 3, 60, 61, 120, 10, 149, 150, 0, 180]  # unordered, duplicated, every GOP
    runs = runs_mod.split_runs(v, np.unique(want), 3)
    assert len(runs) == 3
    one, many = v.get_frames(want, parts=1), v.get_frames(want, parts=3)
    assert many.indices.tolist() == want
    assert many.times.tolist() == one.times.tolist()
    np.testing.assert_array_equal(many.data, one.data)
    assert runs_mod.parallel_parts(open_video(cuts_video, threads=1)) == 1  # threads=1: one decoding thread
    assert open_video(cuts_video, threads=8).fork_for(2).decoder.threads == 4  # cores shared out
    assert open_video(cuts_video, threads=2).fork_for(4).decoder.threads == 1
    kf = v.get_frames(want, seek="keyframe", parts=3)
    np.testing.assert_array_equal(kf.data, v.get_frames(want, seek="keyframe", parts=1).data)


@pytest.mark.parametrize("backend", ["pyav", "opencv"])
def test_a_decode_run_is_one_worker_thread_unless_timeout_is_none(backend, cuts_video):
    """The stall timeout watches the one thread a run decodes in; ``timeout=None`` (the only
    opt-out, for every backend alike) decodes in the caller's thread."""
    import threading

    from vidtok.decode import DECODERS

    if not DECODERS.get(backend).available():
        pytest.skip(f"{backend} is not installed")

    def decoding_threads(v):
        inner, seen = v.decoder.iter_frames, set()

        def watched(*a, **kw):
            for item in inner(*a, **kw):
                seen.add(threading.get_ident())
                yield item

        v.decoder.iter_frames = watched
        assert len(list(v.iter_frames(range(40)))) == 40
        return seen

    threaded = decoding_threads(open_video(cuts_video, backend=backend))
    assert len(threaded) == 1 and threading.get_ident() not in threaded
    assert decoding_threads(open_video(cuts_video, backend=backend, timeout=None)) == {threading.get_ident()}


def test_keyframe_mode_snaps_and_keeps_exact_times(cuts_video):
    v = open_video(cuts_video)
    ref = reference_frames(cuts_video)
    f = v.get_frames([10, 60, 140], seek="keyframe")
    keys = v.index.keyframe_indices
    assert set(f.indices.tolist()) <= set(keys.tolist())
    assert f.indices.tolist() == [0, 50, 150]
    for i, t, rgb in zip(f.indices, f.times, f.data):
        assert t == pytest.approx(ref[i][0])
        np.testing.assert_array_equal(rgb, ref[i][1])


def test_resize_at_decode(cuts_video):
    """Resized frames are PyAV's own bilinear resize, frame after frame (the converter is
    kept between frames and sizes, so a stale one would show here)."""
    v = open_video(cuts_video)
    with av.open(str(cuts_video)) as c:
        raw = [f for _, f in zip(range(3), c.decode(c.streams.video[0]))]
    for size in [(80, 64), (48, 40)]:
        f = v.get_frames([0, 1, 2], size=size)
        assert f.data.shape == (3, size[1], size[0], 3)
        for got, frame in zip(f.data, raw):
            want = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="BILINEAR")
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(v.get_frames([2]).data[0], raw[2].to_ndarray(format="rgb24"))


def test_iter_frames_streams_in_order(cuts_video):
    v = open_video(cuts_video)
    got = [(i, t) for i, t, _ in v.iter_frames([150, 3, 40])]
    assert [i for i, _ in got] == [3, 40, 150]


@pytest.mark.parametrize("backend", ["opencv", "decord", "torchcodec"])
def test_other_backends_agree(cuts_video, backend):
    from vidtok.decode import DECODERS

    if backend not in available_backends():
        pytest.skip(f"{backend}: {DECODERS.get(backend).unavailable()}")
    a = open_video(cuts_video).get_frames([0, 45, 120, 199])
    b = open_video(cuts_video, backend=backend).get_frames([0, 45, 120, 199])
    assert b.indices.tolist() == a.indices.tolist()
    assert b.times.tolist() == a.times.tolist()  # times come from the one index
    # colour conversion differs slightly between libraries; content must not
    assert np.abs(a.data.astype(int) - b.data.astype(int)).mean() < 4


class _Stuck(Decoder):
    """A decoder that hangs, like decord on some files."""

    name = "stuck"

    @classmethod
    def available(cls):
        return True

    def iter_frames(self, indices, *, size=None, seek="exact", fast_resize=False):
        import time

        time.sleep(30)
        yield 0, None


def test_hanging_decoder_times_out(cuts_video):
    DECODERS.register("stuck", _Stuck)
    v = open_video(cuts_video, backend="stuck", timeout=0.5)
    with pytest.raises(DecodeTimeoutError) as e:
        v.get_frames([0])
    assert str(cuts_video) in str(e.value) and "no progress" in str(e.value)


def test_stall_timeout_hands_frames_over_in_batches_without_holding_slow_ones(monkeypatch):
    import time

    from vidtok.decode import handoff as hmod

    puts = []

    class Counting(hmod.queue.Queue):
        def put(self, item, *a, **kw):
            puts.append(item)
            return super().put(item, *a, **kw)

    monkeypatch.setattr(hmod.queue, "Queue", Counting)
    # fast frames, a busy consumer: every one arrives, in order, in few hand-offs
    got = []
    for i in hmod.with_stall_timeout(iter(range(300)), 5.0, "x.mp4", "t"):
        time.sleep(0.0005)
        got.append(i)
    assert got == list(range(300)) and len(puts) < 100

    def slow():  # each frame takes 0.3 s: held back for a batch, the second would wait 0.6 s
        for i in range(4):
            time.sleep(0.3)
            yield i

    def failing():  # an error reaches the caller after the frames decoded before it
        yield from range(3)
        raise ValueError("corrupt packet")

    got = []
    with pytest.raises(ValueError, match="corrupt packet"):
        for i in hmod.with_stall_timeout(failing(), 5.0, "x.mp4", "t"):
            got.append(i)
    assert got == [0, 1, 2]

    got, waits, t = [], [], time.perf_counter()
    for i in hmod.with_stall_timeout(slow(), 0.5, "x.mp4", "t"):
        waits.append(time.perf_counter() - t)
        got.append(i)
        t = time.perf_counter()
    assert got == [0, 1, 2, 3] and max(waits) < 0.5


@needs_shared
@pytest.mark.parametrize("stream", [0, 3])
def test_multistream_decodes_chosen_stream(stream):
    path = SHARED / "nasa_webb_cleanroom_multistream_subs.mp4"
    v = open_video(path, stream=stream)
    f = v.get_frames([0, len(v) - 1])
    assert f.data.shape[1:3] == ((180, 320) if stream == 0 else (270, 480))


@needs_shared
def test_vfr_exact_frames_and_times():
    path = SHARED / "static_cam_traffic_highway_vfr.mp4"
    v = open_video(path)
    ref = reference_frames(path)
    f = v.get_frames_at([11.50, 11.52, 20.0])
    assert f.indices.tolist() == [287, 288, 394]
    for i, rgb in zip(f.indices, f.data):
        np.testing.assert_array_equal(rgb, ref[i][1])


@needs_shared
def test_avi_packed_bframes_exact():
    # XviD packed B-frames: packet timestamps disagree with the decoded frames
    path = SHARED / "action_eye_makeup_xvid_mp3.avi"
    ref = reference_frames(path)
    f = open_video(path).get_frames([0, 1, 2, 3, 77, 163])
    for i, rgb in zip(f.indices, f.data):
        np.testing.assert_array_equal(rgb, ref[i][1])


@needs_shared
def test_long_video_skips_nonreference_frames():
    v = open_video(SHARED / "long_static_cam_fly_courtship_120s.mp4")
    v.get_frames(np.linspace(0, len(v) - 1, 16).round().astype(int), parts=1)  # stats of one decoder
    st = v.decoder.stats
    # mostly B-frames: far fewer packets decoded in full than walked
    assert st["full"] < 0.5 * st["packets"]


@needs_shared
def test_torchcodec_gives_the_same_frames_or_refuses_cleanly():
    """On every shared video the torchcodec backend returns PyAV's exact frames, except on
    the containers where it would return other frames (AVI with packed B-frames, MPEG-TS):
    there it refuses with a one-line error instead."""
    from vidtok.decode import DECODERS

    if "torchcodec" not in available_backends():
        pytest.skip(f"torchcodec: {DECODERS.get('torchcodec').unavailable()}")
    from vidtok.errors import NotAVideoError

    checked = refused = 0
    for p in sorted(SHARED.glob("*.*")):
        if p.suffix in (".md", ".json"):
            continue
        a = open_video(p)
        idx = np.linspace(0, len(a) - 1, 6).round().astype(int)
        ref = a.get_frames(idx)
        try:
            got = open_video(p, backend="torchcodec").get_frames(idx)
        except NotAVideoError as e:
            assert a.index.by_dts or "mpegts" in a.info.container, (p.name, str(e))
            assert "--backend pyav" in str(e)
            refused += 1
            continue
        assert got.times.tolist() == ref.times.tolist()
        assert np.abs(got.data.astype(int) - ref.data.astype(int)).mean() < 0.5, p.name
        checked += 1
    assert checked >= 10 and refused == 2


def test_one_frame_request_equals_the_same_frame_in_a_batch(cuts_video):
    v = open_video(cuts_video)
    one = v.get_frames([57])
    both = v.get_frames([56, 57])
    assert one.data.shape == (1, 120, 160, 3) and one.indices.tolist() == [57]
    assert one.times[0] == both.times[1]
    np.testing.assert_array_equal(one.data[0], both.data[1])
    np.testing.assert_array_equal(v.get_frames([57], size=(80, 60)).data[0], v.get_frames([56, 57], size=(80, 60)).data[1])


def test_index_counts_the_streams_compressed_bytes(cuts_video):
    import av

    v = open_video(cuts_video)
    with av.open(str(cuts_video)) as c:
        total = sum(p.size for p in c.demux(c.streams.video[0]))
    assert v.index.packet_bytes == total > 0
    assert v.index.bytes_per_frame == pytest.approx(total / len(v))


def test_hand_off_batches_hold_a_bounded_number_of_pixels(cuts_video):
    v = open_video(cuts_video)
    assert v.batch_frames() == 32  # 160x120: small frames go 32 at a time
    v.info = dataclasses.replace(v.info, width=1280, height=720)
    assert v.batch_frames() == 2
    v.info = dataclasses.replace(v.info, width=3840, height=2160)
    assert v.batch_frames() == 1
