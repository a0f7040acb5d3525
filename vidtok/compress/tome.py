"""``tome``: bipartite soft matching inside each frame, size-weighted merging.

Bolya et al., "Token Merging: Your ViT but Faster" (ICLR 2023). Tokens of a frame alternate
into two sets; each token of A is linked to its most similar token of B; the most similar
links are merged. Repeated until the budget is met exactly; merging stays inside frames
while any frame still has a pair.
"""

from __future__ import annotations

from ._ops import merge_to
from .tokenset import TokenSet


def tome(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """Bipartite soft matching within frames, size-weighted (ToMe)."""
    return merge_to(ts, budget, groups=ts.frames_of().clone())
