"""Baselines: what the models do by default, met at the same exact budget.

* ``uniform``: keep evenly spaced whole frames (temporal subsampling). When the budget is
  not a whole number of frames, the last kept frame keeps an evenly spread subset of its
  patches. Every dropped token is held by the same patch in the nearest kept frame.
* ``pool``: spatial average pooling with the smallest square window that fits the budget
  (2x2 at 25 %, as LLaVA-Video and Qwen's merger do), then ToMe merging for the remainder.
"""

from __future__ import annotations


import torch

from ._ops import merge_to
from .tokenset import TokenSet


def uniform(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Keep evenly spaced whole frames; dropped tokens hold the nearest kept frame."""
    T, H, W = ts.grid
    dev = ts.device
    frames = torch.unique(ts.frames_of())
    per = torch.bincount(ts.frames_of(), minlength=T)
    # fewest frames whose tokens reach the budget: every count's total first, on the device,
    # then one look at them (not one host wait per frame count tried)
    F = len(frames)
    totals = torch.stack([per[frames[torch.linspace(0, F - 1, m, device=dev).round().long()]].sum()
                          for m in range(1, F + 1)])
    reach = torch.nonzero(totals >= budget)
    m = int(reach[0]) + 1 if len(reach) else F
    pick = frames[torch.linspace(0, F - 1, m, device=dev).round().long()]
    in_pick = torch.isin(ts.frames_of(), pick)
    keep = torch.nonzero(in_pick).squeeze(1)
    excess = len(keep) - budget
    if excess > 0:  # thin the last kept frame evenly
        last = keep[ts.frames_of()[keep] == pick[-1]]
        drop = last[torch.linspace(0, len(last) - 1, excess, device=dev).round().long().unique()]
        i = 0
        while len(drop) < excess:  # rounding collisions
            if not bool((drop == last[i]).any()):
                drop = torch.cat([drop, last[i : i + 1]])
            i += 1
        keep = keep[~torch.isin(keep, drop)]
    # each token -> same (h, w) in the nearest kept frame that kept it
    hw = ts.pos[:, 1] * W + ts.pos[:, 2]
    kt, khw = ts.pos[keep, 0].double(), hw[keep]
    dist = (ts.pos[:, 0].double().unsqueeze(1) - kt.unsqueeze(0)).abs()
    dist = dist + (hw.unsqueeze(1) != khw.unsqueeze(0)).double() * 1e6  # prefer the same patch
    assign = dist.argmin(1)
    assign[keep] = torch.arange(len(keep), device=dev)
    return ts.reduce(assign, len(keep), rep=keep, how="rep")


def pool(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Spatial average pooling (2x2 at 25 %), then ToMe for the remainder."""
    T, H, W = ts.grid
    p = 1
    while True:
        q = p + 1
        groups_q = torch.unique(ts.pos[:, 0] * (H * W) + (ts.pos[:, 1] // q) * W + ts.pos[:, 2] // q)
        if len(groups_q) < budget or q > max(H, W):
            break
        p = q
    key = ts.pos[:, 0] * (H * W) + (ts.pos[:, 1] // p) * W + ts.pos[:, 2] // p
    _, assign = torch.unique(key, return_inverse=True)
    out = ts.reduce(assign) if p > 1 else ts
    return merge_to(out, budget, groups=out.frames_of().clone())
