"""Model adapters: one file per video-LLM family over Hugging Face transformers.

An adapter (1) encodes frames with the model's own vision tower into a ``TokenSet`` whose
grid is the LLM's token grid, and (2) builds the LLM input from any compressed
``TokenSet``: kept embeddings in place of the video placeholder, position ids taken from
each kept token's original (t, h, w) through the model's own position function, so time
stays consistent with what was kept. Generation is transformers' own ``generate`` fed those
embeddings and positions (no model internals are monkey-patched).

Model strings (``-m``): a hub id or local path (family from its config), or
``random:<family>-tiny`` / ``random:<family>-<size>`` for randomly initialised models built
from real configs (tests; speed at real dimensions). ``trust_remote_code`` is never on.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..compress.tokenset import TokenSet
from ..errors import UsageError, import_failure

from . import MODELS  # noqa: E402  (re-exported)
from .generation import Sampling, Streamer, StopText  # noqa: E402  (Sampling re-exported)

from ..defaults import DEFAULT_MODEL  # noqa: E402  (re-exported)


class ByteTokenizer:
    """Stand-in tokenizer for random models (no tokenizer files offline): UTF-8 bytes
    mapped into the vocabulary above 256 reserved ids."""

    def __init__(self, vocab_size: int, offset: int = 1000):
        self.vocab_size = vocab_size
        self.offset = min(offset, max(0, vocab_size - 300))

    def encode(self, text: str) -> list[int]:
        return [self.offset + b for b in text.encode("utf-8")]

    def decode(self, ids) -> str:
        """Bytes where ids are bytes; other ids (a random model says anything) as letters."""
        out = []
        for i in ids:
            b = int(i) - self.offset
            out.append(chr(b) if 32 <= b < 127 else chr(0x61 + int(i) % 26))
        return "".join(out)


#: where an earlier answer sits in a rendered conversation (replaced by its token ids)
ANSWER = "\x00answer{}\x00"
ANSWER_SPLIT = r"\x00answer(\d+)\x00"


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


class VideoLLM(ABC):
    #: the registry name (``-m random:<family>-tiny``)
    family: str = ""
    #: the ``model_type`` values of hub ``config.json`` files this adapter loads: a family,
    #: built-in or plugin, is found from a checkpoint's config by this alone
    model_types: tuple[str, ...] = ()
    default_sampler: str = "uniform"

    def configure(self, cfg) -> "VideoLLM":
        """Take a ``PipelineConfig``'s model settings: proportional attention, who resizes
        frames, generation settings and system prompt."""
        self.proportional_attention = cfg.proportional
        self.resize = cfg.resize
        self.sampling = cfg.sampling()
        self.system = cfg.system
        self.compile = cfg.compile
        return self

    def __init__(self, model, tokenizer, processor=None, device: str = "cpu", spec: str = ""):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.processor = processor
        self.device = device
        self.spec = spec
        #: prompt-prefix KV caches (template + video tokens) as (embeddings, positions, KV),
        #: most recent last; a second question on the same tokens prefills only the question.
        #: Found by comparing the prefix itself where it lives (exact, and no copy to the host
        #: nor a hash over every embedding, which long videos made slow)
        self._prefix_cache: list[tuple] = []
        self.max_prefix_entries = 2
        #: generation settings when ``generate`` is given none (``configure``)
        self.sampling: Sampling | None = None
        #: system prompt the chat template places before the user's turn
        self.system: str | None = None
        #: a conversation's earlier turns: (question, answer token ids), oldest first
        self.history: list[tuple[str, list[int]]] = []
        #: decode through a static KV cache and a compiled step (``--compile``), and that
        #: cache with its size, kept between answers
        self.compile = False
        self._static = None

    # -- building --------------------------------------------------------------------------
    #: transformers class names of the family, and the configs ``random:`` builds
    hf_config: str = ""
    hf_model: str = ""
    sizes: dict = {}

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
        return cls(model, ByteTokenizer(cfg.text_config.vocab_size), None, device, spec)

    @classmethod
    def pretrained(cls, model_id: str, device: str = "cpu", spec: str = "", dtype: torch.dtype | None = None):
        """Weights and processor from the hub or a local path (SDPA attention, no remote
        code), in the checkpoint's own dtype unless ``dtype`` says otherwise, except that a
        half-precision checkpoint runs in float32 on a CPU that would emulate it
        (``cpu_needs_float32``)."""
        import transformers

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

    # -- stages ----------------------------------------------------------------------------
    @abstractmethod
    def encode(self, frames: np.ndarray, times: np.ndarray, ends: np.ndarray, fps: float) -> TokenSet:
        """(T, H, W, 3) uint8 frames at the sampler's size -> TokenSet on the LLM's grid."""

    @abstractmethod
    def build_inputs(self, tokens: TokenSet, question: str) -> LLMInput:
        """LLM input from a (possibly compressed) TokenSet and a question."""

    @abstractmethod
    def step_positions(self, inp: LLMInput, step: int) -> torch.Tensor:
        """Position ids for the ``step``-th generated token (0-based)."""

    def _encode(self, text: str) -> list[int]:
        """Token ids of plain text (no special tokens added by a real tokenizer)."""
        if self.processor is not None:
            return self.tokenizer.encode(text, add_special_tokens=False)
        return self.tokenizer.encode(text)

    def _chat_template_ids(self, question: str, placeholder: str) -> tuple[list[int], list[int]]:
        """The model's own chat template for one video, the conversation so far
        (``history``) and a question, split at the video placeholder the processor would
        expand: (ids before, ids after). Earlier answers enter as the ids generated."""
        msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": self._first(question)}]}]
        for i in range(len(self.history)):
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": ANSWER.format(i)}]})
            msgs.append({"role": "user", "content": [{"type": "text", "text": self._later(i, question)}]})
        if self.system:
            msgs.insert(0, {"role": "system", "content": self.system})
        text = self.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        before, _, after = text.partition(placeholder)
        return self._encode(before), self._splice(after)

    def _first(self, question: str) -> str:
        """The question of the first user turn (the one with the video)."""
        return self.history[0][0] if self.history else question

    def _later(self, i: int, question: str) -> str:
        """The question of the user turn after answer ``i``."""
        return self.history[i + 1][0] if i + 1 < len(self.history) else question

    def _dialogue(self, question: str, answer_open: str, answer_close: str) -> str:
        """The text after the video in a template written by hand: every question, each
        earlier answer (a marker ``_splice`` fills with its ids) between ``answer_open``
        and ``answer_close``."""
        text = self._first(question)
        for i in range(len(self.history)):
            text += answer_open + ANSWER.format(i) + answer_close + self._later(i, question)
        return text

    def _chatml_after(self, question: str, lead: str = "") -> list[int]:
        """The ids after the video in a ChatML prompt written by hand (``random:`` models of
        the Qwen-based families): ``lead``, the dialogue so far, then the assistant's turn."""
        return self._splice(lead + self._dialogue(question, "<|im_end|>\n<|im_start|>assistant\n",
                                                  "<|im_end|>\n<|im_start|>user\n")
                            + "<|im_end|>\n<|im_start|>assistant\n")

    def decode_size(self, sampler_size=None):
        """The (width, height) frames are decoded at: None, the video's own, where the
        model's processor resizes them (``resize == "model"``); with ``resize == "decoder"``
        the tower's square size, else ``sampler_size`` (the size the processor would pick)."""
        if self.resize != "decoder":
            return None
        return getattr(self, "frame_size", None) or sampler_size

    def _splice(self, text: str) -> list[int]:
        """Token ids of ``text`` with each answer marker replaced by that answer's ids, so
        a conversation's earlier turns are exactly the tokens its KV cache holds."""
        import re

        ids: list[int] = []
        for k, part in enumerate(re.split(ANSWER_SPLIT, text)):
            if k % 2:
                ids += self.history[int(part)][1]
            elif part:
                ids += self._encode(part)
        return ids

    def eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        eos = eos if eos is not None else getattr(self.model.config, "eos_token_id", None)
        if eos is None:
            return set()
        return set(eos if isinstance(eos, (list, tuple)) else [eos])

    def decode_text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids) if not hasattr(self.tokenizer, "batch_decode") else \
            self.tokenizer.decode(ids, skip_special_tokens=True)

    #: ToMe's proportional attention for merged tokens: a token standing for ``size``
    #: originals gets log(size) added to its attention logits, so that merging exact
    #: duplicates leaves attention as it was. Off by default (unvalidated for pruning).
    proportional_attention: bool = False
    #: who resizes frames: "model" (the model's own processor, from frames decoded at the
    #: video's size: the model's own pixels) or "decoder" (FFmpeg scales while decoding to
    #: the size the processor would pick: less memory and time, pixels differ slightly)
    resize: str = "model"

    def _with_sizes(self, inp: LLMInput, cols: torch.Tensor, sizes: torch.Tensor) -> LLMInput:
        """Attach the key bias of visual tokens at sequence columns ``cols`` (adapters call
        this at the end of ``build_inputs``)."""
        inp.extra["visual_cols"] = cols
        sizes = sizes.float()
        if self.proportional_attention and bool((sizes > 1).any()):
            bias = torch.zeros(inp.inputs_embeds.shape[1], dtype=torch.float32, device=inp.inputs_embeds.device)
            bias[cols.to(bias.device)] = sizes.to(bias.device).log()
            inp.key_bias = bias
        return inp

    def _mask(self, inp: "LLMInput | None", start: int, q_len: int, device) -> torch.Tensor:
        """A 2-D all-ones mask, or with proportional attention a 4-D float mask: causal,
        plus each key's bias (generated tokens get none)."""
        k_len = start + q_len
        if inp is None or inp.key_bias is None:
            return torch.ones(1, k_len, dtype=torch.long, device=device)
        dtype = self.model.dtype
        bias = torch.zeros(k_len, dtype=torch.float32, device=device)
        n = min(k_len, len(inp.key_bias))
        bias[:n] = inp.key_bias[:n].to(device)
        q = torch.arange(start, k_len, device=device)[:, None]
        k = torch.arange(k_len, device=device)[None, :]
        m = torch.where(k <= q, bias[None, :], torch.finfo(torch.float32).min)
        return m.to(dtype)[None, None]

    def _decoder(self):
        """The LLM's decoder stack (a module with ``.layers``)."""
        inner = self.model.model
        return inner.language_model if hasattr(inner, "language_model") else inner.text_model

    def _decoder_kwargs(self, inp: LLMInput, end: int | None = None) -> dict:
        """Extra inputs the decoder needs besides embeddings and positions (for the sequence's
        first ``end`` positions; all by default)."""
        return {}

    @torch.inference_mode()
    def text_attention(self, tokens: TokenSet, question: str, layer: int = 2) -> torch.Tensor:
        """FastV's signal, one score per token of ``tokens`` (in its order): the attention
        the last prompt token pays each visual token in LLM layer ``layer``, averaged over
        heads. Only the first ``layer + 1`` decoder layers run: over all tokens but the last
        with SDPA into a KV cache, then the last token alone with layer ``layer`` computing
        its attention eagerly (its own config copy says "eager" for that call), so the
        weights held are one row per head, not a sequence-squared matrix per head (490 GB
        at 87k tokens and 16 heads); the model itself stays on SDPA."""
        import copy

        inp = self.build_inputs(tokens, question)
        dec = self._decoder()
        layer = max(0, min(layer, len(dec.layers) - 1))
        layers = dec.layers
        att = layers[layer].self_attn
        shared = att.config
        eager = copy.copy(shared)
        eager._attn_implementation = "eager"
        emb, pos, dev = inp.inputs_embeds, inp.position_ids, inp.inputs_embeds.device
        L = emb.shape[1]
        try:
            dec.layers = layers[: layer + 1]
            head = dec(inputs_embeds=emb[:, : L - 1], position_ids=pos[..., : L - 1],
                       attention_mask=self._mask(inp, 0, L - 1, dev), use_cache=True,
                       **self._decoder_kwargs(inp, L - 1))
            att.config = eager
            out = dec(inputs_embeds=emb[:, L - 1:], position_ids=pos[..., L - 1:],
                      attention_mask=self._mask(inp, L - 1, 1, dev), output_attentions=True, use_cache=True,
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

    def _forward(self, embeds, positions, past=None, start: int = 0, inp: "LLMInput | None" = None,
                 logits_to_keep: int = 0):
        """Logits (of the last ``logits_to_keep`` positions; 0: all) and the KV cache. Callers
        that need only the next token ask for one position: the LM head over every position
        costs a vocabulary-wide row per token (5.3 GB of float32 logits for 8,800 tokens of a
        152k vocabulary), for logits nobody reads."""
        mask = self._mask(inp, start, embeds.shape[1], embeds.device)
        out = self.model(inputs_embeds=embeds, position_ids=positions, attention_mask=mask, use_cache=True,
                         logits_to_keep=logits_to_keep, **cache_arg(self.model.forward, past))
        return out.logits, cache_of(out)

    @torch.inference_mode()
    def prefill(self, inp: LLMInput, reuse_prefix: bool = False, logits_to_keep: int = 0):
        """Logits of the whole input (of its last ``logits_to_keep`` positions: 1 is what
        answering needs) and the KV cache. With ``reuse_prefix`` the KV of the template +
        video part is taken from (or stored in) the prefix cache, so only the question is
        computed on a second call."""
        past, P = self._prefix_past(inp, reuse_prefix)
        return self._forward(inp.inputs_embeds[:, P:], inp.position_ids[..., P:], past, start=P, inp=inp,
                             logits_to_keep=logits_to_keep)

    def generation_inputs(self, inp: LLMInput, cached: int) -> dict:
        """What ``model.generate`` takes for this input when ``cached`` tokens are already in
        the KV cache: the merged embeddings (families whose forward needs nothing but
        embeddings and positions; Qwen3-VL overrides this for DeepStack)."""
        return {"inputs_embeds": inp.inputs_embeds}

    def generation_config(self, max_new_tokens: int, sampling: "Sampling | None" = None):
        """The checkpoint's own generation config (eos ids, repetition penalty, ...), greedy
        unless ``sampling`` asks for sampling; its settings then replace the checkpoint's."""
        import copy

        from transformers import GenerationConfig

        base = self.model.generation_config
        gc = copy.deepcopy(base) if base is not None else GenerationConfig()
        gc.max_new_tokens = max_new_tokens
        gc.use_cache, gc.return_dict_in_generate = True, True
        gc.eos_token_id = sorted(self.eos_ids()) or None
        if gc.pad_token_id is None and gc.eos_token_id:
            gc.pad_token_id = gc.eos_token_id[0]
        if sampling is None or not sampling.samples:
            gc.do_sample, gc.temperature, gc.top_p, gc.top_k = False, None, None, None  # greedy
        else:
            gc.do_sample = True
            for name in ("temperature", "top_p", "top_k"):
                if getattr(sampling, name) is not None:
                    setattr(gc, name, getattr(sampling, name))
        return gc

    def generation_summary(self) -> dict:
        """The settings answers are generated with (for --json and reports)."""
        gc = self.generation_config(1, self.sampling)
        s = self.sampling
        return {"do_sample": bool(gc.do_sample), "temperature": gc.temperature if gc.do_sample else None,
                "top_p": gc.top_p if gc.do_sample else None, "top_k": gc.top_k if gc.do_sample else None,
                "seed": s.seed if s else None, "stop": list(s.stop) if s else [],
                "repetition_penalty": gc.repetition_penalty, "system": self.system, "resize": self.resize,
                "compile": self.compile}

    def _prefix_past(self, inp: LLMInput, reuse_prefix: bool):
        """(KV cache holding the template + video prefix, its length) from the prefix cache,
        computing and storing it on a miss; (None, 0) when prefix reuse is off."""
        if not reuse_prefix or inp.prefix_len <= 0 or inp.prefix_len >= inp.inputs_embeds.shape[1]:
            self.last_prefix_hit = False
            return None, 0
        P = inp.prefix_len
        emb, pos = inp.inputs_embeds[:, :P], inp.position_ids[..., :P]
        hit = next((e for e in self._prefix_cache if _same(e[0], emb) and _same(e[1], pos)), None)
        self.last_prefix_hit = hit is not None
        if hit is None:
            _, past = self._forward(emb, pos, inp=inp, logits_to_keep=1)  # only its KV is kept
        else:
            self._prefix_cache = [e for e in self._prefix_cache if e is not hit]  # by identity
            past = hit[2]
            extra = past.get_seq_length() - P
            if extra > 0:
                past.crop(-extra)  # drop what the previous question and answer appended
        self._prefix_cache.append((emb, pos, past))
        del self._prefix_cache[:-self.max_prefix_entries]
        return past, P

    @torch.inference_mode()
    def generate(self, inp: LLMInput, max_new_tokens: int = 64, reuse_prefix: bool = True,
                 sampling: "Sampling | None" = None, on_text=None, past=None) -> tuple[str, dict]:
        """The answer to ``inp`` through transformers' own ``generate`` (its logits
        processors, stopping criteria, streamer interface and cache classes), fed vidtok's
        embeddings and position ids. ``sampling``: temperature / top-p / top-k / seed / stop
        strings (greedy without it); ``on_text(delta)`` receives the answer as it is
        generated; ``past``: a KV cache already holding the first tokens of ``inp`` (a
        conversation's earlier turns; otherwise the prefix cache supplies the template and
        video). Returns the text and the timings and token counts."""
        from transformers import StoppingCriteriaList

        t0 = time.perf_counter()
        sampling = sampling if sampling is not None else self.sampling
        if past is None:
            past, cached = self._prefix_past(inp, reuse_prefix)
        else:
            cached, self.last_prefix_hit = int(past.get_seq_length()), True
        reused = cached if self.last_prefix_hit else 0  # tokens whose KV this call did not compute
        L = inp.inputs_embeds.shape[1]
        if inp.key_bias is not None:
            # proportional attention needs a float bias on every key at every step, which
            # generate's 2-D mask bookkeeping cannot carry: a plain greedy loop over the cache
            return self._generate_biased(inp, max_new_tokens, past, cached, reused, t0)
        seed = sampling.seed if sampling is not None else None
        if seed is not None:
            torch.manual_seed(seed)
        stops = list(sampling.stop) if sampling is not None and sampling.stop else []
        streamer = Streamer(self, on_text, stops)
        criteria = StoppingCriteriaList([StopText(self, stops)] if stops else [])
        given = self.generation_inputs(inp, cached)
        gc = self.generation_config(max_new_tokens, sampling)
        if self.compile:
            past, gc.compile_config = self._static_cache(past, L + max_new_tokens), compile_config()
        out = self.model.generate(
            **given, position_ids=inp.position_ids,
            attention_mask=torch.ones(1, L, dtype=torch.long, device=inp.inputs_embeds.device),
            generation_config=gc, stopping_criteria=criteria,
            streamer=streamer, **({"cache": past} if past is not None else {}))
        # with embeddings generate returns only the new tokens; with ids, prompt + new
        ids = out.sequences[0, given["input_ids"].shape[1] if "input_ids" in given else 0:].tolist()
        self.last_generated = ids  # with eos: the cache holds the input and all but the last
        eos = self.eos_ids()
        ids = [i for i in ids if i not in eos]
        text = streamer.visible(self.decode_text(ids), final=True)  # ends before a stop string
        t = time.perf_counter()
        self.last_cache = cache_of(out)
        return text, {"prefill": streamer.first_at - t0 if streamer.first_at else t - t0,
                      "decode": t - streamer.first_at if streamer.first_at else 0.0,
                      "new_tokens": len(ids), "prefix_cached": self.last_prefix_hit, "prefill_tokens": L - reused,
                      "ids": ids}

    def _static_cache(self, past, length: int):
        """The compiled decode step's KV cache: transformers' ``StaticCache``, allocated once
        and written in place (what CUDA graphs need), holding what ``past`` holds (the prefix
        cache or a conversation's earlier turns). Sized for ``length`` tokens rounded up to
        ``STATIC_STEP`` and kept for the next call, as transformers keeps its own: a new
        cache would give the captured graphs new addresses every answer."""
        from transformers import StaticCache

        size = -(-length // STATIC_STEP) * STATIC_STEP
        static, held = self._static or (None, 0)
        if past is not None and past is static and held >= size:
            return static  # a conversation's cache, already holding its turns
        if held < size:
            static = StaticCache(config=self.model.config, max_cache_len=size)
            self._static = (static, size)
        else:
            static.reset()
        if past is not None:
            n = int(past.get_seq_length())
            for src, dst in zip(past.layers, static.layers):
                dst.update(src.keys[:, :, :n], src.values[:, :, :n])
        return static

    def _generate_biased(self, inp: LLMInput, max_new_tokens: int, past, cached: int, reused: int, t0: float):
        """Greedy decoding with proportional attention's key bias (see ``generate``)."""
        L = inp.inputs_embeds.shape[1]
        logits, past = self._forward(inp.inputs_embeds[:, cached:], inp.position_ids[..., cached:], past,
                                     start=cached, inp=inp, logits_to_keep=1)
        t_prefill = time.perf_counter() - t0
        eos = self.eos_ids()
        ids: list[int] = []
        tok = int(logits[0, -1].argmax())
        t1 = time.perf_counter()
        for step in range(max_new_tokens):
            if tok in eos:
                break
            ids.append(tok)
            if step == max_new_tokens - 1:
                break
            pos = self.step_positions(inp, step)
            mask = self._mask(inp, L + step, 1, inp.inputs_embeds.device)
            out = self.model(input_ids=torch.tensor([[tok]], device=inp.inputs_embeds.device), position_ids=pos,
                             attention_mask=mask, use_cache=True, **cache_arg(self.model.forward, past))
            past = cache_of(out)
            tok = int(out.logits[0, -1].argmax())
        self.last_cache = self.last_generated = None  # a conversation recomputes its next turn
        return self.decode_text(ids), {"prefill": t_prefill, "decode": time.perf_counter() - t1,
                                       "new_tokens": len(ids), "prefix_cached": self.last_prefix_hit,
                                       "prefill_tokens": L - reused, "ids": ids}


class SquareFrameInput:
    """For towers that read square frames at their configured image size."""

    @property
    def frame_size(self) -> tuple[int, int]:
        s = self.model.config.vision_config.image_size
        return s, s


class PinnedChunkInput:
    """For Qwen's video processors, which size frames from their total number: the
    processor runs ``TOWER_FRAMES`` frames a call (``processor_chunks``), each call pinned by
    the family's ``pinned_size(vp, total, n, height, width)`` to the size it picks for the
    whole video. Families give ``video_processor()`` and ``pinned_size``."""

    def pixel_chunks(self, frames: np.ndarray):
        """The model's own video processor on decoded frames, ``TOWER_FRAMES`` at a time: it
        resizes them by its own rule (a no-op on frames the decoder already sized,
        ``--resize decoder``), with the per-frame pixel cap of qwen-vl-utils that
        transformers makes its default."""
        vp = self.video_processor()
        return processor_chunks(vp, frames, TOWER_FRAMES, lambda *size: self.pinned_size(vp, *size))

    def pixel_inputs(self, frames: np.ndarray):
        """The processor's (rows, grid) for all frames, as one call gives them."""
        return joined(self.pixel_chunks(frames))


#: static KV caches (``--compile``) are sized in steps of this many tokens
STATIC_STEP = 256


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.device == b.device and bool(torch.equal(a, b))


def compile_config():
    """How ``generate`` compiles its decode step: transformers' defaults (inductor,
    "reduce-overhead": CUDA graphs on a GPU), on every device: ``--compile`` is the user's
    choice, on a CPU too (transformers compiles only on accelerators by itself)."""
    from transformers import CompileConfig

    cc = CompileConfig()
    cc._compile_all_devices = True  # CompileConfig's own switch for this (a private field; 5.24)
    return cc


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


def parse_spec(spec: str) -> tuple[str, Optional[str]]:
    """('random', 'qwen2_5_vl-tiny') or ('hub', 'Qwen/...')."""
    if spec.startswith("random:"):
        return "random", spec[len("random:"):]
    return "hub", spec


#: frames through a vision tower at once: its activations (and, for the per-frame SigLIP
#: towers of LLaVA-OneVision and SmolVLM2, the processor's float copy of full-size frames)
#: scale with this, not with the video (64 frames at once held ~12 GB for SmolVLM2-256M at
#: 512 px)
TOWER_FRAMES = 8


def processor_chunks(vp, frames: np.ndarray, chunk: int, pinned):
    """Qwen's video processor ``vp`` over ``frames`` (T, H, W, 3), ``chunk`` frames a call:
    (patch rows, (1, 3) grid) pairs, each the tower's input for its frames (Qwen's towers
    attend within one temporal patch, full and windowed attention alike, so chunked passes
    give one pass's tokens). The processor sizes frames from their total number, so each
    call is pinned by ``pinned(T, n, H, W)``: the adapter's size dict under which the
    processor gives n frames the size it picks for all T. Rows equal one call's (a test
    holds it) while the processor's float copies hold a chunk, not the whole video. Where ``pinned`` answers None, one call takes every frame."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # a view: chunks copy one by one
    T = len(x) + len(x) % 2  # the temporal patch takes frames in pairs: the last one repeats
    H, W = x.shape[-2:]
    step = max(2, chunk - chunk % 2)
    starts = range(0, len(x), step)
    sizes = [pinned(T, min(step, T - s), H, W) for s in starts]
    if len(starts) == 1 or None in sizes:
        calls = [(x, {"cap_pixels_per_frame": True})]
    else:
        calls = [(x[s:s + step], {"cap_pixels_per_frame": False, "size": size}) for s, size in zip(starts, sizes)]
    for part, kw in calls:
        if len(part) % 2:
            part = torch.cat([part, part[-1:]])
        out = vp(videos=[part], return_tensors="pt", do_sample_frames=False, **kw)
        yield out["pixel_values_videos"], out["video_grid_thw"]


def joined_grid(grids) -> torch.Tensor:
    """The (1, 3) grid of consecutive chunks of one video, as one call gives it."""
    grid = grids[0].clone()
    grid[0, 0] = sum(int(g[0, 0]) for g in grids)
    return grid


def joined(chunks) -> tuple[torch.Tensor, torch.Tensor]:
    """``processor_chunks``' pairs as one call's (rows, grid)."""
    rows, grids = zip(*chunks)
    return torch.cat(rows), joined_grid(grids)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively, as oneDNN (torch's CPU kernels) reports
    it: AVX512-BF16 or AMX; it honours ``ONEDNN_MAX_CPU_ISA``."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without oneDNN: assume not
        return False


def cpu_needs_float32(dtype: torch.dtype, params: int) -> bool:
    """Whether weights stored in ``dtype`` should run in float32 on this CPU. Rule: half
    precision only where the CPU computes in it (bfloat16 with bfloat16 units); elsewhere it
    is emulated, 4-5x slower than float32 (float16 gains nothing on a CPU, even with those
    units), so float32, as long as float32 weights take at most half the machine's memory
    (the rest is for frames and activations; a model too big for that stays as stored: slow
    beats killed). Measured by ``benchmarks/cpu_dtype.py``."""
    if dtype not in (torch.bfloat16, torch.float16) or (dtype == torch.bfloat16 and cpu_has_bfloat16()):
        return False
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): keep the stored dtype
        return False
    return params * 4 <= memory // 2


def cache_arg(forward, cache) -> dict:
    """The KV cache as ``forward`` takes it: transformers renamed ``past_key_values`` to
    ``cache`` (the old name warns, and goes in 5.40); older 5.x releases know only the old one."""
    import inspect

    return {"cache" if "cache" in inspect.signature(forward).parameters else "past_key_values": cache}


def cache_of(out):
    """The KV cache of a model (or ``generate``) output, under whichever name this
    transformers gives it."""
    return out["cache"] if "cache" in out else out.get("past_key_values")


def visual_keys(ids: list[int], visual) -> list[int]:
    """``LLMInput.keys`` of a layout: each text id as it is, -1 - j for the j-th position
    where ``visual`` is true."""
    out, j = [], 0
    for i, v in zip(ids, visual):
        out.append(-1 - j if v else i)
        j += bool(v)
    return out


def family_for(model_type: str, where: str = "") -> type:
    """The adapter class that declares ``model_type`` (``VideoLLM.model_types``), among the
    built-in families and those plugins register under the ``vidtok.models`` entry points."""
    for name in MODELS.names():
        cls = MODELS.get(name)
        if model_type in getattr(cls, "model_types", ()):
            return cls
    raise UsageError(f"model type '{model_type}'{f' of {where}' if where else ''} is not supported; "
                     f"families: {', '.join(MODELS.names())}")


def load_model(spec: str = DEFAULT_MODEL, device: str | None = None, dtype: str | None = None) -> VideoLLM:
    """Build an adapter from a model string (see the module docstring). ``dtype``:
    float32 / bfloat16 / float16 (default: the checkpoint's own, but see ``cpu_needs_float32``; float32
    for ``random:``)."""
    from ..encode.base import pick_device

    device = pick_device(device)
    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
    td = DTYPES.get(dtype) if dtype else None
    kind, rest = parse_spec(spec)
    try:
        if kind == "random":
            family, _, size = rest.rpartition("-")
            if family not in MODELS:
                raise UsageError(f"unknown model family '{family}' in '{spec}'; families: {', '.join(MODELS.names())}")
            return MODELS.get(family).random(size, device=device, spec=spec, dtype=td)
        from transformers import PretrainedConfig

        # the raw config.json: a plugin family's model_type need not be one transformers knows
        cfg, _ = PretrainedConfig.get_config_dict(rest)
        return family_for(cfg.get("model_type", ""), rest).pretrained(rest, device=device, spec=spec, dtype=td)
    except ImportError as e:
        raise import_failure(e, "models need pip install 'vidtok[llm]'") from None
    except OSError as e:
        raise UsageError(f"cannot load model '{spec}': {str(e).splitlines()[0]}") from None
