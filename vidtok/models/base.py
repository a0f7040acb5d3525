"""The adapter every video-LLM family implements (one file per family beside this one).

An adapter (1) encodes frames with the model's own vision tower into a ``TokenSet`` whose
grid is the LLM's token grid, and (2) builds the LLM input from any compressed
``TokenSet``: kept embeddings in place of the video placeholder, position ids taken from
each kept token's original (t, h, w) through the model's own position function, so time
stays consistent with what was kept. Generation is transformers' own ``generate`` fed those
embeddings and positions (no model internals are monkey-patched).

The rooms around it: ``loading`` (model strings), ``prompting`` (chat templates and
conversations), ``decoding`` (generate and its caches), ``attention`` (masks, FastV's and
VisionZip's signals), ``chunking`` (the tower's input a few frames at a time),
``cpu_dtype`` (what runs in half precision on a CPU).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from ..errors import UsageError
from .attention import key_mask, text_attention
from .decoding import Decoder, Generation, Prefilled, generation_config
from .generation import Sampling
from .prompting import Dialogue, Prompting, StandInTokenizer
from .shims import cache_arg, cache_of


@dataclass
class LLMInput:
    inputs_embeds: torch.Tensor  # (1, L, D)
    position_ids: torch.Tensor  # family-specific shape, sequence on the last axis
    num_visual: int
    num_text: int
    next_position: object = None  # family-specific continuation state
    extra: dict = field(default_factory=dict)
    #: tokens before the question (template + video): their KV cache is reusable
    prefix_len: int = 0
    #: (L,) one key per position: the token id of text, ``-1 - j`` for the j-th visual
    #: token; a conversation compares these with what its KV cache holds
    keys: Optional[list[int]] = None
    #: (L,) added to every query's attention logit of each key (proportional attention:
    #: log of the original tokens a merged token stands for; 0 for text); None: plain
    key_bias: Optional[torch.Tensor] = None


@contextlib.contextmanager
def _no_weight_loading_bar():
    """transformers' per-tensor "Loading weights" bar would print on stderr on every run,
    terminal or not and with ``--json`` too; vidtok's own spinner says the model is loading
    (on a terminal). Only that bar goes: the hub's download bars stay (a first download takes
    minutes), through transformers' own tqdm hook."""
    from transformers.utils import logging as hf_logging

    def hook(factory, args, kwargs):
        if kwargs.get("desc") == "Loading weights":
            kwargs = {**kwargs, "disable": True}
        return factory(*args, **kwargs)

    previous = hf_logging.set_tqdm_hook(hook)
    try:
        yield
    finally:
        hf_logging.set_tqdm_hook(previous)


