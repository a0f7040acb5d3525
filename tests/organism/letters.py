"""How an organism answers multiple choice, hop by hop (the three hops ``train.py --letters``
teaches, ``train.letters_loss``).

    python tests/organism/letters.py tests/organism/qwen2_5_vl [--videos 16]   # or tests/organism/qwen3_vl

On held-out world videos (training's own held-out seed), for each multiple-choice question in
``vidtok eval``'s prompt, at the last prompt position:

* ``word``: the residual two layers from the top, read through the model's own final norm and
  output head, says the answer word (the open-ended answer) — the answer found before the letter;
* ``right_option`` / ``all_options``: the share of the last layer's first head's attention on the
  right option's words, and on all four options' words (0.25 of the options' share is a head
  that looks at them evenly);
* ``letter``: the model's own next token is the right letter (greedy decoding's answer).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train  # noqa: E402  (this folder's training script: world, batcher, losses)


@torch.no_grad()
def hops(ckpt: Path, videos: int) -> dict:
    family = json.loads((ckpt / "config.json").read_text())["model_type"]  # qwen2_5_vl or qwen3_vl
    model, tok, proc, cls = train.resume(family, ckpt)
    model.set_attn_implementation({"text_config": "eager"})  # attention weights to read
    model.eval()
    train.FORMS = {"mc"}
    train.LETTERS = 1.0  # forward returns hidden states and attentions
    batcher = train.Batcher(tok, proc)
    letter_ids = {k: tok.convert_tokens_to_ids(c) for k, c in enumerate("ABCD")}
    groups = [(v, exs) for v, exs in train.videos(train.HELD_OUT_SEED, videos, cls.default_sampler) if exs]
    probes = train.make_probes(model)  # only so that forward returns hidden states and attentions
    n = word = right_share = options_share = letter = 0
    for k in range(0, len(groups), 4):
        inp = batcher(groups[k:k + 4])
        out, _ = train.forward(model, inp, probes)
        depth = len(out.attentions)
        at = (inp["labels"] != -100).float().argmax(1) - 1  # each prompt's last position
        rows = torch.arange(len(at))
        said = model.lm_head(model.model.language_model.norm(out.hidden_states[depth - 2][rows, at])).argmax(-1)
        att = out.attentions[depth - 1][:, 0]
        for j, opts in enumerate(inp["options"]):
            if not opts:
                continue
            right = int(inp["labels"][j][at[j] + 1])
            n += 1
            word += int(said[j] == inp["words"][j])
            letter += int(out.logits[j, at[j]].argmax() == right)
            for line, pos in opts:
                share = att[j, at[j], pos].sum().item()
                options_share += share
                right_share += share if letter_ids[line] == right else 0.0
    return {"checkpoint": str(ckpt), "layers": depth, "questions": n, "word": round(word / n, 3),
            "right_option": round(right_share / n, 3), "all_options": round(options_share / n, 3),
            "letter": round(letter / n, 3)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--videos", type=int, default=16, help="held-out world videos")
    a = ap.parse_args(argv)
    print(json.dumps(hops(a.checkpoint, a.videos)))


if __name__ == "__main__":
    main()
