"""One answering path: every command that loads a video LLM takes the same model, generation
and compression flags (the list is the CLI's one declaration, ``ANSWERING_FLAGS``), each
reaching the config the model is loaded with; the budget becomes one typed value; a long
video asked in windows goes through the same token cache and pre-keep as a short one."""

import json

import pytest

from .conftest import SAMPLES, run_cli

VIDEO = str(SAMPLES / "synthetic_cuts.mp4")

#: a value for every flag of ANSWERING_FLAGS, as typed and as the config holds it
VALUES = {"model": ("random:qwen2_5_vl-tiny", "random:qwen2_5_vl-tiny"), "device": ("cpu", "cpu"),
          "dtype": ("float32", "float32"), "resize": ("decoder", "decoder"), "proportional": (None, True),
          "max_new_tokens": ("3", 3), "temperature": ("0.5", 0.5), "top_p": ("0.9", 0.9), "top_k": ("5", 5),
          "seed": ("7", 7), "stop": ("zz", ["zz"]), "system": ("be brief", "be brief"), "compile": (None, True),
          "method": ("tome", "tome"), "budget": ("0.5", "0.5"), "pre_keep": ("0.5", 0.5), "plan": ("auto", "auto"),
          "subtitles": ("auto", "auto"), "frames": ("8", 8), "fps": ("1.5", 1.5), "max_pixels": ("60000", 60000)}


def _argv_of_every_flag() -> list[str]:
    from vidtok.cli.app import ANSWERING_FLAGS

    assert set(VALUES) == set(ANSWERING_FLAGS), "a flag was declared without a value here"
    argv = []
    for name, (_, option) in ANSWERING_FLAGS.items():
        flag = option.param_decls[0].split("/")[0]
        typed = VALUES[name][0]
        argv += [flag] if typed is None else [flag, typed]
    return argv


@pytest.fixture
def commands_argv(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"video": VIDEO, "question": "What?", "options": ["a", "b"], "answer": "A"}) + "\n")
    return {"ask": ["ask", VIDEO, "What?"], "ground": ["ground", VIDEO, "a cut"], "chat": ["chat", VIDEO],
            "eval": ["eval", str(qa), "--task", "qa"],
            "batch": ["batch", str(SAMPLES), "--task", "ask", "-q", "x", "--out", str(tmp_path / "b.jsonl")]}


def test_every_model_loading_command_takes_every_answering_flag_into_its_config(commands_argv, capsys, monkeypatch):
    from vidtok.models import loading

    seen = []

    def capture(cfg, device=None, spec=None):
        seen.append(cfg)
        raise KeyboardInterrupt  # stop where the model would load: what arrived is all we need

    monkeypatch.setattr(loading, "load_configured", capture)
    for command, argv in commands_argv.items():
        seen.clear()
        code, out, err = run_cli(argv + _argv_of_every_flag(), capsys)
        assert code == 130 and len(seen) == 1, (command, code, err)
        cfg = seen[0]
        for name, (_, held) in VALUES.items():
            assert getattr(cfg, name) == held, (command, name, getattr(cfg, name))
        c = cfg.compression
        assert c.methods == ("tome",) and str(c.budget) == "0.5" and c.pre_keep == 0.5


def test_a_bad_budget_is_one_line_on_every_command_before_the_model(commands_argv, capsys, no_model):
    for command, argv in commands_argv.items():
        code, out, err = run_cli(argv + ["-m", "random:qwen2_5_vl-tiny", "--budget", "lots"], capsys)
        assert code == 2 and "cannot read budget 'lots'" in err and err.count("\n") == 1, (command, err)


def test_the_budget_is_read_once_into_a_typed_value():
    """``Compression.of`` is where the flags' text becomes a request; what it returns carries a
    ``Budget``, and the defaults apply there (a budget alone runs the default method)."""
    from vidtok.compress.budget import Budget
    from vidtok.compress.request import Compression
    from vidtok.config import PipelineConfig
    from vidtok.defaults import DEFAULT_METHOD

    c = PipelineConfig(budget="10%").compression
    assert isinstance(c.budget, Budget) and c.budget.kind == "ratio" and c.methods == (DEFAULT_METHOD,)
    assert not PipelineConfig().compression.active
    assert PipelineConfig().compression.or_default().methods == (DEFAULT_METHOD,)
    assert not Compression.of("tome", "0.5").with_(budget="").active  # chat's /budget none: every token
    assert Compression.of("tome", "0.5").with_(budget="100").budget == Budget(kind="tokens", value=100)


