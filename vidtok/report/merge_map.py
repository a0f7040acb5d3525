"""ToMe-style pictures of what a compressor did: each patch painted with the token it went
to (the reconstruction), with lines between patches that went to different tokens, beside
the original frame."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..compress.tokenset import TokenSet


def merge_map(frames: np.ndarray, original: TokenSet, compressed: TokenSet, patch: int,
              frame_ids: list[int], recon: np.ndarray) -> list[Image.Image]:
    """One image per frame id: original | reconstruction with group borders."""
    T, H, W = original.grid
    src = compressed.source_map().reshape(T, H, W).cpu().numpy()
    kept_here = compressed.pos[:, 0].cpu().numpy()
    images = []
    for t in frame_ids:
        left = Image.fromarray(np.ascontiguousarray(frames[t, : H * patch, : W * patch]))
        right = Image.fromarray(np.ascontiguousarray(recon[t]))
        d = ImageDraw.Draw(right)
        g = src[t]
        for y in range(H):
            for x in range(W):
                x0, y0 = x * patch, y * patch
                if x + 1 < W and g[y, x] != g[y, x + 1]:
                    d.line([(x0 + patch - 1, y0), (x0 + patch - 1, y0 + patch - 1)], fill=(20, 20, 20))
                if y + 1 < H and g[y, x] != g[y + 1, x]:
                    d.line([(x0, y0 + patch - 1), (x0 + patch - 1, y0 + patch - 1)], fill=(20, 20, 20))
                # a token whose representative lives in another frame is held from there
                if kept_here[g[y, x]] != t:
                    d.point([(x0 + patch // 2, y0 + patch // 2)], fill=(255, 64, 64))
        canvas = Image.new("RGB", (left.width * 2 + 8, left.height), (255, 255, 255))
        canvas.paste(left, (0, 0))
        canvas.paste(right, (left.width + 8, 0))
        images.append(canvas)
    return images
