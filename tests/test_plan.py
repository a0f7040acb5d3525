"""Where a budget is spent (``vidtok.compress.plan``): ``--plan auto`` (the default) meets part
of a share budget before the vision tower, ``after`` none of it, ``frames=F`` F of the frames,
``pixels=P`` P of each frame's pixels (Qwen2.5-VL), ``tower=T`` T of the units through the
tower's later blocks (Qwen2.5-VL); ``--pre-keep F`` is ``frames=F`` by hand.
The plan is in ``--json``, with each stage's time."""

from __future__ import annotations

import json

import pytest

from vidtok.compress.plan import DEFAULT_FRAMES_PER_BUDGET, frames_share, pixels_share, tower_share
from vidtok.compress.request import Compression
from vidtok.errors import UsageError

from .conftest import ROOT, SAMPLES, run_cli

CUTS = str(SAMPLES / "synthetic_cuts.mp4")


def test_frames_share_of_each_plan():
    assert frames_share("auto", 0.1) == pytest.approx(DEFAULT_FRAMES_PER_BUDGET * 0.1)
    assert frames_share(None, 0.1) == frames_share("auto", 0.1)  # auto is the default
    assert frames_share("auto", 0.5) is None  # 3 x 0.5 >= 1: every frame through the tower
    assert frames_share("auto", None) is None  # a budget in tokens: its share is unknown before the tower
    assert frames_share("after", 0.1) is None
    assert frames_share("frames=0.4", 0.1) == 0.4
    assert frames_share("frames=1", 0.1) is None
    for bad in ("frames=0", "frames=1.5", "frames=x", "before", "frames"):
        with pytest.raises(UsageError, match="--plan"):
            frames_share(bad, 0.1)


def test_compression_resolves_the_plan_from_the_budget():
    c = Compression.of("holitom", "0.1")
    assert c.plan == "auto" and c.pre_keep == pytest.approx(0.3)
    assert Compression.of("holitom", "10%").pre_keep == pytest.approx(0.3)
    assert Compression.of("holitom", "0.1", plan="after").pre_keep is None
    assert Compression.of("holitom", "500").pre_keep is None
    assert Compression.of("holitom", "4/frame").pre_keep is None
    assert Compression.of("holitom", "0.1", pre_keep=0.5).pre_keep == 0.5  # by hand wins over auto
    assert Compression.of(None, None).pre_keep is None  # no compression asked: every frame
    assert Compression.of(None, None, plan="frames=0.5").pre_keep == 0.5
    with pytest.raises(UsageError, match="--pre-keep 0.5 and --plan after"):
        Compression.of("holitom", "0.1", pre_keep=0.5, plan="after")
    # chat's /budget re-plans with the same plan; /budget none turns both off
    c = Compression.of("holitom", "0.1").with_(budget="0.05")
    assert c.pre_keep == pytest.approx(0.15) and c.plan == "auto"
    assert Compression.of("holitom", "0.1", plan="after").with_(budget="0.05").pre_keep is None
    assert Compression.of("holitom", "0.1").with_(budget="").pre_keep is None
    assert Compression.of("holitom", "0.1").describe() == {"method": "holitom", "budget": "0.1", "plan": "auto",
                                                           "pre_keep": pytest.approx(0.3), "pixels": None,
                                                           "tower": None}


