"""Contact sheet: chosen frames in a grid, each labelled with its exact time."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw


def fmt_time(t: float) -> str:
    m, s = divmod(max(0.0, t), 60)
    return f"{int(m):02d}:{s:06.3f}"


def contact_sheet(frames: Sequence[np.ndarray], labels: Sequence[str], cols: int = 4,
                  thumb_width: int = 320) -> Image.Image:
    n = len(frames)
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    thumbs = []
    for f in frames:
        im = Image.fromarray(np.ascontiguousarray(f))
        h = max(1, round(im.height * thumb_width / im.width))
        thumbs.append(im.resize((thumb_width, h)))
    th = max(t.height for t in thumbs) if thumbs else 1
    pad, label_h = 6, 18
    sheet = Image.new("RGB", (cols * (thumb_width + pad) + pad, rows * (th + label_h + pad) + pad), (24, 24, 24))
    d = ImageDraw.Draw(sheet)
    for k, (im, lab) in enumerate(zip(thumbs, labels)):
        r, c = divmod(k, cols)
        x, y = pad + c * (thumb_width + pad), pad + r * (th + label_h + pad)
        sheet.paste(im, (x, y))
        d.text((x + 2, y + th + 3), lab, fill=(235, 235, 235))
    return sheet
