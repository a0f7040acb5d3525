"""``visionzip``: dominant tokens by attention, plus merged contextual tokens.

Yang et al., "VisionZip: Longer is Better but Not Necessary in Vision Language Models"
(CVPR 2025). The tokens that receive the most attention inside the vision tower carry most of
the information: keep the top ``dominant`` share of the budget by attention, and merge the rest
into the remaining budget of contextual tokens (evenly spread targets; each other token joins
its most similar target, size-weighted). Attention comes from the model adapter, computed in
one eager layer (``tokens.meta["attn"]``, one score per original token); without it, the
feature norm stands in (a common proxy for dominance).
"""

from __future__ import annotations

import torch

from .tokenset import TokenSet, nearest


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
OPTION_RANGES = {"dominant": (0.0, 1.0)}


def visionzip(ts: TokenSet, budget: int, query=None, dominant: float = 0.85) -> TokenSet:
    """Dominant tokens by vision-tower attention + merged contextual tokens (VisionZip)."""
    N = len(ts)
    attn = ts.meta.get("attn")
    if isinstance(attn, torch.Tensor) and attn.numel() == ts.num_original and N == ts.num_original:
        scores = attn.float().reshape(-1)[ts.flat_pos()]
    else:
        scores = ts.feats.float().norm(dim=-1)
    k_dom = min(budget, max(1, int(round(dominant * budget)))) if budget > 1 else 1
    k_ctx = budget - k_dom
    order = torch.argsort(scores, descending=True, stable=True)
    dom = order[:k_dom]
    rest = torch.sort(order[k_dom:]).values
    dev = ts.device
    assign = torch.empty(N, dtype=torch.long, device=dev)
    assign[dom] = torch.arange(k_dom, device=dev)
    if k_ctx > 0 and len(rest):
        targets = rest[torch.linspace(0, len(rest) - 1, k_ctx, device=dev).round().long().unique()]
        while len(targets) < k_ctx:  # rounding collisions on tiny inputs
            extra = rest[~torch.isin(rest, targets)][: k_ctx - len(targets)]
            targets = torch.sort(torch.cat([targets, extra])).values
        assign[targets] = k_dom + torch.arange(k_ctx, device=dev)
        others = rest[~torch.isin(rest, targets)]
        if len(others):
            assign[others] = k_dom + nearest(ts.feats[others], ts.feats[targets])
    elif len(rest):  # no room for context: the rest joins the most similar dominant token
        assign[rest] = nearest(ts.feats[rest], ts.feats[dom])
    return ts.reduce(assign, budget)
