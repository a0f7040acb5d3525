"""Encode stage. ``ENCODERS`` holds what ``--encoder`` names: frame encoders (frames ->
one vector each; with text, the query too) for query-aware selection, ``ground --via
embed`` and ``search``. Each class builds itself from the part of the model string after
its name (``from_spec``), so ``load_encoder`` is one registry lookup and a plugin encoder
(entry-point group ``vidtok.encoders``) is used the same way. The video LLMs' own vision
towers live in their adapters; ``pixels.PixelsEncoder`` (raw patches as tokens) serves
``compress``."""

from ..registry import Registry

ENCODERS = Registry("encoders", {
    "pixels": "vidtok.encode.pixels:PixelFrameEncoder",
    "open_clip": "vidtok.encode.clip:OpenClipEncoder",
    "siglip": "vidtok.encode.siglip:SiglipEncoder",
})

__all__ = ["ENCODERS"]
