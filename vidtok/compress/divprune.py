"""``divprune``: keep the most diverse subset (max-min diversity).

Alvar et al., "DivPrune: Diversity-based Visual Token Pruning for Large Multimodal Models"
(CVPR 2025). Greedy farthest-point selection under cosine distance: start from the token
farthest from the mean, then repeatedly add the token whose nearest kept token is farthest.
Running minimum distances stay on the device; no N x N matrix. Dropped tokens are assigned
to their most similar kept token.
"""

from __future__ import annotations

import torch

from .tokenset import TokenSet, cosine_normalize


def max_min_select(x: torch.Tensor, k: int, first: int | None = None) -> torch.Tensor:
    """Greedy max-min (farthest point) selection of ``k`` rows of unit vectors ``x``."""
    n = len(x)
    k = min(k, n)
    if first is None:
        first = int(((x @ cosine_normalize(x.mean(0, keepdim=True)).T).squeeze(1)).argmin())
    chosen = torch.empty(k, dtype=torch.long)
    chosen[0] = first
    mind = 1 - x @ x[first]
    mind[first] = -1
    for i in range(1, k):
        j = int(mind.argmax())
        chosen[i] = j
        mind = torch.minimum(mind, 1 - x @ x[j])
        mind[chosen[: i + 1]] = -1
    return chosen


def divprune(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Max-min diversity subset (DivPrune)."""
    keep = torch.sort(max_min_select(cosine_normalize(ts.feats), budget)).values
    return ts.keep(keep)