def test_ask_json_shows_the_plan_and_the_frames_it_kept_from_the_tower(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    base = ["ask", CUTS, "What?", "-m", "random:qwen2_5_vl-tiny", "--json", "--max-new-tokens", "2", "--budget", "0.1"]
    runs = {}
    for plan in ("auto", "after", "frames=0.5"):
        code, out, err = run_cli(base + ["--plan", plan], capsys)
        assert code == 0, err
        runs[plan] = json.loads(out)
    auto, after, half = runs["auto"], runs["after"], runs["frames=0.5"]
    assert after["frames_used"] == after["frames_sampled"] and after["compression"]["pre_keep"] is None
    assert half["frames_used"] < after["frames_used"] and half["compression"]["plan"] == "frames=0.5"
    assert auto["frames_used"] < half["frames_used"]  # 0.3 of the frames
    assert auto["compression"]["plan"] == "auto" and auto["compression"]["pre_keep"] == pytest.approx(0.3)
    # the budget is the same share of the full video's tokens under every plan
    assert auto["visual_tokens_before"] == after["visual_tokens_before"]
    assert auto["visual_tokens_after"] == after["visual_tokens_after"]
    assert auto["visual_tokens_encoded"] < after["visual_tokens_encoded"]
    assert {"decode", "encode", "compress", "prefill", "generate"} <= set(auto["seconds"])


def test_a_bad_plan_is_one_line_before_the_model(capsys):
    code, out, err = run_cli(["ask", CUTS, "What?", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.1", "--plan",
                              "frames=2"], capsys)
    assert code == 2 and "--plan 'frames=2'" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(["ask", CUTS, "What?", "-m", "random:qwen2_5_vl-tiny", "--pre-keep", "0.5", "--plan",
                              "after"], capsys)
    assert code == 2 and "give one" in err


def test_pixels_share_of_each_plan():
    assert pixels_share("pixels=0.25") == 0.25 and frames_share("pixels=0.25", 0.1) is None
    assert pixels_share("frames=0.5,pixels=0.25") == 0.25 and frames_share("frames=0.5,pixels=0.25", 0.1) == 0.5
    assert pixels_share("auto") is None and pixels_share("after") is None and pixels_share("pixels=1") is None
    c = Compression.of("holitom", "0.1", plan="pixels=0.3")
    assert c.pixels == 0.3 and c.pre_keep is None and c.with_(budget="0.05").pixels == 0.3
    for bad in ("pixels=0", "pixels=2", "pixels=0.3,pixels=0.2", "frames=0.5;pixels=0.2", "pixel=0.3"):
        with pytest.raises(UsageError, match="--plan"):
            pixels_share(bad)


def test_pixels_plan_shrinks_frames_and_keeps_the_budget_of_the_full_video(capsys, tmp_path, monkeypatch):
    """``pixels=0.25``: Qwen2.5-VL's own resize under a quarter of the per-frame pixels, about
    a quarter of the tokens through the tower; the budget stays a share of what the full-size
    frames cost, and the tokens are cached apart from the full-size ones."""
    import numpy as np

    from .videogen import write_frames

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)  # large enough frames that a quarter of them is above the processor's minimum
    video = str(write_frames(tmp_path / "big.mp4", [rng.integers(0, 255, (720, 1280, 3), np.uint8) for _ in range(8)]))
    base = ["ask", video, "What?", "-m", "random:qwen2_5_vl-tiny", "--json", "--max-new-tokens", "2", "--budget",
            "0.1", "--frames", "8"]
    runs, errs = {}, {}
    for plan in ("after", "pixels=0.25", "after", "frames=0.25,pixels=0.25"):
        code, out, err = run_cli(base + ["--plan", plan], capsys)
        assert code == 0, err
        runs.setdefault(plan, []).append(json.loads(out))
        errs[plan] = err
    full, small = runs["after"][0], runs["pixels=0.25"][0]
    assert "warning" not in errs["pixels=0.25"] and small["visual_tokens_budget"] == full["visual_tokens_budget"]
    # a quarter of the frames at a quarter of their pixels is ~6 % of the tokens: under the 10 % budget, said
    both = runs["frames=0.25,pixels=0.25"][0]
    assert both["visual_tokens_encoded"] < both["visual_tokens_budget"] == round(0.1 * full["visual_tokens_before"])
    assert f"left {both['visual_tokens_encoded']} visual tokens" in errs["frames=0.25,pixels=0.25"]
    assert f"({both['visual_tokens_budget']})" in errs["frames=0.25,pixels=0.25"]
    assert small["compression"]["pixels"] == 0.25 and small["frames_used"] == full["frames_used"]
    assert small["visual_tokens_before"] == full["visual_tokens_before"]
    assert small["visual_tokens_after"] == full["visual_tokens_after"]
    assert 0.15 * full["visual_tokens_encoded"] < small["visual_tokens_encoded"] < 0.35 * full["visual_tokens_encoded"]
    assert runs["after"][1]["visual_tokens_encoded"] == full["visual_tokens_encoded"]  # not the small ones' cache


