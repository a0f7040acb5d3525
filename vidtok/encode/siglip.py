"""SigLIP through Hugging Face transformers. ``random_init`` builds a tiny SigLIP from a
config (no download) for tests."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .base import ImageTextEncoder, pick_device


class SiglipEncoder(ImageTextEncoder):
    """SigLIP image-text encoder via transformers (hub id or local path; random: for tests)."""

    name = "siglip"

    @classmethod
    def from_spec(cls, arg: str | None, device: str | None = None, random_init: bool = False) -> "SiglipEncoder":
        """A hub id or local path; with ``random:`` a tiny random SigLIP (tests)."""
        return cls(None if random_init else (arg or "google/siglip-base-patch16-224"), device=device,
                   random_init=random_init)

    def __init__(self, model_id: str | None = "google/siglip-base-patch16-224", device: str | None = None,
                 random_init: bool = False):
        from transformers import SiglipConfig, SiglipModel

        self.device = pick_device(device)
        if random_init:
            torch.manual_seed(0)
            cfg = SiglipConfig(
                text_config={"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                             "num_attention_heads": 2, "vocab_size": 1000, "max_position_embeddings": 64,
                             "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
                vision_config={"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                               "num_attention_heads": 2, "image_size": 64, "patch_size": 16},
            )
            self.model = SiglipModel(cfg)
            self.tokenizer = None
            self.image_size = 64
        else:
            from transformers import AutoTokenizer

            self.model = SiglipModel.from_pretrained(model_id, attn_implementation="sdpa")
            self.tokenizer = AutoTokenizer.from_pretrained(model_id)
            self.image_size = self.model.config.vision_config.image_size
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        out = []
        s = self.image_size
        for i in range(0, len(frames), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(frames[i : i + batch_size])).permute(0, 3, 1, 2).float() / 255
            x = torch.nn.functional.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
            x = (x - 0.5) / 0.5  # SigLIP normalisation
            f = self.model.get_image_features(pixel_values=x.to(self.device))
            f = getattr(f, "pooler_output", f)
            out.append(torch.nn.functional.normalize(f.float(), dim=-1).cpu())
        return torch.cat(out)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        if self.tokenizer is None:  # random model: hash words into its small vocabulary
            ids = [[(hash(w) % 999) + 1 for w in t.lower().split()][:64] or [1] for t in texts]
            n = max(len(i) for i in ids)
            input_ids = torch.tensor([i + [0] * (n - len(i)) for i in ids])
        else:
            input_ids = self.tokenizer(list(texts), padding="max_length", return_tensors="pt").input_ids
        f = self.model.get_text_features(input_ids=input_ids.to(self.device))
        f = getattr(f, "pooler_output", f)
        return torch.nn.functional.normalize(f.float(), dim=-1).cpu()
