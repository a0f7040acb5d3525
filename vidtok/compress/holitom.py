"""``holitom``: holistic token merging outside the LLM.

Shao et al., "HoliTom: Holistic Token Merging for Fast Video Large Language Models" (2025),
the outer-LLM part:

1. **Global redundancy-aware temporal segmentation.** Dynamic programming over frame
   boundaries chooses the segments that maximise the number of tokens that stay static
   through a whole segment (a patch is static when every consecutive pair in the segment
   is more similar than ``tau``).
2. **Temporal merging.** Inside each segment, each static patch becomes one token standing
   for all its frames, most static first, without going below the budget.
3. **Spatial merging.** The remaining tokens are merged inside their segment (bipartite,
   size-weighted) until the budget is met exactly.
"""

from __future__ import annotations

import torch

from ._ops import merge_to
from .tokenset import TokenSet


def _static_scores(ts: TokenSet):
    """(T-1, H*W) similarity of each patch with itself in the next frame (original grid)."""
    from ..kernels import consecutive_sim

    T, H, W = ts.grid
    return consecutive_sim(ts.unmerge().reshape(T, H * W, -1), 0.0)[0] if T > 1 else torch.zeros(0, H * W)


def segment_frames(sim: torch.Tensor, T: int, tau: float, max_len: int) -> list[tuple[int, int]]:
    """DP over segmentations maximising tokens saved: sum over segments of
    (length - 1) x (patches static through the segment)."""
    best = [0.0] * (T + 1)
    back = [0] * (T + 1)
    for b in range(1, T + 1):  # segment ends at frame b-1
        run_min = None
        best[b], back[b] = best[b - 1], b - 1  # a one-frame segment saves nothing
        for a in range(b - 1, max(-1, b - 1 - max_len), -1):  # segment [a, b-1]
            if a < b - 1:
                row = sim[a]  # similarity of frames a and a+1
                run_min = row if run_min is None else torch.minimum(run_min, row)
                saved = (b - 1 - a) * float((run_min > tau).sum())
                if best[a] + saved > best[b]:
                    best[b], back[b] = best[a] + saved, a
    segs, b = [], T
    while b > 0:
        a = back[b]
        segs.append((a, b - 1))
        b = a
    return segs[::-1]


def holitom(ts: TokenSet, budget: int, query=None, tau: float = 0.8, max_segment: int = 16) -> TokenSet:
    """Global temporal segmentation, static-token merging, then merging within segments (HoliTom)."""
    T, H, W = ts.grid
    sim = _static_scores(ts)
    segs = segment_frames(sim, T, tau, max_segment)
    seg_of_frame = torch.zeros(T, dtype=torch.long)
    for i, (a, b) in enumerate(segs):
        seg_of_frame[a : b + 1] = i
    N = len(ts)
    # Temporal merging applies to the original grid tokens still present.
    where = ts.position_lookup()
    assign = torch.arange(N)
    count = N
    cands = []  # (staticness, segment, hw)
    for i, (a, b) in enumerate(segs):
        if b == a:
            continue
        m = sim[a:b].min(0).values
        for hw in torch.nonzero(m > tau).squeeze(1).tolist():
            cands.append((float(m[hw]), a, b, hw))
    cands.sort(key=lambda c: -c[0])
    for _, a, b, hw in cands:
        members = where[torch.arange(a, b + 1) * H * W + hw]
        members = members[members >= 0]
        members = members[assign[members] == members]  # not merged already
        if len(members) < 2 or count - (len(members) - 1) < budget:
            continue
        assign[members] = members[0]
        count -= len(members) - 1
    _, assign = torch.unique(assign, return_inverse=True)
    out = ts.reduce(assign)
    return merge_to(out, budget, groups=seg_of_frame[out.pos[:, 0]])
