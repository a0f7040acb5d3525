"""The organisms: a small Qwen2.5-VL and a small Qwen3-VL trained here on the synthetic world
(``tests/organism/<family>``, ``docs/organism.md``); every test below runs for each. Their
held-out answers through vidtok's own ``eval`` path are asserted against the figures
measured when each was trained (``expected.json`` beside it, written by
``benchmarks/organism.py --ci --record``), at full tokens and at 25 % with the default method,
so a change that breaks what the organism has learned fails here; the other-video control
shows that its answers come from its visual tokens, and the shuffled-time control that tokens
placed at the wrong time lose the time questions, and the reversed-motion control that frames
swapped inside a temporal patch lose the direction of motion; each control is asserted on the
open-ended answers and on the multiple-choice letters. What it has not learned (blink counts,
small objects) these tests cannot guard (docs/organism.md).

Tolerance: decoding is greedy, so on one machine the figures repeat exactly; another CPU's
floating-point order can flip an answer whose two best letters are within rounding of each
other. ``TOLERANCE`` items of either set may flip (about 3 % of the QA items and 8 % of the
grounding items); a broken path moves far more (the control below).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORGANISMS = ROOT / "tests" / "organism"
#: the trained families (each a checkpoint directory under tests/organism/)
FAMILIES = ("qwen2_5_vl", "qwen3_vl")
TOLERANCE = 3  # items


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _load("organism_bench", ROOT / "benchmarks" / "organism.py")


@pytest.fixture(scope="module")
def world_dir(bench, tmp_path_factory):
    """The CI subset of held-out items (written once for every family)."""
    return bench.held_out(tmp_path_factory.mktemp("world"), bench.CI_VIDEOS)


@pytest.fixture(scope="module", params=FAMILIES)
def held_out(request, bench, world_dir):
    """The CI subset's items, opened as ``vidtok eval`` opens them, and one family's organism."""
    from vidtok.models.loading import load_model

    items, kinds, paths = bench.load(world_dir)
    return world_dir, load_model(str(ORGANISMS / request.param), device="cpu"), kinds, items, paths


def _expected(model, name: str) -> dict:
    rec = json.loads((Path(model.spec) / "expected.json").read_text())
    return next(r for r in rec["settings"] if r["setting"] == name)


@pytest.mark.parametrize("name,setting", [("full tokens", {}),
                                          ("holitom 25%", {"method": "holitom", "budget": "0.25"})])
def test_the_organism_answers_as_when_it_was_trained(bench, held_out, name, setting):
    d, model, kinds, items, _ = held_out
    got = bench.score(d, model, kinds, items, **setting)
    want = _expected(model, name)
    for key, n in (("open", len(items["open"])), ("mc", len(items["mc"])), ("miou", len(items["ground"]))):
        assert abs(got[key] - want[key]) * n <= TOLERANCE + 1e-9, (key, got, want)
    assert got["tokens"] == pytest.approx(want["tokens"], rel=0.02)


def test_another_videos_tokens_lose_the_colour_questions(bench, held_out):
    """The instrument can fail: answered from another video's tokens, the organism loses
    the colour of the named shape (its best-learned kind), so its answers come from the
    tokens it is given (measured when trained: colour 0.93 -> 0.26, open 0.90 -> 0.20,
    multiple choice 0.88 -> 0.32; Qwen3-VL 0.85 -> 0.30, 0.87 -> 0.17, 0.85 -> 0.25)."""
    d, model, kinds, items, paths = held_out
    full = _expected(model, "full tokens")
    with bench.Controls(paths) as c:
        c.other_video()
        got = bench.score(d, model, kinds, items)
    assert full["color"] - got["color"] >= 0.4, (got, full)
    assert full["open"] - got["open"] >= 0.25, (got, full)
    assert full["mc"] - got["mc"] >= 0.25, (got, full)  # the letters come from the tokens too


def test_tokens_at_the_wrong_time_lose_the_time_questions(bench, held_out):
    """The instrument catches tokens placed at the wrong time: each video's frame pairs through
    the tower in a shuffled order, their times kept, and the questions that need time (which
    shape appears first, the colour a shape turns into), asked open-ended and as multiple
    choice, fall, while the colour of a named shape (no time needed) stays. Measured when
    trained (docs/organism.md): order and turn in both forms 35 of 40 -> 19 of 40, colour 0.93
    -> 0.96; Qwen3-VL 35 of 40 -> 18 of 40, 0.85 -> 0.96. Grounding is only asked not to
    improve: it falls least (mIoU 0.63 -> 0.57, 0.61 -> 0.59), by what a couple of items'
    intervals move, as these organisms ground only ~0.1 of mIoU better than answering the whole
    video."""
    d, model, kinds, items, paths = held_out
    full = _expected(model, "full tokens")
    with bench.Controls(paths) as c:
        c.shuffled_time()
        got = bench.score(d, model, kinds, items)
    # the time questions in both forms: open-ended (columns by kind) and multiple choice (mc_<kind>)
    n = {k: sum(1 for it in items["open"] if kinds[it["line"]] == k) for k in ("order", "turn")}
    right = {r: sum(r_[form + k] * n[k] for k in n for form in ("", "mc_")) for r, r_ in (("full", full), ("shuffled", got))}
    assert sum(n.values()) >= 10 and right["full"] - right["shuffled"] >= 6, (right, got, full)
    assert got["miou"] <= full["miou"], (got, full)
    assert full["color"] - got["color"] <= 0.1, (got, full)


def test_motion_played_backwards_loses_the_direction_questions(bench, held_out):
    """The instrument catches frames in the wrong order inside a temporal patch: the organism
    reads which way a shape moves from the two frames its tower joins into one token (its
    tower learned motion in stage 0, ``--tower-motion``); with the two frames of every pair
    swapped (each token still at its time) the direction questions fall below chance, to the
    opposite answer, while the colour of a named shape stays. Measured when trained, for both
    families: direction 21 of 21 -> 0 of 21 open-ended and as multiple choice; colour 0.93 ->
    1.00 (Qwen3-VL 0.85 -> 0.89)."""
    d, model, kinds, items, paths = held_out
    full = _expected(model, "full tokens")
    with bench.Controls(paths) as c:
        c.reversed_motion()
        got = bench.score(d, model, kinds, items)
    assert full["direction"] >= 0.7, full  # learned (chance is 0.25 among four directions)
    n_dir = sum(1 for it in items["open"] if kinds[it["line"]] == "direction")
    # below chance, not at it: the answers are the opposite ones (a broken path would give chance)
    assert n_dir >= 10 and got["direction"] * n_dir <= TOLERANCE + 1e-9, (got, full)
    assert full["mc_direction"] - got["mc_direction"] >= 0.4, (got, full)
    assert abs(full["color"] - got["color"]) <= 0.1, (got, full)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_training_script_trains_and_writes_a_checkpoint_vidtok_loads(tmp_path, capsys, family):
    """A few steps of the real training script, both stages (stage 0 with moving pairs, so it
    keeps working), then its checkpoint answers through ``vidtok ask`` like any other."""
    train = _load("organism_train", ROOT / "tests" / "organism" / "train.py")
    last = train.train(family, tmp_path / "ckpt", steps=2, batch=4, per_video=2, lr=1e-3, aux_weight=0.5, easy_steps=1,
                       seed=0, eval_every=2, held_out=1, tower_steps=2, tower_scale=0.1, tower_motion=0.6,
                       log=lambda s: None)
    assert math.isfinite(last["loss"]) and math.isfinite(last["aux"])
    curve = [json.loads(line) for line in (tmp_path / "ckpt" / "train_log.jsonl").read_text().splitlines()]
    assert [r.get("tower_step") for r in curve] == [2, None]  # stage 0 (the tower on stills), then the videos
    assert 0 <= curve[0]["still/shape"] <= 1 and 0 <= curve[0]["still/direction"] <= 1  # moving pairs: direction read too
    from conftest import run_cli
    from vidtok import world

    world.write(tmp_path / "w", 1, seed=train.HELD_OUT_SEED)
    code, out, _ = run_cli(["ask", str(tmp_path / "w" / "data" / f"w{train.HELD_OUT_SEED}_00000.mp4"),
                            "What color is the square?", "-m", str(tmp_path / "ckpt"), "--json", "--no-cache"], capsys)
    r = json.loads(out)
    # 112x112 frames stay one temporal patch of 4x4 tokens (Qwen3-VL's processor sizes them to 128x128)
    assert code == 0 and r["visual_tokens_before"] == 16 * len(r["frame_indices"]) // 2


@pytest.mark.parametrize("family", FAMILIES)
def test_training_sees_what_vidtoks_path_gives_the_model(family):
    """The training forward (its own batching, the model's own processor, chat template,
    timestamps and M-RoPE) and vidtok's answering path give the same logits for the same
    frames and question, so what the organism learned is what ``vidtok ask`` and ``eval`` ask
    of it (positions included: without the video tokens' type ids transformers falls back to
    1-D positions, and a model trained so answers wrongly through the real path)."""
    import numpy as np
    import torch

    from vidtok.models.loading import load_model

    train = _load("organism_train", ROOT / "tests" / "organism" / "train.py")
    ckpt = ORGANISMS / family
    model, tok, proc, cls = train.resume(family, ckpt)
    (video, exs), = list(train.videos(train.HELD_OUT_SEED, 1, cls.default_sampler, start=1))
    gaps = np.diff(video["times"][0::2])
    assert gaps.max() - gaps.min() > 0.2  # frames unevenly on the 4 fps timeline: the case that differed
    ex = next(e for e in exs if e["form"] == "open")
    inp = train.Batcher(tok, proc)([(video, [ex])], with_answer=False)
    with torch.no_grad():
        want = train.forward(model, inp)[0].logits[0, -1]
    vm = load_model(str(ckpt), device="cpu")
    t = video["times"]
    ts = vm.encode(video["frames"], t, np.append(t[1:], t[-1] + 0.25), video["fps"])
    got = vm.prefill(vm.build_inputs(ts, ex["prompt"]), logits_to_keep=1).logits[0, -1]
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_a_new_language_model_trains_on_a_kept_tower_with_pointing(tmp_path, monkeypatch):
    """``--init DIR --fresh-text``: only the first checkpoint's tower kept, a new language
    model, calm videos first, the pointing loss on (eager attention while training; the
    checkpoint keeps sdpa), a few steps of each (how a language model is retrained on a
    tower without training the tower again; docs/organism.md)."""
    train = _load("organism_train", ROOT / "tests" / "organism" / "train.py")
    first = tmp_path / "first"
    train.train("qwen2_5_vl", first, steps=1, batch=2, per_video=2, lr=1e-3, aux_weight=0.5, easy_steps=1, seed=0,
                eval_every=1, held_out=1, log=lambda s: None)
    monkeypatch.setattr(train, "POINT", 1.0)
    last = train.train("qwen2_5_vl", tmp_path / "second", steps=3, batch=4, per_video=2, lr=1e-3, aux_weight=0.5,
                       easy_steps=1, seed=1, eval_every=3, held_out=1, init=first, fresh_text=True, grow=False,
                       calm_steps=2, log=lambda s: None)
    assert math.isfinite(last["loss"]) and math.isfinite(last["aux"])
    import torch
    from safetensors.torch import load_file

    a, b = load_file(first / "model.safetensors"), load_file(tmp_path / "second" / "model.safetensors")
    assert not all(torch.equal(a[k], b[k]) for k in a if "visual" not in k)  # the text model trained on
    kept = train.resume("qwen2_5_vl", first)[0].state_dict()
    new = train.resume("qwen2_5_vl", first, fresh_text=True, seed=5)[0].state_dict()
    vis, qs = [k for k in kept if ".visual." in k], [k for k in kept if k.endswith("q_proj.weight")]
    assert vis and qs
    assert all(torch.equal(new[k], kept[k]) for k in vis)  # the tower as the first checkpoint left it
    assert not any(torch.equal(new[k], kept[k]) for k in qs)  # a new language model
    cfg = json.loads((tmp_path / "second" / "config.json").read_text())
    assert "eager" not in json.dumps(cfg)



def test_new_layers_start_adding_nothing_and_the_letter_stage_trains_them(tmp_path, monkeypatch):
    """``--init DIR --add-layers N --letters W`` (the multiple-choice stage, docs/organism.md):
    the deepened model's logits equal the checkpoint's before any step (new layers add nothing
    to the residual until trained), the three multiple-choice losses are finite and reach every
    new layer, and the checkpoint it writes loads through vidtok with its new depth."""
    import torch

    train = _load("organism_train", ROOT / "tests" / "organism" / "train.py")
    first = tmp_path / "first"
    train.train("qwen2_5_vl", first, steps=1, batch=2, per_video=2, lr=1e-3, aux_weight=0.5, easy_steps=1, seed=0,
                eval_every=1, held_out=1, log=lambda s: None)
    model, tok, proc, cls = train.resume("qwen2_5_vl", first)
    groups = list(train.videos(train.HELD_OUT_SEED, 2, cls.default_sampler))
    inp = train.Batcher(tok, proc)(groups)
    assert any(inp["options"]) and (inp["words"] != -100).any()  # multiple-choice items among them
    deep = train.deepened(model, 2, seed=3)
    model.eval(), deep.eval()
    with torch.no_grad():
        torch.testing.assert_close(train.forward(deep, inp)[0].logits, train.forward(model, inp)[0].logits)
    monkeypatch.setattr(train, "LETTERS", 1.0)
    monkeypatch.setattr(train, "LETTER_IDS", {k: tok.convert_tokens_to_ids(c) for k, c in enumerate("ABCD")})
    deep.train()
    deep.set_attn_implementation({"text_config": "eager"})
    probes = train.make_probes(deep)
    out = train.forward(deep, inp, probes)[0]
    answers_at = (inp["labels"] != -100).float().argmax(1) - 1
    loss = train.letters_loss(deep, out, inp, probes["letter"], answers_at)
    assert math.isfinite(loss.item()) and loss.item() > 0
    (out.loss + loss).backward()
    for layer in deep.model.language_model.layers[-2:]:  # the zeroed projections are where the gradient enters
        assert layer.self_attn.o_proj.weight.grad.abs().sum() > 0 and layer.mlp.down_proj.weight.grad.abs().sum() > 0
    last = train.train("qwen2_5_vl", tmp_path / "deep", steps=2, batch=4, per_video=2, lr=1e-3, aux_weight=0.5,
                       easy_steps=0, seed=1, eval_every=2, held_out=1, init=first, grow=False, add_layers=2,
                       log=lambda s: None)
    assert math.isfinite(last["loss"]) and math.isfinite(last["aux"])
    from vidtok.models.loading import load_model

    vm = load_model(str(tmp_path / "deep"), device="cpu")
    assert len(vm.model.model.language_model.layers) == len(model.model.language_model.layers) + 2