def test_pixels_plan_shrinks_from_the_size_the_checkpoints_own_processor_gives(capsys, tmp_path, monkeypatch):
    """A checkpoint whose processor bounds differ from qwen-vl-utils' (the Qwen2.5-VL organism:
    56x56 to 224x224, so its 112x112 frames stay as they are): ``pixels=`` shrinks from that
    size, 0.6 to 84x84 (9 of 16 tokens a temporal patch), 0.3 to 56x56 (4), and no lower than
    its minimum. Sampled under qwen-vl-utils' own minimum (336x336), the frames were taken as
    upsampled and neither share shrank anything."""
    from vidtok import world

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    world.write(tmp_path / "w", 1, seed=1000)
    video = str(tmp_path / "w" / "data" / "w1000_00000.mp4")
    for plan, per_patch in (("after", 16), ("pixels=0.6", 9), ("pixels=0.3", 4), ("pixels=0.1", 4)):
        code, out, err = run_cli(["ask", video, "What color is the square?", "-m", str(ROOT / "tests" / "organism" /
                                  "qwen2_5_vl"), "--json", "--plan", plan], capsys)
        r = json.loads(out)
        assert code == 0 and r["visual_tokens_encoded"] == per_patch * len(r["frame_indices"]) // 2, (plan, err)


def test_pixels_plan_needs_a_family_that_takes_any_frame_size(capsys):
    code, out, err = run_cli(["ask", CUTS, "What?", "-m", "random:smolvlm2-tiny", "--budget", "0.1", "--plan",
                              "pixels=0.5", "--max-new-tokens", "2"], capsys)
    assert code == 2 and "pixels=" in err and "Qwen2.5-VL" in err and len(err.strip().splitlines()) == 1


def test_tower_share_of_each_plan():
    assert tower_share("tower=0.5") == 0.5 and tower_share("frames=0.5,pixels=0.5,tower=0.4") == 0.4
    assert tower_share("auto") is None and tower_share("after") is None and tower_share("frames=0.5") is None
    assert tower_share("tower=1") is None
    c = Compression.of("holitom", "0.1", plan="frames=0.5,tower=0.5")
    assert (c.pre_keep, c.pixels, c.tower) == (0.5, None, 0.5)
    for bad in ("tower=0", "tower=2", "tower=0.5,tower=0.5", "towers=0.5"):
        with pytest.raises(UsageError, match="--plan"):
            tower_share(bad)


def test_tower_plan_merges_inside_the_tower_and_keeps_the_budget_of_the_full_video(capsys, tmp_path, monkeypatch):
    """``tower=0.5``: half the units go on through the tower's later blocks; the budget stays a
    share of every unit, the method keeps it from what the tower gave, and the tokens are cached
    apart from the unmerged ones."""
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    base = ["ask", CUTS, "What?", "-m", "random:qwen2_5_vl-tiny", "--json", "--max-new-tokens", "2", "--budget",
            "0.1"]
    runs = {}
    for plan in ("after", "tower=0.5", "after"):
        code, out, err = run_cli(base + ["--plan", plan], capsys)
        assert code == 0, err
        runs.setdefault(plan, []).append(json.loads(out))
    full, merged = runs["after"][0], runs["tower=0.5"][0]
    assert merged["compression"]["tower"] == 0.5 and merged["frames_used"] == full["frames_used"]
    assert merged["visual_tokens_before"] == full["visual_tokens_before"]
    assert merged["visual_tokens_encoded"] == round(0.5 * full["visual_tokens_encoded"])
    assert merged["visual_tokens_after"] == full["visual_tokens_after"] == merged["visual_tokens_budget"]
    assert runs["after"][1]["visual_tokens_encoded"] == full["visual_tokens_encoded"]  # not the merged ones' cache


def test_tower_plan_needs_a_family_whose_tower_merges(capsys):
    code, out, err = run_cli(["ask", CUTS, "What?", "-m", "random:smolvlm2-tiny", "--budget", "0.1", "--plan",
                              "tower=0.5", "--max-new-tokens", "2"], capsys)
    assert code == 2 and "tower=" in err and "Qwen2.5-VL" in err and len(err.strip().splitlines()) == 1
