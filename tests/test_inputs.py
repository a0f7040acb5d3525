"""The second sweep of user mistakes: each gets one line, a documented exit code and no
partial output, before any model loads (a fresh machine, recipes and options, chat and
eval input, budgets, devices)."""

import json

import pytest

from .conftest import SAMPLES, one_line, run_cli

CUTS = str(SAMPLES / "synthetic_cuts.mp4")
TINY = "random:qwen2_5_vl-tiny"


def test_torchcodec_without_ffmpeg_is_not_available(monkeypatch, capsys):
    """torchcodec imports without FFmpeg's libraries; vidtok then calls it unavailable
    (tests skip, `auto` passes it by) and `--backend torchcodec` is one line, exit 6."""
    torchcodec = pytest.importorskip("torchcodec")
    from vidtok.decode import DECODERS
    from vidtok.decode.backends import available_backends

    monkeypatch.setattr(torchcodec, "ffmpeg_major_version", None)
    cls = DECODERS.get("torchcodec")
    assert not cls.available() and "apt-get install ffmpeg" in cls.unavailable()
    assert "torchcodec" not in available_backends()
    code, out, err = run_cli(["sample", CUTS, "-n", "2", "--backend", "torchcodec", "--json"], capsys)
    assert code == 6 and one_line(err) and "FFmpeg" in err, err
    assert out == ""
    import ctypes.util

    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)  # no system FFmpeg
    code, out, err = run_cli(["methods", "--json"], capsys)
    assert code == 0 and next(r for r in json.loads(out) if r["name"] == "torchcodec")["available"] is False
    code, out, err = run_cli(["sample", CUTS, "-n", "2", "--backend", "torchcodec", "--json"], capsys)
    assert code == 6 and one_line(err) and "FFmpeg" in err and "pip install" not in err, err


# -- recipes and options ---------------------------------------------------------------------

RECIPES = {
    "number": ("budget: 0.1\nmethod: holitom\n", None),
    "unknown key": ("budgte: 0.1\n", "unknown key 'budgte' (did you mean 'budget'?)"),
    "a list": ("- a\n- b\n", "a recipe is a mapping"),
    "a string": ("just words\n", "a recipe is a mapping"),
    "aliases": ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", "YAML aliases"),
    "bad value": ("max_new_tokens: lots\n", "max_new_tokens: Input should be a valid integer"),
    "option range": ("options:\n  holitom: {tau: 7}\n", "holitom.tau=7: must be a finite number between 0 and 1"),
    "option name": ("options:\n  holitom: {tua: 0.5}\n", "holitom: no option 'tua'"),
    "component": ("options:\n  holitmo: {tau: 0.5}\n", "'holitmo' is no compressor or selector"),
    "broken YAML": ("method: [\n", "not valid YAML (line 2)"),
    "not UTF-8": (b"method: \xff\xfe\n", "not UTF-8"),
    "huge": ("description: " + "x" * 70_000 + "\n", "a recipe is a few lines"),
    "nan": ("pre_keep: .nan\n", "pre_keep"),
}


@pytest.mark.parametrize("case", RECIPES)
def test_recipes_are_checked_with_the_key_and_value_named(case, tmp_path, capsys):
    text, expect = RECIPES[case]
    p = tmp_path / "r.yaml"
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    code, out, err = run_cli(["compress", CUTS, "--recipe", str(p), "-n", "4", "--size", "64", "--json"], capsys)
    if expect is None:
        assert code == 0, err
        assert json.loads(out)["budget"] == "0.1"
        return
    assert code == 2 and one_line(err) and str(p) in err and expect in err, err
    assert out == ""


def _numeric_options():
    """Every numeric option of every registered compressor and selector, with its range."""
    from vidtok.compress import COMPRESSORS
    from vidtok.select import SELECTORS

    for kind, reg in (("compress", COMPRESSORS), ("select", SELECTORS)):
        for name in reg.names():
            ranges = reg.option_ranges(name)
            for opt, default in reg.options(name, ("query", "progress", "encoder")).items():
                if isinstance(default, (int, float)) and not isinstance(default, bool) or opt in ranges:
                    yield kind, name, opt, ranges.get(opt)


