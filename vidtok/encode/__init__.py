"""Encode stage: frames -> TokenSet. ``pixels`` needs no weights; model vision towers and
image-text encoders register here as they land."""

from ..registry import Registry

ENCODERS = Registry("encoders", {
    "pixels": "vidtok.encode.pixels:PixelsEncoder",
    "open_clip": "vidtok.encode.clip:OpenClipEncoder",
    "siglip": "vidtok.encode.siglip:SiglipEncoder",
})

__all__ = ["ENCODERS"]
