"""``clips``: key clips under a fixed token budget (F2C).

After "From Frames to Clips" (F2C, 2025): anchors are chosen by relevance and diversity
(MMR over frame embeddings), each grown into a short clip around its anchor, and clip
length is traded against resolution so every video costs the same token budget: a longer
clip is read at a lower resolution. For ``m`` anchors and a budget ``B``, the plan takes the
longest clip (up to ``max_len`` frames, and short enough for the clips to fit in the video)
whose frames, at the largest size of at least ``min_size`` that fits, satisfy
``m * len * tokens(size) <= B``.
"""

from __future__ import annotations

import numpy as np

from .diverse import mmr_select


def tokens_for(size: int, patch: int = 14, merge: int = 2) -> int:
    """Visual tokens of a size x size frame: (size / patch / merge)^2 (Qwen-style 2x2
    merge); merge=1 for towers without merging."""
    side = max(1, size // (patch * merge))
    return side * side


def plan_clips(num_anchors: int, budget: int, sizes=(448, 392, 336, 280, 224, 168, 112),
               max_len: int = 16, min_len: int = 1, min_size: int = 224, patch: int = 14,
               merge: int = 2) -> tuple[int, int]:
    """(clip length in frames, frame size): the longest clip whose frames still fit the
    budget at ``min_size`` or more, read at the largest size that fits; below that, one
    frame per clip at the largest size that fits. Never exceeds the budget (except the
    smallest size when nothing fits at all)."""
    for length in range(max_len, min_len - 1, -1):
        for s in sizes:
            if s < min_size:
                break
            if num_anchors * length * tokens_for(s, patch, merge) <= budget:
                return length, s
    for s in sizes:
        if num_anchors * min_len * tokens_for(s, patch, merge) <= budget:
            return min_len, s
    return min_len, sizes[-1]


def select_clips(emb: np.ndarray, relevance: np.ndarray, times: np.ndarray, indices: np.ndarray,
                 num_anchors: int, budget: int, frame_step: int, num_frames: int, lam: float = 0.7,
                 **plan_kw):
    """Anchors by MMR, grown into clips of ``length`` frames spaced ``frame_step`` apart
    (in original frame indices), never overlapping, clamped to the video."""
    anchors = mmr_select(emb, relevance, num_anchors, lam=lam)
    # clips of all anchors should fit in the video side by side
    fit = max(1, (num_frames // max(1, frame_step)) // max(1, len(anchors)))
    plan_kw["max_len"] = min(plan_kw.get("max_len", 16), fit)
    length, size = plan_clips(len(anchors), budget, **plan_kw)
    clips, used = [], set()
    for a in sorted(anchors, key=lambda p: -relevance[p]):
        centre = int(indices[a])
        start = centre - (length // 2) * frame_step
        start = int(np.clip(start, 0, max(0, num_frames - 1 - (length - 1) * frame_step)))
        frames = [min(num_frames - 1, start + j * frame_step) for j in range(length)]
        frames = [f for f in dict.fromkeys(frames) if f not in used]
        used.update(frames)
        clips.append((a, frames, float(relevance[a])))
    return clips, length, size
