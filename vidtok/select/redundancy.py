"""``redundancy``: keyframes where the content changes most (KFFocus-style), cheap.

Frames are scored by how much they differ from the previous analysed frame (the HSV
change of the analysis pass); the ``k`` highest-scoring frames are taken greedily with a
minimum temporal gap (non-maximum suppression), the first frame always included so the
opening shot is represented.
"""

from __future__ import annotations

import numpy as np


def change_keyframes(score: np.ndarray, times: np.ndarray, k: int, min_gap: float | None = None) -> np.ndarray:
    """Positions of ``k`` keyframes: position 0, then the highest ``score`` at least
    ``min_gap`` seconds from every chosen one (gap shrinks when it cannot fit ``k``)."""
    n = len(score)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64)
    span = float(times[-1] - times[0]) if n > 1 else 0.0
    gap = span / (2 * k) if min_gap is None else min_gap
    order = np.argsort(-score, kind="stable")
    while True:
        chosen = [0]
        for p in order:
            if len(chosen) >= k:
                break
            if p == 0:
                continue
            if all(abs(times[p] - times[c]) >= gap for c in chosen):
                chosen.append(int(p))
        if len(chosen) >= k or gap <= 0:
            break
        gap /= 2
    if len(chosen) < k:  # gap exhausted: fill with the best remaining
        for p in order:
            if len(chosen) >= k:
                break
            if p not in chosen:
                chosen.append(int(p))
    return np.sort(np.asarray(chosen, dtype=np.int64))
