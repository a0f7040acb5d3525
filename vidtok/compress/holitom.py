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


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
OPTION_RANGES = {"tau": (0.0, 1.0), "max_segment": (1, None)}


def _static_scores(ts: TokenSet):
    """(T-1, H*W) similarity of each patch with itself in the next frame (original grid)."""
    from ..kernels import consecutive_sim

    T, H, W = ts.grid
    return consecutive_sim(ts.unmerge().reshape(T, H * W, -1), 0.0)[0] if T > 1 else torch.zeros(0, H * W, device=ts.device)


def static_counts(sim: torch.Tensor, tau: float, max_len: int) -> list[list[int]]:
    """``counts[L-1][a]``: patches static through frames a..a+L (more similar than ``tau`` at
    every consecutive pair), for L = 1..max_len: running minima on the device, one read."""
    n = sim.shape[0]
    rows, run = [], None
    for L in range(1, min(max_len, n) + 1):
        run = sim[: n - L + 1] if run is None else torch.minimum(run[:-1], sim[L - 1:])
        rows.append((run > tau).sum(1))
    if not rows:
        return []
    flat = torch.cat(rows).tolist()  # the one host read
    out, i = [], 0
    for r in rows:
        out.append(flat[i: i + len(r)])
        i += len(r)
    return out


def segment_frames(sim: torch.Tensor, T: int, tau: float, max_len: int) -> list[tuple[int, int]]:
    """DP over segmentations maximising tokens saved: sum over segments of
    (length - 1) x (patches static through the segment)."""
    counts = static_counts(sim, tau, max_len)
    best = [0.0] * (T + 1)
    back = [0] * (T + 1)
    for b in range(1, T + 1):  # segment ends at frame b-1
        best[b], back[b] = best[b - 1], b - 1  # a one-frame segment saves nothing
        for a in range(b - 2, max(-1, b - 1 - max_len), -1):  # segment [a, b-1], two frames or more
            saved = (b - 1 - a) * counts[b - 2 - a][a]
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
    seg_of_frame = torch.zeros(T, dtype=torch.long, device=ts.device)
    for i, (a, b) in enumerate(segs):
        seg_of_frame[a : b + 1] = i
    N = len(ts)
    # Temporal merging applies to the original grid tokens still present. The candidates
    # (static patches of each segment) come from the device in one read, and the greedy
    # choice runs over plain integers: no host wait per segment or per candidate.
    multi = [(a, b) for a, b in segs if b > a]
    cands = []  # (staticness, a, b, hw)
    if multi:
        mins = torch.stack([sim[a:b].min(0).values for a, b in multi])  # (segments, H*W)
        seg_i, hw_i = torch.nonzero(mins > tau, as_tuple=True)
        vals = mins[seg_i, hw_i]
        for i, hw, v in zip(seg_i.tolist(), hw_i.tolist(), vals.tolist()):
            cands.append((v, *multi[i], hw))
    cands.sort(key=lambda c: -c[0])
    where = ts.position_lookup().tolist()
    assign = list(range(N))
    count = N
    for _, a, b, hw in cands:
        members = [m for m in (where[t * H * W + hw] for t in range(a, b + 1)) if m >= 0 and assign[m] == m]
        if len(members) < 2 or count - (len(members) - 1) < budget:
            continue
        for m in members:
            assign[m] = members[0]
        count -= len(members) - 1
    assign = torch.tensor(assign, device=ts.device)
    _, assign = torch.unique(assign, return_inverse=True)
    out = ts.reduce(assign)
    return merge_to(out, budget, groups=seg_of_frame[out.pos[:, 0]])
