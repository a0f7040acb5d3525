"""Real checkpoint directories (tests/checkpoints.py) run through vidtok and through the
model's own processor, chat template and ``generate``: the model's own path is the
reference, never vidtok's preprocessing."""

import json

import numpy as np
import pytest
import torch

from vidtok.decode import open_video
from vidtok.models.loading import load_model
from vidtok.models.generation import Sampling
from vidtok.tasks.ask import visual_tokens
from .checkpoints import write_checkpoint
from .conftest import run_cli
from .videogen import write_frames

pytestmark = pytest.mark.filterwarnings("error::FutureWarning:transformers.*", "error::DeprecationWarning:transformers.*")

FAMILIES = ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm2"]
QUESTION = "What is happening in this video?"


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    return {f: write_checkpoint(f, root / f) for f in FAMILIES}


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """An odd-sized 3 s clip (the processors must resize it themselves)."""
    path = tmp_path_factory.mktemp("clip") / "odd.mp4"
    rng = np.random.default_rng(1)
    base = [rng.integers(0, 256, (94, 150, 3), dtype=np.uint8) for _ in range(2)]
    return write_frames(path, [np.roll(base[i >= 15], 3 * i, axis=1) for i in range(30)], fps=10)


def reference(ckpt, frames: np.ndarray, indices, total: int, fps: float, question: str = QUESTION,
              system: str | None = None):
    """The model's own path on decoded frames: AutoProcessor's chat template and
    processor (with the video's metadata, as qwen-vl-utils and the model cards pass it),
    then the model's forward. Returns (processor inputs, model, logits)."""
    import transformers
    from transformers.video_utils import VideoMetadata

    proc = transformers.AutoProcessor.from_pretrained(ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    model = getattr(transformers, cfg["architectures"][0]).from_pretrained(ckpt, attn_implementation="sdpa").eval()
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
    if system:
        msgs.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    # the metadata transformers' own video loader fills in
    meta = VideoMetadata(total_num_frames=total, fps=fps, frames_indices=list(indices), width=frames.shape[2],
                         height=frames.shape[1], duration=total / fps)
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    # Qwen: qwen-vl-utils' per-frame pixel cap, which transformers makes its default
    cap = {"cap_pixels_per_frame": True} if cfg["model_type"].startswith("qwen") else {}
    inputs = proc(text=[text], videos=[video], video_metadata=[meta], return_tensors="pt", do_sample_frames=False,
                  **cap)
    with torch.inference_mode():
        logits = model(**inputs).logits
    return inputs, model, logits


def vidtok_path(ckpt, clip):
    m = load_model(str(ckpt), device="cpu")
    v = open_video(clip)
    ts, extra, _ = visual_tokens(v, m, use_cache=False)
    fr = v.get_frames(extra["frames"])  # the same decoded frames, at the video's own size
    return m, v, ts, extra, fr.data


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("system", [None, "Answer in one short sentence."])
def test_same_tokens_pixels_and_logits_as_the_models_own_processor(family, system, checkpoints, clip):
    m, v, ts, extra, frames = vidtok_path(checkpoints[family], clip)
    m.system = system
    assert frames.shape[1:3] == (94, 150)  # decoded at the video's size: the processor resizes
    inputs, _, ref = reference(checkpoints[family], frames, extra["frames"], len(v.index), v.info.fps,
                               system=system)
    vid_id = m.model.config.video_token_id if family != "smolvlm2" else m.model.config.image_token_id
    newline = 1 if family == "llava_onevision" else 0  # LLaVA's video ends in one newline token
    assert len(ts) + newline == int((inputs["input_ids"] == vid_id).sum())
    pv = m.pixel_inputs(frames)
    pv = pv[0] if isinstance(pv, tuple) else pv
    key = "pixel_values_videos" if "pixel_values_videos" in inputs else "pixel_values"
    torch.testing.assert_close(pv.float(), inputs[key].float(), rtol=0, atol=1e-6)
    inp = m.build_inputs(ts, QUESTION)
    ours = m.prefill(inp).logits
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("sampling", [None, Sampling(temperature=0.9, top_k=40, top_p=0.95, seed=7)],
                         ids=["greedy", "sampled"])
def test_generated_ids_equal_the_models_own_generate(family, sampling, checkpoints, clip):
    """With compression off and the same settings (and seed), vidtok's answer is token for
    token what ``model.generate`` gives on the processor's inputs."""
    m, v, ts, extra, frames = vidtok_path(checkpoints[family], clip)
    inputs, model, _ = reference(checkpoints[family], frames, extra["frames"], len(v.index), v.info.fps)
    gc = m.generation_config(12, sampling)
    gc.eos_token_id = None  # random weights: let both run the full length
    if sampling is not None:
        torch.manual_seed(sampling.seed)
    with torch.inference_mode():
        ref = model.generate(**inputs, generation_config=gc).sequences[0, inputs["input_ids"].shape[1]:].tolist()
    m.eos_ids = lambda: set()
    info = m.generate(m.build_inputs(ts, QUESTION), max_new_tokens=12, sampling=sampling, reuse_prefix=False)
    assert len(ref) == 12
    assert info.ids == ref


def test_answer_streams_and_ends_before_a_stop_string(checkpoints, clip, caplog, monkeypatch):
    import logging

    # transformers' logger does not propagate by default: let caplog see its warnings
    monkeypatch.setattr(logging.getLogger("transformers"), "propagate", True)
    m, v, ts, extra, frames = vidtok_path(checkpoints["qwen2_5_vl"], clip)
    m.eos_ids = lambda: set()
    inp = m.build_inputs(ts, QUESTION)
    pieces = []
    info = m.generate(inp, max_new_tokens=10, on_text=pieces.append, reuse_prefix=False)
    full = info.text
    assert len(pieces) > 1 and "".join(pieces) == full == m.tokenizer.decode(info.ids, skip_special_tokens=True)
    stop = full[len(full) // 2: len(full) // 2 + 2]  # text the greedy answer is known to reach
    head = full[: full.index(stop)]
    pieces = []
    info2 = m.generate(inp, max_new_tokens=10, sampling=Sampling(stop=(stop,)), reuse_prefix=False,
                       on_text=pieces.append)
    assert info2.text == head and info2.new_tokens < 10
    assert "".join(pieces) == head  # what streamed is the answer: no stop string on the terminal
    # transformers also deprecates through its logger (not only warnings): none on this path
    assert not [r for r in caplog.records if "deprecat" in r.getMessage().lower()]


@pytest.mark.parametrize("family", FAMILIES)
def test_piped_chat_prefills_only_each_turns_own_tokens(family, checkpoints, clip, capsys, monkeypatch, tmp_path):
    import io

    saved = tmp_path / "talk.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"What is shown?\nWhat happens next?\n/frames\nWhy?\n/save {saved}\n"))
    code, out, err = run_cli(["chat", str(clip), "-m", str(checkpoints[family]), "--json", "--max-new-tokens",
                              "4", "--no-cache"], capsys)
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    turns = [x for x in lines if "turn" in x]
    assert [t["question"] for t in turns] == ["What is shown?", "What happens next?", "Why?"]
    assert turns[0]["prefill_tokens"] == turns[0]["sequence_length"]  # the video and the first question
    # a template that renders an earlier answer's header as its generation prompt did (Qwen's)
    # leaves nothing but the new turn to compute; LLaVA-OneVision's writes "assistant \n"
    # in history but "assistant\n" as the prompt, SmolVLM2's "Assistant: " before the answer
    # but "Assistant:" as the prompt: those few header tokens are computed again
    header = 0 if family.startswith("qwen") else 8
    for prev, t in zip(turns, turns[1:]):
        # its own tokens: what the sequence grew by beyond the previous answer, plus that
        # answer's last token (generated, never fed back) unless it was the end token
        own = t["sequence_length"] - prev["sequence_length"] - prev["new_tokens"]
        assert own < 40 and own <= t["prefill_tokens"] <= own + 1 + header
    assert [x for x in lines if x.get("command") == "/frames"][0]["visual_tokens_after"] == turns[0]["visual_tokens"]
    assert len(json.loads(saved.read_text())["turns"]) == 3


def test_a_conversation_from_its_cache_answers_as_from_scratch(checkpoints, clip):
    """Turn three from the kept cache gives the ids a full recomputation of the same
    conversation gives; a new budget drops the cache (other visual tokens)."""
    from vidtok.tasks.chat import Conversation

    m = load_model(str(checkpoints["smolvlm2"]))
    c = Conversation(open_video(clip), m, use_cache=False, max_new_tokens=5)
    for q in ("What is shown?", "And then?", "Why?"):
        last = c.ask(q)
    history = [(t["question"], t["ids"]) for t in c.turns[:2]]
    fresh = m.generate(m.build_inputs(c.tokens, "Why?", history), max_new_tokens=5, reuse_prefix=False)
    assert fresh.ids == last["ids"] and last["prefill_tokens"] < fresh.prefill_tokens / 4
    c.set_budget("0.25")
    after = c.ask("Once more?")
    assert after["prefill_tokens"] == after["sequence_length"] and after["visual_tokens"] < last["visual_tokens"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("argv", [["ask", "{clip}", "What happens?"], ["ground", "{clip}", "the scene changes"],
                                  ["batch", "{folder}", "--task", "ask", "--query", "What?", "--out", "{out}"]])
def test_commands_load_a_checkpoint_directory(family, argv, checkpoints, clip, capsys, tmp_path):
    out = tmp_path / "r.jsonl"
    args = [a.format(clip=clip, folder=clip.parent, out=out) for a in argv]
    extra = {"ask": ["--max-new-tokens", "3", "--json"], "ground": ["--json", "--no-cache"], "batch": []}[argv[0]]
    code, stdout, err = run_cli([*args, "-m", str(checkpoints[family]), *extra], capsys)
    assert code == 0, err
    assert "Loading weights" not in err  # transformers' per-tensor bar: vidtok says it is loading itself
    if argv[0] == "batch":
        rec = json.loads(out.read_text().splitlines()[0])
        assert rec["status"] == "ok" and rec["result"]["model"] == str(checkpoints[family])
    else:
        assert json.loads(stdout)["model"] == str(checkpoints[family])


def test_chat_refuses_fastv_before_loading_a_model(clip, capsys, monkeypatch):
    import io

    import vidtok.commands

    monkeypatch.setattr("sys.stdin", io.StringIO("What?\n"))
    monkeypatch.setattr(vidtok.commands, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    code, out, err = run_cli(["chat", str(clip), "-m", "random:qwen2_5_vl-tiny", "--method", "fastv", "--budget", "0.1"],
                             capsys)
    assert code == 2 and "fastv" in err and "chat" in err


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])  # embeddings in; ids + DeepStack features in
def test_compiled_decode_answers_as_eager_decode(family, checkpoints, clip, tmp_path, monkeypatch):
    """``--compile``: a static KV cache (holding the reused prefix, then a conversation's
    earlier turns) and a torch.compile'd decode step give the eager path's ids (on a CPU
    here: the same code path CUDA takes, without CUDA graphs)."""
    from transformers import StaticCache

    from vidtok.tasks.chat import Conversation

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a real compile
    m = load_model(str(checkpoints[family]))
    m.eos_ids = lambda: set()  # random weights: run the full length
    answers = {}
    for compiled in (False, True):
        m.compile = compiled
        m.decoder.prefix_cache.clear()
        v = open_video(clip)
        ts, _, _ = visual_tokens(v, m, use_cache=False)
        ids = [m.generate(m.build_inputs(ts, q), max_new_tokens=6) for q in ("What is shown?", "And why?")]
        assert [i.prefix_hit for i in ids] == [False, True]
        c = Conversation(v, m, use_cache=False, max_new_tokens=4)
        turns = [c.ask(q) for q in ("What is shown?", "And then?")]
        assert turns[1]["prefill_tokens"] < turns[1]["sequence_length"] / 2  # the cache carried over
        answers[compiled] = [i.ids for i in ids] + [t["ids"] for t in turns]
        assert isinstance(ids[-1].cache, StaticCache) == compiled
    assert hasattr(m.model, "_compiled_call")
    assert answers[True] == answers[False]


def test_half_precision_checkpoint_runs_in_float32_where_the_cpu_would_emulate_it(tmp_path, monkeypatch, clip,
                                                                                   capsys):
    """Published checkpoints are stored in bfloat16; a CPU without bfloat16 units emulates it,
    4-5x slower than float32 (benchmarks/cpu_dtype.py). There vidtok runs the weights in
    float32 (exactly the stored values, upcast) and says so in --json; with the units, or
    with --dtype, the checkpoint's dtype stays; a model whose float32 weights would take more
    than half the memory stays as stored."""
    from vidtok.models import cpu_dtype as base

    ckpt = write_checkpoint("smolvlm2", tmp_path / "bf16", dtype=torch.bfloat16)
    monkeypatch.setattr(base, "cpu_has_bfloat16", lambda: False)
    m = load_model(str(ckpt), device="cpu")
    stored = load_model(str(ckpt), device="cpu", dtype="bfloat16")  # asked for: kept
    assert m.model.dtype == torch.float32 and stored.model.dtype == torch.bfloat16
    for (name, a), (_, b) in zip(m.model.state_dict().items(), stored.model.state_dict().items()):
        assert torch.equal(a, b.float()), name
    code, out, err = run_cli(["ask", str(clip), "What?", "-m", str(ckpt), "--max-new-tokens", "2", "--no-cache",
                            "--json"], capsys)
    assert code == 0 and json.loads(out)["dtype"] == "float32", err
    monkeypatch.setattr(base, "cpu_has_bfloat16", lambda: True)
    assert load_model(str(ckpt), device="cpu").model.dtype == torch.bfloat16
    assert base.cpu_needs_float32(torch.float16, 1000) and not base.cpu_needs_float32(torch.float32, 1000)
    monkeypatch.setattr(base.os, "sysconf", lambda name: 1024)  # 1 MiB of memory: 4 MB of float32 would not fit
    assert not base.cpu_needs_float32(torch.float16, 1_000_000)


def test_a_checkpoint_saved_over_in_place_is_not_served_its_old_tokens(tmp_path, clip, capsys, monkeypatch):
    """Training saves over the same directory: the token cache keys on the weights' files
    (and the dtype), not the directory's name, so the new weights' tokens are computed."""
    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    ckpt = write_checkpoint("qwen2_5_vl", tmp_path / "ckpt", seed=0)
    args = ["ask", str(clip), "What?", "-m", str(ckpt), "--json", "--max-new-tokens", "1"]
    first = [json.loads(run_cli(args, capsys)[1]) for _ in range(2)]
    assert not first[0]["cached_tokens"] and first[1]["cached_tokens"]
    write_checkpoint("qwen2_5_vl", ckpt, seed=1)
    again = json.loads(run_cli(args, capsys)[1])
    assert not again["cached_tokens"]
