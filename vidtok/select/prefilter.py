"""Drop near-duplicate frames *before* the vision tower.

Token compression after the tower (HoliTom, FastVID, ...) cuts the LLM's prefill by the
token ratio but leaves the tower itself, which dominates on a CPU, untouched. Like EVS and
run-length tokenisation, this stage spends the tower only on frames that bring something
new: greedy max-min (farthest-point) selection over tiny grey thumbnails, so static
stretches give up their frames first and every change in content keeps one. Frames move in
groups of ``group`` consecutive frames (2 for Qwen's temporal patches), so every group the
tower sees is a real one.
"""

from __future__ import annotations

import numpy as np


def thumbnails(frames: np.ndarray, side: int = 16) -> np.ndarray:
    """(T, side*side) float32 grey thumbnails of (T, H, W, 3) uint8 frames (box filter),
    summed in integers frame by frame: no float copy of full-size frames (10x faster on
    64 frames of 1024x1024, which the model's processor now receives at full size)."""
    T, H, W = frames.shape[:3]
    hs, ws = max(1, H // side), max(1, W // side)
    Hc, Wc = (hs * side, ws * side) if H >= side and W >= side else (H, W)
    h, w = Hc // hs, Wc // ws
    out = np.empty((T, h * w), np.float32)
    for t in range(T):
        g = frames[t, : h * hs, : w * ws].sum(-1, dtype=np.uint16)  # the three channels
        g = g.reshape(h, hs, w * ws).sum(1, dtype=np.uint32).reshape(h, w, ws).sum(2)
        out[t] = g.reshape(-1) / np.float32(hs * ws * 3 * 255)
    return out


def distinct_frames(frames: np.ndarray, keep: int, group: int = 1) -> np.ndarray:
    """Indices (sorted) of ``keep`` frames, whole groups of ``group`` consecutive frames,
    chosen by greedy max-min distance between group thumbnails, starting from the first."""
    T = len(frames)
    n_groups = -(-T // group)
    k = max(1, min(n_groups, -(-keep // group)))
    if k >= n_groups:
        return np.arange(T)
    th = thumbnails(frames)
    gv = np.stack([th[i * group:(i + 1) * group].mean(0) for i in range(n_groups)])
    chosen = [0]
    mind = np.abs(gv - gv[0]).mean(1)
    mind[0] = -1
    while len(chosen) < k:
        j = int(mind.argmax())  # earliest of equals: ties keep time order
        chosen.append(j)
        mind = np.minimum(mind, np.abs(gv - gv[j]).mean(1))
        mind[chosen] = -1
    groups = np.sort(np.asarray(chosen))
    return np.concatenate([np.arange(g * group, min(T, (g + 1) * group)) for g in groups])


def full_token_count(n_tokens: int, n_encoded: int, n_sampled: int, group: int = 1) -> int:
    """Tokens all ``n_sampled`` frames would have cost, from the ``n_tokens`` the tower gave
    for ``n_encoded`` of them (the tower gives the same count per group of frames)."""
    def steps(n):
        return -(-n // group)

    return int(round(n_tokens * steps(n_sampled) / max(1, steps(n_encoded))))
