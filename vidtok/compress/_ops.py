"""Tensor building blocks shared by compressors (pure functions, no state)."""

from __future__ import annotations

import torch

from ..kernels import rowmax
from .tokenset import TokenSet, cosine_normalize


def bipartite_merge(ts: TokenSet, r: int, groups: torch.Tensor) -> TokenSet:
    """One ToMe step: inside each group, tokens alternate into sets A and B; every A
    token's most similar B token is its edge; the ``r`` best edges over all groups are
    merged (size-weighted). Removes exactly ``min(r, |A|)`` tokens."""
    N, dev = len(ts), ts.device
    order = torch.argsort(groups * (N + 1) + torch.arange(N, device=dev), stable=True)
    g_sorted = groups[order]
    # rank of each token inside its group
    i = torch.arange(N, device=dev)
    first_idx = run_start(g_sorted)
    change = first_idx == i
    rank = i - first_idx
    is_a = (rank % 2 == 0)
    # a group of one token has no partner: keep it in B
    gcount = torch.bincount(g_sorted)
    is_a &= gcount[g_sorted] > 1
    a_idx, b_idx = order[is_a], order[~is_a]
    if len(a_idx) == 0 or r <= 0:
        return ts
    x = cosine_normalize(ts.feats)
    dense = torch.cumsum(change.long(), 0) - 1  # group number of each sorted token, 0..G-1
    best_sim, best_b = grouped_rowmax(x, a_idx, dense[is_a], b_idx, dense[~is_a], int(dense[-1]) + 1)
    valid = best_sim > -2.0  # every A token has a B in its group (lone tokens are B)
    r = min(r, int(valid.sum()))
    top = torch.topk(torch.where(valid, best_sim, torch.full_like(best_sim, -3.0)), r).indices
    merged = torch.zeros(len(a_idx), dtype=torch.bool, device=dev)
    merged[top] = True
    # new ids: B tokens first, then the A tokens that stay
    assign = torch.empty(N, dtype=torch.long, device=dev)
    assign[b_idx] = torch.arange(len(b_idx), device=dev)
    stay = a_idx[~merged]
    assign[stay] = len(b_idx) + torch.arange(len(stay), device=dev)
    assign[a_idx[merged]] = assign[b_idx[best_b[merged]]]
    return ts.reduce(assign, len(b_idx) + len(stay))


#: most similarity entries (groups x A slots x B slots) computed at once when matching inside
#: groups: bounds the memory of one step, not the number of host waits
MATCH_CHUNK = 1 << 24


def run_start(keys: torch.Tensor) -> torch.Tensor:
    """For sorted ``keys``: the index of the first element of each element's run of equal
    keys (one pass on the device)."""
    i = torch.arange(len(keys), device=keys.device)
    change = torch.ones(len(keys), dtype=torch.bool, device=keys.device)
    change[1:] = keys[1:] != keys[:-1]
    return torch.cummax(torch.where(change, i, 0), 0).values


def rank_in_group(g: torch.Tensor) -> torch.Tensor:
    """Each element's rank among the elements of its group, in index order."""
    order = torch.argsort(g, stable=True)
    i = torch.arange(len(g), device=g.device)
    rank = torch.empty_like(i)
    rank[order] = i - run_start(g[order])
    return rank


