"""``vidcom2``: per-frame budgets from frame uniqueness.

Liu et al., "Video Compression Commander: Plug-and-Play Inference Acceleration for Video
Large Language Models" (VidCom², EMNLP 2025). Frames that differ most from the video as a
whole get more tokens (softmax of uniqueness, temperature ``tau``); inside a frame, the
tokens kept are those most distinct from both their frame and the video. Dropped tokens are
assigned to the most similar kept token of their frame.
"""

from __future__ import annotations

import torch

from ._ops import grouped_rowmax, largest_remainder, rank_in_group
from .tokenset import TokenSet, cosine_normalize, nearest


#: what ``-o`` may set each option to (inclusive; None: unbounded), checked before any work
#: (``tau`` divides: a softmax temperature above zero)
OPTION_RANGES = {"tau": (1e-6, None)}


def vidcom2(ts: TokenSet, budget: int, query=None, tau: float = 0.05) -> TokenSet:
    """Per-frame budgets from frame uniqueness (VidCom2)."""
    x = cosine_normalize(ts.feats)
    t = ts.frames_of()
    frames, inv = torch.unique(t, return_inverse=True)
    F = len(frames)
    counts = torch.bincount(inv, minlength=F)
    frame_mean = torch.zeros(F, x.shape[1], device=x.device).index_add_(0, inv, x) / counts.unsqueeze(1)
    video_mean = cosine_normalize(x.mean(0, keepdim=True))
    fm = cosine_normalize(frame_mean)
    uniq = 1 - (fm @ video_mean.T).squeeze(1)
    weights = torch.softmax(uniq / tau, 0) * counts  # larger frames hold more
    alloc = largest_remainder(weights, budget, counts)
    # token score: distinct from its frame and from the video
    score = (1 - (x * fm[inv]).sum(-1)) + (1 - (x @ video_mean.T).squeeze(1))
    # each frame keeps its ``alloc`` best-scoring tokens: rank inside the frame by score
    by_score = torch.argsort(-score, stable=True)
    rank = torch.empty_like(inv)
    rank[by_score] = rank_in_group(inv[by_score])
    keep = torch.nonzero(rank < alloc[inv]).squeeze(1)
    # dropped tokens join the most similar kept token of their frame (else any)
    _, j = grouped_rowmax(x, torch.arange(len(ts), device=x.device), inv, keep, inv[keep], F)
    lone = torch.nonzero(j < 0).squeeze(1)  # frames that kept nothing
    if len(lone):
        j[lone] = nearest(ts.feats[lone], ts.feats[keep])
    assign_rest = j
    return ts.keep(keep, assign_rest)
