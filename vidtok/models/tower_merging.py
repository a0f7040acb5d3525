"""Token merging inside Qwen2.5-VL's vision tower: the plan's ``tower=T`` (``compress.plan``).

On a CPU the vision tower is most of a long answer, so a budget met after it saves little
(docs/benchmarks.md, "Where the budget is spent"). Here the tower's own layers do less: after
its first full-attention block (every token has then seen its whole frame once), the units that
changed least since the same place in the previous temporal patch are merged into it, and only
a share ``T`` of the units go through the remaining blocks. A *unit* is what becomes one visual
token: the 2x2 patches the tower's merger joins, kept together so the merger still sees four
patches. Merging is temporal only, at the same spatial place, so the merged unit keeps its
rotary position (the tower's positions are (h, w); time reaches it only through the temporal
patch's attention segment, which the merged unit shares with its earliest member).

The rules, and why:

* A unit merges into its predecessor at the same (h, w) when their hidden states (the four
  patches together) are among the most similar of all such pairs: the ``1 - T`` share most
  similar merge. Chains follow: a unit merged into one that merged earlier joins that group.
* A group's hidden state is the mean of its members' (ToMe's size-weighted mean, sizes 1 at
  the merge point), placed at its earliest member, which stays in its temporal patch's and
  window's attention segment; the later members leave their segments.
* The result is a :class:`~vidtok.compress.tokenset.TokenSet` that remembers every merge
  (sizes, spans over the members' times, the source map), as after-tower merging does, so
  timestamps, the after-tower method and unmerging read it like any other.
* The layers after the merge point do not weigh attention by group size (ToMe's proportional
  attention): the model's own blocks run unchanged on fewer tokens.
* Merging stays within one call of the tower (``chunking.TOWER_FRAMES`` frames): each call's
  first temporal patch has nothing before it and is always kept, so with 8 frames a call at
  most 3 of 4 units can merge.

Measured on the organism and at real dimensions: docs/benchmarks.md.
"""

from __future__ import annotations

import torch


def merge_point(visual) -> int:
    """The block after which units merge: the tower's first full-attention block."""
    full = list(visual.fullatt_block_indexes)
    return min(full) if full else 0


def _segments(ids: torch.Tensor, count: int, unit: int) -> torch.Tensor:
    """Cumulative patch boundaries (int32, from 0) of consecutive runs of ``ids`` (the
    segment of each unit, non-decreasing), ``unit`` patches a unit; empty segments dropped."""
    n = torch.bincount(ids, minlength=count)
    n = n[n > 0] * unit
    return torch.nn.functional.pad(n.cumsum(0, dtype=torch.int32), (1, 0), value=0)


@torch.inference_mode()
def forward(visual, pixels: torch.Tensor, grid_thw: torch.Tensor, keep: float):
    """Qwen2.5-VL's vision tower (``visual``: its ``Qwen2_5_VisionTransformerPretrainedModel``)
    on one video's patches (``grid_thw`` of one row), a share ``keep`` of its units carried
    past :func:`merge_point`. Returns ``(feats, assign, rep)``: the kept units' output tokens
    in the order of their original index, each original unit's group (index into ``feats``)
    and each group's earliest member (original index). ``keep >= 1``: the tower's own result."""
    from transformers.vision_utils import get_vision_cu_seqlens, get_vision_position_ids, get_vision_window_index

    if grid_thw.shape[0] != 1:
        raise ValueError("tower merging takes one video's grid at a time")
    m, unit = visual.spatial_merge_size, visual.spatial_merge_unit
    T, H, W = (int(v) for v in grid_thw[0])
    per_t = (H // m) * (W // m)  # units of one temporal patch
    U = T * per_t
    window_index, cu_window = get_vision_window_index(grid_thw, spatial_merge_size=m, window_size=visual.window_size,
                                                      patch_size=visual.patch_size)
    window_index = window_index.to(pixels.device)
    cu_full = get_vision_cu_seqlens(grid_thw).to(pixels.device)
    cu_window = cu_window.to(pixels.device)
    # every unit's attention segments, in window order: its window, and its temporal patch
    order = torch.arange(U, device=pixels.device)
    bounds = cu_window[1:].long() // unit
    window_of = torch.bucketize(order, bounds, right=True)
    t_of = window_index // per_t

    h = visual.patch_embed(pixels.type(visual.dtype))
    n = h.shape[0]
    h = visual.permute_input_for_window_attn(h, window_index, seq_len=n)
    pe = visual.rotary_pos_emb(h, get_vision_position_ids(grid_thw, m).to(pixels.device))
    pe = tuple(visual.permute_input_for_window_attn(f, window_index, seq_len=n) for f in pe)
    at = merge_point(visual)
    group = torch.arange(U, device=pixels.device)  # window-order unit -> its group's root (window order)

    def run(block_ids, h, cu_w, cu_f, pe):
        for k in block_ids:
            cu = cu_f if k in visual.fullatt_block_indexes else cu_w
            h = visual.blocks[k](h, cu_seqlens=cu, max_seqlen=int((cu[1:] - cu[:-1]).max()),
                                 position_embeddings=pe)
        return h

    h = run(range(at + 1), h, cu_window, cu_full, pe)
    kept = order
    if keep < 1 and T > 1:
        hu = h.reshape(U, -1)
        inv = torch.empty_like(window_index)
        inv[window_index] = order  # original unit index -> window order
        later = order[t_of > 0]  # units with a predecessor at the same place
        pred = inv[window_index[later] - per_t]
        sim = torch.nn.functional.cosine_similarity(hu[later].float(), hu[pred].float(), dim=-1)
        drop = min(len(later), U - max(1, int(round(keep * U))))
        merged = torch.zeros(U, dtype=torch.bool, device=h.device)
        merged[later[torch.topk(sim, drop).indices]] = True
        for t in range(1, T):  # chains: a merged unit joins its predecessor's group
            here = order[(t_of == t) & merged]
            group[here] = group[inv[window_index[here] - per_t]]
        size = torch.bincount(group, minlength=U).to(hu.dtype)
        mean = torch.zeros_like(hu).index_add_(0, group, hu) / size.clamp(min=1)[:, None]
        kept = order[group == order]  # roots, still in window order
        h = mean[kept].reshape(len(kept) * unit, -1)
        patches = (kept[:, None] * unit + torch.arange(unit, device=h.device)).reshape(-1)
        pe = tuple(f[patches] for f in pe)
        cu_window = _segments(window_of[kept], int(window_of.max()) + 1, unit)
        cu_full = _segments(t_of[kept], T, unit)
    h = run(range(at + 1, len(visual.blocks)), h, cu_window, cu_full, pe)
    out = visual.merger(h)  # (kept units, out dim), window order
    original = window_index[kept]
    by_index = torch.argsort(original)
    rank = torch.empty_like(by_index)
    rank[by_index] = torch.arange(len(kept), device=h.device)
    slot = torch.full((U,), -1, dtype=torch.long, device=h.device)
    slot[kept] = rank  # window-order root -> its output's place
    assign = torch.empty(U, dtype=torch.long, device=h.device)
    assign[window_index] = slot[group]
    return out[by_index], assign, original[by_index]
