"""What an organism's vision tower knows: linear probes fitted on its frozen output tokens.

    python tests/organism/probe.py tests/organism/qwen2_5_vl [--videos 150]   # or tests/organism/qwen3_vl

For each merged visual token of held-out-style world videos (seed 5000, never trained on) the
targets are those the training's auxiliary probes use (``train.token_targets``): the colour,
shape, size and motion of the object covering most of the token's cell, and how many of its
two frames show it. A fresh linear probe per target is fitted on 70 % of the tokens and scored
on the rest, beside the majority class's share: a probe at the majority share means the tower's
output does not carry that property, and no question that needs it can be answered from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train  # noqa: E402  (this folder's training script: world, batcher, targets)


@torch.no_grad()
def tower_tokens(ckpt: Path, videos: int, seed: int = 5000) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens, width) tower outputs and (tokens, 5) targets."""
    family = json.loads((ckpt / "config.json").read_text())["model_type"]  # qwen2_5_vl or qwen3_vl: the family's name
    model, tok, proc, cls = train.resume(family, ckpt)
    model.eval()
    batcher = train.Batcher(tok, proc)
    feats, targets = [], []
    for video, _ in train.videos(seed, videos, cls.default_sampler):
        inp = batcher([(video, [{"prompt": "", "answer": ""}])])
        enc = model.model.get_video_features(inp["pixel_values_videos"], inp["grids"], return_dict=True)
        feats.append(torch.cat(list(enc.pooler_output)))
        targets.append(inp["targets"])
    return torch.cat(feats), torch.cat(targets)


def probe(x: torch.Tensor, y: torch.Tensor, steps: int = 300) -> float:
    """Held-out accuracy of a linear probe fitted with Adam on the first 70 %."""
    torch.manual_seed(0)
    cut = int(0.7 * len(x))
    lin = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.Adam(lin.parameters(), 1e-2)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(lin(x[:cut]), y[:cut]).backward()
        opt.step()
    return float((lin(x[cut:]).argmax(-1) == y[cut:]).float().mean())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--videos", type=int, default=150)
    a = ap.parse_args(argv)
    x, y = tower_tokens(a.checkpoint, a.videos)
    for k, name in enumerate(train.AUX):
        on = torch.ones(len(y), dtype=torch.bool) if name == "shown" else y[:, 0] > 0  # tokens an object covers
        if name == "direction":
            on &= y[:, 3] > 0  # tokens of moving objects
        xs, ys = x[on], y[on, k]
        majority = float(torch.bincount(ys).max()) / len(ys)
        print(json.dumps({"property": name, "tokens": len(ys), "probe": round(probe(xs, ys), 3),
                          "majority": round(majority, 3)}))


if __name__ == "__main__":
    main()
