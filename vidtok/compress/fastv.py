"""``fastv``: keep the visual tokens the question attends to inside the LLM.

Chen et al., "An Image is Worth 1/2 Tokens After Layer 2" (FastV, ECCV 2024): after the
LLM's second layer, the attention the last prompt token pays each visual token ranks them,
and the low-ranked ones are dropped. vidtok reads that attention from one eager pass over
the first three decoder layers (``VideoLLM.text_attention``, stored by ``ask``/``ground``
as ``tokens.meta["llm_attn"]``, one score per token) and then prunes before the LLM, so the
model itself runs unpatched; dropped tokens join their most similar kept token in the
source map. Needs a model and a question: ``vidtok compress`` alone cannot run it.
"""

from __future__ import annotations

import torch

from ..errors import UsageError
from .tokenset import TokenSet, nearest


def fastv(ts: TokenSet, budget: int, query=None) -> TokenSet:
    """The ``budget`` tokens with the most LLM attention from the question (FastV)."""
    scores = ts.meta.get("llm_attn")
    if not isinstance(scores, torch.Tensor) or scores.numel() != len(ts):
        raise UsageError("fastv ranks tokens by the LLM's attention to the question: use it through "
                         "`vidtok ask` or `vidtok ground` (a model computes the attention)")
    keep = torch.sort(torch.topk(scores.float(), budget).indices).values
    out = ts.keep(keep, nearest(ts.feats, ts.feats[keep]))
    out.meta = {k: v for k, v in out.meta.items() if k != "llm_attn"}  # scores of the old token list
    return out