def test_ground_on_a_long_video_asks_each_window_through_the_token_cache_and_pre_keep(tmp_path, capsys, monkeypatch):
    """8 s in windows of 3 s: three windows, each sampled and pre-kept (half its frames through
    the tower) and cached; a second run loads all three from the cache and encodes nothing."""
    import vidtok.tasks.ask as ask_mod

    monkeypatch.setenv("VIDTOK_CACHE_DIR", str(tmp_path / "cache"))
    kept, encoded = [], []
    real_keep = ask_mod.distinct_frames

    def keep(frames, n, step):
        kept.append((len(frames), n))
        return real_keep(frames, n, step)

    monkeypatch.setattr(ask_mod, "distinct_frames", keep)
    argv = ["ground", VIDEO, "a cut", "-m", "random:qwen2_5_vl-tiny", "--chunk-seconds", "3", "--pre-keep", "0.5",
            "--max-new-tokens", "2", "--json"]
    import vidtok.models.qwen2_5_vl as qwen

    real_encode = qwen.Qwen25VLAdapter.encode

    def encode(self, frames, times, ends, fps):
        encoded.append((len(frames), float(times[0])))
        return real_encode(self, frames, times, ends, fps)

    monkeypatch.setattr(qwen.Qwen25VLAdapter, "encode", encode)
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert len(json.loads(out)["answers"]) == 3
    assert len(kept) == 3 and all(n == round(total / 2) for total, n in kept), kept
    # each window is shown to the model as a video starting where the file starts
    assert len(encoded) == 3 and all(t0 < 3.0 for _, t0 in encoded), encoded
    kept.clear(), encoded.clear()
    code, out, err = run_cli(argv, capsys)
    assert code == 0 and kept == [] and encoded == [], (kept, encoded, err)


def test_a_table_of_settings_is_for_eval_only(capsys, no_model):
    code, out, err = run_cli(["ask", VIDEO, "q", "-m", "random:qwen2_5_vl-tiny", "--budget", "0.5,0.25"], capsys)
    assert code == 2 and "give one here" in err and err.count("\n") == 1, err


def test_subtitles_of_the_frames_shown_go_before_the_question(tmp_path, capsys, monkeypatch):
    """--subtitles FILE: the cues that overlap a frame the model sees are in its prompt with
    their times; a cue after the last frame shown is not; a missing file is one line, exit 3,
    before the model loads; auto reads a video's own text stream (the NASA clip has two)."""
    from vidtok.decode.subtitles import read_subtitles

    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\n<i>Hello</i> world\n\n"
                   "2\n00:01:00,000 --> 00:01:02,000\nlong after the end\n")
    seen = []
    import vidtok.models.qwen2_5_vl as qwen

    real = qwen.Qwen25VLAdapter.inputs
    monkeypatch.setattr(qwen.Qwen25VLAdapter, "inputs", lambda self, t, d: seen.append(d.question) or real(self, t, d))
    code, out, err = run_cli(["ask", VIDEO, "What is said?", "-m", "random:qwen2_5_vl-tiny", "--subtitles", str(srt),
                              "--max-new-tokens", "2", "--no-cache", "--json"], capsys)
    assert code == 0 and json.loads(out)["subtitle_lines"] == 1, err
    assert seen[-1] == "Subtitles:\n[0:00.5-0:01.5] Hello world\nWhat is said?", seen[-1]
    code, out, err = run_cli(["ask", VIDEO, "q", "-m", "random:qwen2_5_vl-tiny", "--subtitles",
                              str(tmp_path / "none.srt")], capsys)
    assert code == 3 and "subtitle file not found" in err and err.count("\n") == 1, err
    nasa = SAMPLES.parent.parent / "shared" / "videos" / "nasa_webb_cleanroom_multistream_subs.mp4"
    if nasa.exists():
        cues = read_subtitles("auto", nasa)
        assert cues and cues[0].text.startswith("NAR: This is the optical") and 0 < cues[0].start < cues[0].end


