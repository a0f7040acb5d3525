"""SmolVLM2 adapter (Idefics3 architecture).

Each frame is an image: SigLIP, then pixel shuffle (``scale_factor``^2 patches per token) and
the connector; in the prompt every frame is introduced by ``Frame from MM:SS:`` and wrapped
in ``<fake_token_around_image><global-img> ... <fake_token_around_image>`` as SmolVLM2's
processor writes videos. Positions are 1-D. A compressed set keeps the timestamp line of
every frame that still has a kept token and drops the others.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from .attention import attention_received
from .base import LLMInput, VideoLLM
from .chunking import TOWER_FRAMES, SquareFrameInput
from .prompting import Dialogue, visual_keys

TINY = {
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                      "image_size": 64, "patch_size": 16},
    "text_config": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 128300,
                    "max_position_embeddings": 8192},
    "scale_factor": 2,
    "image_token_id": 128257,
}

#: checkpoints on the Hugging Face hub this adapter loads, with their parameter counts
HUB_IDS = {
    "HuggingFaceTB/SmolVLM2-256M-Video-Instruct": "256M",
    "HuggingFaceTB/SmolVLM2-500M-Video-Instruct": "500M",
    "HuggingFaceTB/SmolVLM2-2.2B-Instruct": "2.2B",
}

# Real dimensions of SmolVLM2-256M-Video-Instruct (its config.json: SigLIP-base/16 at 512 px,
# 4x4 pixel shuffle -> 64 tokens a frame, SmolLM2-135M), for speed measurement: the model a
# CPU user can actually run.
SIZES = {
    "tiny": TINY,
    "256m": {
        "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                          "num_attention_heads": 12, "image_size": 512, "patch_size": 16},
        "text_config": {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                        "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64, "vocab_size": 49280,
                        "max_position_embeddings": 8192, "rope_theta": 100000, "rms_norm_eps": 1e-5},
        "scale_factor": 4,
        "image_token_id": 49190,
    },
}


def _words(n: int) -> str:
    """The frame count as SmolVLM2's processor writes it: in words (num2words, which the
    processor itself requires)."""
    from num2words import num2words

    return num2words(n)


def _clock(t: float) -> str:
    m, s = divmod(int(t), 60)
    return f"{m:02d}:{s:02d}"


class SmolVLM2Adapter(SquareFrameInput, VideoLLM):
    """SmolVLM2: SigLIP + pixel shuffle per frame, 'Frame from MM:SS' timestamps, 1-D positions."""

    family = "smolvlm2"
    model_types = ("smolvlm",)  # config.json "model_type" values this adapter loads
    default_sampler = "smolvlm2"

    hf_config = "SmolVLMConfig"
    hf_model = "SmolVLMForConditionalGeneration"
    sizes = SIZES

    def pixel_inputs(self, frames: np.ndarray) -> torch.Tensor:
        """(1, N, 3, s, s): the model's own video processor on decoded frames (longest side
        to its size, then squared to ``max_image_size``, SigLIP normalisation)."""
        from transformers import SmolVLMVideoProcessor

        if self.processor is not None:
            vp = self.processor.video_processor
        else:  # random: models: the processor a checkpoint of this tower size would save
            s = self.model.config.vision_config.image_size
            vp = SmolVLMVideoProcessor(size={"longest_edge": s}, max_image_size={"longest_edge": s})
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        return vp(videos=[x], return_tensors="pt", do_sample_frames=False)["pixel_values"]

    @torch.inference_mode()
    def encode(self, frames, times, ends, fps) -> TokenSet:
        # frames are images to this tower: ``TOWER_FRAMES`` at a time bound its activations,
        # the hidden states VisionZip's signal reads and the processor's float copy by that
        # many frames, not by the video
        feats, recv = [], []
        layer = self.model.model.vision_model.encoder.layers[-1]
        for s in range(0, len(frames), TOWER_FRAMES):
            pv = self.pixel_inputs(frames[s:s + TOWER_FRAMES]).to(self.device, self.model.dtype)
            out = self.model.model.get_image_features(pv, output_hidden_states=True)
            feats.append(out.pooler_output[0].float())  # on the model's device: compression runs there
            # VisionZip's signal: attention received in the tower's last layer (which made
            # the features), pooled below over the pixel-shuffle blocks of each LLM token
            recv.append(attention_received(layer, out.hidden_states[-2]).float())
        feats = torch.cat(feats)
        T = len(frames)
        per = feats.shape[0] // T
        side = int(round(per ** 0.5))
        ts = TokenSet.from_grid(feats.reshape(T, side, side, -1), times, ends)
        ts.meta = {"family": self.family, "duration": float(ends[-1] - times[0]) if len(times) else 0.0}
        recv = torch.cat(recv)
        g = int(round(recv.shape[1] ** 0.5))
        ts.meta["attn"] = torch.nn.functional.avg_pool2d(recv.view(-1, 1, g, g), g // side).reshape(-1)
        return ts

    def _specials(self) -> tuple[list[int], list[int]]:
        if self.processor is not None:
            tok = self.tokenizer
            fake = tok.convert_tokens_to_ids(getattr(self.processor, "fake_image_token", "<fake_token_around_image>"))
            glob = tok.convert_tokens_to_ids(getattr(self.processor, "global_image_token", "<global-img>"))
            return [fake, glob], [fake]
        return self._encode("<fake><global-img>"), self._encode("<fake>")

    def _layout(self, tokens: TokenSet, members: list[int], d: Dialogue):
        """ids and a visual mask: user turn, intro, per frame with kept tokens
        [timestamp, wrappers, image tokens], outro, question, assistant turn."""
        cfg = self.model.config
        dur = tokens.meta.get("duration", 0.0)
        covered = tokens.covered_frames().tolist()
        kept = [t for t, n in enumerate(members) if n or covered[t]]
        system = f"System: {self.system}<end_of_utterance>\n" if self.system else ""  # as its template writes it
        head = self._encode(f"<|im_start|>{system}User: " + f"You are provided the following series of {_words(len(kept))} "
                            f"frames from a {timedelta(seconds=int(dur))} [H:MM:SS] video.\n")
        open_ids, close_ids = self._specials()
        ids, vis = list(head), [False] * len(head)
        for t in kept:
            stamp = self._encode(f"\nFrame from {_clock(float(tokens.frame_times[t]))}:") + open_ids
            ids += stamp + [cfg.image_token_id] * members[t] + close_ids
            vis += [False] * len(stamp) + [True] * members[t] + [False] * len(close_ids)
        tail = self._splice("\n\n" + self._dialogue(d, "<end_of_utterance>\nAssistant: ",
                                                     "<end_of_utterance>\nUser: ") + "<end_of_utterance>\nAssistant:", d)
        ids += tail
        vis += [False] * len(tail)
        return ids, vis

    @torch.inference_mode()
    def inputs(self, tokens: TokenSet, d: Dialogue) -> LLMInput:
        ts = tokens.sorted()
        T = tokens.grid[0]
        members = torch.bincount(ts.pos[:, 0], minlength=T).tolist()
        ids, vis = self._layout(tokens, members, d)
        emb = self.model.get_input_embeddings()
        embeds = emb(torch.tensor([ids], device=self.device))
        mask = torch.tensor([vis], device=self.device)
        embeds[mask] = ts.feats.to(self.device, embeds.dtype)
        L = len(ids)
        last_vis = int(torch.nonzero(mask[0]).max()) if bool(mask.any()) else 0
        # position ids from the uncompressed layout: text keeps its place, each kept token
        # the place of its representative (same text: covered frames keep their markers)
        _, H, W = tokens.grid
        full_ids, full_vis = self._layout(tokens, [H * W] * T, d)
        fv = torch.tensor(full_vis)
        full_text, full_tok = torch.nonzero(~fv).squeeze(1), torch.nonzero(fv).squeeze(1)
        vis_t = torch.tensor(vis)
        pos = torch.empty(L, dtype=torch.long)
        pos[~vis_t] = full_text
        pos[vis_t] = full_tok[ts.flat_pos().cpu()]
        inp = LLMInput(embeds, pos.to(self.device)[None], num_visual=len(ts), num_text=L - len(ts),
                       next_position=len(full_ids), prefix_len=last_vis + 2,
                       keys=visual_keys(ids, vis))
        return self._with_sizes(inp, torch.nonzero(mask[0]).squeeze(1), ts.size)

    def decoder_stack(self):
        return self.model.model.text_model

    def sampler_params(self, num_frames=None, fps=None) -> dict:
        """SmolVLM2's sampler: a rate, with ``--frames`` as its cap."""
        return {"fps": fps, "max_frames": num_frames}

    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        return torch.tensor([[inp.next_position + step]], device=self.device)
