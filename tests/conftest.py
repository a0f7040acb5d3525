import json
import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every test run gets its own empty cache: results cached by an earlier run (or by older
# code) must never decide a test.
os.environ["VIDTOK_CACHE_DIR"] = tempfile.mkdtemp(prefix="vidtok-test-cache-")
SAMPLES = ROOT / "sample_videos"

if os.environ.get("VIDTOK_TEST_HIDE_FFMPEG") == "1":
    # `.ci/run` runs the suite once more like this: torchcodec as a machine without FFmpeg's
    # shared libraries has it (0.17 imports, leaves ffmpeg_major_version None, and fails
    # when a decoder opens), so the README's test command cannot come to depend on them.
    try:
        import torchcodec
        import torchcodec.decoders
    except ImportError:
        pass
    else:
        def _no_ffmpeg(*a, **kw):
            raise RuntimeError("Could not load libtorchcodec (hidden by VIDTOK_TEST_HIDE_FFMPEG)")

        torchcodec.ffmpeg_major_version = None
        torchcodec.decoders.VideoDecoder = _no_ffmpeg
SHARED = Path(os.environ.get("VIDTOK_SHARED_VIDEOS", ROOT.parent / "shared" / "videos"))

needs_shared = pytest.mark.skipif(
    not (SHARED / "annotations" / "ffprobe_measurements.json").exists(),
    reason=f"shared test videos not found at {SHARED} (set VIDTOK_SHARED_VIDEOS)",
)


def shared_measurements() -> dict:
    p = SHARED / "annotations" / "ffprobe_measurements.json"
    return json.loads(p.read_text()) if p.exists() else {}


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def shared() -> Path:
    return SHARED


@pytest.fixture
def cuts_video() -> Path:
    return SAMPLES / "synthetic_cuts.mp4"


@pytest.fixture
def cuts_truth() -> dict:
    return json.loads((SAMPLES / "synthetic_cuts.json").read_text())


def run_cli(argv, capsys):
    """Run the vidtok CLI in-process: (exit code, stdout, stderr)."""
    from vidtok.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(argv)
        raise SystemExit(0)
    cap = capsys.readouterr()
    return e.value.code or 0, cap.out, cap.err


def one_line(err: str) -> bool:
    """A user's error: one line, no "internal error", no traceback."""
    return err.count("\n") == 1 and "internal error" not in err and "Traceback" not in err


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: every check must come before it."""
    import vidtok.models.loading as base

    def refuse(*a, **kw):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(base, "load_model", refuse)


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody can write in, root included (root ignores modes: the immutable flag
    binds it too); skipped where neither works."""
    import shutil
    import subprocess

    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    immutable = False
    if os.access(d, os.W_OK) and shutil.which("chattr"):
        immutable = subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode == 0
    if os.access(d, os.W_OK):
        pytest.skip("cannot make a read-only folder here (root without the immutable flag)")
    yield d
    if immutable:
        subprocess.run(["chattr", "-i", str(d)])
    d.chmod(0o755)
