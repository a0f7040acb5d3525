"""Attention as compression reads it and as proportional attention writes it: the masks
that carry a key bias, FastV's text-to-video attention inside the LLM, and VisionZip's
attention received inside a SigLIP/CLIP tower."""

from __future__ import annotations

import copy

import torch

from .shims import cache_arg, cache_of


def key_mask(inp, start: int, q_len: int, device, dtype) -> torch.Tensor:
    """The attention mask for queries ``start .. start + q_len`` of ``inp``: a 2-D all-ones
    mask, or with proportional attention (``inp.key_bias``) a 4-D float mask: causal, plus
    each key's bias (generated tokens get none)."""
    k_len = start + q_len
    if inp is None or inp.key_bias is None:
        return torch.ones(1, k_len, dtype=torch.long, device=device)
    bias = torch.zeros(k_len, dtype=torch.float32, device=device)
    n = min(k_len, len(inp.key_bias))
    bias[:n] = inp.key_bias[:n].to(device)
    q = torch.arange(start, k_len, device=device)[:, None]
    k = torch.arange(k_len, device=device)[None, :]
    m = torch.where(k <= q, bias[None, :], torch.finfo(torch.float32).min)
    return m.to(dtype)[None, None]


@torch.inference_mode()
def text_attention(adapter, tokens, question: str, layer: int = 2) -> torch.Tensor:
    """FastV's signal, one score per token of ``tokens`` (in its order): the attention the
    last prompt token pays each visual token in LLM layer ``layer``, averaged over heads.
    Only the first ``layer + 1`` decoder layers run: over all tokens but the last with SDPA
    into a KV cache, then the last token alone with layer ``layer`` computing its attention
    eagerly (its own config copy says "eager" for that call), so the weights held are one
    row per head, not a sequence-squared matrix per head (490 GB at 87k tokens and 16
    heads); the model itself stays on SDPA."""
    inp = adapter.build_inputs(tokens, question)
    dec = adapter.decoder_stack()
    layer = max(0, min(layer, len(dec.layers) - 1))
    layers = dec.layers
    att = layers[layer].self_attn
    shared = att.config
    eager = copy.copy(shared)
    eager._attn_implementation = "eager"
    emb, pos, dev = inp.inputs_embeds, inp.position_ids, inp.inputs_embeds.device
    dtype = adapter.model.dtype
    L = emb.shape[1]
    try:
        dec.layers = layers[: layer + 1]
        head = dec(inputs_embeds=emb[:, : L - 1], position_ids=pos[..., : L - 1],
                   attention_mask=key_mask(inp, 0, L - 1, dev, dtype), use_cache=True,
                   **adapter.decoder_kwargs(inp, L - 1))
        att.config = eager
        out = dec(inputs_embeds=emb[:, L - 1:], position_ids=pos[..., L - 1:],
                  attention_mask=key_mask(inp, L - 1, 1, dev, dtype), output_attentions=True, use_cache=True,
                  **cache_arg(dec.forward, cache_of(head)))
    finally:
        dec.layers = layers
        att.config = shared
    weights = [a for a in (out.attentions or ()) if a is not None]  # only layer ``layer`` returns them
    att = weights[-1][0, :, -1].float().mean(0)  # (L,) from the last token
    sorted_scores = att[inp.extra["visual_cols"].to(att.device)].to(tokens.device)
    order = torch.argsort(tokens.flat_pos(), stable=True)  # build_inputs reads tokens sorted
    scores = torch.empty(len(tokens), device=tokens.device)
    scores[order] = sorted_scores
    return scores


def attention_received(layer, hidden: torch.Tensor) -> torch.Tensor:
    """(B, L) mean attention each token receives in one pre-norm ViT layer (SigLIP/CLIP
    style: ``layer_norm1``, ``self_attn.q_proj/k_proj``), computed eagerly from the layer's
    input ``hidden`` (B, L, D): VisionZip's dominance signal, at the cost of one layer's
    attention scores while the tower itself runs with SDPA."""
    x = layer.layer_norm1(hidden)
    att = layer.self_attn
    B, L, _ = x.shape
    heads = getattr(att, "num_heads", None) or att.embed_dim // att.head_dim
    q = att.q_proj(x).view(B, L, heads, att.head_dim).transpose(1, 2)
    k = att.k_proj(x).view(B, L, heads, att.head_dim).transpose(1, 2)
    probs = torch.softmax((q @ k.transpose(-1, -2)).float() * att.scale, dim=-1)
    return probs.mean(1).mean(1)