@pytest.mark.parametrize("kind,name,opt,bounds", list(_numeric_options()),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_every_numeric_option_has_a_range_checked_before_work(kind, name, opt, bounds):
    from vidtok.config import resolve
    from vidtok.errors import UsageError

    assert bounds is not None, f"{name}.{opt} declares no range (OPTION_RANGES in its module)"
    lo, hi = bounds
    flags = {"method": name} if kind == "compress" else {"selector": name}
    bad = ["nan", "inf", "-inf"] + ([str(lo - 1)] if lo is not None else []) + ([str(hi * 2 + 1)] if hi is not None else [])
    for value in bad:
        with pytest.raises(UsageError, match=f"{name}.{opt}="):
            resolve(None, [f"{name}.{opt}={value}"], for_=kind, **flags)
    good = lo if lo is not None else (hi if hi is not None else 1)
    resolve(None, [f"{name}.{opt}={good}"], for_=kind, **flags)


def test_selector_options_work_through_o(capsys, tmp_path):
    """`-o k=5`, the first option `vidtok methods` lists for every selector, is the -k flag;
    booleans are spelled out (bool('false') is True)."""
    from vidtok.config import resolve
    from vidtok.errors import UsageError

    code, out, err = run_cli(["keyframes", CUTS, "-m", "uniform", "-o", "k=5", "--json", "--no-cache"], capsys)
    assert code == 0, err
    assert len(json.loads(out)["frames"]) == 5
    assert resolve(None, ["k=3"], for_="select", selector="uniform", k=3).k == 3
    with pytest.raises(UsageError, match="disagree"):
        resolve(None, ["k=3"], for_="select", selector="uniform", k=4)
    assert resolve(None, ["full=false"], for_="select", selector="scenes").options["scenes"]["full"] is False
    out_file = tmp_path / "kf.jsonl"
    code, out, err = run_cli(["batch", CUTS, "--task", "keyframes", "--selector", "uniform", "-o", "k=3",
                              "--out", str(out_file), "--json"], capsys)
    assert code == 0, err
    rec = json.loads(out_file.read_text().splitlines()[0])
    assert rec["status"] == "ok" and len(rec["result"]["frames"]) == 3, rec


@pytest.mark.parametrize("argv", [
    ["sample", CUTS, "--fps", "nan"], ["sample", CUTS, "--fps", "inf"], ["sample", CUTS, "--size", "99999x99999"],
    ["sample", CUTS, "-n", "0"], ["keyframes", CUTS, "--detector", "content", "--threshold", "nan"],
    ["keyframes", CUTS, "--detector", "content", "--threshold", "-3"], ["compress", CUTS, "--size", "100000"],
    ["ask", CUTS, "q", "-m", TINY, "--pre-keep", "nan"], ["ask", CUTS, "q", "-m", TINY, "--temperature", "nan"],
    ["ask", CUTS, "q", "-m", TINY, "--timeout", "inf"], ["ground", CUTS, "q", "-m", TINY, "--chunk-seconds", "nan"],
    ["search", str(SAMPLES), "x", "--fps", "nan", "--encoder", "random:clip-tiny"],
])
def test_numeric_flags_are_range_checked(argv, capsys, no_model):
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and one_line(err), err


@pytest.mark.parametrize("budget", ["1", "1/frame"])
def test_budget_one_is_refused_with_the_spellings(budget, capsys, no_model):
    code, out, err = run_cli(["ask", CUTS, "q", "-m", TINY, "--budget", budget], capsys)
    if budget == "1":
        assert code == 2 and one_line(err) and "100%" in err and "count" in err and "share" in err, err
    else:
        assert "would keep a single" not in err


# -- eval input --------------------------------------------------------------------------------

@pytest.fixture
def charades(tmp_path):
    """A Charades-STA folder: two videos (copies of the sample) and their annotations."""
    import shutil

    d = tmp_path / "charades"
    d.mkdir()
    for vid in ("AAAAA", "BBBBB"):
        shutil.copy(CUTS, d / f"{vid}.mp4")
    return d


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("lines,expect", [
    (["AAAAA 0.5 2.0##a person", "BBBBB 1.0 x##bad"], "line 2: start and end must be seconds"),
    (["AAAAA 0.5 2.0##a person", "BBBBB 3.0 1.0##reversed"], "line 2: the interval 3.0-1.0 is reversed"),
    (["AAAAA -1 2.0##negative"], "line 1: the interval -1-2.0 is out of range"),
    (["AAAAA 500 600##after the end"], "line 1: the interval starts at 500s, after the end"),
    (["AAAAA 0.5 2.0##ok", "no separator here"], "line 2: expected 'VIDEO_ID start end##sentence'"),
    (["AAAAA 0.5 2.0##ok", "CCCCC 0.5 2.0##missing video"], "line 2: no video file for id 'CCCCC'"),
])
def test_eval_checks_every_line_before_the_model_loads(lines, expect, charades, capsys, no_model):
    ann = _write(charades / "test.txt", lines)
    code, out, err = run_cli(["eval", str(ann), "-m", TINY], capsys)
    assert code in (2, 3) and one_line(err) and expect in err and str(ann) in err, err


@pytest.mark.parametrize("lines,expect", [
    (['{"video": "AAAAA.mp4", "question": "q", "options": ["a", "b"], "answer": "C"}'], "line 1: answer 'C'"),
    (['{"video": "AAAAA.mp4", "question": "q", "options": ["a", "b"], "answer": "A"}', "{not json"], "line 2: not JSON"),
    (['["a list"]'], "line 1: a QA item is an object"),
    (['{"video": "AAAAA.mp4", "question": "q", "options": "ab", "answer": 0}'], "line 1: options must be a list"),
    (['{"video": "AAAAA.mp4", "question": "q", "answer": 0}'], "line 1: an open-ended item (no options) needs the answer"),
])
def test_eval_qa_lines_are_checked(lines, expect, charades, capsys, no_model):
    ann = _write(charades / "qa.jsonl", lines)
    code, out, err = run_cli(["eval", str(ann), "--task", "qa", "-m", TINY], capsys)
    assert code == 2 and one_line(err) and expect in err, err


def test_eval_of_nothing_is_refused(charades, capsys, no_model):
    ann = _write(charades / "empty.txt", [])
    code, out, err = run_cli(["eval", str(ann), "-m", TINY], capsys)
    assert code == 2 and "no items" in err
    code, out, err = run_cli(["eval", str(_write(charades / "one.txt", ["AAAAA 0.5 2.0##x"])), "-m", TINY,
                              "--limit", "0"], capsys)
    assert code == 2 and one_line(err)


def test_eval_writes_as_it_goes_and_resumes(charades, capsys, monkeypatch):
    """A run killed after its first item leaves that item in --out; the rerun scores only
    the rest, and every item is in the file once."""
    import vidtok.tasks.evaluate as ev

    ann = _write(charades / "test.txt", ["AAAAA 0.5 2.0##a red square", "BBBBB 1.0 3.0##a blue circle",
                                         "AAAAA 2.0 4.0##a green thing"])
    out = charades / "results.jsonl"
    argv = ["eval", str(ann), "-m", TINY, "--budget", "0.5", "--out", str(out), "--json"]
    real, calls = ev._ground_one, []

    def killed_after_one(*a, **kw):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(ev, "_ground_one", killed_after_one)
    code, _, err = run_cli(argv, capsys)
    assert code == 130
    assert len(out.read_text().splitlines()) == 1
    scored = []
    monkeypatch.setattr(ev, "_ground_one", lambda *a, **kw: scored.append(1) or real(*a, **kw))
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    r = json.loads(stdout)
    assert r["items"] == 3 and len(scored) == 2
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 3 and len({x["id"] for x in recs}) == 3 and [x["row"]["line"] for x in recs] == [1, 2, 3]
    code, stdout, err = run_cli(argv, capsys)  # all done: nothing rescored
    assert code == 0 and len(scored) == 2 and len(out.read_text().splitlines()) == 3
    code, stdout, err = run_cli(argv[:-3] + ["--budget", "0.25", "--out", str(out), "--json"], capsys)
    assert code == 0 and len(scored) == 5  # another setting: other items
    assert not (charades / "results.jsonl.lock").exists()


# -- chat --------------------------------------------------------------------------------------

def test_chat_survives_bad_lines_and_failed_commands(tmp_path, capsys, monkeypatch, read_only):
    import io

    script = (b"What is shown?\n\xff\xfe not text\n/method nosuch\n/budget 0.5\n/method holitom\n"
              b"/budget abc\n/frames\n/save " + str(read_only / "talk.json").encode() + b"\n"
              b"/save " + str(tmp_path).encode() + b"\n/nosuch\nAnd now?\n/save " + str(tmp_path / "t.json").encode()
              + b"\n")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(script)))
    code, out, err = run_cli(["chat", CUTS, "-m", TINY, "--json", "--max-new-tokens", "2"], capsys)
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["question"] for x in lines if "turn" in x] == ["What is shown?", "And now?"]
    errors = [x["error"] for x in lines if "error" in x]
    assert len(errors) == 6, errors  # the bad line, /method nosuch, /budget abc, two /save, /nosuch
    assert "line 2 is not UTF-8" in errors[0]
    frames = next(x for x in lines if x.get("command") == "/frames")
    assert frames["method"] == "holitom" and frames["budget"] == "0.5"  # refused settings never took effect
    saved = json.loads((tmp_path / "t.json").read_text())
    assert len(saved["turns"]) == 2 and "internal error" not in err
