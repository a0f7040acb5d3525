"""LLaVA-OneVision adapter (LLaVA-Video uses the same class).

Frames at the tower's square size go through SigLIP and the projector, then 2x2 bilinear
pooling (729 -> 196 tokens per frame at 384 px) and one trailing newline token. Positions
are 1-D, so a compressed set is simply the kept tokens in (t, h, w) order. Time reaches the
model only through LLaVA-Video's time instruction when ``time_instruction`` is on (off by
default, as the processor writes none); it lists only the frames that still have a kept
token, so the text never promises frames the model cannot see (vLLM #30847).
"""

from __future__ import annotations

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from .attention import attention_received
from .base import LLMInput, VideoLLM
from .chunking import TOWER_FRAMES, SquareFrameInput
from .prompting import Dialogue

TINY = {
    "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 32, "intermediate_size": 64,
                      "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 56, "patch_size": 14},
    "text_config": {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 152000,
                    "max_position_embeddings": 4096},
    "vision_feature_layer": -1,
    "video_token_id": 151647, "image_token_id": 151646,
}

#: checkpoints on the Hugging Face hub this adapter loads, with their parameter counts
HUB_IDS = {
    "llava-hf/llava-onevision-qwen2-0.5b-ov-hf": "0.5B",
    "llava-hf/llava-onevision-qwen2-7b-ov-hf": "7B",
    "llava-hf/llava-onevision-qwen2-72b-ov-hf": "72B",
}

# Real dimensions of llava-onevision-qwen2-0.5b-ov-hf (config.json), for speed measurement.
SIZES = {
    "tiny": TINY,
    "0.5b": {
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152, "intermediate_size": 4304,
                          "num_hidden_layers": 26, "num_attention_heads": 16, "image_size": 384, "patch_size": 14},
        "text_config": {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
                        "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                        "vocab_size": 152000, "max_position_embeddings": 32768, "tie_word_embeddings": True},
        "vision_feature_layer": -1,
        "video_token_id": 151647, "image_token_id": 151646,
    },
}


