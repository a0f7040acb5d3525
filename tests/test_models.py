"""Video-LLM adapters on tiny random models built from real configs (CPU, no weights):
compression cuts tokens, ask/ground/eval run. That vidtok's input equals the model's own
processor and forward is tested on real checkpoint directories in test_checkpoints.py."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidtok.compress import compress
from vidtok.models.loading import load_model
from vidtok.tasks.parse import parse_intervals
from .conftest import SAMPLES, SHARED, needs_shared, run_cli

# transformers removes what it deprecates: any deprecation warning it raises on the
# adapters' paths fails these tests
pytestmark = pytest.mark.filterwarnings("error::FutureWarning:transformers.*", "error::DeprecationWarning:transformers.*")

FAMILIES = ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm2"]


@pytest.fixture(scope="module", params=FAMILIES)
def model(request):
    return load_model(f"random:{request.param}-tiny", device="cpu")


def frames_for(model, T=4):
    size = model.frame_size or ((96, 64) if model.family == "qwen3_vl" else (84, 56))
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (T, size[1], size[0], 3), dtype=np.uint8), np.arange(T) / 2.0


def test_compressed_inputs_keep_original_positions(model):
    frames, times = frames_for(model)
    ts = model.encode(frames, times, times + 0.5, 2.0)
    full = model.build_inputs(ts, "q")
    small = compress(ts, "tome", max(1, len(ts) // 4))
    inp = model.build_inputs(small, "q")
    assert inp.num_visual == len(small) < full.num_visual
    assert inp.inputs_embeds.shape[1] == full.inputs_embeds.shape[1] - (len(ts) - len(small))
    if model.family == "qwen2_5_vl":
        # each kept token's 3-D position is its original (t, h, w) position
        start = len(model._prompt_ids("q")[0])
        ordered = small.sorted()
        full_cols = start + ordered.flat_pos()
        torch.testing.assert_close(inp.position_ids[:, 0, start:start + len(small)], full.position_ids[:, 0, full_cols])
    info = model.generate(inp, max_new_tokens=4)
    assert isinstance(info.text, str) and info.new_tokens <= 4


def run(argv, capsys):
    return run_cli(argv, capsys)


@pytest.mark.parametrize("family", FAMILIES)
def test_ask_cli_reports_tokens_and_budget_cuts_90_percent(family, capsys, samples, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    video = str(samples / "film_bw_his_girl_friday_cc0.mp4")
    code, out, err = run(["ask", video, "What is the person doing?", "-m", f"random:{family}-tiny", "--json",
                          "--max-new-tokens", "4"], capsys)
    assert code == 0, err
    full = json.loads(out)
    assert full["visual_tokens_before"] == full["visual_tokens_after"] > 0 and full["frames_used"] > 0
    assert not full["cached_tokens"]
    code, out, err = run(["ask", video, "And now?", "-m", f"random:{family}-tiny", "--json", "--budget", "0.1",
                          "--max-new-tokens", "4", "--plan", "after"], capsys)
    small = json.loads(out)
    # every frame through the tower again (--plan after): the second question reuses the visual tokens
    assert code == 0 and small["cached_tokens"]
    assert small["visual_tokens_after"] <= 0.1 * small["visual_tokens_before"] + 1
    assert "decode" not in small["seconds"] and "encode" not in small["seconds"]


@needs_shared
@pytest.mark.parametrize("family", FAMILIES)
def test_ask_on_the_shared_cooking_video(family, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    code, out, err = run(["ask", str(SHARED / "cooking_flipping_pancake_h264_opus.mkv"), "What is the person doing?",
                          "-m", f"random:{family}-tiny", "--json", "--budget", "0.1", "--max-new-tokens", "2"], capsys)
    d = json.loads(out)
    assert code == 0 and d["visual_tokens_after"] <= 0.1 * d["visual_tokens_before"] + 1


@pytest.mark.parametrize("family", FAMILIES)
def test_ground_cli_returns_intervals_inside_the_video(family, capsys, samples, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    video = samples / "synthetic_object.mp4"
    code, out, err = run(["ground", str(video), "a red square", "-m", f"random:{family}-tiny", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["intervals"] and all(0 <= iv["start"] < iv["end"] <= d["duration"] + 1e-6 for iv in d["intervals"])


def test_ground_via_embed_and_subtitles(capsys, samples):
    video = str(samples / "synthetic_object.mp4")
    code, out, _ = run(["ground", video, "a red square", "--via", "embed", "--encoder", "random:clip-tiny", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and all(0 <= iv["start"] < iv["end"] <= 6.0 for iv in d["intervals"])
    assert len(d["curve"]["times"]) == len(d["curve"]["similarity"]) == 12
    code, out, _ = run(["ground", video, "a red square", "--via", "embed", "--encoder", "random:clip-tiny", "--vtt"], capsys)
    assert code == 0 and out.startswith("WEBVTT") and "-->" in out


def test_similarity_intervals_find_the_plateau():
    from vidtok.tasks.ground import similarity_intervals

    t = np.arange(100) / 10
    sim = np.zeros(100)
    sim[30:50] = 1.0
    iv = similarity_intervals(t, sim, 10.0, smooth=1)
    assert iv[0]["start"] == pytest.approx(3.0) and iv[0]["end"] == pytest.approx(5.0)


@needs_shared
def test_eval_on_charades(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    ann = SHARED / "annotations" / "charades" / "Y1HGC_charades_sta_test.txt"
    code, out, err = run(["eval", str(ann), "--task", "ground", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.1",
                          "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["items"] == 1 and set(d["metrics"]) == {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}
    assert d["rows"][0]["truth"] == [0.2, 9.8]


def test_models_cli_lists_families(capsys):
    code, out, _ = run(["models", "--json"], capsys)
    fams = {r["family"] for r in json.loads(out)["families"]}
    assert code == 0 and set(FAMILIES) <= fams


def test_unknown_random_family_is_a_usage_error(capsys, samples):
    code, _, err = run(["ask", str(samples / "synthetic_static.mp4"), "q", "-m", "random:nope-tiny"], capsys)
    assert code == 2 and "unknown model family" in err


# -- answer parsing --------------------------------------------------------------------------

def clock(t):
    m, s = divmod(t, 60)
    return f"{int(m):02d}:{s:05.2f}"


FORMATS = [
    lambda a, b: f"{a:.1f}-{b:.1f}s",
    lambda a, b: f"The event happens from {a:.2f} to {b:.2f} seconds.",
    lambda a, b: f"[{a:.2f}, {b:.2f}]",
    lambda a, b: f"between {clock(a)} and {clock(b)}",
    lambda a, b: f"from {clock(a)} to {clock(b)}",
    lambda a, b: f"({a:.1f} - {b:.1f} sec)",
]


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0, 500), length=st.floats(0.5, 100), fmt=st.sampled_from(range(len(FORMATS))),
       swap=st.booleans())
def test_parser_recovers_generated_answers(a, length, fmt, swap):
    b = a + length
    x, y = (b, a) if swap else (a, b)
    got = parse_intervals(FORMATS[fmt](x, y), duration=1000.0)
    assert got, FORMATS[fmt](x, y)
    assert got[0][0] == pytest.approx(a, abs=0.06) and got[0][1] == pytest.approx(b, abs=0.06)


@settings(max_examples=100, deadline=None)
@given(a=st.floats(0, 2000), b=st.floats(0, 2000), dur=st.floats(1, 1000))
def test_parser_clamps_to_the_video(a, b, dur):
    for s, e in parse_intervals(f"from {a:.2f} to {b:.2f}", dur):
        assert 0 <= s < e <= dur


def test_parser_relative_and_percent():
    assert parse_intervals("20% to 40%", 50.0) == [(10.0, 20.0)]
    assert parse_intervals("0.25 - 0.5", 40.0, relative=True) == [(10.0, 20.0)]
    assert parse_intervals("no times here", 10.0) == []


def test_prefix_kv_cache_gives_the_same_logits(model):
    frames, times = frames_for(model)
    ts = model.encode(frames, times, times + 0.5, 2.0)
    inp = model.build_inputs(ts, "What is happening?")
    once = model.prefill(inp).logits
    model.prefill(model.build_inputs(ts, "Another question first"), reuse_prefix=True)
    again, _, hit = model.prefill(inp, reuse_prefix=True)
    assert hit  # the template + video part came from the cache
    torch.testing.assert_close(again[0, -1], once[0, -1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("family", ["llava_onevision", "smolvlm2"])
def test_visionzip_keeps_the_tokens_the_tower_attends_to(family):
    m = load_model(f"random:{family}-tiny")
    frames, times = frames_for(m)
    ts = m.encode(frames, times, times + 0.5, 2.0)
    attn = ts.meta["attn"]
    assert attn.shape == (len(ts),) and bool((attn >= 0).all())
    k = 8
    out = compress(ts, "visionzip", k)
    k_dom = round(0.85 * k)
    top = set(torch.argsort(attn, descending=True, stable=True)[:k_dom].tolist())
    assert top <= set(out.flat_pos().tolist())  # the dominant tokens are kept as themselves
    assert isinstance(m.generate(m.build_inputs(out, "q"), max_new_tokens=2).text, str)


def test_distinct_frames_drop_duplicates_first():
    from vidtok.select.prefilter import distinct_frames

    f = np.zeros((8, 32, 32, 3), np.uint8)
    f[4:] = 200  # two static shots of four frames
    assert distinct_frames(f, 2).tolist() == [0, 4]
    assert distinct_frames(f, 4, group=2).tolist() == [0, 1, 4, 5]  # whole temporal pairs
    f[2:4] = 100  # a third shot
    assert distinct_frames(f, 3).tolist() == [0, 2, 4]
    assert distinct_frames(f, 8).tolist() == list(range(8))
    assert distinct_frames(f[:5], 3, group=2).tolist() == [0, 1, 4]  # the ragged last group is the most distinct


@pytest.mark.parametrize("family", FAMILIES)
def test_ask_pre_keep_encodes_fewer_frames_and_keeps_the_budget(family, capsys, samples, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    video = str(samples / "synthetic_cuts.mp4")
    args = ["ask", video, "What?", "-m", f"random:{family}-tiny", "--json", "--max-new-tokens", "2", "--budget", "0.1"]
    code, out, err = run(args + ["--plan", "after"], capsys)
    full = json.loads(out)
    code2, out, err = run(args + ["--pre-keep", "0.5"], capsys)
    d = json.loads(out)
    assert code == code2 == 0, err
    assert d["frames_sampled"] == full["frames_sampled"] == full["frames_used"]
    assert d["frames_used"] <= (d["frames_sampled"] + 1) // 2 + 1 < d["frames_sampled"]
    assert not d["cached_tokens"]  # --pre-keep is part of the token cache key
    assert d["visual_tokens_before"] == full["visual_tokens_before"]  # the budget stays a share of all frames
    assert d["visual_tokens_encoded"] < d["visual_tokens_before"]
    assert d["visual_tokens_after"] == full["visual_tokens_after"]


def test_qwen_temporal_positions_follow_real_times_when_frames_were_dropped():
    from vidtok.compress.tokenset import TokenSet

    m = load_model("random:qwen2_5_vl-tiny", device="cpu")
    frames, _ = frames_for(m, T=8)
    regular = np.arange(8) / 2.0
    ts = m.encode(frames, regular, regular + 0.5, 2.0)
    start = len(m._prompt_ids("q")[0])
    T, H, W = ts.grid
    pos = m.build_inputs(ts, "q").position_ids[0, 0, start:start + T * H * W]
    native, _ = m.full_position_ids(*m._prompt_ids("q"), ts.meta, T * H * W)
    torch.testing.assert_close(pos, native[0, 0, start:start + T * H * W])  # evenly spaced: the model's own ids
    times = np.array([0.0, 0.5, 1.0, 1.5, 6.0, 6.5, 9.0, 9.5])  # pairs start at 0, 1, 6, 9 s
    ts2 = m.encode(frames, times, np.append(times[1:], 10.0), 2.0)
    pos2 = m.build_inputs(ts2, "q").position_ids[0, 0, start:start + T * H * W].reshape(T, -1)
    tps = m.model.config.vision_config.tokens_per_second
    assert (pos2 == pos2[:, :1]).all()
    assert (pos2[:, 0] - pos2[0, 0]).tolist() == [int(t * tps) for t in (0, 1, 6, 9)]
    assert isinstance(ts2, TokenSet)
    # no patch missing, frames unevenly on the source's timeline (a 4 fps source at ~2 fps):
    # the model's own ids, which assume one interval (the organism learned them so)
    uneven = np.array([0.0, 0.5, 1.25, 1.75, 2.25, 2.75, 3.5, 4.0])  # pairs 1.25, 1.0, 1.25 s apart
    ts3 = m.encode(frames, uneven, np.append(uneven[1:], 4.5), 8 / 4.5)
    pos3 = m.build_inputs(ts3, "q").position_ids[0, 0, start:start + T * H * W]
    native3, _ = m.full_position_ids(*m._prompt_ids("q"), ts3.meta, T * H * W)
    torch.testing.assert_close(pos3, native3[0, 0, start:start + T * H * W])


def test_merging_exact_duplicates_with_proportional_attention(model):
    """A static shot: every frame's tokens are exact copies. Merged into one frame's worth
    (each token standing for its copies), the answer's logits stay close to the full
    input's when each merged token gets log(size) of attention (ToMe's proportional
    attention), and closer than without. What remains is RoPE: a merged token sits at one
    position, its copies sat at several."""
    frames, times = frames_for(model, T=4)
    frames = np.repeat(frames[:1], 4, 0)
    ts = model.encode(frames, times, times + 0.5, 2.0)
    T, H, W = ts.grid
    assert torch.equal(ts.feats[: H * W], ts.feats[-H * W:])  # exact duplicates
    full = model.prefill(model.build_inputs(ts, "What?"))[0][0, -1]
    merged = ts.reduce(torch.arange(len(ts)) % (H * W), H * W)
    assert len(merged) == H * W and float(merged.size.min()) == T
    err = {}
    try:
        for prop in (False, True):
            model.proportional_attention = prop
            inp = model.build_inputs(merged, "What?")
            assert (inp.key_bias is not None) == prop
            lg = model.prefill(inp)[0][0, -1]
            err[prop] = float((lg - full).abs().max() / full.abs().max())
            if prop:
                model.generate(inp, max_new_tokens=3)  # decoding steps take the bias too
    finally:
        model.proportional_attention = False
    if model.family == "qwen3_vl":
        # Qwen3-VL writes a timestamp text before each frame: its merged input also lost three
        # of four timestamps, which in this tiny random model move the last logits more than
        # attention mass does, either way depending on the tokenizer's splits (measured: 0.16
        # vs 0.18 with the subword stand-in, 0.18 vs 0.12 with bytes); only a looser bound holds
        assert err[False] < 0.25 and err[True] < 0.25, err
    else:
        assert err[True] < err[False]
        # frames go through the model's own processor, which scales these small frames up to
        # its minimum pixel count: more tokens per frame, more RoPE left over than at 0.06
        assert err[True] < 0.15, err


def test_fastv_scores_are_the_llms_own_layer_attention(model):
    """text_attention runs only the first layers, and only the last token's row eagerly (not
    a sequence-squared matrix per head); its scores equal the same layer's attention in a
    full eager pass, one per visual token, in the TokenSet's order."""
    frames, times = frames_for(model)
    ts = model.encode(frames, times, times + 0.5, 2.0)
    layer = 1
    held = []  # the attention weights the eager layer returns: one query row (the last token)
    hook = model.decoder_stack().layers[layer].self_attn.register_forward_hook(
        lambda mod, args, out: held.append(None if out[1] is None else tuple(out[1].shape)))
    try:
        scores = model.text_attention(ts, "Where is it?", layer=layer)
    finally:
        hook.remove()
    assert [h[-2] for h in held if h is not None] == [1]
    assert scores.shape == (len(ts),) and bool((scores >= 0).all()) and 0 < float(scores.sum()) <= 1 + 1e-5
    inp = model.build_inputs(ts, "Where is it?")
    dec = model.decoder_stack()
    impl = dec.config._attn_implementation
    dec.config._attn_implementation = "eager"
    try:
        with torch.inference_mode():
            out = dec(inputs_embeds=inp.inputs_embeds, position_ids=inp.position_ids, output_attentions=True,
                      use_cache=False, **model.decoder_kwargs(inp))
    finally:
        dec.config._attn_implementation = impl
    full = out.attentions[layer][0, :, -1].float().mean(0)[inp.extra["visual_cols"]]
    torch.testing.assert_close(scores, full, rtol=1e-4, atol=1e-6)
    # the pruned set keeps exactly the top-scoring tokens
    from vidtok.compress.fastv import fastv

    ts.meta = {**ts.meta, "llm_attn": scores}
    small = fastv(ts, max(1, len(ts) // 5))
    top = set(torch.topk(scores, len(small)).indices.tolist())
    assert set(ts.flat_pos()[sorted(top)].tolist()) == set(small.flat_pos().tolist())


def test_fastv_needs_a_model(capsys, samples):
    code, _, err = run(["compress", str(samples / "synthetic_static.mp4"), "--method", "fastv", "--budget", "0.1"], capsys)
    assert code != 0 and "fastv" in err and "Traceback" not in err


@pytest.mark.parametrize("family", FAMILIES)
def test_ask_with_fastv_cuts_90_percent(family, capsys, samples, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    code, out, err = run(["ask", str(samples / "synthetic_object.mp4"), "Where is the red square?", "-m",
                          f"random:{family}-tiny", "--method", "fastv", "--budget", "0.1", "--json",
                          "--max-new-tokens", "2"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["visual_tokens_after"] == round(0.1 * d["visual_tokens_before"]) and d["compression"]["method"] == "fastv"


def test_attention_received_equals_the_towers_eager_attention():
    from vidtok.models.attention import attention_received

    m = load_model("random:smolvlm2-tiny")
    frames, _ = frames_for(m, T=2)
    pv = m.pixel_inputs(frames)[0]
    vm = m.model.model.vision_model
    impl = vm.config._attn_implementation
    vm.config._attn_implementation = "eager"
    try:
        with torch.inference_mode():
            out = vm(pixel_values=pv, output_attentions=True, output_hidden_states=True)
    finally:
        vm.config._attn_implementation = impl
    ref = out.attentions[-1].float().mean(1).mean(1)  # (images, patches) received
    with torch.inference_mode():
        ours = attention_received(vm.encoder.layers[-1], out.hidden_states[-2])
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
@pytest.mark.parametrize("frames,height,width,max_video_tokens,chunked", [
    (20, 480, 640, None, True),   # the processor's own size for the whole video
    (20, 480, 640, 3000, True),   # qwen-vl-utils' total-pixel cap binds: frames shrink with their count
    (19, 480, 640, 2000, True),   # an odd count: the last frame repeats, in the last chunk
    (24, 40, 40, None, None),     # tiny frames: Qwen3-VL's minimum weighs all frames, one call
])
def test_qwen_processor_in_chunks_gives_one_calls_rows(family, frames, height, width, max_video_tokens, chunked):
    """Qwen's processor sizes frames from their total number; vidtok calls it a few frames
    at a time (a chunk's float copies, not the video's) pinned to that size: the rows and
    the grid equal the processor's one call over every frame, the model's own path."""
    m = load_model(f"random:{family}-tiny", device="cpu")
    vp = m.video_processor()
    if max_video_tokens:
        vp.max_video_tokens = max_video_tokens
    calls = []

    class Spy:  # the processor, counting the frames of each call
        def __getattr__(self, name):
            return getattr(vp, name)

        def __call__(self, videos, **kw):
            calls.append(len(videos[0]))
            return vp(videos=videos, **kw)

    m.video_processor = Spy
    x = np.random.default_rng(0).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    rows, grid = m.pixel_inputs(x)
    whole = torch.from_numpy(x).permute(0, 3, 1, 2)
    whole = torch.cat([whole, whole[-1:]]) if frames % 2 else whole
    ref = vp(videos=[whole], return_tensors="pt", do_sample_frames=False, cap_pixels_per_frame=True)
    assert torch.equal(grid, ref["video_grid_thw"]) and torch.equal(rows, ref["pixel_values_videos"])
    tiny_qwen3 = chunked is None and family == "qwen3_vl"
    assert max(calls) == (len(whole) if tiny_qwen3 else 8) and sum(calls) == len(whole)


@pytest.mark.parametrize("family", ["llava_onevision", "smolvlm2", "qwen2_5_vl", "qwen3_vl"])
def test_tower_in_chunks_of_frames_gives_the_same_tokens(family, monkeypatch):
    """The tower runs a few frames at a time (bounded memory): the tokens (with Qwen3-VL's
    DeepStack features), the newline and VisionZip's attention signal are those of one
    pass over all frames."""
    import importlib

    m = load_model(f"random:{family}-tiny", device="cpu")
    frames, times = frames_for(m, T=19)  # two full chunks and a partial one
    mod = importlib.import_module(type(m).__module__)
    chunked = m.encode(frames, times, times + 0.5, 2.0)
    # the SigLIP adapters loop in their own module, the Qwen ones through models.chunking
    import vidtok.models.chunking as base

    for where in {mod, base}:
        if hasattr(where, "TOWER_FRAMES"):
            monkeypatch.setattr(where, "TOWER_FRAMES", 1000)
    whole = m.encode(frames, times, times + 0.5, 2.0)
    torch.testing.assert_close(chunked.feats, whole.feats, rtol=1e-5, atol=1e-5)
    if "attn" in whole.meta:
        torch.testing.assert_close(chunked.meta["attn"], whole.meta["attn"], rtol=1e-5, atol=1e-5)
    if family == "llava_onevision":
        torch.testing.assert_close(chunked.meta["newline"], whole.meta["newline"])


@pytest.mark.parametrize("resize", ["model", "decoder"])
def test_ground_in_chunks_answers_each_chunk_with_offsets(resize, samples, monkeypatch):
    """A video longer than --chunk-seconds is asked chunk by chunk, each through the model's
    own processor (or the decoder's scaling), and every answer's times are shifted by its
    chunk's start: a parsed answer lands in its chunk."""
    from vidtok.tasks.ground import ground_llm

    m = load_model("random:qwen2_5_vl-tiny", device="cpu")
    m.resize = resize
    sizes = []
    real = type(m).pixel_inputs

    def spy(self, frames):
        sizes.append(frames.shape[1:3])
        return real(self, frames)

    monkeypatch.setattr(type(m), "pixel_inputs", spy)
    from vidtok.models.decoding import Generation

    said = Generation("from 1 to 2 seconds", [], None, None, False, 0, prefill=0.0, decode=0.0)
    monkeypatch.setattr(m, "generate", lambda inp, **kw: said)
    r = ground_llm(samples / "synthetic_cuts.mp4", "a cut", m, chunk_seconds=3.0, max_new_tokens=4)
    assert len(r["answers"]) == 3  # 8 s in chunks of 3 s
    assert [(iv["start"], iv["end"]) for iv in r["intervals"]] == [(1.0, 2.0), (4.0, 5.0), (7.0, 8.0)]
    full = (120, 160)  # the clip's own size: the processor scales it; the decoder scales it itself
    assert all((tuple(s) == full) == (resize == "model") for s in sizes)


def test_streamed_text_holds_back_what_may_start_a_stop_string():
    """The streamer shows the answer as it grows but never a stop string nor the start of
    one that may still complete; at the end, a start that never completed is shown."""
    from vidtok.models.generation import Streamer

    class Chars:  # token id = one character
        def eos_ids(self):
            return set()

        def decode_text(self, ids):
            return "".join(map(chr, ids))

    def stream(text, stops):
        shown = []
        s = Streamer(Chars(), shown.append, stops)
        s.put(torch.tensor([0]))  # the prompt
        seen = []
        for ch in text:
            s.put(torch.tensor([ord(ch)]))
            seen.append("".join(shown))
        s.end()
        return seen, "".join(shown)

    seen, final = stream("Yes. END more", ["END"])
    assert final == "Yes. " and "E" not in "".join(seen)
    seen, final = stream("an ENd", ["END"])  # "EN" held back, then shown: it never became END
    assert seen[-2] == "an " and final == "an ENd"
    assert stream("a\n\nb", ["\n\n", "b"])[1] == "a"


def test_ask_writes_the_token_cache_after_the_answer(tmp_path, monkeypatch):
    """The first answer is not kept waiting for the token cache's write (seconds for a long
    video): the answer streams, then the tokens are written, as encoded (FastV's scores of
    this question never reach the cache), and a second ask loads them."""
    from vidtok import cache as token_cache
    from vidtok.compress.request import Compression
    from vidtok.tasks.ask import ask

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    events, real_save = [], token_cache.save

    def save(key, ts, extra=None):
        events.append(("save", sorted(ts.meta)))
        return real_save(key, ts, extra)

    monkeypatch.setattr(token_cache, "save", save)
    m = load_model("random:qwen2_5_vl-tiny", device="cpu")
    clip = str(SAMPLES / "synthetic_cuts.mp4")
    fastv = Compression.of("fastv", 0.5)
    first = ask(clip, "What happens?", m, compression=fastv, max_new_tokens=3,
                on_text=lambda d: events.append(("text", d)))
    kinds = [e[0] for e in events]
    assert "text" in kinds and kinds[-1] == "save" and kinds.count("save") == 1
    assert "llm_attn" not in events[-1][1] and "cache_save" in first["seconds"]
    second = ask(clip, "Why?", m, compression=fastv, max_new_tokens=3)
    assert second["cached_tokens"] and not first["cached_tokens"]


def test_chat_writes_the_token_cache_after_its_first_answer(tmp_path, monkeypatch):
    """chat, like ask, keeps the token cache's write off the way to the first answer; a
    conversation that asks nothing writes it when it ends (``flush``)."""
    from vidtok import cache as token_cache
    from vidtok.compress.request import Compression
    from vidtok.tasks.chat import Conversation

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path))
    events, real_save = [], token_cache.save

    def save(key, ts, extra=None):
        events.append("save")
        return real_save(key, ts, extra)

    monkeypatch.setattr(token_cache, "save", save)
    m = load_model("random:smolvlm2-tiny", device="cpu")
    clip = str(SAMPLES / "synthetic_cuts.mp4")
    c = Conversation(clip, m, compression=Compression.of(None, 0.5), max_new_tokens=2)
    assert events == [] and not c.tokens_cached
    c.ask("What happens?", on_text=lambda d: events.append("text"))
    assert events[-1] == "save" and events.count("save") == 1 and "text" in events
    c.ask("Why?")
    c.flush()
    assert events.count("save") == 1 and "cache_save" in c.seconds
    # another model's entry (so a new write), closed without a question
    m2 = load_model("random:qwen2_5_vl-tiny", device="cpu")
    quiet = Conversation(clip, m2, max_new_tokens=2)
    assert events.count("save") == 1
    quiet.flush()
    assert events.count("save") == 2
    assert Conversation(clip, m2, max_new_tokens=2).tokens_cached


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("proportional", [False, True])
def test_answering_runs_the_lm_head_on_one_position(family, proportional):
    """An answer needs the next token's logits only: the prefix (template + video, stored in
    the prefix cache) and the question are prefilled without the LM head over every position
    (a vocabulary-wide row per token: gigabytes at a long video's length). ``prefill`` still
    gives every position's logits when asked (the parity tests read them), the same last row."""
    m = load_model(f"random:{family}-tiny", device="cpu")
    m.proportional_attention = proportional
    frames, times = frames_for(m, T=4)
    ts = m.encode(frames, times, times + 0.5, 2.0)
    if proportional:  # merged tokens carry sizes: the key-biased decoding path
        ts = compress(ts, "tome", len(ts) // 2)
    inp = m.build_inputs(ts, "What happens?")
    assert (inp.key_bias is not None) == proportional
    rows = []
    hook = m.model.get_output_embeddings().register_forward_hook(lambda mod, args, out: rows.append(out.shape[-2]))
    try:
        full = m.prefill(inp).logits
        last = m.prefill(inp, logits_to_keep=1).logits
        assert full.shape[1] == inp.inputs_embeds.shape[1] and last.shape[1] == 1
        torch.testing.assert_close(last[0, -1], full[0, -1], rtol=1e-5, atol=1e-5)
        rows.clear()
        m.generate(inp, max_new_tokens=3, reuse_prefix=True)  # first question: the prefix is computed
        assert rows and max(rows) == 1, rows
    finally:
        hook.remove()
