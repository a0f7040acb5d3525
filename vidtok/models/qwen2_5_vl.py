"""Qwen2.5-VL adapter.

Frames (already at the sampler's 28-px multiples) go through the model's own video
processor and vision tower (window attention + 2x2 patch merger): one token per merged
2x2 patch per temporal pair of frames. Time reaches the LLM through M-RoPE: temporal
position ids are absolute (``tokens_per_second * second_per_grid_t``), so a compressed set
keeps the exact time ids of the tokens it kept. Positions are computed by the model's own
``get_rope_index`` on the full grid and gathered at each kept token's original position.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from .base import LLMInput, VideoLLM
from . import tower_merging
from .chunking import PinnedChunkInput, joined_grid
from .prompting import Dialogue

TINY = {
    "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                    "num_key_value_heads": 2, "vocab_size": 152064, "max_position_embeddings": 4096,
                    "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}},
    "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                      "fullatt_block_indexes": [1], "window_size": 112, "tokens_per_second": 2},
}

#: checkpoints on the Hugging Face hub this adapter loads, with their parameter counts
HUB_IDS = {
    "Qwen/Qwen2.5-VL-3B-Instruct": "3B",
    "Qwen/Qwen2.5-VL-7B-Instruct": "7B",
    "Qwen/Qwen2.5-VL-32B-Instruct": "32B",
    "Qwen/Qwen2.5-VL-72B-Instruct": "72B",
}

# Real dimensions of Qwen2.5-VL-3B-Instruct (config.json), for speed measurement.
SIZES = {
    "tiny": TINY,
    "3b": {
        "text_config": {"hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
                        "num_attention_heads": 16, "num_key_value_heads": 2, "vocab_size": 151936,
                        "max_position_embeddings": 128000, "tie_word_embeddings": True,
                        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}},
        "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                          "out_hidden_size": 2048, "fullatt_block_indexes": [7, 15, 23, 31], "window_size": 112,
                          "tokens_per_second": 2},
    },
}


class Qwen25VLAdapter(PinnedChunkInput, VideoLLM):
    """Qwen2.5-VL: own vision tower, M-RoPE whose time ids are the model's own (patches dropped
    before the tower keep the ids of their place in the sampling)."""

    family = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)  # config.json "model_type" values this adapter loads
    default_sampler = "qwen2_5_vl"

    hf_config = "Qwen2_5_VLConfig"
    hf_model = "Qwen2_5_VLForConditionalGeneration"
    sizes = SIZES

    # -- vision ----------------------------------------------------------------------------
    merges_in_tower = True  # models.tower_merging: the plan's tower=
    limits_pixels = True  # its processor's size caps each frame's pixels: --max-pixels lowers that cap

    def video_processor(self):
        """The checkpoint's video processor (a default one for ``random:`` models), its
        per-frame pixel cap lowered to ``max_pixels`` when that is set (a copy: what the
        processor does when a user configures it with that ``max_pixels``)."""
        if self.processor is not None and getattr(self.processor, "video_processor", None) is not None:
            vp = self.processor.video_processor
        else:
            from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

            vp = Qwen2VLVideoProcessor()
        if self.max_pixels is not None and self.max_pixels < vp.size["longest_edge"]:
            import copy
            import dataclasses

            vp = copy.copy(vp)
            vp.size = dataclasses.replace(vp.size, longest_edge=max(self.max_pixels, vp.size["shortest_edge"]))
        return vp

    def sampler_params(self, num_frames=None, fps=None) -> dict:
        """Qwen's sampler, with the frame size the processor gives: under ``max_pixels``, and
        within the checkpoint processor's own pixel bounds where they differ from
        qwen-vl-utils' (a plan's ``pixels=`` shrinks frames from the size reported here)."""
        vp = self.video_processor()  # its longest_edge already lowered to max_pixels
        f = vp.patch_size * vp.merge_size
        lo, hi = vp.size["shortest_edge"], vp.size["longest_edge"]
        out = {**super().sampler_params(num_frames, fps), "max_pixels": self.max_pixels}
        if self.max_pixels is None and hi < 768 * f * f:
            out["max_pixels"] = hi
        if lo != 128 * f * f:
            out["min_pixels"] = lo
        return out

    def pinned_size(self, vp, total: int, n: int, height: int, width: int) -> dict:
        """The size dict under which the processor gives any ``n`` of ``total`` frames the size
        it picks for all of them: its qwen-vl-utils cap (``cap_pixels_per_frame``) bounds each
        frame by an even share of ``max_video_tokens``' pixels, and Qwen2-VL's resize rule is
        per frame, so that bound is all there is to pin."""
        f = vp.patch_size * vp.merge_size
        lo, hi = vp.size["shortest_edge"], vp.size["longest_edge"]
        share = int(vp.max_video_tokens * f * f * 0.9) * vp.temporal_patch_size // total
        return {"shortest_edge": lo, "longest_edge": max(min(hi, share), int(lo * 1.05))}

    @torch.inference_mode()
    def encode(self, frames: np.ndarray, times: np.ndarray, ends: np.ndarray, fps: float) -> TokenSet:
        m = self.model.model
        feats, grids, groups = [], [], []
        merging = self.tower_keep is not None and self.tower_keep < 1  # the plan's tower=: merged inside it
        kept = units = 0  # tokens and units of the chunks before
        for p, g in self.pixel_chunks(frames):
            p, g = p.to(self.device), g.to(self.device)
            if merging:
                f, assign, rep = tower_merging.forward(m.visual, p, g, self.tower_keep)
                groups.append((assign + kept, rep + units))
            else:
                f = m.get_video_features(p, g).pooler_output[0]
            feats.append(f)
            grids.append(g)
            kept += len(f)
            units += int(g.prod()) // m.visual.spatial_merge_unit
        feats = torch.cat(feats)
        grid = joined_grid(grids)
        merge = self.model.config.vision_config.spatial_merge_size
        T, H, W = int(grid[0, 0]), int(grid[0, 1]) // merge, int(grid[0, 2]) // merge
        t = np.asarray(times, dtype=np.float64)
        e = np.asarray(ends, dtype=np.float64)
        if len(t) % 2:
            t, e = np.append(t, t[-1]), np.append(e, e[-1])
        if not merging:
            ts = TokenSet.from_grid(feats.reshape(T, H, W, -1).float(), t[0::2], e[1::2])  # on the model's device
        else:  # merged in the tower: the full grid's bookkeeping, reduced to the kept units
            assign, rep = (torch.cat(x) for x in zip(*groups))
            full = TokenSet.from_grid(torch.zeros(T, H, W, 1, device=feats.device), t[0::2], e[1::2])
            ts = dataclasses.replace(full.reduce(assign, len(feats), rep=rep, how="rep"), feats=feats.float())
        tps = self.model.config.vision_config.temporal_patch_size
        ts.meta = {"family": self.family, "grid_thw": grid, "second_per_grid_t": tps / max(fps, 1e-6)}
        return ts

    # -- language --------------------------------------------------------------------------
    def _prompt_ids(self, d: Dialogue) -> tuple[list[int], list[int]]:
        cfg = self.model.config
        if self.processor is not None:
            return self._chat_template_ids(d, "<|video_pad|>")
        before = self._encode("<|im_start|>user\n") + [cfg.vision_start_token_id]
        after = [cfg.vision_end_token_id] + self._chatml_after(d)
        return before, after

    def full_position_ids(self, before, after, meta, n_video: int) -> torch.Tensor:
        cfg = self.model.config
        ids = torch.tensor([before + [cfg.video_token_id] * n_video + after], device=self.device)
        types = torch.zeros_like(ids, dtype=torch.int32)
        types[0, len(before): len(before) + n_video] = 2
        pos, _ = self.model.model.get_rope_index(
            ids, mm_token_type_ids=types, video_grid_thw=meta["grid_thw"].to(self.device),
            second_per_grid_ts=torch.tensor([meta["second_per_grid_t"]], device=self.device))
        return pos, ids

    @torch.inference_mode()
    def inputs(self, tokens: TokenSet, d: Dialogue) -> LLMInput:
        meta = tokens.meta
        before, after = self._prompt_ids(d)
        n_full = tokens.num_original
        pos_full, ids_full = self.full_position_ids(before, after, meta, n_full)
        self._time_positions(pos_full, len(before), tokens)
        ts = tokens.sorted()  # the model reads tokens in (t, h, w) order
        keep_video = len(before) + ts.flat_pos().to(self.device)
        cols = torch.cat([torch.arange(len(before), device=self.device), keep_video,
                          torch.arange(len(before) + n_full, ids_full.shape[1], device=self.device)])
        emb_layer = self.model.get_input_embeddings()
        dtype = emb_layer.weight.dtype
        text_before = emb_layer(torch.tensor([before], device=self.device))
        text_after = emb_layer(torch.tensor([after], device=self.device))
        vid = ts.feats.to(self.device, dtype).unsqueeze(0)
        embeds = torch.cat([text_before, vid, text_after], 1)
        position_ids = pos_full[:, :, cols]
        inp = LLMInput(embeds, position_ids, num_visual=len(ts), num_text=len(before) + len(after),
                       next_position=int(pos_full.max()) + 1, prefix_len=len(before) + len(ts) + 1,
                       keys=before + [-1 - j for j in range(len(ts))] + after)
        return self._with_sizes(inp, len(before) + torch.arange(len(ts)), ts.size)

    def _time_positions(self, pos_full: torch.Tensor, start: int, tokens: TokenSet) -> None:
        """Temporal M-RoPE ids for a sampling with temporal patches missing (frames dropped
        before the tower, ``--pre-keep``): each kept patch gets the id the model's own rule
        gives it in the whole sampling (its place there, from its start time, x seconds per
        patch x tokens per second), where the model's own ids would close the gaps. A sampling
        with no patch missing keeps the model's own ids, however unevenly its frames fall on
        the source's timeline (a 4 fps source sampled at ~2 fps: gaps of 1.0 and 1.25 s)."""
        ft = tokens.frame_times.double()
        spg = float(tokens.meta.get("second_per_grid_t") or 0)
        if len(ft) < 2 or spg <= 0:
            return
        place = torch.round((ft - ft[0]) / spg).long()
        if torch.equal(place, torch.arange(len(ft))):
            return
        T, H, W = tokens.grid
        tps = self.model.config.vision_config.tokens_per_second
        t_ids = (place.double() * spg * tps).long().to(pos_full.device)
        first = pos_full[0, 0, start]
        pos_full[0, 0, start:start + T * H * W] = first + t_ids.repeat_interleave(H * W)

    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        return torch.full((3, 1, 1), inp.next_position + step, dtype=torch.long, device=self.device)
