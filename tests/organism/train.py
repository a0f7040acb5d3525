"""Train the organism: a small video LLM of a real architecture, from scratch, on the synthetic
world of :mod:`vidtok.world`, so that what compression does to its answers can be measured
(``docs/organism.md``). Seeded and reproducible on a CPU:

    python tests/organism/train.py --family qwen2_5_vl --out tests/organism/qwen2_5_vl
    python tests/organism/train.py --family qwen3_vl --out tests/organism/qwen3_vl

(the shipped checkpoints' exact commands are in docs/organism.md)

writes a hub-layout checkpoint directory (the family's real config class, its processor files,
a tokenizer trained on the world's text, safetensors) that ``vidtok ask -m DIR`` loads like any
checkpoint, and ``train_log.jsonl`` beside it (loss and held-out accuracy along the way).

What the model is taught, and why:

* Every question in the prompts vidtok's own ``eval`` and ``ground`` send, and open-ended as a
  user types it in the shell ("What color is the square?" -> "red"); ``--prompts all`` adds
  lmms-eval's Video-MME and Charades-STA prompts. The open-ended answers are words, which carry
  the visual concept straight into the loss; the multiple-choice ones add the letter
  indirection on top of the same concept.
* Frames are picked exactly as vidtok picks them for the family (its own default sampler on
  the video's 4 fps timeline), and turned into pixels by the checkpoint's own video processor,
  whose pixel bounds keep a 112x112 frame one temporal patch of 16 tokens; the processor
  writes the video's part of the prompt (Qwen3-VL's "<t seconds>" before each temporal patch,
  from the frames' places on that timeline).
* Videos are drawn fresh at every step from training seeds; held-out items come from other
  seeds (``HELD_OUT_SEED``), so no evaluated video was ever seen.
* A curriculum first (``train``): one object that fills the frame and shrinks, then two.
* The loss is on the answer's tokens only (and the end-of-turn token after them), averaged per
  answer; training-only linear probes (``forward``) add what each visual token shows and when.
* Multiple-choice letters come last, on a trained organism (``--init DIR --add-layers 2
  --letters W``): two new layers on top of its language model and the three hops of
  ``letters_loss``, one a layer (answer word, the option's letter, the right option).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from checkpoints import FAMILIES, _fast, _processor  # noqa: E402  (the test checkpoints' processor and template)

from vidtok import world  # noqa: E402
from vidtok.select.samplers import SAMPLERS  # noqa: E402
from vidtok.tasks.ask import sampled_fps  # noqa: E402
from vidtok.tasks.ground import PROMPT as VIDTOK_GROUND  # noqa: E402

HELD_OUT_SEED = 1000  # held-out items: world seeds from here on; training draws seeds below it

# -- the prompts ---------------------------------------------------------------------------
# lmms-eval 0.7.3, tasks/videomme (default kwargs) and tasks/charades_sta (default kwargs)
MME_OPTION_PROMPT = ("Select the best answer to the following multiple-choice question based on the video and "
                     "the subtitles. Respond with only the letter (A, B, C, or D) of the correct option.")
MME_POST = "\nAnswer with the option's letter from the given choices directly."
STA_PRE = ("Please find the visual event described by a sentence in the video, determining its starting and "
           "ending times. The format should be: 'The event happens in the start time - end time'. For example, "
           "The event 'person turn a light on' happens in the 24.3 - 30.4 seonds. Now I will give you the "
           "textual sentence: ")
STA_POST = "Please return its start time and end time."


def mc_prompts(question: str, options: list[str]) -> list[str]:
    """The multiple-choice prompts the model is taught: ``vidtok eval``'s (``PROMPTS`` adds
    lmms-eval's Video-MME prompt)."""
    lettered = "\n".join(f"{'ABCD'[k]}. {o}" for k, o in enumerate(options))
    forms = [question + "\n" + world.INSTRUCTION + "\n" + lettered + "\nAnswer with the option's letter."]
    if PROMPTS == "all":
        forms.append(MME_OPTION_PROMPT + "\n" + question + "\n" + lettered + "\n" + MME_POST)
    return forms


def ground_prompts(sentence: str) -> list[str]:
    """The grounding prompts: ``vidtok ground``'s (and lmms-eval's Charades-STA one)."""
    return [VIDTOK_GROUND.format(query=sentence)] + ([f"{STA_PRE}{sentence}. {STA_POST}"] if PROMPTS == "all" else [])


#: "vidtok": the prompts vidtok's commands send (short: more steps in the same time, one
#: mapping to learn); "all": lmms-eval's too
PROMPTS = "vidtok"


def interval_text(a: float, b: float) -> str:
    return f"{a:.1f} - {b:.1f}"


def items_of(v: world.Video, easy: bool = False) -> list[dict]:
    """Every (prompt, answer) the video teaches: each world question open-ended (answer word)
    and in each multiple-choice prompt (answer letter); each single-interval object grounded.
    ``easy`` (the first stage of training): open-ended questions only, and the colour of
    every object that keeps its colour, distractor or not."""
    out = []
    if easy:
        asked = {q["question"] for q in v.questions}
        for th in v.things:
            q = f"What color is the {th.shape}?"
            if not th.turns_to and q not in asked:
                out.append({"kind": "color", "form": "easy", "prompt": q, "answer": th.color})
        for q in v.questions:
            out.append({"kind": q["task_type"], "form": "easy", "prompt": q["question"], "answer": world.answer_word(q)})
        return out
    for q in v.questions:
        out.append({"kind": q["task_type"], "form": "open", "prompt": q["question"], "answer": world.answer_word(q)})
        for k, p in enumerate(mc_prompts(q["question"], world.option_texts(q))):
            out.append({"kind": q["task_type"], "form": f"mc{k}", "prompt": p, "answer": q["answer"],
                        "word": world.answer_word(q)})
    for th in v.things:
        if not th.blinks:
            s = f"the {th.color} {th.shape} is visible"
            for k, p in enumerate(ground_prompts(s)):
                out.append({"kind": "ground", "form": f"g{k}", "prompt": p, "answer": interval_text(th.t1, th.t2),
                            "truth": (th.t1, th.t2)})
    return out


