"""vidtok: video understanding with fewer tokens.

decode -> select -> encode -> compress -> answer. Start with :func:`open_video`.

The names below load on first use, so ``import vidtok`` (and ``vidtok --help``) costs no
PyAV, NumPy or pydantic import.
"""

__version__ = "0.1.0"
__all__ = ["Frames", "Video", "VideoInfo", "VidtokError", "open_video", "__version__"]


def __getattr__(name: str):
    if name in ("Frames", "Video", "VideoInfo", "open_video"):
        from . import decode

        return getattr(decode, name)
    if name == "VidtokError":
        from .errors import VidtokError

        return VidtokError
    raise AttributeError(f"module 'vidtok' has no attribute {name!r}")
