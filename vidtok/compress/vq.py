"""``vq``: a per-video k-means codebook; the token hash keeps every token's place.

Training-free form of VQToken (Zhang et al., "Extreme Video Compression with Neural
Discrete Tokens", 2025): cluster all tokens of the video into exactly ``budget`` codes
(k-means++ initialisation, Lloyd iterations, empty clusters re-seeded with the worst-fit
token). The output holds one token per code; the source map is VQToken's token hash: every
original (t, h, w) still knows its code, so the model can be told where and when.
"""

from __future__ import annotations

import torch

from .tokenset import TokenSet


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
OPTION_RANGES = {"iters": (1, 10_000), "seed": (0, 9_223_372_036_854_775_807)}


def _sqdist(x: torch.Tensor, c: torch.Tensor, xx: torch.Tensor | None = None) -> torch.Tensor:
    """Squared distances of rows of ``x`` to rows of ``c`` (``xx``: ``x``'s squared norms, if known)."""
    xx = (x * x).sum(1, keepdim=True) if xx is None else xx
    return xx - 2 * x @ c.T + (c * c).sum(1).unsqueeze(0)


def kmeans(x: torch.Tensor, k: int, iters: int = 15, seed: int = 0):
    """Exactly ``k`` non-empty clusters of the rows of ``x``: (assignment, centroids)."""
    n = len(x)
    # the generator lives where the tokens do (a CPU generator cannot draw CUDA samples), so
    # codes are repeatable per device, not across devices
    g = torch.Generator(device=x.device).manual_seed(seed)
    x = x.float()
    # k-means++ with every chosen index kept on the device: no host wait per code
    idx = torch.empty(k, dtype=torch.long, device=x.device)
    idx[0] = torch.randint(n, (1,), generator=g, device=x.device)[0]
    xx = (x * x).sum(1, keepdim=True)  # once: each seed below reads x once, not twice
    d = _sqdist(x, x[idx[:1]], xx).squeeze(1).clamp_min(0)
    for i in range(1, k):
        total = d.sum()
        p = torch.where(total > 0, d / total.clamp_min(1e-30), torch.full_like(d, 1 / n))
        j = torch.multinomial(p, 1, generator=g)
        idx[i] = j[0]
        d = torch.minimum(d, _sqdist(x, x.index_select(0, j), xx).squeeze(1).clamp_min(0))
    c = x[idx].clone()
    assign = torch.empty(n, dtype=torch.long, device=x.device)
    from ..kernels import rowmax, scatter_mean

    xx = xx[:, 0]
    for it in range(iters + 1):
        # nearest centroid = argmax of x.c - |c|^2 / 2 (the rowmax kernel with a column bias)
        v, assign = rowmax(x, c, -0.5 * (c * c).sum(1))
        dist_best = (xx - 2 * v).clamp_min(0)
        counts = torch.bincount(assign, minlength=k)
        empty = torch.nonzero(counts == 0).squeeze(1)
        # re-seed empty codes with the tokens that fit worst (from clusters with >1 member)
        if len(empty):
            order = torch.argsort(dist_best, descending=True)
            for e in empty.tolist():
                for j in order.tolist():
                    if counts[assign[j]] > 1:
                        counts[assign[j]] -= 1
                        assign[j] = e
                        counts[e] = 1
                        dist_best[j] = -1
                        break
        if it == iters:
            break
        c = scatter_mean(x, torch.ones(n, device=x.device), assign, k)[0]
    return assign, c


def vq(ts: TokenSet, budget: int, query=None, iters: int = 15, seed: int = 0) -> TokenSet:
    """Per-video k-means codebook with a (t, h, w) token hash (training-free VQToken)."""
    if budget >= len(ts):
        return ts
    assign, _ = kmeans(ts.feats, budget, iters=iters, seed=seed)
    return ts.reduce(assign, budget)
