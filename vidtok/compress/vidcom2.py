"""``vidcom2``: per-frame budgets from frame uniqueness.

Liu et al., "Video Compression Commander: Plug-and-Play Inference Acceleration for Video
Large Language Models" (VidCom², EMNLP 2025). Frames that differ most from the video as a
whole get more tokens (softmax of uniqueness, temperature ``tau``); inside a frame, the
tokens kept are those most distinct from both their frame and the video. Dropped tokens are
assigned to the most similar kept token of their frame.
"""

from __future__ import annotations

import torch

from ._ops import largest_remainder
from .tokenset import TokenSet, cosine_normalize, nearest


def vidcom2(ts: TokenSet, budget: int, query=None, tau: float = 0.05) -> TokenSet:
    """Per-frame budgets from frame uniqueness (VidCom2)."""
    x = cosine_normalize(ts.feats)
    t = ts.frames_of()
    frames, inv = torch.unique(t, return_inverse=True)
    F = len(frames)
    counts = torch.bincount(inv, minlength=F)
    frame_mean = torch.zeros(F, x.shape[1]).index_add_(0, inv, x) / counts.unsqueeze(1)
    video_mean = cosine_normalize(x.mean(0, keepdim=True))
    fm = cosine_normalize(frame_mean)
    uniq = 1 - (fm @ video_mean.T).squeeze(1)
    weights = torch.softmax(uniq / tau, 0) * counts  # larger frames hold more
    alloc = largest_remainder(weights, budget, counts)
    # token score: distinct from its frame and from the video
    score = (1 - (x * fm[inv]).sum(-1)) + (1 - (x @ video_mean.T).squeeze(1))
    keep: list[torch.Tensor] = []
    assign_rest = torch.empty(len(ts), dtype=torch.long)
    for f in range(F):
        ids = torch.nonzero(inv == f).squeeze(1)
        k = int(alloc[f])
        if k == 0:
            continue
        top = ids[torch.topk(score[ids], k).indices]
        keep.append(top)
    keep = torch.sort(torch.cat(keep)).values
    # dropped tokens join the most similar kept token of their frame (else any)
    kf = inv[keep]
    for f in range(F):
        ids = torch.nonzero(inv == f).squeeze(1)
        cand = torch.nonzero(kf == f).squeeze(1)
        if len(cand) == 0:
            cand = torch.arange(len(keep))
        assign_rest[ids] = cand[nearest(ts.feats[ids], ts.feats[keep[cand]])]
    return ts.keep(keep, assign_rest)
