"""Generation settings and the two pieces vidtok hands transformers' ``generate``: a streamer
(its ``put``/``end`` interface) that turns token ids into text deltas, and a stopping
criterion for stop strings. ``decoding.Decoder.generate`` puts them together; both
take the adapter as ``model`` (for its ``decode_text`` and ``eos_ids``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import torch


@dataclass
class Sampling:
    """How to pick each next token: greedy unless ``temperature``, ``top_p`` or ``top_k``
    is set; ``seed`` makes sampling repeatable; generation stops at any of ``stop``."""

    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    seed: Optional[int] = None
    stop: tuple[str, ...] = ()

    @property
    def samples(self) -> bool:
        return bool(self.temperature) or self.top_p is not None or self.top_k is not None


class Streamer:
    """transformers' streamer interface (``put`` / ``end``): decodes the answer so far at
    each new token and hands ``on_text`` what was added; records when the first token came.
    With ``stops`` the streamed text is the answer's own: it ends before the first stop
    string, and text that may be the start of one is held back until it is not."""

    def __init__(self, model, on_text=None, stops=()):
        self.model, self.on_text, self.stops = model, on_text, tuple(s for s in stops if s)
        self.ids: list[int] = []
        self.shown = ""
        self.prompt_seen = False
        self.first_at: float | None = None

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate hands over the prompt first: not part of the answer
            self.prompt_seen = True
            return
        if self.first_at is None:
            self.first_at = time.perf_counter()
        eos = self.model.eos_ids()
        self.ids += [i for i in value.reshape(-1).tolist() if i not in eos]
        if self.on_text is not None:
            text = self.model.decode_text(self.ids)
            if not text.endswith("\ufffd"):  # whole characters only
                self._show(self.visible(text, final=False))

    def end(self) -> None:
        if self.on_text is not None:
            self._show(self.visible(self.model.decode_text(self.ids), final=True))

    def visible(self, text: str, final: bool) -> str:
        """``text`` cut before its first stop string; unless ``final``, also without an
        ending that could still grow into one."""
        found = [text.index(s) for s in self.stops if s in text]
        if found:
            return text[:min(found)]
        if final:
            return text
        hold = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        return text[:len(text) - hold]

    def _show(self, text: str) -> None:
        if text.startswith(self.shown) and len(text) > len(self.shown):
            self.on_text(text[len(self.shown):])
            self.shown = text


class StopText:
    """A transformers stopping criterion: stop once the decoded answer contains one of
    ``stops`` (works with any tokenizer, however the stop string splits into tokens)."""

    def __init__(self, model, stops: list[str]):
        self.model, self.stops = model, stops
        self.start: int | None = None

    def __call__(self, input_ids, scores, **kw):
        if self.start is None:
            self.start = input_ids.shape[1] - 1  # the first call sees the prompt + one token
        text = self.model.decode_text(input_ids[0, self.start:].tolist())
        done = any(s in text for s in self.stops)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)
