"""Recipes and -o key=value on every command that compresses or selects: a compressor's or
selector's own options reachable from the shell, checked before anything runs."""

import json

import pytest

from .conftest import SAMPLES, run_cli

V = str(SAMPLES / "synthetic_cuts.mp4")


def test_compressor_options_reach_the_method(capsys, monkeypatch):
    from vidtok.compress import COMPRESSORS

    import functools

    seen = {}
    real = COMPRESSORS.get("holitom")

    @functools.wraps(real)  # the same signature: the options are checked against it
    def watched(ts, k, q=None, **kw):
        seen.update(kw)
        return real(ts, k, q, **kw)

    monkeypatch.setitem(COMPRESSORS._loaded, "holitom", watched)
    code, out, err = run_cli(["compress", V, "-m", "dtd,holitom", "-o", "tau=0.7", "-o", "holitom.max_segment=4",
                              "-n", "4", "--size", "32", "--json"], capsys)
    assert code == 0, err
    assert seen == {"tau": 0.7, "max_segment": 4}


@pytest.mark.parametrize("pair, says", [("nosuch=1", "holitom: tau, max_segment"), ("tau=abc", "not a float"),
                                        ("dtd.tau=1", "not used here"), ("holitom.x=1", "no such option"),
                                        ("tau", "key=value")])
def test_bad_options_are_usage_errors(pair, says, capsys):
    code, out, err = run_cli(["compress", V, "-o", pair], capsys)
    assert code == 2 and says in err and err.count("\n") == 1


def test_selector_options_and_recipes(capsys, tmp_path):
    code, out, err = run_cli(["keyframes", V, "-m", "redundancy", "-k", "3", "-o", "analysis_fps=2", "--json",
                              "--no-cache"], capsys)
    assert code == 0 and json.loads(out)["params"] == {"analysis_fps": 2.0}
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("method: dtd,pool\nbudget: '0.2'\noptions: {holitom: {tau: 0.5}}\n")
    code, out, err = run_cli(["compress", V, "--recipe", str(recipe), "-n", "4", "--size", "32", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["methods"] == ["dtd", "pool"] and d["tokens_out"] == round(0.2 * d["tokens_in"])
    code, out, err = run_cli(["ask", V, "q", "--recipe", "fast-cpu", "-m", "random:qwen2_5_vl-tiny",
                              "--max-new-tokens", "2", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["compression"]["method"] == "dtd,holitom" and d["compression"]["budget"] == "0.1"


def test_dtype_and_device_reach_the_model_and_are_checked_first(capsys, monkeypatch):
    code, out, err = run_cli(["ask", V, "q", "-m", "random:qwen2_5_vl-tiny", "--dtype", "bfloat16", "--device", "cpu",
                              "--max-new-tokens", "2", "--no-cache", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["dtype"] == "bfloat16" and d["device"] == "cpu"
    import vidtok.models.loading as base

    monkeypatch.setattr(base, "load_model", lambda *a, **k: pytest.fail("loaded before the options were checked"))
    for argv in (["ask", V, "q", "--dtype", "float64"], ["batch", str(SAMPLES), "--task", "ask", "-q", "x",
                                                           "--dtype", "int8", "--out", "/dev/null"]):
        code, out, err = run_cli(argv, capsys)
        assert code == 2 and "--dtype" in err, err


def test_the_cut_network_runtime_is_an_option_checked_before_decoding(capsys, monkeypatch):
    """``-o runtime=torch|openvino`` picks what runs TransNetV2 (``--json`` says which ran);
    another value is a one-line usage error before a frame is decoded."""
    code, out, err = run_cli(["keyframes", V, "-m", "scenes", "-o", "runtime=torch", "--json", "--no-cache"], capsys)
    d = json.loads(out)
    assert code == 0 and d["params"]["runtime"] == "torch" and [c["index"] for c in d["cuts"]] == [40, 95, 150]
    from vidtok.select import transnet

    monkeypatch.setattr(transnet, "_Ring", lambda *a, **k: pytest.fail("decoded before the option was checked"))
    code, out, err = run_cli(["keyframes", V, "-m", "scenes", "-o", "runtime=onnx", "--no-cache"], capsys)
    assert code == 2 and "runtime must be auto, torch, openvino, got 'onnx'" in err and err.count("\n") == 1
    from vidtok.select import transnet_openvino

    monkeypatch.setattr(transnet_openvino, "available", lambda: False)  # a machine without OpenVINO
    code, out, err = run_cli(["keyframes", V, "-m", "scenes", "-o", "runtime=openvino", "--no-cache"], capsys)
    assert code == 6 and "pip install 'vidtok[cuts]'" in err and err.count("\n") == 1
