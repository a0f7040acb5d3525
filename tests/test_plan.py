"""Where a budget is spent (``vidtok.compress.plan``): ``--plan auto`` (the default) meets part
of a share budget before the vision tower, ``after`` none of it, ``frames=F`` F of the frames;
``--pre-keep F`` is ``frames=F`` by hand. The plan is in ``--json``, with each stage's time."""

from __future__ import annotations

import json

import pytest

from vidtok.compress.plan import DEFAULT_FRAMES_PER_BUDGET, frames_share
from vidtok.compress.request import Compression
from vidtok.errors import UsageError

from .conftest import SAMPLES, run_cli

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
                                                           "pre_keep": pytest.approx(0.3)}


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