class VideoLLM(Prompting, ABC):
    #: the registry name (``-m random:<family>-tiny``)
    family: str = ""
    #: the ``model_type`` values of hub ``config.json`` files this adapter loads: a family,
    #: built-in or plugin, is found from a checkpoint's config by this alone
    model_types: tuple[str, ...] = ()
    default_sampler: str = "uniform"
    #: transformers class names of the family, and the configs ``random:`` builds
    hf_config: str = ""
    hf_model: str = ""
    sizes: dict = {}
    #: the (width, height) the tower reads every frame at, for towers of one square size
    #: (``SquareFrameInput``); None where the processor sizes frames
    frame_size: Optional[tuple[int, int]] = None

    # -- settings (``configure``): one place, read by decoding and prompting ---------------------
    #: ToMe's proportional attention for merged tokens: a token standing for ``size``
    #: originals gets log(size) added to its attention logits, so that merging exact
    #: duplicates leaves attention as it was. Off by default (unvalidated for pruning).
    proportional_attention: bool = False
    #: who resizes frames: "model" (the model's own processor, from frames decoded at the
    #: video's size: the model's own pixels) or "decoder" (FFmpeg scales while decoding to
    #: the size the processor would pick: less memory and time, pixels differ slightly)
    resize: str = "model"
    #: generation settings when ``generate`` is given none
    sampling: Optional[Sampling] = None
    #: system prompt the chat template places before the user's turn
    system: Optional[str] = None
    #: decode through a static KV cache and a compiled step (``--compile``)
    compile: bool = False
    #: the sampler's frame count and rate when a setting asks (``--frames``, ``--fps``: a
    #: paper's setting); None: the family's own default
    frames: Optional[int] = None
    fps: Optional[float] = None
    #: the most pixels a frame keeps (``--max-pixels``: the processor's own resize to a smaller
    #: pixel budget, fewer visual tokens); None: the checkpoint's own cap. Families that size
    #: frames by their processor's per-frame cap honour it (``limits_pixels``)
    max_pixels: Optional[int] = None
    limits_pixels: bool = False
    #: the share of units the vision tower carries past its merge point (the plan's
    #: ``tower=``; None: all); families whose tower can merge inside it (``merges_in_tower``)
    tower_keep: Optional[float] = None
    merges_in_tower: bool = False

    def configure(self, cfg) -> "VideoLLM":
        """Take a ``PipelineConfig``'s model settings: proportional attention, who resizes
        frames, generation settings and system prompt."""
        self.proportional_attention = cfg.proportional
        self.resize = cfg.resize
        self.sampling = cfg.sampling()
        self.system = cfg.system
        self.compile = cfg.compile
        self.frames, self.fps = cfg.frames, cfg.fps
        if cfg.max_pixels is not None and not self.limits_pixels:
            raise UsageError(f"--max-pixels: {self.family} sizes frames by its own rule; it is supported for "
                             "Qwen2.5-VL")
        self.check_plan(getattr(cfg, "plan", None))
        self.max_pixels = cfg.max_pixels
        return self

    def check_plan(self, plan: Optional[str]) -> None:
        """A plan that shrinks frames (``pixels=``) needs a family whose processor takes any
        frame size (``limits_pixels``): one line otherwise."""
        from ..compress.plan import pixels_share, tower_share

        if pixels_share(plan) is not None and not self.limits_pixels:
            raise UsageError(f"--plan {plan}: {self.family} sizes frames by its own rule; fewer pixels a frame "
                             "(pixels=) is supported for Qwen2.5-VL")
        if tower_share(plan) is not None and not self.merges_in_tower:
            raise UsageError(f"--plan {plan}: merging inside the vision tower (tower=) is supported for Qwen2.5-VL, "
                             f"not {self.family}")

    @contextlib.contextmanager
    def tower_merging(self, keep: Optional[float]):
        """Within it, the tower carries a share ``keep`` of its units past its merge point
        (the plan's ``tower=``; None: all of them)."""
        before, self.tower_keep = self.tower_keep, keep
        try:
            yield
        finally:
            self.tower_keep = before

    @contextlib.contextmanager
    def pixel_cap(self, cap: int):
        """Within it, each frame keeps at most ``cap`` pixels (the plan's ``pixels=``, one
        call's ``--max-pixels``): the sampler and the processor read the same cap."""
        before = self.max_pixels
        self.max_pixels = cap if before is None else min(before, cap)
        try:
            yield
        finally:
            self.max_pixels = before

    def __init__(self, model, tokenizer, processor=None, device: str = "cpu", spec: str = ""):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.processor = processor
        self.device = device
        self.spec = spec
        self.decoder = Decoder(self)

    # -- building --------------------------------------------------------------------------
    @classmethod
    def random(cls, size: str, device: str = "cpu", spec: str = "", dtype: torch.dtype | None = None):
        """Randomly initialised model from a real config (tests; timing at real size),
        float32 unless ``dtype`` says otherwise."""
        import transformers

        if size not in cls.sizes:
            raise UsageError(f"sizes for {cls.family}: {', '.join(cls.sizes)}")
        torch.manual_seed(0)
        cfg = getattr(transformers, cls.hf_config)(**cls.sizes[size])
        cfg._attn_implementation = "sdpa"
        model = getattr(transformers, cls.hf_model)(cfg).to(device=device, dtype=dtype or torch.float32)
        return cls(model, StandInTokenizer(cfg.text_config.vocab_size), None, device, spec)

    @classmethod
    def pretrained(cls, model_id: str, device: str = "cpu", spec: str = "", dtype: torch.dtype | None = None):
        """Weights and processor from the hub or a local path (SDPA attention, no remote
        code), in the checkpoint's own dtype unless ``dtype`` says otherwise, except that a
        half-precision checkpoint runs in float32 on a CPU that would emulate it
        (``cpu_dtype.cpu_needs_float32``)."""
        import transformers

        from .cpu_dtype import cpu_needs_float32

        with _no_weight_loading_bar():
            model = getattr(transformers, cls.hf_model).from_pretrained(
                model_id, dtype=dtype or "auto", attn_implementation="sdpa").to(device)
        if dtype is None and device == "cpu" and cpu_needs_float32(model.dtype, model.num_parameters()):
            model = model.float()
        proc = transformers.AutoProcessor.from_pretrained(model_id)
        return cls(model, proc.tokenizer, proc, device, spec)

    @property
    def frames_per_step(self) -> int:
        """Consecutive frames the vision tower folds into one token step (Qwen: 2)."""
        return int(getattr(self.model.config.vision_config, "temporal_patch_size", 1) or 1)

    def sampler_params(self, num_frames: Optional[int] = None, fps: Optional[float] = None) -> dict:
        """What the family's default sampler takes from ``--frames``/``--fps`` (None: its own
        default): Qwen's a rate or a frame count (qwen-vl-utils' ``nframes``); families whose
        sampler differs override."""
        return {"fps": fps, "nframes": num_frames}

    def decode_size(self, sampler_size=None):
        """The (width, height) frames are decoded at: None, the video's own, where the
        model's processor resizes them (``resize == "model"``); with ``resize == "decoder"``
        the tower's square size, else ``sampler_size`` (the size the processor would pick)."""
        if self.resize != "decoder":
            return None
        return self.frame_size or sampler_size

    # -- the family's stages -------------------------------------------------------------------
    @abstractmethod
    def encode(self, frames: np.ndarray, times: np.ndarray, ends: np.ndarray, fps: float) -> TokenSet:
        """(T, H, W, 3) uint8 frames at the sampler's size -> TokenSet on the LLM's grid."""

    @abstractmethod
    def inputs(self, tokens: TokenSet, d: Dialogue) -> LLMInput:
        """LLM input from a (possibly compressed) TokenSet and a dialogue."""

    @abstractmethod
    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        """Position ids for the ``step``-th generated token (0-based)."""

    def build_inputs(self, tokens: TokenSet, question: "str | Dialogue", history=()) -> LLMInput:
        """LLM input for ``question`` about ``tokens``, after a conversation's earlier turns
        ``history`` ((question, answer ids), oldest first)."""
        return self.inputs(tokens, Dialogue.of(question, history))

    def decoder_stack(self):
        """The LLM's decoder stack (a module with ``.layers``); families name theirs."""
        return self.model.model.language_model

    def decoder_kwargs(self, inp: LLMInput, end: int | None = None) -> dict:
        """Extra inputs the decoder needs besides embeddings and positions (for the sequence's
        first ``end`` positions; all by default)."""
        return {}

    def generation_inputs(self, inp: LLMInput, cached: int) -> dict:
        """What ``model.generate`` takes for this input when ``cached`` tokens are already in
        the KV cache: the merged embeddings (families whose forward needs nothing but
        embeddings and positions; Qwen3-VL overrides this for DeepStack)."""
        return {"inputs_embeds": inp.inputs_embeds}

    def _forward(self, embeds, positions, past=None, start: int = 0, inp: "LLMInput | None" = None,
                 logits_to_keep: int = 0):
        """Logits (of the last ``logits_to_keep`` positions; 0: all) and the KV cache. Callers
        that need only the next token ask for one position: the LM head over every position
        costs a vocabulary-wide row per token (5.3 GB of float32 logits for 8,800 tokens of a
        152k vocabulary), for logits nobody reads."""
        mask = key_mask(inp, start, embeds.shape[1], embeds.device, self.model.dtype)
        out = self.model(inputs_embeds=embeds, position_ids=positions, attention_mask=mask, use_cache=True,
                         logits_to_keep=logits_to_keep, **cache_arg(self.model.forward, past))
        return out.logits, cache_of(out)

    def _with_sizes(self, inp: LLMInput, cols: torch.Tensor, sizes: torch.Tensor) -> LLMInput:
        """Attach the key bias of visual tokens at sequence columns ``cols`` (adapters call
        this at the end of ``inputs``)."""
        inp.extra["visual_cols"] = cols
        sizes = sizes.float()
        if self.proportional_attention and bool((sizes > 1).any()):
            bias = torch.zeros(inp.inputs_embeds.shape[1], dtype=torch.float32, device=inp.inputs_embeds.device)
            bias[cols.to(bias.device)] = sizes.to(bias.device).log()
            inp.key_bias = bias
        return inp

    # -- answering (``decoding.Decoder``) ------------------------------------------------------
    def prefill(self, inp: LLMInput, reuse_prefix: bool = False, logits_to_keep: int = 0) -> Prefilled:
        """Logits and KV cache of ``inp`` (see ``Decoder.prefill``)."""
        return self.decoder.prefill(inp, reuse_prefix, logits_to_keep)

    def generate(self, inp: LLMInput, max_new_tokens: int = 64, reuse_prefix: bool = True,
                 sampling: "Sampling | None" = None, on_text=None, past=None) -> Generation:
        """The answer to ``inp`` (see ``Decoder.generate``), with the configured sampling
        when none is given."""
        return self.decoder.generate(inp, max_new_tokens, reuse_prefix, sampling if sampling is not None
                                     else self.sampling, on_text, past)

    def text_attention(self, tokens: TokenSet, question: str, layer: int = 2) -> torch.Tensor:
        """FastV's per-token signal (``attention.text_attention``)."""
        return text_attention(self, tokens, question, layer)

    def eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        eos = eos if eos is not None else getattr(self.model.config, "eos_token_id", None)
        if eos is None:
            return set()
        return set(eos if isinstance(eos, (list, tuple)) else [eos])

    def decode_text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids) if not hasattr(self.tokenizer, "batch_decode") else \
            self.tokenizer.decode(ids, skip_special_tokens=True)

    def generation_config(self, max_new_tokens: int, sampling: "Sampling | None" = None):
        """The ``GenerationConfig`` an answer runs with (``decoding.generation_config``)."""
        return generation_config(self, max_new_tokens, sampling)

    def generation_summary(self) -> dict:
        """The settings answers are generated with (for --json and reports)."""
        gc = self.generation_config(1, self.sampling)
        s = self.sampling
        return {"do_sample": bool(gc.do_sample), "temperature": gc.temperature if gc.do_sample else None,
                "top_p": gc.top_p if gc.do_sample else None, "top_k": gc.top_k if gc.do_sample else None,
                "seed": s.seed if s else None, "stop": list(s.stop) if s else [],
                "repetition_penalty": gc.repetition_penalty, "system": self.system, "resize": self.resize,
                "compile": self.compile, "frames": self.frames, "fps": self.fps, "max_pixels": self.max_pixels}