class LlavaOneVisionAdapter(SquareFrameInput, VideoLLM):
    """LLaVA-OneVision / LLaVA-Video: SigLIP tower, 2x2 pooling, 1-D positions, time instruction."""

    family = "llava_onevision"
    model_types = ("llava_onevision",)  # config.json "model_type" values this adapter loads
    default_sampler = "llava_onevision"
    #: LLaVA-Video's training prompt ("The video lasts for ... These frames are located at
    #: ..."), listing only frames with kept tokens. Off by default: the model's own
    #: processor and chat template do not write it (a user of LLaVA-Video adds it to the
    #: question); a library user may turn it on per adapter
    time_instruction = False

    hf_config = "LlavaOnevisionConfig"
    hf_model = "LlavaOnevisionForConditionalGeneration"
    sizes = SIZES

    def pixel_inputs(self, frames: np.ndarray) -> torch.Tensor:
        from transformers import LlavaOnevisionVideoProcessor

        s = self.model.config.vision_config.image_size
        vp = self.processor.video_processor if self.processor is not None else LlavaOnevisionVideoProcessor()
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        out = vp(videos=[x], return_tensors="pt", size={"height": s, "width": s}, do_sample_frames=False)
        return out["pixel_values_videos"]

    @torch.inference_mode()
    def encode(self, frames: np.ndarray, times: np.ndarray, ends: np.ndarray, fps: float) -> TokenSet:
        cfg = self.model.config
        feats, attn, newline = [], [], None
        for s in range(0, len(frames), TOWER_FRAMES):  # a few frames at a time: bounded activations
            pv = self.pixel_inputs(frames[s:s + TOWER_FRAMES]).to(self.device, self.model.dtype)
            out = self.model.model.get_video_features(
                pv, vision_feature_layer=cfg.vision_feature_layer,
                vision_feature_select_strategy=cfg.vision_feature_select_strategy, output_hidden_states=True)
            f = out.pooler_output[0]  # the chunk's pooled tokens, then the learned newline
            n = len(frames[s:s + TOWER_FRAMES])
            side = int(round(((f.shape[0] - 1) / n) ** 0.5))
            feats.append(f[:-1].float())  # on the model's device: compression runs there
            newline = f[-1].float()
            attn.append(self._attention_received(out.hidden_states, side).float())
        T = len(frames)
        ts = TokenSet.from_grid(torch.cat(feats).reshape(T, side, side, -1), times, ends)
        ts.meta = {"family": self.family, "newline": newline,
                   "duration": float(ends[-1] - times[0]) if len(times) else 0.0, "attn": torch.cat(attn)}
        return ts

    def _attention_received(self, hidden_states, side: int) -> torch.Tensor:
        """Mean attention each patch receives in the layer that produced the selected
        features, computed eagerly for that one layer (the tower itself ran with SDPA),
        then pooled like the features: one score per LLM token (VisionZip's signal)."""
        cfg = self.model.config
        f = cfg.vision_feature_layer if isinstance(cfg.vision_feature_layer, int) else cfg.vision_feature_layer[-1]
        tower = self.model.model.vision_tower
        layers = (tower.vision_model if hasattr(tower, "vision_model") else tower).encoder.layers
        li = (len(hidden_states) + f - 1) if f < 0 else f - 1
        recv = attention_received(layers[li], hidden_states[li])  # (frames, patches)
        B = recv.shape[0]
        if cfg.vision_feature_select_strategy == "default":
            recv = recv[:, 1:]
        g = int(round(recv.shape[1] ** 0.5))
        pooled = torch.nn.functional.interpolate(recv.view(B, 1, g, g), size=(side, side), mode="bilinear")
        return pooled.reshape(-1)

    def _question(self, tokens: TokenSet, d: Dialogue) -> Dialogue:
        if not self.time_instruction:
            return d
        frames_kept = torch.nonzero(tokens.covered_frames()).squeeze(1).tolist()
        times = ", ".join(f"{float(tokens.frame_times[t]):.2f}s" for t in frames_kept)
        dur = tokens.meta.get("duration", 0.0)
        return d.asking(f"The video lasts for {dur:.2f} seconds, and {len(frames_kept)} frames are uniformly "
                        f"sampled from it. These frames are located at {times}. Please answer the following questions "
                        f"related to this video.\n{d.question}")

    def _prompt_ids(self, d: Dialogue) -> tuple[list[int], list[int]]:
        if self.processor is not None:
            return self._chat_template_ids(d, "<video>")
        return self._encode("<|im_start|>user\n"), self._chatml_after(d, lead="\n")

    @torch.inference_mode()
    def inputs(self, tokens: TokenSet, d: Dialogue) -> LLMInput:
        before, after = self._prompt_ids(self._question(tokens, d))
        ts = tokens.sorted()
        emb = self.model.get_input_embeddings()
        dtype = emb.weight.dtype
        vid = torch.cat([ts.feats, tokens.meta["newline"][None]]).to(self.device, dtype)[None]
        embeds = torch.cat([emb(torch.tensor([before], device=self.device)), vid,
                            emb(torch.tensor([after], device=self.device))], 1)
        # position ids: each kept token keeps its place in the uncompressed sequence, so the
        # question stays as far from every frame as it was (RoPE sees true distances)
        n_full, nb = tokens.num_original, len(before)
        pos = torch.cat([torch.arange(nb), nb + ts.flat_pos().cpu(),
                         torch.arange(nb + n_full, nb + n_full + 1 + len(after))]).to(self.device)
        inp = LLMInput(embeds, pos[None], num_visual=len(ts), num_text=len(before) + len(after),
                       next_position=int(pos[-1]) + 1, prefix_len=len(before) + len(ts) + 1,
                       keys=before + [-1 - j for j in range(len(ts) + 1)] + after)
        return self._with_sizes(inp, len(before) + torch.arange(len(ts)), ts.size)

    def sampler_params(self, num_frames=None, fps=None) -> dict:
        """LLaVA-OneVision's sampler takes a frame count (``--frames``), not a rate."""
        if fps is not None:
            from ..errors import UsageError

            raise UsageError("LLaVA-OneVision samples a number of frames: give --frames, not --fps")
        return {"n": num_frames}

    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        return torch.tensor([[inp.next_position + step]], device=self.device)
