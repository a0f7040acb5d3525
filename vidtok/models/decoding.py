"""Decoding: prefill and answer through transformers' own ``generate``, with the two caches
that make a second question cheap (the template + video prefix's KV cache; the static KV
cache of ``--compile``). A ``Decoder`` is handed its adapter and returns what it did as a
value (``Generation``, ``Prefilled``): nothing is left on the adapter for callers to read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch

from .generation import Sampling, Streamer, StopText
from .shims import cache_arg, cache_of

#: static KV caches (``--compile``) are sized in steps of this many tokens
STATIC_STEP = 256


@dataclass
class Generation:
    """One answer: its text and ids (no end-of-sequence id), and what it cost."""

    text: str
    ids: list[int]
    #: the ids as the KV cache holds them after ``generate`` (with a final eos, whose own
    #: KV is not in it); None where the cache does not hold the answer (proportional attention)
    generated: Optional[list[int]]
    #: the KV cache after the answer (a conversation's next turn continues from it), or None
    cache: object
    prefix_hit: bool  # the template + video prefix came from the prefix cache
    prefill_tokens: int  # tokens this call computed before the first new one
    prefill: float  # seconds to the first new token
    decode: float  # seconds after it

    @property
    def new_tokens(self) -> int:
        return len(self.ids)


class Prefilled(NamedTuple):
    logits: torch.Tensor
    cache: object
    prefix_hit: bool


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


def generation_config(adapter, max_new_tokens: int, sampling: "Sampling | None" = None):
    """The checkpoint's own generation config (eos ids, repetition penalty, ...), greedy
    unless ``sampling`` asks for sampling; its settings then replace the checkpoint's."""
    import copy

    from transformers import GenerationConfig

    base = adapter.model.generation_config
    gc = copy.deepcopy(base) if base is not None else GenerationConfig()
    gc.max_new_tokens = max_new_tokens
    gc.use_cache, gc.return_dict_in_generate = True, True
    gc.eos_token_id = sorted(adapter.eos_ids()) or None
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


