"""``pixels`` encoder: every token is a raw RGB patch. Needs no weights.

It serves analysis and tests: because a token *is* its pixels, any compressed
``TokenSet`` can be unmerged back into frames, and PSNR against the original frames is
an honest, model-free measure of how much a compressor keeps.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..compress.tokenset import TokenSet


class PixelsEncoder:
    """Raw RGB patches as tokens (no weights; reconstructable, for fidelity and tests)."""

    name = "pixels"

    def __init__(self, patch: int = 16):
        self.patch = int(patch)

    def encode(self, frames: np.ndarray, frame_times=None, frame_ends=None) -> TokenSet:
        """(T, H, W, 3) uint8 -> TokenSet on a (T, H/p, W/p) grid, features in [0, 1].
        Frames whose sides are not multiples of the patch are cropped to them."""
        p = self.patch
        x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 255.0
        T, H, W, C = x.shape
        h, w = H // p, W // p
        if h == 0 or w == 0:
            raise ValueError(f"frames of {W}x{H} are smaller than one {p}x{p} patch")
        x = x[:, : h * p, : w * p]
        x = x.reshape(T, h, p, w, p, C).permute(0, 1, 3, 2, 4, 5).reshape(T, h, w, p * p * C)
        return TokenSet.from_grid(x, frame_times, frame_ends)

    def decode(self, grid: torch.Tensor) -> np.ndarray:
        """(T, h, w, p*p*3) features -> (T, h*p, w*p, 3) uint8 frames."""
        T, h, w, D = grid.shape
        p = self.patch
        C = D // (p * p)
        x = grid.reshape(T, h, w, p, p, C).permute(0, 1, 3, 2, 4, 5).reshape(T, h * p, w * p, C)
        return (x.clamp(0, 1) * 255).round().byte().numpy()


def psnr(reference: torch.Tensor, estimate: torch.Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (inf when identical)."""
    mse = float(((reference.double() - estimate.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(peak * peak / mse)


def fidelity(original: TokenSet, compressed: TokenSet) -> float:
    """PSNR of the compressed set unmerged onto the grid against the original tokens."""
    return psnr(original.unmerge(), compressed.unmerge())


class PixelFrameEncoder:
    """Frame embeddings from downscaled raw pixels (no weights, no text)."""

    name = "pixels"
    supports_text = False

    def __init__(self, side: int = 16):
        self.side = side

    @classmethod
    def from_spec(cls, arg: str | None, device: str | None = None, random_init: bool = False) -> "PixelFrameEncoder":
        """``pixels`` or ``pixels:SIDE`` (thumbnail side, default 16); no weights, so
        ``random:`` changes nothing."""
        return cls(int(arg)) if arg else cls()

    def encode_images(self, frames: np.ndarray, batch_size: int = 256) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255
        x = torch.nn.functional.interpolate(x, size=(self.side, self.side), mode="area")
        x = x.flatten(1)
        return torch.nn.functional.normalize(x - x.mean(1, keepdim=True), dim=-1)

    def encode_text(self, texts):
        from ..errors import UsageError

        raise UsageError("the 'pixels' encoder has no text tower; use open_clip or siglip for --query")
