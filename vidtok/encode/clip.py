"""open_clip image-text encoder. ``random_init`` builds the architecture with random
weights (no download): for tests and for timing at real dimensions."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .base import ImageTextEncoder, pick_device

# A tiny CLIP for tests: the real open_clip code path at toy size.
TINY_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


class OpenClipEncoder(ImageTextEncoder):
    """open_clip image-text encoder (any model/pretrained tag; random: for tests)."""

    name = "open_clip"

    @classmethod
    def from_spec(cls, arg: str | None, device: str | None = None, random_init: bool = False) -> "OpenClipEncoder":
        """``MODEL/PRETRAINED`` (``ViT-B-32/laion2b_s34b_b79k``); with ``random:`` the
        architecture alone, randomly initialised (``vidtok-tiny``: a tiny one for tests)."""
        model, _, pretrained = (arg or "ViT-B-32").partition("/")
        return cls(model, pretrained or None, device=device, random_init=random_init)

    def __init__(self, model: str = "ViT-B-32", pretrained: str | None = "laion2b_s34b_b79k",
                 device: str | None = None, random_init: bool = False):
        import open_clip

        self.device = pick_device(device)
        if model == "vidtok-tiny":
            from open_clip.factory import _MODEL_CONFIGS

            _MODEL_CONFIGS.setdefault("vidtok-tiny", TINY_CONFIG)
        torch.manual_seed(0)
        import logging

        logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR)) if random_init else None
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            model, pretrained=None if random_init else pretrained, device=self.device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model)
        self.image_size = self.model.visual.image_size
        if isinstance(self.image_size, (tuple, list)):
            self.image_size = self.image_size[0]
        mean = getattr(self.model.visual, "image_mean", None) or (0.48145466, 0.4578275, 0.40821073)
        std = getattr(self.model.visual, "image_std", None) or (0.26862954, 0.26130258, 0.27577711)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)

    def _prep(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255
        s = self.image_size
        x = torch.nn.functional.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        out = []
        for i in range(0, len(frames), batch_size):
            x = self._prep(frames[i : i + batch_size]).to(self.device)
            out.append(torch.nn.functional.normalize(self.model.encode_image(x).float(), dim=-1).cpu())
        return torch.cat(out) if out else torch.zeros(0, 1)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        tok = self.tokenizer(list(texts)).to(self.device)
        return torch.nn.functional.normalize(self.model.encode_text(tok).float(), dim=-1).cpu()
