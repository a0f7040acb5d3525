"""Image-text encoders: frames and text into one embedding space (query relevance,
embedding-based grounding, diversity). Batched; cuda, mps or cpu.

Model strings (``--encoder``):

* ``open_clip:ViT-B-32/laion2b_s34b_b79k`` — any open_clip model and pretrained tag
  (weights download on first use for real users);
* ``siglip:google/siglip-base-patch16-224`` — SigLIP through transformers (hub id or path);
* ``random:clip-tiny`` / ``random:siglip-tiny`` — randomly initialised, no download (tests,
  speed); ``random:open_clip:ViT-B-32`` builds that architecture at real size;
* ``pixels`` — downscaled raw pixels; no weights, no text (diversity and redundancy only).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np
import torch

from ..errors import UsageError, import_failure


def pick_device(device: str | None = None) -> str:
    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class ImageTextEncoder(ABC):
    name: str = ""
    supports_text = True

    @abstractmethod
    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        """(N, H, W, 3) uint8 -> (N, D) unit-norm float32 on the CPU."""

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """list of strings -> (M, D) unit-norm float32 on the CPU."""
        raise UsageError(f"the '{self.name}' encoder has no text tower; use open_clip or siglip for --query")


def load_encoder(spec: str = "pixels", device: str | None = None) -> ImageTextEncoder:
    """Build an encoder from its model string (see the module docstring): ``[random:]NAME[:REST]``,
    NAME an entry of ``vidtok.encode.ENCODERS``, REST what that class's ``from_spec`` reads."""
    from . import ENCODERS

    spec = spec.strip()
    rest = spec[len("random:"):] if spec.startswith("random:") else spec
    random_init = rest != spec
    if rest in ("clip-tiny", "open_clip-tiny"):
        rest = "open_clip:vidtok-tiny"
    elif rest == "siglip-tiny":
        rest = "siglip"
    name, _, arg = rest.partition(":")
    if name not in ENCODERS:
        raise UsageError(f"unknown encoder '{spec}': use pixels, open_clip:MODEL/PRETRAINED, siglip:HUB_ID, "
                         "random:clip-tiny or random:siglip-tiny")
    try:
        return ENCODERS.get(name).from_spec(arg or None, device=device, random_init=random_init)
    except ImportError as e:
        extra = "clip" if name == "open_clip" else "llm"
        raise import_failure(e, f"encoder '{spec}' needs pip install 'vidtok[{extra}]'") from None
