"""Qwen3-VL adapter.

Differences from Qwen2.5-VL that matter for compression:

* **Textual timestamps.** Each temporal patch (two frames) is preceded by ``<t seconds>``
  text (the mean time of its two frames, as the processor writes it). A compressed set
  keeps the timestamp of every temporal patch that still has a kept token, or that a merged
  token's span covers (its start and end markers then enclose no token), and drops the
  rest, so the prompt never names a moment the model cannot see.
* **DeepStack.** Features from several vision layers are added to the first LLM layers at
  the visual positions. vidtok carries them inside the TokenSet (concatenated after the
  main features), so every compressor merges or drops them exactly like the main ones.
* Positions: the model's own ``get_rope_index`` on the full layout, gathered at each kept
  token's original position (text between frames keeps its positions too).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from .base import LLMInput, VideoLLM
from .chunking import PinnedChunkInput, joined_grid
from .attention import key_mask
from .prompting import Dialogue, visual_keys
from .shims import cache_arg, cache_of

TINY = {
    "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
                    "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 151936, "max_position_embeddings": 4096,
                    "rope_scaling": {"rope_type": "default", "mrope_section": [2, 3, 3], "mrope_interleaved": True}},
    "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                      "patch_size": 16, "deepstack_visual_indexes": [0, 1], "num_position_embeddings": 256},
}

#: checkpoints on the Hugging Face hub this adapter loads, with their parameter counts
HUB_IDS = {
    "Qwen/Qwen3-VL-2B-Instruct": "2B",
    "Qwen/Qwen3-VL-4B-Instruct": "4B",
    "Qwen/Qwen3-VL-8B-Instruct": "8B",
    "Qwen/Qwen3-VL-32B-Instruct": "32B",
}

SIZES = {"tiny": TINY}


class Qwen3VLAdapter(PinnedChunkInput, VideoLLM):
    """Qwen3-VL: own vision tower with DeepStack, textual timestamps per temporal patch, interleaved M-RoPE."""

    family = "qwen3_vl"
    model_types = ("qwen3_vl",)  # config.json "model_type" values this adapter loads
    default_sampler = "qwen3_vl"

    hf_config = "Qwen3VLConfig"
    hf_model = "Qwen3VLForConditionalGeneration"
    sizes = SIZES

    def video_processor(self):
        """The checkpoint's video processor (a default one for ``random:`` models)."""
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

        return self.processor.video_processor if self.processor is not None else Qwen3VLVideoProcessor()

    def pinned_size(self, vp, total: int, n: int, height: int, width: int) -> dict | None:
        """The size dict under which the processor gives ``n`` of ``total`` frames the size it
        picks for all of them, or None where no such dict exists. Qwen3-VL's resize rule
        weighs all frames' pixels together: its qwen-vl-utils cap (``cap_pixels_per_frame``)
        allows ``per_frame * total`` in all, so ``per_frame * n`` gives n frames the same
        size, unless the video falls under the processor's minimum (tiny frames), which is
        checked with the processor module's own ``smart_resize``."""
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize

        f, tf = vp.patch_size * vp.merge_size, vp.temporal_patch_size
        lo, hi = vp.size["shortest_edge"], vp.size["longest_edge"]
        per_frame = max(min(vp.max_video_tokens * f * f, hi // total), int(lo * 1.05))
        size = {"shortest_edge": 1, "longest_edge": per_frame * n}
        whole = smart_resize(num_frames=total, height=height, width=width, temporal_factor=tf, factor=f,
                             min_pixels=lo, max_pixels=per_frame * total)
        part = smart_resize(num_frames=n, height=height, width=width, temporal_factor=tf, factor=f,
                            min_pixels=1, max_pixels=per_frame * n)
        return size if part == whole else None

    @torch.inference_mode()
    def encode(self, frames, times, ends, fps) -> TokenSet:
        parts, grids = [], []  # per run of frames: the merged tokens, then each DeepStack level's
        for p, g in self.pixel_chunks(frames):
            o = self.model.model.get_video_features(p.to(self.device), g.to(self.device))
            parts.append([o.pooler_output[0], *(d[0] for d in o.deepstack_features)])
            grids.append(g)
        main, *deep = (torch.cat(level) for level in zip(*parts))
        grid = joined_grid(grids)
        merge = self.model.config.vision_config.spatial_merge_size
        T, H, W = int(grid[0, 0]), int(grid[0, 1]) // merge, int(grid[0, 2]) // merge
        feats = torch.cat([main, *deep], -1).float()  # stays on the model's device: compression runs there
        t = np.asarray(times, np.float64)
        e = np.asarray(ends, np.float64)
        if len(t) % 2:
            t, e = np.append(t, t[-1]), np.append(e, e[-1])
        ts = TokenSet.from_grid(feats.reshape(T, H, W, -1), t[0::2], e[1::2])
        ts.meta = {"family": self.family, "grid_thw": grid, "dim": int(main.shape[-1]), "deepstack": len(deep),
                   # mean time of each temporal patch's two frames, as the processor writes it;
                   # rounded to the microsecond so that float noise in the frames' exact
                   # times (1.2000000000000002) cannot flip the one-decimal stamp
                   "patch_times": torch.tensor(np.round((t[0::2] + t[1::2]) / 2, 6))}
        return ts

    # -- prompt --------------------------------------------------------------------------------
    def _template(self, d: Dialogue) -> tuple[list[int], list[int]]:
        if self.processor is None:
            return self._encode("<|im_start|>user\n"), self._chatml_after(d)
        before, after = self._chat_template_ids(d, "<|video_pad|>")
        if not self._keeps_outer_markers:  # the template's start/end around the whole video
            cfg = self.model.config
            before = before[:-1] if before and before[-1] == cfg.vision_start_token_id else before
            after = after[1:] if after and after[0] == cfg.vision_end_token_id else after
        return before, after

    @functools.cached_property
    def _keeps_outer_markers(self) -> bool:
        """Whether the installed processor keeps the chat template's <|vision_start|> and
        <|vision_end|> around the whole video when it writes each temporal patch's own
        (transformers 5.24 keeps them; 5.25 drops them): asked of the processor itself, with
        a placeholder, so vidtok writes what the model's own path writes."""
        p = self.processor
        wrapped = p.vision_start_token + p.video_token + p.vision_end_token
        text, _ = p.get_text_with_replacements([wrapped], videos_replacements=["@"])
        return text[0] != "@"

    def _stamp(self, t: float) -> list[int]:
        return self._encode(f"<{t:.1f} seconds>")

    def _layout(self, meta, members: list[list[int]], d: Dialogue, covered: list[bool] | None = None):
        """ids, mm types and a key per column for: before, per temporal patch with kept
        tokens [stamp, vision_start, its tokens, vision_end], after. Keys name a column
        independently of what was dropped, so compressed columns find their full ones."""
        cfg = self.model.config
        before, after = self._template(d)
        ids, types = list(before), [0] * len(before)
        keys = [("before", j) for j in range(len(before))]
        for t, mem in enumerate(members):  # covered patches without tokens keep their stamp
            if not mem and not (covered is not None and covered[t]):
                continue
            st = self._stamp(float(meta["patch_times"][t])) + [cfg.vision_start_token_id]
            ids += st + [cfg.video_token_id] * len(mem) + [cfg.vision_end_token_id]
            types += [0] * len(st) + [2] * len(mem) + [0]
            keys += [("stamp", t, j) for j in range(len(st))] + [("tok", t, m) for m in mem] + [("end", t)]
        ids += after
        types += [0] * len(after)
        keys += [("after", j) for j in range(len(after))]
        return ids, types, keys

    def _positions(self, ids, types, grid):
        t = torch.tensor([ids], device=self.device)
        ty = torch.tensor([types], device=self.device, dtype=torch.int32)
        pos, _ = self.model.model.get_rope_index(t, mm_token_type_ids=ty, video_grid_thw=grid.to(self.device))
        return pos

    @torch.inference_mode()
    def inputs(self, tokens: TokenSet, d: Dialogue) -> LLMInput:
        meta = tokens.meta
        T, H, W = tokens.grid
        ids_f, types_f, keys_f = self._layout(meta, [list(range(H * W))] * T, d)
        pos_f = self._positions(ids_f, types_f, meta["grid_thw"])
        ts = tokens.sorted()
        flat = ts.flat_pos()
        members = [[] for _ in range(T)]
        for f in flat.tolist():
            members[f // (H * W)].append(f % (H * W))
        ids, types, keys = self._layout(meta, members, d, tokens.covered_frames().tolist())
        where = {k: i for i, k in enumerate(keys_f)}
        cols = torch.tensor([where[k] for k in keys], device=self.device)
        position_ids = pos_f[:, :, cols]
        emb = self.model.get_input_embeddings()
        dtype = emb.weight.dtype
        embeds = emb(torch.tensor([ids], device=self.device))
        D = meta["dim"]
        vis_mask = torch.tensor([types], device=self.device) == 2
        feats = ts.feats.to(self.device, dtype)
        embeds[vis_mask] = feats[:, :D]
        deep = [feats[:, D * (i + 1): D * (i + 2)] for i in range(meta["deepstack"])]
        last_vis = int(torch.nonzero(vis_mask[0]).max()) if bool(vis_mask.any()) else 0
        inp = LLMInput(embeds, position_ids, num_visual=len(ts), num_text=len(ids) - len(ts),
                       next_position=int(pos_f.max()) + 1, prefix_len=last_vis + 2,
                       keys=visual_keys(ids, [t == 2 for t in types]),
                       extra={"visual_pos_masks": vis_mask, "deepstack_visual_embeds": deep, "ids": ids,
                              "main": feats[:, :D]})
        return self._with_sizes(inp, torch.nonzero(vis_mask[0]).squeeze(1), ts.size)

    def generation_inputs(self, inp: LLMInput, cached: int) -> dict:
        """DeepStack adds vision features inside the first LLM layers, which the model's
        forward computes only from vision outputs, never from embeddings: so ``generate``
        gets the layout's ids and the kept features as precomputed encoder outputs (the
        model scatters them itself), and none when the cache already holds every visual
        token (the uncached part then has no placeholder to fill)."""
        from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures

        ids = torch.tensor([inp.extra["ids"]], device=self.device)
        vis = inp.extra["visual_pos_masks"]
        if not bool(vis[:, cached:].any()):
            return {"input_ids": ids}
        out = BaseModelOutputWithDeepstackFeatures(
            pooler_output=[inp.extra["main"]], deepstack_features=[[d] for d in inp.extra["deepstack_visual_embeds"]])
        return {"input_ids": ids, "mm_encoder_outputs": {"video": out}}

    def decoder_kwargs(self, inp: LLMInput, end: int | None = None) -> dict:
        vis = inp.extra.get("visual_pos_masks")
        vis = vis[:, :end] if vis is not None else None
        if vis is None or not bool(vis.any()):
            return {}
        n = int(vis.sum())  # DeepStack features of the visual tokens among those positions
        return {"visual_pos_masks": vis, "deepstack_visual_embeds": [d[:n] for d in inp.extra["deepstack_visual_embeds"]]}

    def _forward(self, embeds, positions, past=None, start: int = 0, inp: LLMInput | None = None,
                 logits_to_keep: int = 0):
        L = embeds.shape[1]
        mask = key_mask(inp, start, L, embeds.device, self.model.dtype)
        vis = deep = None
        if inp is not None and "visual_pos_masks" in inp.extra:
            full = inp.extra["visual_pos_masks"]
            vis = full[:, start: start + L]
            if bool(vis.any()):
                before = int(full[:, :start].sum())
                n = int(vis.sum())
                deep = [d[before: before + n] for d in inp.extra["deepstack_visual_embeds"]]
            else:
                vis = None
        lm = self.model.model.language_model
        out = lm(inputs_embeds=embeds, position_ids=positions, attention_mask=mask, use_cache=True,
                 visual_pos_masks=vis, deepstack_visual_embeds=deep, **cache_arg(lm.forward, past))
        hidden = out.last_hidden_state[:, -logits_to_keep:] if logits_to_keep else out.last_hidden_state
        return self.model.lm_head(hidden), cache_of(out)

    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        return torch.full((3, 1, 1), inp.next_position + step, dtype=torch.long, device=self.device)
