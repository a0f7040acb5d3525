"""Every mistake a user makes gets one line and a documented exit code before any model
loads; weights that are not here fail at once offline; a damaged file is reported; two
batches never write a record twice."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from .conftest import SAMPLES, run_cli
from .videogen import damage, write_clip

CUTS = str(SAMPLES / "synthetic_cuts.mp4")
TINY = "random:qwen2_5_vl-tiny"


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: every check must come before it."""
    import vidtok.models.loading as base

    def refuse(*a, **kw):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(base, "load_model", refuse)


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    unreadable = tmp_path / "secret.mp4"
    shutil.copy(CUTS, unreadable)
    unreadable.chmod(0)
    cases = {"missing": (str(tmp_path / "nope.mp4"), 3), "directory": (str(tmp_path), 3), "empty": (str(empty), 4)}
    if not os.access(unreadable, os.R_OK):  # root reads anything: that case needs a normal user
        cases["unreadable"] = (str(unreadable), 3)
    return cases


@pytest.mark.parametrize("command", ["ask", "ground"])
def test_bad_file_fails_before_the_model_loads(command, tmp_path, capsys, no_model):
    for kind, (path, code) in _bad_inputs(tmp_path).items():
        argv = [command, path, "what?", "-m", TINY]
        for extra in ([], ["--no-cache"]):
            got, out, err = run_cli(argv + extra, capsys)
            assert got == code, (kind, err)
            assert err.count("\n") == 1 and path in err and "internal error" not in err


@pytest.mark.parametrize("command", ["ask", "ground"])
@pytest.mark.parametrize("options", [["--budget", "0"], ["--budget", "abc"], ["--method", "nosuch"],
                                     ["--backend", "nosuch"], ["--timeout", "0"], ["--stream", "7"],
                                     ["-m", "./nosuch/dir"], ["-m", "nosuch model"], ["--max-new-tokens", "0"]])
