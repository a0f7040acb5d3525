"""The second sweep of user mistakes: each gets one line, a documented exit code and no
partial output, before any model loads (a fresh machine, recipes and options, chat and
eval input, budgets, devices)."""

import json

import pytest

from .conftest import SAMPLES, run_cli

CUTS = str(SAMPLES / "synthetic_cuts.mp4")
TINY = "random:qwen2_5_vl-tiny"


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "internal error" not in err and "Traceback" not in err


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: every check must come before it."""
    import vidtok.models.base as base

    def refuse(*a, **kw):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(base, "load_model", refuse)


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
