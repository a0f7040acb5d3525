"""The decoder backends, by name, and the choice of one."""

from __future__ import annotations

from ..errors import MissingDependencyError
from ..registry import Registry
from .base import Decoder

#: Preference order: PyAV first (exact seeking on every container, any stream, skips
#: non-reference frames); torchcodec (exact); decord; OpenCV (sequential only).
DECODERS: Registry[type[Decoder]] = Registry(
    "decoders",
    {
        "pyav": "vidtok.decode.pyav_backend:PyAVDecoder",
        "torchcodec": "vidtok.decode.torchcodec_backend:TorchCodecDecoder",
        "decord": "vidtok.decode.decord_backend:DecordDecoder",
        "opencv": "vidtok.decode.opencv_backend:OpenCVDecoder",
    },
)

def available_backends() -> list[str]:
    return [n for n, cls in DECODERS.items() if cls.available()]


def pick_backend(name: str | None) -> type[Decoder]:
    if name in (None, "auto"):
        for n, cls in DECODERS.items():
            if cls.available():
                return cls
        raise MissingDependencyError("no decoder available; install PyAV (pip install av)")
    cls = DECODERS.get(name)
    why = cls.unavailable()
    if why is not None:
        if not cls.found():  # not installed; anything else it lacks, `why` names
            extra = f" (pip install 'vidtok[{cls.extra}]')" if cls.extra else ""
            raise MissingDependencyError(f"decoder backend '{name}' is not installed{extra}")
        raise MissingDependencyError(f"decoder backend '{name}' cannot decode here: {why}")
    return cls
