"""``dtd``: drop tokens that did not change since the previous frame.

TimeChat-Online's Differential Token Drop (Yao et al., 2025) and EVS (efficient video
sampling): a patch whose feature matches the same patch in the previous frame carries no
new information. Tokens are ranked by how much they changed (first frame: infinitely);
the ``budget`` most changed are kept; every dropped token is held by the last kept token
at the same (h, w) before it, so its span extends over the frames it stood still.
"""

from __future__ import annotations

import torch

from ._ops import run_start
from .tokenset import TokenSet, cosine_normalize, nearest


def dtd(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Drop tokens unchanged since the previous frame (TimeChat-Online DTD / EVS)."""
    T, H, W = ts.grid
    N = len(ts)
    x = cosine_normalize(ts.feats)
    # the same (h, w) in the previous original frame, when that token is present
    key = ts.flat_pos()
    where = ts.position_lookup()
    prev_key = key - H * W
    has_prev = (ts.pos[:, 0] > 0) & (where[prev_key.clamp_min(0)] >= 0)
    prev = where[prev_key.clamp_min(0)]
    change = torch.full((N,), float("inf"), device=ts.device)
    change[has_prev] = 1 - (x[has_prev] * x[prev[has_prev]]).sum(-1)
    # stable: ties keep the earliest tokens
    order = torch.argsort(-change, stable=True)
    keep = torch.sort(order[:budget]).values
    kept = torch.zeros(N, dtype=torch.bool, device=ts.device)
    kept[keep] = True
    slot = torch.full((N,), -1, dtype=torch.long, device=ts.device)
    slot[keep] = torch.arange(len(keep), device=ts.device)
    assign = slot.clone()
    # hold: a dropped token joins the last kept token at its (h, w) in an earlier frame. In
    # (h, w, t) order that is the running maximum of kept positions inside each (h, w) run:
    # one pass on the device, no walk over frames
    hw = ts.pos[:, 1] * W + ts.pos[:, 2]
    order = torch.argsort(hw * (T + 1) + ts.pos[:, 0], stable=True)
    i = torch.arange(N, device=order.device)
    start = run_start(hw[order])
    last_kept = torch.cummax(torch.where(kept[order], i, torch.full_like(i, -1)), 0).values
    held_sorted = torch.where(last_kept >= start, order[last_kept.clamp_min(0)], torch.full_like(i, -1))
    held = torch.empty_like(held_sorted)
    held[order] = held_sorted
    drop = ~kept
    assign[drop] = torch.where(held[drop] >= 0, slot[held[drop].clamp_min(0)], torch.full_like(held[drop], -1))
    orphans = torch.nonzero(drop & (held < 0)).squeeze(1)
    if len(orphans):
        assign[orphans] = nearest(ts.feats[orphans], ts.feats[keep])
    return ts.reduce(assign, len(keep), rep=keep, how="rep")