class Decoder:
    """Prefill and generation for one adapter (its model, ``_forward`` and settings).

    The prefix cache holds (embeddings, positions, KV) of recent template + video prefixes,
    most recent last: a second question on the same tokens prefills only the question. A
    prefix is found by comparing it where it lives (exact; no copy to the host nor a hash
    over every embedding, which long videos made slow)."""

    def __init__(self, adapter, max_prefix_entries: int = 2):
        self.adapter = adapter
        self.prefix_cache: list[tuple] = []
        self.max_prefix_entries = max_prefix_entries
        #: ``--compile``'s static cache with its size, kept between answers
        self.static = None

    @torch.inference_mode()
    def prefill(self, inp, reuse_prefix: bool = False, logits_to_keep: int = 0) -> Prefilled:
        """Logits of the whole input (of its last ``logits_to_keep`` positions: 1 is what
        answering needs) and the KV cache; with ``reuse_prefix`` the template + video KV
        comes from (or goes to) the prefix cache."""
        past, P, hit = self._prefix_past(inp, reuse_prefix)
        logits, cache = self.adapter._forward(inp.inputs_embeds[:, P:], inp.position_ids[..., P:], past, start=P,
                                              inp=inp, logits_to_keep=logits_to_keep)
        return Prefilled(logits, cache, hit)

    def _prefix_past(self, inp, reuse_prefix: bool):
        """(KV cache holding the template + video prefix, its length, whether it was cached),
        computing and storing it on a miss; (None, 0, False) when prefix reuse is off."""
        if not reuse_prefix or inp.prefix_len <= 0 or inp.prefix_len >= inp.inputs_embeds.shape[1]:
            return None, 0, False
        P = inp.prefix_len
        emb, pos = inp.inputs_embeds[:, :P], inp.position_ids[..., :P]
        hit = next((e for e in self.prefix_cache if _same(e[0], emb) and _same(e[1], pos)), None)
        if hit is None:
            _, past = self.adapter._forward(emb, pos, inp=inp, logits_to_keep=1)  # only its KV is kept
        else:
            self.prefix_cache = [e for e in self.prefix_cache if e is not hit]  # by identity
            past = hit[2]
            extra = past.get_seq_length() - P
            if extra > 0:
                past.crop(-extra)  # drop what the previous question and answer appended
        self.prefix_cache.append((emb, pos, past))
        del self.prefix_cache[:-self.max_prefix_entries]
        return past, P, hit is not None

    @torch.inference_mode()
    def generate(self, inp, max_new_tokens: int = 64, reuse_prefix: bool = True,
                 sampling: "Sampling | None" = None, on_text=None, past=None) -> Generation:
        """The answer to ``inp`` through transformers' own ``generate`` (its logits
        processors, stopping criteria, streamer interface and cache classes), fed vidtok's
        embeddings and position ids. ``sampling``: temperature / top-p / top-k / seed / stop
        strings (greedy without it); ``on_text(delta)`` receives the answer as it is
        generated; ``past``: a KV cache already holding the first tokens of ``inp`` (a
        conversation's earlier turns; otherwise the prefix cache supplies the template and
        video)."""
        from transformers import StoppingCriteriaList

        a = self.adapter
        t0 = time.perf_counter()
        if past is None:
            past, cached, hit = self._prefix_past(inp, reuse_prefix)
        else:
            cached, hit = int(past.get_seq_length()), True
        reused = cached if hit else 0  # tokens whose KV this call did not compute
        L = inp.inputs_embeds.shape[1]
        if inp.key_bias is not None:
            # proportional attention needs a float bias on every key at every step, which
            # generate's 2-D mask bookkeeping cannot carry: a plain greedy loop over the cache
            return self._generate_biased(inp, max_new_tokens, past, cached, L - reused, hit, t0)
        if sampling is not None and sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        stops = list(sampling.stop) if sampling is not None and sampling.stop else []
        streamer = Streamer(a, on_text, stops)
        criteria = StoppingCriteriaList([StopText(a, stops)] if stops else [])
        given = a.generation_inputs(inp, cached)
        gc = generation_config(a, max_new_tokens, sampling)
        if a.compile:
            past, gc.compile_config = self._static_cache(past, L + max_new_tokens), compile_config()
        out = a.model.generate(
            **given, position_ids=inp.position_ids,
            attention_mask=torch.ones(1, L, dtype=torch.long, device=inp.inputs_embeds.device),
            generation_config=gc, stopping_criteria=criteria,
            streamer=streamer, **({"cache": past} if past is not None else {}))
        # with embeddings generate returns only the new tokens; with ids, prompt + new
        generated = out.sequences[0, given["input_ids"].shape[1] if "input_ids" in given else 0:].tolist()
        eos = a.eos_ids()
        ids = [i for i in generated if i not in eos]
        text = streamer.visible(a.decode_text(ids), final=True)  # ends before a stop string
        t = time.perf_counter()
        first = streamer.first_at
        return Generation(text, ids, generated, cache_of(out), hit, L - reused,
                          prefill=first - t0 if first else t - t0, decode=t - first if first else 0.0)

    def _static_cache(self, past, length: int):
        """The compiled decode step's KV cache: transformers' ``StaticCache``, allocated once
        and written in place (what CUDA graphs need), holding what ``past`` holds (the prefix
        cache or a conversation's earlier turns). Sized for ``length`` tokens rounded up to
        ``STATIC_STEP`` and kept for the next call, as transformers keeps its own: a new
        cache would give the captured graphs new addresses every answer."""
        from transformers import StaticCache

        size = -(-length // STATIC_STEP) * STATIC_STEP
        static, held = self.static or (None, 0)
        if past is not None and past is static and held >= size:
            return static  # a conversation's cache, already holding its turns
        if held < size:
            static = StaticCache(config=self.adapter.model.config, max_cache_len=size)
            self.static = (static, size)
        else:
            static.reset()
        if past is not None:
            n = int(past.get_seq_length())
            for src, dst in zip(past.layers, static.layers):
                dst.update(src.keys[:, :, :n], src.values[:, :, :n])
        return static

    def _generate_biased(self, inp, max_new_tokens: int, past, cached: int, prefill_tokens: int, hit: bool,
                         t0: float) -> Generation:
        """Greedy decoding with proportional attention's key bias (see ``generate``)."""
        from .attention import key_mask

        a = self.adapter
        L = inp.inputs_embeds.shape[1]
        dev = inp.inputs_embeds.device
        logits, past = a._forward(inp.inputs_embeds[:, cached:], inp.position_ids[..., cached:], past,
                                  start=cached, inp=inp, logits_to_keep=1)
        t_prefill = time.perf_counter() - t0
        eos = a.eos_ids()
        ids: list[int] = []
        tok = int(logits[0, -1].argmax())
        t1 = time.perf_counter()
        for step in range(max_new_tokens):
            if tok in eos:
                break
            ids.append(tok)
            if step == max_new_tokens - 1:
                break
            out = a.model(input_ids=torch.tensor([[tok]], device=dev), position_ids=a.step_positions(inp, step),
                          attention_mask=key_mask(inp, L + step, 1, dev, a.model.dtype), use_cache=True,
                          **cache_arg(a.model.forward, past))
            past = cache_of(out)
            tok = int(out.logits[0, -1].argmax())
        # the cache is not handed on: a conversation recomputes its next turn
        return Generation(a.decode_text(ids), ids, None, None, hit, prefill_tokens, prefill=t_prefill,
                          decode=time.perf_counter() - t1)
