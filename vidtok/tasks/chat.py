"""``chat``: a conversation about one video. The video is decoded, encoded and compressed
once; each turn is appended to the model's own multi-turn chat template, and the KV cache
of everything said so far is kept, so a turn prefills only its own tokens.

The cache is matched token by token (``LLMInput.keys``): earlier answers enter the
template as the very ids that were generated, so the conversation's text and its cache
never disagree; whatever no longer matches (a new budget, a reset) is recomputed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from ..decode import as_video
from ..compress.request import Compression
from .ask import visual_tokens, with_subtitles, write_deferred


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class Conversation:
    """Turns about one video with one model (``VideoLLM``; its ``sampling`` and ``system``
    settings apply). ``compression`` compresses the video's tokens, once per setting."""

    def __init__(self, video, model, *, compression: Optional[Compression] = None, use_cache: bool = True,
                 max_new_tokens: int = 64, subtitles=None):
        t0 = time.perf_counter()
        self.video = as_video(video)
        self.model = model
        # the token cache is written after the first answer (seconds for a long video's
        # tokens), not between encoding and the first prompt
        self._later: list = []
        self.compression = compression if compression is not None else Compression()
        self.encoded, self.extra, self.tokens_cached = visual_tokens(
            self.video, model, pre_keep=self.compression.pre_keep, use_cache=use_cache, defer=self._later,
            pixels=self.compression.pixels, tower=self.compression.tower)
        self.max_new_tokens = max_new_tokens
        self.subtitles = subtitles  # cues: the first turn carries those of the frames shown
        self.seconds = {"video": time.perf_counter() - t0}
        self._compress(self.compression)
        self.reset()

    # -- settings ------------------------------------------------------------------------------
    def _compress(self, compression: Compression) -> None:
        """Compress the video's tokens as ``compression`` asks; the setting changes only when
        that succeeds, so a refused one leaves the conversation as it was."""
        t0 = time.perf_counter()
        self.tokens = compression.apply(self.encoded, self.extra.get("tokens_full", len(self.encoded)))
        self.compression = compression
        self.seconds["compress"] = time.perf_counter() - t0

    def set_budget(self, budget: str) -> None:
        """Compress the video's tokens to ``budget`` (``none``: all of them) from here on;
        the conversation stays, its cache is recomputed at the next turn."""
        self._compress(self.compression.with_(budget="" if budget.lower() in ("none", "off", "full") else budget))
        self._past, self._keys = None, []  # other visual tokens: nothing cached matches

    def set_method(self, method: str) -> None:
        self._compress(self.compression.with_(method="" if method.lower() in ("none", "off") else method))
        self._past, self._keys = None, []

    def reset(self) -> None:
        """Forget the turns (the video's tokens stay)."""
        self.turns: list[dict] = []
        self._past = None
        self._keys: list[int] = []

    # -- turns ---------------------------------------------------------------------------------
    def ask(self, question: str, on_text=None) -> dict:
        """One turn: the answer, the tokens generated and prefilled, and timings."""
        m = self.model
        asked = question if self.turns else with_subtitles(question, self.subtitles, self.tokens)[0]
        inp = m.build_inputs(self.tokens, asked, [(t["asked"], t["ids"]) for t in self.turns])
        L = inp.inputs_embeds.shape[1]
        past = None
        if self._past is not None:
            held = int(self._past.get_seq_length())  # a static cache (--compile) answers a tensor
            keep = min(_common_prefix(self._keys, inp.keys), L - 1, held)
            drop = held - keep
            if drop:
                self._past.crop(-drop)  # transformers: a negative count of tokens to remove
            past = self._past
        gen = m.generate(inp, max_new_tokens=self.max_new_tokens, reuse_prefix=False, on_text=on_text, past=past)
        self._past = gen.cache
        self._keys = inp.keys + gen.generated[:-1] if gen.generated else []
        if self._past is not None and int(self._past.get_seq_length()) != len(self._keys):
            self._past, self._keys = None, []  # not what we think it holds: recompute next turn
        turn = {"turn": len(self.turns) + 1, "question": question, "asked": asked, "answer": gen.text, "ids": gen.ids,
                "new_tokens": gen.new_tokens, "prefill_tokens": gen.prefill_tokens, "sequence_length": L,
                "visual_tokens": inp.num_visual,
                "seconds": {"prefill": round(gen.prefill, 4), "decode": round(gen.decode, 4)}}
        self.turns.append(turn)
        self.flush()
        return turn

    def flush(self) -> None:
        """Write what waits for the first answer (the token cache); the end of a
        conversation calls it too, for one that asked nothing."""
        write_deferred(self._later, self.seconds)

    def frames(self) -> dict:
        """The frames the model sees, and the visual tokens before and after compression."""
        return {"frames": self.extra["frames"], "frame_times": [round(t, 3) for t in self.extra["frame_times"]],
                "visual_tokens_before": self.extra.get("tokens_full", len(self.encoded)),
                "visual_tokens_after": len(self.tokens), "method": self.compression.method,
                "budget": None if self.compression.budget is None else str(self.compression.budget)}

    def as_dict(self) -> dict:
        return {"video": self.video.path, "model": self.model.spec, "generation": self.model.generation_summary(),
                **self.frames(), "turns": [{k: v for k, v in t.items() if k not in ("ids", "asked")} for t in self.turns]}

    def save(self, path) -> Path:
        """The conversation as JSON, written atomically (a path that cannot be written is a
        ``UsageError``/``VidtokError`` and nothing is written)."""
        from ..output import check_file, write_file

        return write_file(check_file(path, "/save"), json.dumps(self.as_dict(), indent=2, ensure_ascii=False))