def test_bad_options_fail_before_the_model_loads(command, options, capsys, no_model):
    argv = [command, CUTS, "what?"] + (["-m", TINY] if "-m" not in options else []) + options
    code, out, err = run_cli(argv, capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and "internal error" not in err


def test_batch_and_eval_check_before_loading(tmp_path, capsys, no_model):
    for argv in (["batch", str(SAMPLES), "--task", "ask", "-m", TINY, "--out", str(tmp_path / "a.jsonl")],  # no query
                 ["batch", str(SAMPLES), "--task", "ask", "-q", "x", "-m", TINY, "--budget", "0",
                  "--out", str(tmp_path / "b.jsonl")],
                 ["batch", str(SAMPLES), "--task", "nosuch", "--out", str(tmp_path / "c.jsonl")],
                 ["batch", str(SAMPLES), "--task", "keyframes", "--timeout", "0", "--out", str(tmp_path / "d.jsonl")],
                 ["eval", str(tmp_path / "nope.txt"), "-m", TINY]):
        code, out, err = run_cli(argv, capsys)
        assert code in (2, 3), (argv, err)
        assert "internal error" not in err


def test_cached_tokens_do_not_hide_a_bad_backend(tmp_path, capsys, monkeypatch):
    code, out, err = run_cli(["ask", CUTS, "what?", "-m", TINY, "--json"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["ask", CUTS, "what?", "-m", TINY, "--backend", "nosuch"], capsys)
    assert code == 2 and "unknown decoder 'nosuch'" in err


def test_usage_errors_are_one_line(capsys):
    for argv in (["keyframes", CUTS, "-m", "clips", "--budget", "0"], ["keyframes", CUTS, "-k", "0"],
                 ["info", CUTS, "--nosuch"], ["sample"]):
        code, out, err = run_cli(argv, capsys)
        assert code == 2 and err.count("\n") == 1 and err.startswith("vidtok: error:"), (argv, err)


def test_timeout_zero_is_a_usage_error_not_a_stall(capsys):
    code, out, err = run_cli(["sample", CUTS, "--timeout", "0"], capsys)
    assert code == 2 and "--timeout" in err and "stall" not in err


# -- weights that must be downloaded -------------------------------------------------------

OFFLINE = textwrap.dedent("""
    import sys
    from vidtok.cli.main import main
    try:
        main(sys.argv[1:])
    except SystemExit as e:
        heavy = [m for m in ("torch", "transformers", "open_clip") if m in sys.modules]
        print("EXIT", e.code, "IMPORTED", ",".join(heavy))
""")


@pytest.mark.parametrize("argv", [
    ["keyframes", CUTS, "-m", "query", "-q", "a dog"],
    ["ground", CUTS, "a dog", "--via", "embed"],
    ["search", str(SAMPLES), "a dog"],
    ["ask", CUTS, "what?"],
    ["ask", CUTS, "what?", "-m", "Qwen/Qwen2.5-VL-7B-Instruct"],
    ["ground", CUTS, "a dog"],
    ["keyframes", CUTS, "-m", "query", "-q", "a dog", "--encoder", "siglip:google/siglip-base-patch16-224"],
    ["batch", str(SAMPLES), "--task", "ground", "-q", "a dog", "--via", "embed"],
])
def test_offline_without_weights_fails_at_once(argv, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf")}
    if argv[0] == "batch":
        argv = argv + ["--out", str(tmp_path / "r.jsonl")]
    r = subprocess.run([sys.executable, "-c", OFFLINE, *argv], capture_output=True, text=True, env=env, timeout=120)
    last = r.stdout.strip().splitlines()[-1].split()
    # exit 8 before torch, transformers or open_clip is imported: nothing was tried
    assert last == ["EXIT", "8", "IMPORTED"], (last, r.stderr)
    assert r.stderr.count("\n") == 1 and "hf download" in r.stderr


def test_model_names_that_cannot_be_models(capsys, tmp_path):
    (tmp_path / "ckpt").mkdir()
    for name, hint in (("./nosuch/dir", "no such model directory"), ("nosuch-model", "neither a directory"),
                       (str(tmp_path / "ckpt"), "no config.json")):
        code, out, err = run_cli(["ask", CUTS, "q", "-m", name], capsys)
        assert code == 2 and hint in err, err
    code, out, err = run_cli(["keyframes", CUTS, "-m", "query", "-q", "x", "--encoder", "open_clip:ViT-B-32/nosuch"], capsys)
    assert code == 2 and "no pretrained weights 'nosuch'" in err


def test_the_open_clip_table_is_read_without_importing_it():
    from vidtok.weights import open_clip_hub

    pytest.importorskip("open_clip")
    code = ("from vidtok.weights import open_clip_hub; import sys; "
            "print(open_clip_hub('ViT-B-32', 'laion2b_s34b_b79k'), 'open_clip' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    repo, files = open_clip_hub("ViT-B-32", "laion2b_s34b_b79k")
    assert repo == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" and "open_clip_pytorch_model.bin" in files
    assert r.stdout.strip().endswith("False")
    # and open_clip itself agrees
    import open_clip

    assert open_clip.get_pretrained_cfg("ViT-B-32", "laion2b_s34b_b79k")["hf_hub"].startswith(repo)


# -- batch: every item exactly once -------------------------------------------------------

def _batch_cmd(folder, out, *extra):
    return [sys.executable, "-m", "vidtok.cli.main", "batch", str(folder), "--task", "compress", "--budget", "0.1",
            "--out", str(out), "--workers", "1", "--json", *extra]


def _videos(tmp_path, n=6):
    d = tmp_path / "videos"
    d.mkdir()
    for k in range(n):
        shutil.copy(SAMPLES / "synthetic_cuts.mp4", d / f"{k}.mp4")
        with open(d / f"{k}.mp4", "ab") as f:  # distinct content: each copy is its own item
            f.write(bytes([k]) * 16)
    return d


def _records(out):
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_two_concurrent_batches_write_every_item_once(tmp_path):
    d, out = _videos(tmp_path), tmp_path / "r.jsonl"
    first = subprocess.Popen(_batch_cmd(d, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the second starts while the first holds the output: refused at once, exit 2
    lock = tmp_path / "r.jsonl.lock"
    for _ in range(600):
        if lock.exists() and first.poll() is None and out.exists():
            break
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.05)"])
    second = subprocess.run(_batch_cmd(d, out), capture_output=True, text=True, timeout=300)
    waited = subprocess.Popen(_batch_cmd(d, out, "--wait"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert waited.wait(timeout=300) == 0, waited.stderr.read()
    if first.returncode == 0 and second.returncode != 0:
        assert second.returncode == 2 and "another vidtok batch" in second.stderr
    recs = _records(out)
    assert len(recs) == 6 and len({r["id"] for r in recs}) == 6
    assert json.loads(waited.stdout.read())["skipped_done"] == 6  # it queued, then found all done


def test_batch_keys_by_real_path_and_content(tmp_path, capsys, monkeypatch):
    d, out = _videos(tmp_path, 3), tmp_path / "r.jsonl"
    code, stdout, err = run_cli(_batch_cmd(d, out)[3:], capsys)
    assert code == 0, err
    # the same folder spelled relatively, and through a symlink
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link").symlink_to(d)
    for spelling in ("videos", "./videos/../videos", "link"):
        code, stdout, err = run_cli(_batch_cmd(spelling, out)[3:], capsys)
        assert code == 0 and json.loads(stdout)["skipped_done"] == 3, (spelling, stdout)
    assert len(_records(out)) == 3
    # an edited file is an item to redo
    with open(d / "0.mp4", "ab") as f:
        f.write(b"\0")
    code, stdout, err = run_cli(_batch_cmd(d, out)[3:], capsys)
    assert json.loads(stdout)["skipped_done"] == 2 and len(_records(out)) == 4


# -- damaged data -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    clean = write_clip(d / "clean.mp4", "libx264", "yuv420p", 320, 240, n=120)
    return damage(clean, d / "damaged.mp4"), clean


@pytest.mark.parametrize("argv", [["sample", "-n", "16"], ["keyframes"], ["compress", "-n", "8"],
                                  ["ask", "q", "-m", TINY, "--max-new-tokens", "2", "--no-cache"],
                                  ["ground", "q", "-m", TINY, "--no-cache"]])
def test_damaged_data_is_reported(argv, damaged, capsys):
    bad, clean = damaged
    cmd, rest = argv[0], argv[1:]
    code, out, err = run_cli([cmd, str(bad), *rest, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)["damage"]
    assert d["decode_errors"] > 0 and d["damaged_frames"]
    assert err.count("vidtok: warning:") == 1 and "damaged data" in err and str(bad) in err
    code, out, err = run_cli([cmd, str(bad), *rest, "--strict"], capsys)
    assert code == 4 and "damaged data" in err
    code, out, err = run_cli([cmd, str(clean), *rest, "--json", "--strict"], capsys)
    assert code == 0 and json.loads(out)["damage"] == {"decode_errors": 0, "damaged_frames": []}
    assert "warning" not in err


def test_damaged_frames_are_marked_in_sample_json(damaged, capsys):
    bad, _ = damaged
    code, out, err = run_cli(["sample", str(bad), "-n", "16", "--json"], capsys)
    frames = json.loads(out)["frames"]
    marked = [f["index"] for f in frames if f["damaged"]]
    assert marked and marked == sorted(set(marked) & set(json.loads(out)["damage"]["damaged_frames"]))
    assert not frames[0]["damaged"]  # before the damage


def test_batch_records_damage_and_strict_fails_the_item_alone(damaged, tmp_path, capsys):
    bad, clean = damaged
    out = tmp_path / "r.jsonl"
    code, stdout, err = run_cli(["batch", str(bad.parent), "--task", "keyframes", "--out", str(out), "--strict"], capsys)
    recs = {os.path.basename(r["video"]): r for r in _records(out)}
    assert code == 7 and recs["clean.mp4"]["status"] == "ok"
    assert recs["damaged.mp4"]["status"] == "error" and recs["damaged.mp4"]["error"]["exit_code"] == 4


# -- options the messages point to exist ----------------------------------------------------

DECODING = ["sample", "keyframes", "compress", "ask", "ground", "batch", "eval", "search"]


def _help(command, capsys):
    code, out, err = run_cli([command, "--help"], capsys)
    assert code == 0
    return out


def test_every_flag_a_message_suggests_exists(capsys):
    """Flags named in the library's messages are options of every command that can raise them."""
    root = SAMPLES.parent / "vidtok"
    suggested = set()
    for p in root.rglob("*.py"):
        for lit in re.findall(r"\"[^\"\n]*\"|'[^'\n]*'", p.read_text()):
            suggested |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", lit))
    assert {"--allow-truncated", "--timeout", "--backend"} <= suggested
    common = {"--backend", "--stream", "--timeout", "--allow-truncated"}
    helps = {c: _help(c, capsys) for c in DECODING}
    for c, text in helps.items():
        for flag in common:
            assert flag in text, (c, flag)
    for flag in suggested:
        assert any(flag in text for text in helps.values()) or flag in _help("info", capsys), flag


def _imported_by(commands: list[list[str]], modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh process has imported after running ``commands``."""
    code = ("import sys; from vidtok.cli.main import main\n"
            f"for argv in {commands!r}:\n"
            "    try:\n        main(argv)\n    except SystemExit as e:\n        assert e.code in (0, None)\n"
            f"print(sorted(m for m in {modules!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return eval(r.stdout.strip().splitlines()[-1])


def test_listing_commands_import_no_torch():
    assert _imported_by([["methods", "--json"], ["models", "--json"]], ("torch",)) == []


def test_methods_lists_every_component_with_a_description(capsys):
    code, out, err = run_cli(["methods", "--json"], capsys)
    rows = json.loads(out)
    kinds = {r["kind"] for r in rows}
    assert kinds == {"decoder", "sampler", "selector", "detector", "compressor", "encoder"}
    # whole sentences: a summary that wraps onto a second docstring line is not cut at the wrap
    assert all(r["description"].endswith(".") for r in rows), [r for r in rows if not r["description"].endswith(".")]
    code, out, err = run_cli(["models", "--json"], capsys)
    fams = {f["family"]: f for f in json.loads(out)["families"]}
    assert "random:qwen2_5_vl-3b" in fams["qwen2_5_vl"]["random"] and all(f["description"] for f in fams.values())


def test_plurals_and_stream_counts(capsys):
    code, out, err = run_cli(["sample", CUTS, "-n", "1"], capsys)
    assert out.startswith("1 frame (")
    code, out, err = run_cli(["info", CUTS], capsys)
    assert "1 stream (1 video, 0 other)" in out


def test_results_from_the_caches_still_report_damage(damaged, capsys):
    bad, _ = damaged
    for argv in (["keyframes", str(bad)], ["ask", str(bad), "q", "-m", TINY, "--max-new-tokens", "2"]):
        code, out, err = run_cli(argv + ["--json"], capsys)  # fills the cache
        assert code == 0 and "damaged data" in err
        code, out, err = run_cli(argv + ["--strict"], capsys)  # served from it
        assert code == 4 and "damaged data" in err, argv


def test_help_imports_no_decoder_or_models():
    """`vidtok --help` and commands' help load neither PyAV, NumPy nor torch (typer itself
    brings pydantic for some parameter types)."""
    assert _imported_by([["--help"], ["ask", "--help"], ["keyframes", "--help"]], ("av", "numpy", "torch")) == []


def test_info_json_imports_only_what_it_prints():
    """`vidtok info --json` is PyAV and NumPy: no pydantic (typer >= 0.29 imports it for its
    parameters, hence the pin), no rich, no entry-point scan, no torch (#19 start-up)."""
    heavy = ("pydantic", "rich", "importlib.metadata", "torch", "PIL")
    assert _imported_by([["info", "--json", str(SAMPLES / "synthetic_cuts.mp4")]], heavy) == []


def test_models_lists_hub_checkpoints_and_which_are_cached(tmp_path, monkeypatch):
    """`vidtok models` marks the hub checkpoints already in the local Hugging Face cache (a
    cache written here, laid out as huggingface_hub lays it out), without importing torch."""
    repo = tmp_path / "hub" / "models--Qwen--Qwen2.5-VL-3B-Instruct"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub")}
    code = ("import json, sys; from vidtok.commands import models\n"
            "print(json.dumps([models(), 'torch' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    listed, torch_loaded = json.loads(r.stdout)
    hub = {h["id"]: h for f in listed["families"] for h in f["hub"]}
    assert hub["Qwen/Qwen2.5-VL-3B-Instruct"]["cached"] and hub["Qwen/Qwen2.5-VL-3B-Instruct"]["params"] == "3B"
    assert not hub["Qwen/Qwen2.5-VL-7B-Instruct"]["cached"] and not torch_loaded
    assert {f["family"] for f in listed["families"] if f["hub"]} == {"qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm2"}