# -- frames as vidtok picks them -----------------------------------------------------------
def picked_frames(v: world.Video, rng: np.random.Generator, sampler: str) -> tuple[np.ndarray, float]:
    """The frames vidtok's default sampler for the family takes from this video's 4 fps
    timeline, and the sampled rate the processor is told."""
    frames = v.frames(rng)
    n = len(frames)
    index = type("Index", (), {"times": np.arange(n) / world.FPS, "__len__": lambda self: n})()
    info = SimpleNamespace(fps=float(world.FPS), duration=n / world.FPS, display_size=(world.SIZE, world.SIZE),
                           start_time=0.0)
    s = SAMPLERS.get(sampler)(info, index)
    return frames[s.indices], sampled_fps(len(s.indices), n, float(world.FPS), s.fps), np.asarray(s.times)


# -- what each visual token shows: targets of the auxiliary losses --------------------------
CELL = 28  # a merged token covers 28x28 pixels (patch 14, 2x2 merge) of a pair of frames
COLOR_IDS = {c: k + 1 for k, c in enumerate(world.COLORS)}
SHAPE_IDS = {c: k + 1 for k, c in enumerate(world.SHAPES)}
DIR_IDS = {d: k + 1 for k, d in enumerate(world.DIRECTIONS)}
AUX = {"color": 1 + len(COLOR_IDS), "shape": 1 + len(SHAPE_IDS), "small": 3, "direction": 1 + len(DIR_IDS),
       "shown": 3}


def token_targets(v: world.Video, times: np.ndarray) -> torch.Tensor:
    """(tokens, 5) class targets for each merged token in (t, row, col) order: the colour,
    shape, size (small/large), motion and number of frames shown (of the pair) of the object
    covering most of its cell; 0 where no object is."""
    times = np.append(times, times[-1]) if len(times) % 2 else times
    side = world.SIZE // CELL
    out = []
    for a, b in zip(times[0::2], times[1::2]):
        area = np.zeros((len(v.things), 2, side, side))
        for k, th in enumerate(v.things):
            for f, t in enumerate((a, b)):
                if th.visible(t):
                    m = world._mask(th.shape, th.size, *th.centre(t))
                    area[k, f] = m.reshape(side, CELL, side, CELL).sum((1, 3))
        total = area.sum(1)  # (things, side, side)
        best = total.argmax(0)
        for r in range(side):
            for c in range(side):
                k = int(best[r, c])
                if total[k, r, c] == 0:
                    out.append([0, 0, 0, 0, 0])
                    continue
                th = v.things[k]
                t = a if area[k, 0, r, c] else b
                out.append([COLOR_IDS[th.color_at(t)], SHAPE_IDS[th.shape], 1 + int(not th.small),
                            DIR_IDS.get(th.direction, 0) if th.direction else 0,
                            int(area[k, 0, r, c] > 0) + int(area[k, 1, r, c] > 0)])
    return torch.tensor(out)


