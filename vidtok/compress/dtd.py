"""``dtd``: drop tokens that did not change since the previous frame.

TimeChat-Online's Differential Token Drop (Yao et al., 2025) and EVS (efficient video
sampling): a patch whose feature matches the same patch in the previous frame carries no
new information. Tokens are ranked by how much they changed (first frame: infinitely);
the ``budget`` most changed are kept; every dropped token is held by the last kept token
at the same (h, w) before it, so its span extends over the frames it stood still.
"""

from __future__ import annotations

import torch

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
    change = torch.full((N,), float("inf"))
    change[has_prev] = 1 - (x[has_prev] * x[prev[has_prev]]).sum(-1)
    # stable: ties keep the earliest tokens
    order = torch.argsort(-change, stable=True)
    keep = torch.sort(order[:budget]).values
    kept = torch.zeros(N, dtype=torch.bool)
    kept[keep] = True
    slot = torch.full((N,), -1, dtype=torch.long)
    slot[keep] = torch.arange(len(keep))
    assign = slot.clone()
    # hold: walk frames in order; a dropped token joins the last kept token at its (h, w)
    last = torch.full((H * W,), -1, dtype=torch.long)
    hw = ts.pos[:, 1] * W + ts.pos[:, 2]
    by_t = torch.argsort(ts.pos[:, 0] * (N + 1) + torch.arange(N), stable=True)
    tt = ts.pos[by_t, 0]
    bounds = torch.searchsorted(tt, torch.arange(T + 1))
    orphans = []
    for t in range(T):
        ids = by_t[bounds[t]:bounds[t + 1]]
        if len(ids) == 0:
            continue
        k = kept[ids]
        drop = ids[~k]
        held = last[hw[drop]]
        assign[drop] = torch.where(held >= 0, slot[held.clamp_min(0)], torch.full_like(held, -1))
        orphans.append(drop[held < 0])
        last[hw[ids[k]]] = ids[k]
    orphans = torch.cat(orphans) if orphans else torch.zeros(0, dtype=torch.long)
    if len(orphans):
        assign[orphans] = nearest(ts.feats[orphans], ts.feats[keep])
    return ts.reduce(assign, len(keep), rep=keep, how="rep")
