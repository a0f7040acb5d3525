"""``traj``: one token per trajectory.

Training-free form of TrajViT (Zheng et al., "One Trajectory, One Token", 2025): every token
is linked to its most similar token in the previous frame within a small spatial window
(``radius`` patches), as a cheap stand-in for optical-flow tracking. The most similar links
are accepted first, at most one successor per token, until exactly ``budget`` chains
remain; each chain (a trajectory) is pooled into one token whose span is the trajectory's
lifetime. If links run out, whole trajectories are merged by similarity.
"""

from __future__ import annotations

import torch

from ._ops import merge_to
from .tokenset import TokenSet, cosine_normalize


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
OPTION_RANGES = {"radius": (0, 64)}


def traj(ts: TokenSet, budget: int, query=None, radius: int = 1) -> TokenSet:
    """Link patches across frames into trajectories; one pooled token each (training-free TrajViT)."""
    T, H, W = ts.grid
    N = len(ts)
    x = cosine_normalize(ts.feats)
    where = ts.position_lookup()
    t, h, w = ts.pos[:, 0], ts.pos[:, 1], ts.pos[:, 2]
    dev = ts.device
    best_sim = torch.full((N,), -2.0, device=dev)
    best_prev = torch.full((N,), -1, dtype=torch.long, device=dev)
    for dh in range(-radius, radius + 1):
        for dw in range(-radius, radius + 1):
            ph, pw = h + dh, w + dw
            ok = (t > 0) & (ph >= 0) & (ph < H) & (pw >= 0) & (pw < W)
            cand = torch.full((N,), -1, dtype=torch.long, device=dev)
            cand[ok] = where[((t[ok] - 1) * H + ph[ok]) * W + pw[ok]]
            has = cand >= 0
            sim = torch.full((N,), -2.0, device=dev)
            sim[has] = (x[has] * x[cand[has]]).sum(-1)
            better = sim > best_sim
            best_sim = torch.where(better, sim, best_sim)
            best_prev = torch.where(better, cand, best_prev)
    links = torch.nonzero(best_prev >= 0).squeeze(1)
    links = links[torch.argsort(best_sim[links], descending=True)]
    need = N - budget
    parent = list(range(N))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    has_succ = [False] * N  # plain integers: the link walk reads nothing from the device
    accepted = 0
    prev_list = best_prev.tolist()
    for i in links.tolist():
        if accepted >= need:
            break
        j = prev_list[i]
        if has_succ[j]:
            continue
        has_succ[j] = True
        parent[find(i)] = find(j)
        accepted += 1
    roots = torch.tensor([find(i) for i in range(N)], device=dev)
    _, assign = torch.unique(roots, return_inverse=True)
    out = ts.reduce(assign)
    return merge_to(out, budget) if len(out) > budget else out
