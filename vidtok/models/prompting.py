"""Prompts: the text around the video, as token ids, for one question or a conversation.

A checkpoint's prompt is its own chat template (``apply_chat_template``), split at the video
placeholder its processor would expand; ``random:`` models have no template files, so their
families write the same layout by hand (ChatML for the Qwen-based ones). A conversation's
earlier answers enter as the very ids that were generated (``Dialogue.history``), so the
prompt's text and a KV cache that holds those turns never disagree."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


#: the special tokens of the hand-written templates of ``random:`` models, one id each as in
#: the real tokenizers (ChatML, SmolVLM2's image markers and turn end)
STAND_IN_SPECIALS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<fake>", "<global-img>",
                     "<end_of_utterance>")


class StandInTokenizer:
    """Tokenizer for ``random:`` models (no tokenizer files offline): a byte-level BPE trained
    on English prose, the Python documentation topics every CPython ships (``pydoc_data``),
    with digits one per token (as Qwen's tokenizer splits them) and the template specials as
    single tokens. Its prompts come near the token counts of a real checkpoint's tokenizer
    (1.7-2 tokens per word of a Video-MME-style prompt, a real one ~1.3; a byte per token made
    them 5-6 per word, which distorted prefill and time to first token at real dimensions).
    Deterministic: the same corpus and vocabulary size train the same merges (~0.3 s, once per
    process)."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.tok = _stand_in_bpe(max(300, min(16000, vocab_size - 300)))

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text).ids

    def decode(self, ids) -> str:
        """Text where ids are the tokenizer's; other ids (a random model says anything) as
        letters."""
        n = self.tok.get_vocab_size()
        out, run = [], []
        for i in map(int, ids):
            if i < n:
                run.append(i)
                continue
            out.append(self.tok.decode(run, skip_special_tokens=True))
            run = []
            out.append(chr(0x61 + i % 26))
        out.append(self.tok.decode(run, skip_special_tokens=True))
        return "".join(out)


def train_bpe(texts, vocab_size: int, specials=(), split_digits: bool = False):
    """A byte-level BPE (``tokenizers``) with ``vocab_size`` learned entries trained on
    ``texts``, ``specials`` added after them (one id each); ``split_digits``: every digit its
    own token first, as Qwen's tokenizer splits them. The one recipe of vidtok's stand-in
    tokenizer and of the tests' checkpoint tokenizers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) \
        if split_digits else byte_level
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    tok.add_special_tokens(list(specials))
    return tok


@functools.lru_cache(maxsize=4)
def _stand_in_bpe(vocab_size: int):
    try:
        from pydoc_data.topics import topics
        corpus = list(topics.values())
    except ImportError:  # a Python built without its docs data: merges from this module's text
        corpus = [__doc__ or "", StandInTokenizer.__doc__ or ""]
    return train_bpe(corpus, vocab_size - len(STAND_IN_SPECIALS), STAND_IN_SPECIALS, split_digits=True)


#: where an earlier answer sits in a rendered conversation (replaced by its token ids)
ANSWER = "\x00answer{}\x00"
ANSWER_SPLIT = r"\x00answer(\d+)\x00"


@dataclass(frozen=True)
class Dialogue:
    """What the user asks now, after ``history``: earlier turns as (question, answer ids),
    oldest first. A plain question is a dialogue without history."""

    question: str
    history: tuple = ()

    @classmethod
    def of(cls, question: "str | Dialogue", history=()) -> "Dialogue":
        return question if isinstance(question, Dialogue) else cls(question, tuple(history))

    def asking(self, question: str) -> "Dialogue":
        """The same history with another current question (a family that rewrites it)."""
        return Dialogue(question, self.history)

    @property
    def first(self) -> str:
        """The question of the first user turn (the one with the video)."""
        return self.history[0][0] if self.history else self.question

    def later(self, i: int) -> str:
        """The question of the user turn after answer ``i``."""
        return self.history[i + 1][0] if i + 1 < len(self.history) else self.question


def visual_keys(ids: list[int], visual) -> list[int]:
    """``LLMInput.keys`` of a layout: each text id as it is, -1 - j for the j-th position
    where ``visual`` is true."""
    out, j = [], 0
    for i, v in zip(ids, visual):
        out.append(-1 - j if v else i)
        j += bool(v)
    return out


class Prompting:
    """The prompt builders every adapter shares (mixed into ``VideoLLM``); they read the
    adapter's ``processor``, ``tokenizer`` and ``system``."""

    def _encode(self, text: str) -> list[int]:
        """Token ids of plain text (no special tokens added by a real tokenizer)."""
        if self.processor is not None:
            return self.tokenizer.encode(text, add_special_tokens=False)
        return self.tokenizer.encode(text)

    def _chat_template_ids(self, d: "Dialogue | str", placeholder: str) -> tuple[list[int], list[int]]:
        """The model's own chat template for one video and the dialogue, split at the video
        placeholder the processor would expand: (ids before, ids after)."""
        d = Dialogue.of(d)
        msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": d.first}]}]
        for i in range(len(d.history)):
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": ANSWER.format(i)}]})
            msgs.append({"role": "user", "content": [{"type": "text", "text": d.later(i)}]})
        if self.system:
            msgs.insert(0, {"role": "system", "content": self.system})
        text = self.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        before, _, after = text.partition(placeholder)
        return self._encode(before), self._splice(after, d)

    @staticmethod
    def _dialogue(d: "Dialogue | str", answer_open: str, answer_close: str) -> str:
        """The text after the video in a template written by hand: every question, each
        earlier answer (a marker ``_splice`` fills with its ids) between ``answer_open``
        and ``answer_close``."""
        d = Dialogue.of(d)
        text = d.first
        for i in range(len(d.history)):
            text += answer_open + ANSWER.format(i) + answer_close + d.later(i)
        return text

    def _chatml_after(self, d: Dialogue, lead: str = "") -> list[int]:
        """The ids after the video in a ChatML prompt written by hand (``random:`` models of
        the Qwen-based families): ``lead``, the dialogue so far, then the assistant's turn."""
        return self._splice(lead + self._dialogue(d, "<|im_end|>\n<|im_start|>assistant\n",
                                                  "<|im_end|>\n<|im_start|>user\n")
                            + "<|im_end|>\n<|im_start|>assistant\n", d)

    def _splice(self, text: str, d: Dialogue) -> list[int]:
        """Token ids of ``text`` with each answer marker replaced by that answer's ids."""
        d = Dialogue.of(d)
        ids: list[int] = []
        for k, part in enumerate(re.split(ANSWER_SPLIT, text)):
            if k % 2:
                ids += d.history[int(part)][1]
            elif part:
                ids += self._encode(part)
        return ids