def test_frames_and_fps_set_the_models_sampler(capsys):
    """--frames N: Qwen's sampler takes N frames (qwen-vl-utils' nframes, whole pairs) instead
    of its 2 fps; --fps sets the rate; both are in --json's generation settings."""
    base = ["ask", VIDEO, "q", "-m", "random:qwen2_5_vl-tiny", "--max-new-tokens", "1", "--no-cache", "--json"]
    own = json.loads(run_cli(base, capsys)[1])
    four = json.loads(run_cli(base + ["--frames", "4"], capsys)[1])
    slow = json.loads(run_cli(base + ["--fps", "1"], capsys)[1])
    assert own["frames_used"] == 16 and four["frames_used"] == 4 and slow["frames_used"] == 8
    assert four["generation"]["frames"] == 4 and slow["generation"]["fps"] == 1.0
    code, out, err = run_cli(["ask", VIDEO, "q", "-m", "random:llava_onevision-tiny", "--fps", "1"], capsys)
    assert code == 2 and "give --frames, not --fps" in err, err


def test_max_pixels_is_the_processors_own_cap(capsys):
    """--max-pixels P on Qwen2.5-VL: the frames are what its processor gives when configured
    with that cap (qwen-vl-utils' max_pixels), so fewer visual tokens; a family that sizes
    frames by another rule refuses it in one line."""
    import numpy as np
    import torch
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    from vidtok.models.loading import load_model

    m = load_model("random:qwen2_5_vl-tiny")
    x = np.random.default_rng(0).integers(0, 256, (18, 720, 1280, 3), dtype=np.uint8)
    full_rows, full_grid = m.pixel_inputs(x)
    m.max_pixels = 150_000
    rows, grid = m.pixel_inputs(x)  # in chunks of 8 frames, each pinned
    whole = torch.from_numpy(x).permute(0, 3, 1, 2)
    ref = Qwen2VLVideoProcessor(size={"shortest_edge": 128 * 28 * 28, "longest_edge": 150_000})(
        videos=[whole], return_tensors="pt", do_sample_frames=False, cap_pixels_per_frame=True)
    assert torch.equal(grid, ref["video_grid_thw"]) and torch.equal(rows, ref["pixel_values_videos"])
    assert int(grid.prod()) < int(full_grid.prod())
    base = ["ask", VIDEO, "q", "-m", "random:qwen2_5_vl-tiny", "--max-new-tokens", "1", "--no-cache", "--json",
            "--resize", "decoder"]
    own = json.loads(run_cli(base, capsys)[1])
    capped = json.loads(run_cli(base + ["--max-pixels", "20000"], capsys)[1])
    assert capped["visual_tokens_before"] <= own["visual_tokens_before"] and capped["generation"]["max_pixels"] == 20000
    code, out, err = run_cli(["ask", VIDEO, "q", "-m", "random:smolvlm2-tiny", "--max-pixels", "20000"], capsys)
    assert code == 2 and "--max-pixels" in err and err.count("\n") == 1, err


def test_chat_puts_subtitles_in_its_first_turn_and_keeps_its_cache(tmp_path):
    """In chat the subtitle lines go with the first question only; the next turn still finds
    the conversation's KV cache (the first turn is replayed as it was asked)."""
    from vidtok.decode.subtitles import parse
    from vidtok.models.loading import load_model
    from vidtok.tasks.chat import Conversation

    cues = parse("1\n00:00:00,500 --> 00:00:02,000\nhello there\n")
    m = load_model("random:smolvlm2-tiny")
    c = Conversation(VIDEO, m, use_cache=False, max_new_tokens=2, subtitles=cues)
    first, second = c.ask("What is said?"), c.ask("And then?")
    assert c.turns[0]["asked"].startswith("Subtitles:\n[0:00.5-0:02.0] hello there\n")
    assert c.turns[1]["asked"] == "And then?"
    assert second["prefill_tokens"] < second["sequence_length"] / 4 and "asked" not in c.as_dict()["turns"][0]


def test_a_run_reads_each_videos_subtitles_once(tmp_path, monkeypatch):
    """Several questions and settings of one video read its subtitles once (``reader``)."""
    import vidtok.decode.subtitles as subs

    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    reads, real = [], subs.read_subtitles
    monkeypatch.setattr(subs, "read_subtitles", lambda spec, path: reads.append(path) or real(spec, path))
    cues = subs.reader(str(srt))
    assert cues(VIDEO) == cues(VIDEO) == real(str(srt), VIDEO) and len(reads) == 1