# -- the checkpoint ------------------------------------------------------------------------
QWEN25 = {
    "text_config": {"hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4, "num_attention_heads": 4,
                    "num_key_value_heads": 2, "max_position_embeddings": 2048, "tie_word_embeddings": True,
                    "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]}},
    "vision_config": {"depth": 4, "hidden_size": 96, "intermediate_size": 192, "num_heads": 4, "out_hidden_size": 128,
                      "fullatt_block_indexes": [1, 3], "window_size": 112, "tokens_per_second": 2},
}
# Qwen3-VL at the same widths: all of its tower's blocks attend globally (no windows), patches
# of 16 px (the processor sizes 112x112 frames to 128x128: 16 tokens a temporal patch again),
# DeepStack adding the tower's second and third blocks to the language model's first layers,
# interleaved M-RoPE; its time is the "<t seconds>" text before each temporal patch
QWEN3 = {
    "text_config": {"hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4, "num_attention_heads": 4,
                    "num_key_value_heads": 2, "head_dim": 32, "max_position_embeddings": 2048,
                    "tie_word_embeddings": True,
                    "rope_scaling": {"rope_type": "default", "mrope_section": [6, 5, 5], "mrope_interleaved": True}},
    "vision_config": {"depth": 4, "hidden_size": 96, "intermediate_size": 192, "num_heads": 4, "out_hidden_size": 128,
                      "patch_size": 16, "deepstack_visual_indexes": [1, 2], "num_position_embeddings": 64},
    "tie_word_embeddings": True,
}
CONFIGS = {"qwen2_5_vl": QWEN25, "qwen3_vl": QWEN3}


def corpus(n_videos: int = 400) -> list[str]:
    """The world's text (every prompt and answer of ``n_videos`` videos), for the tokenizer."""
    texts = []
    for k in range(n_videos):
        rng = np.random.default_rng([HELD_OUT_SEED - 1, k])
        for it in items_of(world.make_video("c", rng)):
            texts += [it["prompt"], it["answer"]]
    return texts


def deepened(model, n: int, seed: int):
    """``model`` with ``n`` new layers on top of its language model (``--add-layers``),
    computing exactly what it computed: each new layer's attention output and MLP down
    projection start at zero, so it adds nothing to the residual until trained. The model's
    own config class with more layers, so the checkpoint loads like any other."""
    cfg = model.config
    text = cfg.text_config
    old = text.num_hidden_layers
    text.num_hidden_layers = old + n
    if getattr(text, "layer_types", None):
        text.layer_types = list(text.layer_types) + [text.layer_types[-1]] * n
    torch.manual_seed(seed)
    new = type(model)(cfg)
    missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(".layers." in k and int(k.split(".layers.")[1].split(".")[0]) >= old for k in missing), missing
    with torch.no_grad():
        for layer in new.model.language_model.layers[old:]:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
    new.generation_config = model.generation_config
    return new


def resume(family: str, path: Path, fresh_text: bool = False, seed: int = 0):
    """A checkpoint this script wrote, to train on from (its tokenizer and processor kept).
    ``fresh_text``: only its vision tower; the language model new (random weights from
    ``seed``). Measured (docs/organism.md): a language model trained through the curriculum
    while the tower could not yet tell shapes apart stays at chance on "What color is the
    square?" even once the tower can, where a new one on the same tower learns it."""
    import transformers
    from transformers import AutoProcessor

    from vidtok.models import MODELS

    cls = MODELS.get(family)
    proc = AutoProcessor.from_pretrained(path)
    model = getattr(transformers, cls.hf_model).from_pretrained(path)
    if fresh_text:
        torch.manual_seed(seed)
        new = getattr(transformers, cls.hf_model)(model.config)
        new.model.visual.load_state_dict(model.model.visual.state_dict())
        new.generation_config = model.generation_config
        model = new
    return model, proc.tokenizer, proc, cls


def build(family: str, seed: int):
    """A fresh model, its fast tokenizer and its processor (random weights from ``seed``)."""
    import transformers
    from transformers import GenerationConfig

    from checkpoints import train_tokenizer
    from vidtok.models import MODELS

    spec = FAMILIES[family]
    raw = train_tokenizer(spec["specials"], vocab_size=640, texts=corpus(), split_digits=True)
    tok = _fast(raw, family)
    ids = {t: tok.convert_tokens_to_ids(t) for t in spec["specials"]}
    cfg_kw = json.loads(json.dumps(CONFIGS[family]))
    cfg_kw["text_config"].update(vocab_size=len(tok), bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"])
    cfg_kw.update(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    cls = MODELS.get(family)
    cfg = getattr(transformers, cls.hf_config)(**cfg_kw)
    torch.manual_seed(seed)
    model = getattr(transformers, cls.hf_model)(cfg)
    model.generation_config = GenerationConfig(eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
                                               pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
                                               do_sample=False)
    proc = _processor(family, tok, cfg)
    # the pixel bounds keep a 112x112 frame one temporal patch of 4x4 tokens: Qwen2.5-VL's
    # bounds are per frame (its default minimum would upsample the frames; a minimum of 56x56,
    # one 2x2 merge of 28-px patches, lets `--plan pixels=` shrink them to 84x84 or 56x56);
    # Qwen3-VL's weigh all frames together, and its factor of 32 sizes 112 to 128 (its
    # default minimum would upsample short clips)
    if family == "qwen3_vl":
        side = 128 * 128
        proc.video_processor.size = {"shortest_edge": side, "longest_edge": side * 768}
    else:
        side = world.SIZE * world.SIZE
        proc.video_processor.size = {"shortest_edge": 56 * 56, "longest_edge": side * 4}
    return model, tok, proc, cls


class Batcher:
    """Model inputs for examples grouped by video, as the model's own processor and chat
    template make them; labels on the answer and the end of the turn. Each video goes
    through the vision tower once however many of its questions are in the batch."""

    def __init__(self, tok, proc):
        self.tok, self.proc = tok, proc
        self.pad = tok.convert_tokens_to_ids("<|endoftext|>")

    def video_text(self, out, video) -> str:
        """What the processor writes for the video's placeholder (its own
        ``replace_video_token``): Qwen2.5-VL's tokens, or Qwen3-VL's "<t seconds>" and framed
        tokens of each temporal patch, its times from the frames' places on the world's 4 fps
        timeline (the metadata a decoder hands it)."""
        from transformers.video_utils import VideoMetadata

        md = VideoMetadata(total_num_frames=len(video["times"]), fps=float(world.FPS),
                           frames_indices=[int(i) for i in np.round(np.asarray(video["times"]) * world.FPS)])
        return self.proc.replace_video_token({"video_grid_thw": out["video_grid_thw"], "video_metadata": [md]}, 0)

    def expanded(self, prompt_text: str, video_text: str) -> str:
        """The chat template's text with the video's placeholder written as the processor
        writes it (``get_text_with_replacements``: Qwen3-VL's also drops the template's outer
        vision markers)."""
        return self.proc.get_text_with_replacements([prompt_text], videos_replacements=[video_text])[0][0]

    def prompt_text(self, prompt: str) -> str:
        msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
        return self.proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)

    def __call__(self, groups: list[tuple[dict, list[dict]]], with_answer: bool = True):
        """``groups``: (video, its examples) pairs; a video is {"frames", "fps"}."""
        vp = self.proc.video_processor
        pix, grids, spg, seqs, labels, owner, targets, seconds, named = [], [], [], [], [], [], [], [], []
        options, words = [], []  # per sequence: (letter 0-3, its words' positions) of each option line; the answer word's token
        for v, (video, exs) in enumerate(groups):
            targets.append(video["targets"])
            t = np.append(video["times"], video["times"][-1]) if len(video["times"]) % 2 else video["times"]
            seconds.append(torch.from_numpy(np.floor(t[0::2])).long().repeat_interleave(len(video["targets"]) // len(t[0::2])))
            x = torch.from_numpy(np.ascontiguousarray(video["frames"])).permute(0, 3, 1, 2)
            if len(x) % 2:
                x = torch.cat([x, x[-1:]])
            out = vp(videos=[x], return_tensors="pt", do_sample_frames=False, cap_pixels_per_frame=True)
            pix.append(out["pixel_values_videos"])
            grids.append(out["video_grid_thw"])
            spg.append(vp.temporal_patch_size / video["fps"])
            vtext = self.video_text(out, video)
            for ex in exs:
                text = self.expanded(self.prompt_text(ex["prompt"]), vtext)
                enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
                ids = enc["input_ids"]
                options.append(option_tokens(text, enc["offset_mapping"]))
                words.append(self.tok(ex["word"], add_special_tokens=False)["input_ids"][0] if "word" in ex else -100)
                ans = self.tok(ex["answer"] + "<|im_end|>", add_special_tokens=False)["input_ids"] if with_answer else []
                seqs.append(ids + ans)
                labels.append([-100] * len(ids) + ans)
                owner.append(v)
                shapes = [k for k in world.SHAPES if k in ex["prompt"]]  # the one shape a question names, if one
                named.append(SHAPE_IDS[shapes[0]] if len(shapes) == 1 else 0)
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), self.pad)
        lab = torch.full((len(seqs), width), -100)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for k, (s, l) in enumerate(zip(seqs, labels)):  # left padding: answers end together
            ids[k, width - len(s):] = torch.tensor(s)
            lab[k, width - len(s):] = torch.tensor(l)
            mask[k, width - len(s):] = 1
            options[k] = [(letter, [width - len(s) + p for p in at]) for letter, at in options[k]]
        # the model's M-RoPE positions need to know which tokens are video (2), as its processor
        # says: without them transformers falls back to plain 1-D positions, which no real
        # checkpoint was trained with and vidtok's path never uses
        types = (ids == self.tok.convert_tokens_to_ids("<|video_pad|>")).int() * 2
        return {"input_ids": ids, "attention_mask": mask, "labels": lab, "pixel_values_videos": torch.cat(pix),
                "mm_token_type_ids": types,
                "grids": torch.cat(grids), "spg": torch.tensor(spg), "owner": torch.tensor(owner),
                "targets": torch.cat(targets), "seconds": seconds, "named": torch.tensor(named),
                "options": options, "words": torch.tensor(words),
                "target_start": torch.tensor([0] + [len(t) for t in targets]).cumsum(0)}


def option_tokens(text: str, offsets) -> list[tuple[int, list[int]]]:
    """Each option line of a multiple-choice prompt ("A. red"): its letter (0-3) and the
    positions of its words' tokens (what follows "A. "), from the tokenizer's offsets."""
    out = []
    for m in re.finditer(r"\n([A-D])\. ([^\n]+)", text):
        a, b = m.span(2)
        out.append(("ABCD".index(m.group(1)), [k for k, (x, y) in enumerate(offsets) if x < b and y > a]))
    return out


def forward(model, inp, probes=None):
    """The model's own forward, with each video's tower output computed once and handed to
    every sequence that asks about it (``mm_encoder_outputs``). With ``probes`` also the
    auxiliary loss: linear probes (training only, never saved) that read what each visual
    token shows from the tower's output, and each visual token's second from the language
    model's hidden state at layer ``PROBE_LAYER``."""
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    enc = model.model.get_video_features(inp["pixel_values_videos"], inp["grids"], return_dict=True)
    owner = inp["owner"].tolist()
    per_seq = [enc.pooler_output[v] for v in owner]
    if getattr(enc, "deepstack_features", None) is not None:  # Qwen3-VL: each DeepStack level's tokens too; time is in the text
        encoded = type(enc)(pooler_output=per_seq, deepstack_features=[[lvl[v] for v in owner] for lvl in enc.deepstack_features])
        timing = {}
    else:
        encoded = BaseModelOutputWithPooling(pooler_output=per_seq)
        timing = {"second_per_grid_ts": inp["spg"][inp["owner"]]}
    out = model(input_ids=inp["input_ids"], attention_mask=inp["attention_mask"], mm_token_type_ids=inp["mm_token_type_ids"],
                video_grid_thw=inp["grids"][inp["owner"]], mm_encoder_outputs={"video": encoded}, **timing,
                output_hidden_states=probes is not None,
                output_attentions=probes is not None and (POINT > 0 or LETTERS > 0))
    # each answer weighs the same however many tokens it has: a per-token mean lets the
    # grounding answers' digits (~9 tokens) drown the one-letter answers
    lab = inp["labels"][:, 1:]
    ce = torch.nn.functional.cross_entropy
    tok_loss = ce(out.logits[:, :-1].transpose(1, 2), lab, ignore_index=-100, reduction="none")
    out.loss = ((tok_loss.sum(1) / (lab != -100).sum(1).clamp(min=1))).mean()
    if probes is None:
        return out, None
    feats = torch.cat(list(enc.pooler_output))
    logits = probes["tower"](feats).split(list(AUX.values()), -1)
    aux = sum(ce(lg, inp["targets"][:, k]) for k, lg in enumerate(logits)) / len(AUX)
    is_video = inp["input_ids"] == model.config.video_token_id
    hidden = out.hidden_states[PROBE_LAYER][is_video]
    sec = torch.cat([inp["seconds"][v] for v in inp["owner"].tolist()])
    aux = aux + ce(probes["time"](hidden), sec.clamp(max=MAX_SECOND))
    answers_at = (inp["labels"] != -100).float().argmax(1) - 1  # each prompt's last position
    if POINT > 0:
        aux = aux + POINT * pointing(out.attentions[POINT_LAYER][:, 0], inp, is_video, answers_at)
        # the first hop: the named shape carried to the last prompt position, whose query finds it
        asks = inp["named"] > 0
        last = out.hidden_states[POINT_LAYER][torch.arange(len(answers_at)), answers_at]
        if asks.any():
            aux = aux + POINT * ce(probes["named"](last[asks]), inp["named"][asks])
    if LETTERS > 0:
        aux = aux + LETTERS * letters_loss(model, out, inp, probes["letter"], answers_at)
    return out, aux


def letters_loss(model, out, inp: dict, letter_probe, answers_at: torch.Tensor) -> torch.Tensor:
    """Multiple choice as three hops, one layer each at the top of the language model
    (``--letters``; ``--add-layers`` makes room): the answer word first (the residual at the
    last prompt position, two layers from the top, read through the model's own final norm and
    output head, must say the word the open-ended question is answered with); each option's
    words carry their line's letter (a probe on the last layer's input); and the last layer's
    first head looks from the last prompt position at the right option's words (minus the log
    of its share), so the word found below picks its letter. Measured (docs/organism.md):
    without the first hop the pointing head looked at the four options evenly."""
    depth = len(out.attentions)
    ce = torch.nn.functional.cross_entropy
    rows = torch.arange(len(answers_at))
    asks = inp["words"] != -100
    loss = out.logits.new_zeros(())
    if asks.any():
        said = model.model.language_model.norm(out.hidden_states[depth - 2][rows, answers_at])
        loss = loss + ce(model.lm_head(said[asks]), inp["words"][asks])
    hidden, att = out.hidden_states[depth - 1], out.attentions[depth - 1][:, 0]
    lines, letters, point = [], [], []
    for j, opts in enumerate(inp["options"]):
        for letter, at in opts:
            lines.append(hidden[j, at].mean(0))
            letters.append(letter)
        right = int(inp["labels"][j][answers_at[j] + 1]) if opts else -1  # the answer's first token
        for letter, at in opts:
            if right == LETTER_IDS.get(letter):
                point.append(-torch.log(att[j, answers_at[j], at].sum() + 1e-6))
    if lines:
        loss = loss + ce(letter_probe(torch.stack(lines)), torch.tensor(letters))
    if point:
        loss = loss + torch.stack(point).mean()
    return loss


def pointing(att: torch.Tensor, inp: dict, is_video: torch.Tensor, answers_at: torch.Tensor) -> torch.Tensor:
    """How little of its attention (``att``: one head's, (sequences, from, to)) the last
    position of each prompt (``answers_at``) pays to the visual tokens of the shape the question names: minus
    the log of that share, averaged over the questions that name a shape shown. Measured
    (docs/organism.md): without it the language model answers "What color is the square?" with
    any colour on screen, although its tower's tokens tell the shapes apart."""
    losses = []
    for j, v in enumerate(inp["owner"].tolist()):
        shape = int(inp["named"][j])
        if not shape:
            continue
        a, b = inp["target_start"][v], inp["target_start"][v + 1]
        on = inp["targets"][a:b, 1] == shape
        if not on.any():
            continue
        row = att[j, answers_at[j]][is_video[j]]
        losses.append(-torch.log(row[on].sum() + 1e-6))
    return torch.stack(losses).mean() if losses else att.new_zeros(())


PROBE_LAYER = 2
MAX_SECOND = 12
#: weight of ``pointing`` in the auxiliary loss (``--point``; 0: off), and the layer whose first
#: head it teaches to find the named shape's tokens
POINT = 0.0
POINT_LAYER = 2
#: weight of ``letters_loss`` (``--letters``; 0: off)
LETTERS = 0.0
#: the letters' token ids, once a tokenizer is known (``train``)
LETTER_IDS: dict[int, int] = {}


# -- stage 0: the tower learns shapes on still pictures --------------------------------------
# Measured (docs/organism.md): trained only inside the video curriculum, the tower learns where
# each colour is but never which shape it is (a linear probe on its output reads shape at the
# majority class's share), so no question naming a shape can be answered. On still pictures of
# one object, 64 of them a step (each costs what one pair of video frames does), it does learn
# shapes: large objects first, then the world's mix of sizes.
#: seconds between the two frames of a temporal patch at the families' default 2 fps (--tower-motion)
PAIR_GAP = 0.5


def still(rng: np.random.Generator, small_share: float, moving: float = 0.0) -> tuple[np.ndarray, torch.Tensor]:
    """Two identical frames of one to three objects of distinct shapes on a world background,
    and the (16, 5) targets of their merged tokens (``token_targets``). Several objects make
    shape a property of each token: with one object a tower can answer "which shape is in the
    picture" from every token, which does not tell two objects of a world video apart.
    ``moving`` > 0: that share of the objects moves at the world's speeds (3-20 px/s) and the
    two frames are ``PAIR_GAP`` apart, as the two frames of a temporal patch are at 2 fps."""
    things = []
    for shape in rng.choice(world.SHAPES, int(rng.integers(1, 4)), replace=False):
        size = int(rng.integers(6, 9)) if rng.random() < small_share else int(rng.integers(16, 25))
        margin = size / 2 + 2
        things.append(world.Thing(str(shape), str(rng.choice(list(world.COLORS))), size, 0.0, 1.0,
                                  (float(rng.uniform(margin, world.SIZE - margin)),
                                   float(rng.uniform(margin, world.SIZE - margin)))))
        if moving > 0 and rng.random() < moving:  # no draw without motion: the shipped recipes' stills stay as they were
            th = things[-1]
            th.direction, th.distance = str(rng.choice(world.DIRECTIONS)), float(rng.uniform(3, 20))  # px in 1 s
            th.fit_path(margin)
    if moving > 0:
        v = world.Video("still", 1.0, str(rng.choice(world.BACKGROUNDS)), things)
        return v.frames(rng)[[0, int(PAIR_GAP * world.FPS)]], token_targets(v, np.array([0.0, PAIR_GAP]))
    v = world.Video("still", 0.5, str(rng.choice(world.BACKGROUNDS)), things)
    return v.frames(rng)[:2], token_targets(v, np.array([0.0, 1 / world.FPS]))


def stills(proc, rng: np.random.Generator, n: int, small_share: float, moving: float = 0.0):
    """``n`` stills through the checkpoint's own video processor: pixels, grids, targets."""
    frames, targets = zip(*[still(rng, small_share, moving) for _ in range(n)])
    x = torch.from_numpy(np.stack(frames)).permute(0, 1, 4, 2, 3)
    out = proc.video_processor(videos=list(x), return_tensors="pt", do_sample_frames=False, cap_pixels_per_frame=True)
    return out["pixel_values_videos"], out["video_grid_thw"], torch.cat(targets)


def pretrain_tower(model, proc, steps: int, lr: float, per_step: int = 64, seed: int = 0, log=print,
                   moving: float = 0.0) -> list[dict]:
    """Stage 0: the vision tower alone, with a linear head (training only) reading each merged
    token's shape, colour and size; large objects for the first half of ``steps``, then the
    world's share of small ones. ``moving`` > 0 (``--tower-motion``): that share of objects
    moves between the two frames, and the head reads each token's direction of motion too.
    Measured (docs/organism.md): the stills-only towers do not encode direction at all; with
    0.6 of objects moving, a Qwen2.5-VL tower read held-out moving tokens' direction at 0.96
    after 3,000 steps (majority 0.27). Returns the held-out curve (stills of another seed)."""
    vis = model.model.visual
    kinds = ("shape", "color", "small") + (("direction",) if moving > 0 else ())
    cols = [list(AUX).index(k) for k in kinds]
    head = torch.nn.Linear(model.config.vision_config.out_hidden_size, sum(AUX[k] for k in kinds))
    params = [*vis.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    rng, held_rng = np.random.default_rng([seed, 7]), np.random.default_rng([HELD_OUT_SEED, 7])
    held = stills(proc, held_rng, 200, 0.35, moving)
    ce = torch.nn.functional.cross_entropy
    curve, t0 = [], time.perf_counter()
    vis.train()
    for step in range(steps):
        x, grid, y = stills(proc, rng, per_step, 0.0 if step < steps // 2 else 0.35, moving)
        for g in opt.param_groups:
            g["lr"] = schedule(step, steps, lr, warmup=min(100, steps // 10 + 1))
        on = y[:, 0] > 0  # tokens an object covers
        logits = head(vis(x, grid_thw=grid).pooler_output)[on].split([AUX[k] for k in kinds], -1)
        loss = sum(ce(lg, y[on, c]) for lg, c in zip(logits, cols))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % 250 == 0 or step + 1 == steps:
            with torch.no_grad():
                hx, hg, hy = held
                on = hy[:, 0] > 0
                logits = head(vis(hx, grid_thw=hg).pooler_output)[on].split([AUX[k] for k in kinds], -1)
                moves = hy[on, 3] > 0  # direction: over the tokens of moving objects
                rec = {"tower_step": step + 1, "loss": round(loss.item(), 4), "seconds": round(time.perf_counter() - t0, 1),
                       **{f"still/{k}": round(float((lg.argmax(-1) == hy[on, c])[moves if k == "direction" else slice(None)]
                                                    .float().mean()), 3)
                          for k, lg, c in zip(kinds, logits, cols)}}
            curve.append(rec)
            log(json.dumps(rec))
    return curve


def make_probes(model):
    tower = model.config.vision_config.out_hidden_size
    text = model.config.text_config.hidden_size
    return torch.nn.ModuleDict({"tower": torch.nn.Linear(tower, sum(AUX.values())),
                                "time": torch.nn.Linear(text, MAX_SECOND + 1),
                                "named": torch.nn.Linear(text, 1 + len(SHAPE_IDS)),
                                "letter": torch.nn.Linear(text, 4)})


def calm(v: world.Video, rng: np.random.Generator) -> None:
    """``v`` made the plainest binding lesson: 4 s, every object large, still and shown
    throughout in colours of its own, asked only their colours. Measured (docs/organism.md):
    a new language model on a tower that reads shape learns "What color is the square?" from
    such videos (0.5 -> 0.74 in 2,000 steps), where the world's own mix left it at chance."""
    v.duration = 4.0
    for th, c in zip(v.things, rng.choice(list(world.COLORS), len(v.things), replace=False)):
        th.color, th.t1, th.t2, th.direction, th.blinks, th.turns_to = str(c), 0.0, 4.0, None, [], None
        th.size = int(rng.integers(16, 25))
        margin = th.size / 2 + 2
        th.start = (float(rng.uniform(margin, world.SIZE - margin)), float(rng.uniform(margin, world.SIZE - margin)))
    v.questions = []


def videos(seed: int, count: int, sampler: str, start: int = 0, stage=lambda k: (None, 0.0)):
    """``count`` videos of world seed ``seed`` (from video ``start``): (video, its examples).
    ``stage(k)`` -> (objects, grow) for the k-th: with ``objects`` set the video has that many
    and is asked its easy questions (``items_of``); ``grow`` > 0 enlarges a single object
    towards filling the frame (centred and still above 0.3, then asked only its colour);
    ``grow`` < 0 makes the video ``calm``."""
    for k in range(start, start + count):
        rng = np.random.default_rng([seed, k])
        objects, grow = stage(k)
        v = world.make_video(f"w{seed}_{k:05d}", rng, objects=objects)
        if grow < 0:
            calm(v, rng)
        if objects == 1 and grow > 0:
            th = v.things[0]
            th.size = int(max(th.size, 1.5 * world.SIZE * grow))
            if grow > 0.3:
                th.start, th.direction, th.blinks, th.turns_to, v.questions = (56.0, 56.0), None, [], None, []
        frames, fps, times = picked_frames(v, rng, sampler)
        yield ({"frames": frames, "fps": fps, "targets": token_targets(v, times), "times": times},
               [{**it, "duration": v.duration} for it in items_of(v, easy=objects is not None) if taught(it)])


#: what is taught and evaluated (``--kinds``, ``--forms``): None is everything. One question
#: kind or form at a time is a curriculum step (``--init`` carries the weights to the next)
KINDS: Optional[set] = None
FORMS: Optional[set] = None


def taught(item: dict) -> bool:
    return (KINDS is None or item["kind"] in KINDS) and (FORMS is None or item["form"].rstrip("0123456789") in FORMS)


@torch.no_grad()
def evaluate(model, batcher, groups, per_batch: int = 4) -> dict:
    """Greedy answers under teacher forcing: an item is right when every answer token
    (and the end of the turn) is the argmax, which is exactly when greedy decoding says it.
    Grounding items also get their decoded interval's IoU with the truth."""
    from vidtok.tasks.evaluate import iou
    from vidtok.tasks.parse import parse_intervals

    model.eval()
    right: dict[str, list[int]] = {}
    ious: list[float] = []
    for k in range(0, len(groups), per_batch):
        part = groups[k:k + per_batch]
        inp = batcher(part)
        pred = forward(model, inp)[0].logits[:, :-1].argmax(-1)
        lab = inp["labels"][:, 1:]
        for j, it in enumerate(it for _, exs in part for it in exs):
            m = lab[j] != -100
            ok = bool((pred[j][m] == lab[j][m]).all())
            right.setdefault(f"{it['kind']}/{it['form']}", []).append(int(ok))
            if it["kind"] == "ground":  # the interval greedy decoding gives (teacher forcing up to its first miss)
                text = batcher.tok.decode(pred[j][m].tolist(), skip_special_tokens=True)
                got = parse_intervals(text, it["duration"])
                ious.append(iou(got[0], it["truth"]) if got else 0.0)
    model.train()
    acc = {k: sum(v) / len(v) for k, v in sorted(right.items())}
    if ious:
        acc["ground/miou_tf"] = float(np.mean(ious))
    return acc


def schedule(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))


def train(family: str, out: Path, steps: int, batch: int, per_video: int, lr: float, aux_weight: float,
          easy_steps: int, seed: int, eval_every: int, held_out: int, stop_after: Optional[int] = None,
          init: Optional[Path] = None, tower_steps: int = 0, tower_lr: float = 1e-3, tower_scale: float = 1.0,
          fresh_text: bool = False, grow: bool = True, calm_steps: int = 0, tower_motion: float = 0.0,
          add_layers: int = 0, log=print) -> dict:
    """Train and write the checkpoint to ``out`` (also at every evaluation); ``stop_after``
    ends the run at that step with the weights it has (the schedule still spans ``steps``);
    ``init`` trains on from a checkpoint this script wrote instead of random weights (only its
    tower with ``fresh_text``); ``grow=False`` leaves out the curriculum's first third (one
    object that fills the frame): two objects from the start; ``calm_steps``: that many steps of
    ``calm`` two-object videos before the curriculum; ``tower_motion``: stage 0's share of
    moving objects (``pretrain_tower``); ``add_layers``: with ``init``, that many new layers
    on top of its language model (``deepened``)."""
    torch.manual_seed(seed)
    model, tok, proc, cls = build(family, seed) if init is None else resume(family, init, fresh_text, seed)
    if add_layers:
        model = deepened(model, add_layers, seed)
    batcher = Batcher(tok, proc)
    held = list(videos(HELD_OUT_SEED, held_out, cls.default_sampler))
    held += list(videos(HELD_OUT_SEED + 1, held_out // 4, cls.default_sampler, stage=lambda k: (2, 0.0)))
    held = [(v, exs) for v, exs in held if exs]  # videos with nothing taught (--kinds, --forms) left out
    log(json.dumps({"parameters": sum(p.numel() for p in model.parameters()),
                    "held_out_items": sum(len(e) for _, e in held)}))
    history = pretrain_tower(model, proc, tower_steps, tower_lr, seed=seed, log=log, moving=tower_motion) if tower_steps else []
    LETTER_IDS.update({k: tok.convert_tokens_to_ids(c) for k, c in enumerate("ABCD")})
    if POINT > 0 or LETTERS > 0:  # the attention weights the pointing losses read: eager attention while training
        model.set_attn_implementation({"text_config": "eager"})
    probes = make_probes(model)
    params = [*model.parameters(), *probes.parameters()]
    tower = {id(p) for p in model.model.visual.parameters()}
    # the tower may learn slower here than the rest (``tower_scale``), keeping what stage 0 taught it
    groups = [{"params": [p for p in params if id(p) not in tower], "scale": 1.0},
              {"params": [p for p in params if id(p) in tower], "scale": tower_scale}]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    # The curriculum (attention must learn to find a few tokens among a few hundred, then
    # which of them the question names), in thirds of ``easy_steps``: one object that first
    # fills the frame and shrinks to its own size; two objects (binding a colour to a shape);
    # then such easy videos fade out, and every question in every prompt follows.
    videos_per_step = max(1, batch // per_video)
    rng = np.random.default_rng(seed)

    def stage(k: int) -> tuple[Optional[int], float]:
        if k < calm_steps * videos_per_step:
            return 2, -1.0
        k -= calm_steps * videos_per_step
        at = 3 * k / videos_per_step / max(1, easy_steps)  # 0 .. 3 over the easy stage
        if at < 1 and grow:
            return 1, 1 - at
        if at < 2:
            return 2, 0.0
        return (2 if rng.random() < 3 - at else None), 0.0

    stream = videos(seed, 10 ** 9, cls.default_sampler, stage=stage)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model.train()
    for step in range(min(steps, stop_after or steps)):
        part = []
        for _ in range(videos_per_step):  # a few videos, a few of each one's questions
            video, exs = next(stream)
            while not exs:
                video, exs = next(stream)
            part.append((video, [exs[k] for k in rng.choice(len(exs), min(per_video, len(exs)), replace=False)]))
        for g in opt.param_groups:
            g["lr"] = g["scale"] * schedule(step, steps, lr, warmup=min(300, steps // 10 + 1))
        res, aux = forward(model, batcher(part), probes)
        loss = res.loss
        opt.zero_grad(set_to_none=True)
        (loss + aux_weight * aux).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == min(steps, stop_after or steps):
            rec = {"step": step + 1, "loss": round(loss.item(), 4), "aux": round(aux.item(), 4), "seconds": round(time.perf_counter() - t0, 1),
                   **{k: round(v, 3) for k, v in evaluate(model, batcher, held).items()}}
            history.append(rec)
            log(json.dumps(rec))
            (out / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
            save(model, proc, out)  # the latest weights, so a stopped run leaves a checkpoint
    model.eval()
    save(model, proc, out)
    return history[-1] if history else {}


def save(model, proc, out: Path) -> None:
    """The checkpoint, with the attention its family uses by default (training may read eager
    attention's weights)."""
    was = model.config.text_config._attn_implementation
    model.set_attn_implementation({"text_config": "sdpa"})
    model.save_pretrained(out)
    proc.save_pretrained(out)
    model.set_attn_implementation({"text_config": was})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="qwen2_5_vl", choices=sorted(CONFIGS))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--per-video", type=int, default=4, help="questions of each video in a batch")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--aux", type=float, default=0.5, help="weight of the auxiliary probes' loss")
    ap.add_argument("--easy-steps", type=int, default=1000, help="steps over which the easy first stage fades out")
    ap.add_argument("--prompts", default="vidtok", choices=["vidtok", "all"],
                    help="vidtok: the prompts vidtok's commands send; all: lmms-eval's too")
    ap.add_argument("--stop-after", type=int, help="end at this step (the learning-rate schedule still spans --steps)")
    ap.add_argument("--init", type=Path, help="train on from this checkpoint (one this script wrote)")
    ap.add_argument("--fresh-text", action="store_true",
                    help="with --init: keep only its vision tower, and train a new language model on it")
    ap.add_argument("--no-grow", dest="grow", action="store_false",
                    help="leave out the curriculum's first third (one object that fills the frame and shrinks)")
    ap.add_argument("--calm-steps", type=int, default=0,
                    help="steps of calm two-object videos (large, still, shown throughout; colours asked) first")
    ap.add_argument("--point", type=float, default=0.0,
                    help="weight of the pointing loss: a head of the language model learns to look at the named shape")
    ap.add_argument("--letters", type=float, default=0.0,
                    help="weight of the multiple-choice losses: the answer word two layers from the top, each "
                         "option's words carrying their letter, the last layer looking at the right option")
    ap.add_argument("--add-layers", type=int, default=0,
                    help="with --init: this many new layers on top of its language model (they start adding nothing)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--held-out", type=int, default=60, help="held-out videos evaluated along the way")
    ap.add_argument("--tower-steps", type=int, default=0,
                    help="stage 0: steps of the vision tower alone on still pictures (shapes), before the video training")
    ap.add_argument("--tower-lr", type=float, default=1e-3, help="stage 0's peak learning rate")
    ap.add_argument("--tower-motion", type=float, default=0.0,
                    help="stage 0: this share of objects moves between the two frames, and the tower learns direction")
    ap.add_argument("--tower-scale", type=float, default=1.0,
                    help="the tower's learning rate in the video stage, as a share of --lr (keep stage 0's shapes)")
    ap.add_argument("--kinds", help="teach only these question kinds (comma-separated: color,order,direction,"
                    "blinks,turn,small,ground)")
    ap.add_argument("--forms", help="teach only these forms (comma-separated: easy,open,mc,g)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args(argv)
    global PROMPTS, KINDS, FORMS, POINT, LETTERS
    PROMPTS, POINT, LETTERS = a.prompts, a.point, a.letters
    KINDS = set(a.kinds.split(",")) if a.kinds else None
    FORMS = set(a.forms.split(",")) if a.forms else None
    if a.threads:
        torch.set_num_threads(a.threads)
    print(json.dumps(train(a.family, a.out, a.steps, a.batch, a.per_video, a.lr, a.aux, a.easy_steps, a.seed, a.eval_every,
                           a.held_out, a.stop_after, a.init, a.tower_steps, a.tower_lr, a.tower_scale,
                           a.fresh_text, a.grow, a.calm_steps, a.tower_motion, a.add_layers)))


if __name__ == "__main__":
    main()
