"""Plain torch references of every kernel (also the CPU path). Chunked where a full
similarity matrix would be quadratic in memory."""

from __future__ import annotations

import torch


def rowmax(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None, chunk: int = 1024):
    """max_j (a_i . b_j + bias_j) and its argmax, ``chunk`` rows at a time."""
    m = a.shape[0]
    vals = torch.empty(m, dtype=torch.float32, device=a.device)
    idx = torch.empty(m, dtype=torch.long, device=a.device)
    bt = b.float().T
    for s in range(0, m, chunk):
        sim = a[s:s + chunk].float() @ bt
        if bias is not None:
            sim += bias.float()
        v, i = sim.max(1)
        vals[s:s + chunk], idx[s:s + chunk] = v, i
    return vals, idx


def scatter_mean(x: torch.Tensor, w: torch.Tensor, index: torch.Tensor, k: int):
    """Size-weighted mean of the rows of ``x`` per group ``index`` (k groups)."""
    wf = w.float()
    out = torch.zeros(k, x.shape[1], dtype=torch.float32, device=x.device).index_add_(0, index, x.float() * wf[:, None])
    tot = torch.zeros(k, dtype=torch.float32, device=x.device).index_add_(0, index, wf)
    return out / tot.clamp_min(1e-12)[:, None], tot


def consecutive_sim(x: torch.Tensor, threshold: float):
    """x: (T, P, D). Cosine similarity of each position with itself in the next frame,
    (T-1, P), and the mask ``sim > threshold``."""
    xn = torch.nn.functional.normalize(x.float(), dim=-1, eps=1e-8)
    sim = (xn[1:] * xn[:-1]).sum(-1)
    return sim, sim > threshold


def maxmin(x: torch.Tensor, k: int, first: int):
    """Greedy farthest-point selection under cosine distance of unit rows ``x``."""
    n = x.shape[0]
    k = min(k, n)
    chosen = torch.empty(k, dtype=torch.long, device=x.device)
    chosen[0] = first
    mind = 1 - x.float() @ x[first].float()
    mind[first] = -1
    xf = x.float()
    for i in range(1, k):
        j = mind.argmax()  # stays a device tensor: no host wait per selected token
        chosen[i] = j
        mind = torch.minimum(mind, 1 - xf @ xf.index_select(0, j.reshape(1)).squeeze(0))
        mind.index_fill_(0, chosen[: i + 1], -1)
    return chosen
