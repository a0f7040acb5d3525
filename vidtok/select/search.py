"""``search``: coarse-to-fine temporal search (T* / TimeSearch style).

Score a sparse uniform set of frames; keep the best intervals; sample them more densely;
repeat until the frame budget is spent. Returns the ``k`` best-scoring frames seen. The
scorer is any function of frame indices (query similarity through an encoder), so the
search itself is tested on functions whose maximum is known.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def coarse_to_fine(score: Callable[[np.ndarray], np.ndarray], num_frames: int, budget: int, k: int,
                   initial: int = 16, keep: int = 3, zoom: int = 8) -> tuple[np.ndarray, np.ndarray, int]:
    """Returns (best ``k`` frame indices, their scores, frames scored)."""
    seen: dict[int, float] = {}

    def evaluate(idx):
        idx = [int(i) for i in np.unique(np.clip(idx, 0, num_frames - 1)) if int(i) not in seen]
        room = budget - len(seen)
        idx = idx[: max(0, room)]
        if idx:
            for i, s in zip(idx, score(np.asarray(idx))):
                seen[i] = float(s)

    evaluate(np.linspace(0, num_frames - 1, min(initial, budget, num_frames)).round().astype(int))
    width = num_frames / max(1, min(initial, num_frames))
    while len(seen) < min(budget, num_frames) and width >= 1:
        best = sorted(seen, key=lambda i: -seen[i])[:keep]
        before = len(seen)
        for b in best:
            evaluate(np.linspace(b - width, b + width, zoom).round().astype(int))
        width /= 2
        if len(seen) == before and width < 1:
            break
    order = sorted(seen, key=lambda i: -seen[i])[:k]
    order = sorted(order)
    return np.asarray(order, np.int64), np.asarray([seen[i] for i in order]), len(seen)