def grouped_rowmax(x: torch.Tensor, a_rows: torch.Tensor, ga: torch.Tensor, b_rows: torch.Tensor, gb: torch.Tensor,
                   groups: int):
    """For each row ``a_rows`` of ``x`` (group ``ga``), the largest dot product with a row
    ``b_rows`` of ``x`` of the same group (``gb``; groups numbered 0..groups-1): (value,
    index into ``b_rows``; -inf and -1 where the group has no such row). Rows are gathered
    straight from ``x`` into padded (groups, slots, D) blocks matched with batched products,
    chunked by memory: two host waits (the largest groups), not one per group; ties go to
    the earliest of ``b_rows``. One group goes through the ``rowmax`` kernel unpadded."""
    if groups == 1:
        return rowmax(x[a_rows], x[b_rows])
    sa, sb = rank_in_group(ga), rank_in_group(gb)
    na = int(sa.max()) + 1 if len(a_rows) else 1
    nb = int(sb.max()) + 1 if len(b_rows) else 1
    # empty slots read row 0: masked (B) or never read back (A)
    src_a = torch.zeros((groups, na), dtype=torch.long, device=x.device)
    src_a[ga, sa] = a_rows
    b_of = torch.full((groups, nb), -1, dtype=torch.long, device=x.device)
    b_of[gb, sb] = torch.arange(len(b_rows), device=x.device)
    src_b = torch.zeros((groups, nb), dtype=torch.long, device=x.device)
    src_b[gb, sb] = b_rows
    xa, xb = x[src_a].float(), x[src_b].float()
    best_v = torch.full((groups, na), float("-inf"), device=x.device)
    best_j = torch.zeros((groups, na), dtype=torch.long, device=x.device)
    step = max(1, MATCH_CHUNK // (na * nb))
    for g0 in range(0, groups, step):
        sim = torch.bmm(xa[g0:g0 + step], xb[g0:g0 + step].transpose(1, 2))
        sim = sim.masked_fill((b_of[g0:g0 + step] < 0)[:, None, :], float("-inf"))
        best_v[g0:g0 + step], best_j[g0:g0 + step] = sim.max(-1)
    v = best_v[ga, sa]
    j = torch.where(torch.isfinite(v), b_of[ga, best_j[ga, sa]], torch.full_like(sa, -1))
    return v, j


def merge_to(ts: TokenSet, k: int, groups: torch.Tensor | None = None) -> TokenSet:
    """Repeat bipartite merging until exactly ``k`` tokens remain. ``groups`` (per
    current token) restricts merging within groups; when no pair is left inside the
    groups, merging continues over all tokens."""
    while len(ts) > k:
        g = groups if groups is not None else torch.zeros(len(ts), dtype=torch.long, device=ts.device)
        before = len(ts)
        new = bipartite_merge(ts, before - k, g)
        if len(new) == before:  # no pairs inside groups: go global
            new = bipartite_merge(ts, before - k, torch.zeros(before, dtype=torch.long, device=ts.device))
        if groups is not None:
            groups = _carry_groups(ts, new, groups)
        ts = new
    return ts


def _carry_groups(old: TokenSet, new: TokenSet, groups: torch.Tensor) -> torch.Tensor:
    """Group of each new token = group of the old token at its representative position."""
    key = old.flat_pos()
    lookup = torch.full((old.num_original,), -1, dtype=torch.long, device=old.device)
    lookup[key] = groups
    return lookup[new.flat_pos()]


def largest_remainder(weights: torch.Tensor, total: int, caps: torch.Tensor) -> torch.Tensor:
    """Integer allocation of ``total`` proportional to ``weights``, each at most its cap,
    summing exactly to ``min(total, caps.sum())``. One value per frame: the rounds run on
    the host over numbers read from the device once."""
    import numpy as np

    caps_h = np.asarray(caps.long().tolist(), dtype=np.int64)
    w = np.clip(np.asarray(weights.double().tolist(), dtype=np.float64), 0, None) + 1e-12
    total = int(min(total, int(caps_h.sum())))
    alloc = np.zeros_like(caps_h)
    free = caps_h > 0
    remaining = total
    while remaining > 0 and free.any():
        share = w * free / (w * free).sum() * remaining
        add = np.minimum(np.floor(share).astype(np.int64), caps_h - alloc)
        if int(add.sum()) == 0:
            # hand out single tokens by largest remainder
            frac = np.where(free, share - np.floor(share), -1.0)
            for i in np.argsort(-frac, kind="stable"):
                if remaining == 0:
                    break
                if alloc[i] < caps_h[i]:
                    alloc[i] += 1
                    remaining -= 1
            break
        alloc += add
        remaining -= int(add.sum())
        free = alloc < caps_h
    return torch.as_tensor(alloc, device=caps.device)


def frame_cuts(ts: TokenSet, threshold: float | None = None, num_segments: int | None = None) -> torch.Tensor:
    """Segment id of every original frame. Consecutive frames are compared by the mean of
    their original tokens' unit features; a cut falls at every transition less similar than
    ``threshold`` and at the ``num_segments - 1`` least similar ones: either rule alone, or
    both (FastVID's DySeg: at least ``num_segments`` segments, more where the video changes)."""
    T, H, W = ts.grid
    x = cosine_normalize(ts.unmerge().reshape(T, H * W, -1)).mean(1)
    x = cosine_normalize(x)
    sim = (x[1:] * x[:-1]).sum(-1) if T > 1 else torch.zeros(0, device=ts.device)
    cut = torch.zeros(T, dtype=torch.long, device=ts.device)
    if T <= 1:
        return cut
    if num_segments is not None:
        k = max(0, min(num_segments - 1, T - 1))
        if k:
            cut[torch.topk(-sim, k).indices + 1] = 1
    if threshold is not None:
        cut[1:] |= (sim < threshold).long()
    return torch.cumsum(cut, 0)
