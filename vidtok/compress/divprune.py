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
    """Greedy max-min (farthest point) selection of ``k`` rows of unit vectors ``x``
    (the ``maxmin`` kernel: running minimum distances stay on the device)."""
    from ..kernels import maxmin

    if first is None:
        first = int(((x @ cosine_normalize(x.mean(0, keepdim=True)).T).squeeze(1)).argmin())
    return maxmin(x, k, first)


def divprune(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Max-min diversity subset (DivPrune)."""
    keep = torch.sort(max_min_select(cosine_normalize(ts.feats), budget)).values
    return ts.keep(keep)
