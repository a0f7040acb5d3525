"""``fastvid``: dynamic temporal segmentation plus density-based spatio-temporal pruning.

Shen et al., "FastVID: Dynamic Density Pruning for Fast Video Large Language Models" (2025).
Frames are cut into segments where consecutive frames are least alike (similarity below
``tau``, at most ``max_segments``). Each segment gets budget in proportion to its tokens and
keeps density peaks (DPC: high local density times distance to any denser token) as
anchors; every other token merges into its most similar anchor (size-weighted).
"""

from __future__ import annotations

import torch

from ._ops import frame_cuts, largest_remainder
from .tokenset import TokenSet, cosine_normalize


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
OPTION_RANGES = {"tau": (0.0, 1.0), "segments": (1, None)}


def density_peaks(x: torch.Tensor, k: int, knn: int = 5, chunk: int = 2048) -> torch.Tensor:
    """Indices of the ``k`` density peaks of unit vectors ``x`` (chunked; no N x N held)."""
    n, dev = len(x), x.device
    if k >= n:
        return torch.arange(n, device=dev)
    kk = min(knn, n - 1)
    rho = torch.empty(n, device=dev)
    for s in range(0, n, chunk):
        d = 1 - x[s : s + chunk] @ x.T
        rho[s : s + chunk] = torch.exp(-(torch.topk(d, kk + 1, largest=False).values[:, 1:] ** 2).mean(1))
    # strict density order (ties by index), so exact duplicates are never both peaks
    rank = torch.empty(n, dtype=torch.long, device=dev)
    rank[torch.argsort(rho, stable=True)] = torch.arange(n, device=dev)
    delta = torch.empty(n, device=dev)
    for s in range(0, n, chunk):
        d = 1 - x[s : s + chunk] @ x.T
        denser = rank.unsqueeze(0) > rank[s : s + chunk].unsqueeze(1)
        dd = torch.where(denser, d, torch.full_like(d, float("inf"))).min(1).values
        delta[s : s + chunk] = dd
    top = torch.isinf(delta)
    delta[top] = (1 - x[top] @ x.T).max(1).values if bool(top.any()) else delta[top]
    return torch.topk(rho * delta.clamp_min(0), k).indices


def fastvid(ts: TokenSet, budget: int, query=None, tau: float = 0.9, segments: int = 8) -> TokenSet:
    """Dynamic temporal segmentation + density-peak spatio-temporal pruning (FastVID).

    DySeg as the paper has it: cuts at the ``segments - 1`` least similar frame transitions
    and at every transition below ``tau``, so a static video still splits into ``segments``
    parts (density peaks cost the square of a segment's tokens)."""
    seg_of_frame = frame_cuts(ts, threshold=tau, num_segments=segments)
    seg = seg_of_frame[ts.frames_of()]
    _, seg = torch.unique(seg, return_inverse=True)
    S = int(seg.max()) + 1
    counts = torch.bincount(seg, minlength=S)
    if budget >= S:  # every segment keeps at least one anchor
        alloc = 1 + largest_remainder(counts.double(), budget - S, counts - 1)
    else:
        alloc = largest_remainder(counts.double(), budget, counts)
    x = cosine_normalize(ts.feats)
    assign = torch.full((len(ts),), -1, dtype=torch.long, device=ts.device)
    anchor_ids = []
    for s in range(S):
        ids = torch.nonzero(seg == s).squeeze(1)
        k = int(alloc[s])
        if k == 0:
            continue
        anchors = density_peaks(x[ids], k)
        near = (x[ids] @ x[ids[anchors]].T).argmax(1)
        near[anchors] = torch.arange(k, device=ts.device)
        assign[ids] = sum(len(a) for a in anchor_ids) + near
        anchor_ids.append(ids[anchors])
    all_anchors = torch.cat(anchor_ids)
    orphan = assign < 0  # segments left without budget join the nearest anchor anywhere
    if bool(orphan.any()):
        assign[orphan] = (x[orphan] @ x[all_anchors].T).argmax(1)
    return ts.reduce(assign, len(all_anchors))
