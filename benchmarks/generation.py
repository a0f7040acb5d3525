"""Seconds per generated token: vidtok's ``generate`` against transformers' own
``model.generate`` on the same inputs, in the same run, taking turns (median of
``--repeat``). Per token = (time for N new tokens - time for 1) / (N - 1), so prefill
cancels out; end-of-sequence is off so both generate exactly N tokens.

* ``tiny``: a checkpoint directory per family (tests/checkpoints.py: the real processor,
  tokenizer and chat template, tiny random weights); transformers gets the processor's
  inputs, vidtok its own from the same decoded frames.
* ``qwen2_5_vl-3b``: Qwen2.5-VL-3B's real dimensions with random weights (float32, CPU:
  ~13 GB); both get the same embeddings and position ids (no processor files exist for a
  ``random:`` model), so the ratio is vidtok's overhead around ``generate``.

With ``--compile`` a third column: vidtok with ``--compile`` (static KV cache, compiled decode
step; CUDA graphs on a GPU), its ratio to transformers' eager ``generate``, and the one-time
compile (the first compiled call minus an eager call of the same length).

    python benchmarks/generation.py [--models tiny,qwen2_5_vl-3b] [--new-tokens 8] [--repeat 3]
                                    [--compile] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm2"]


def clip(folder: Path) -> Path:
    from tests.videogen import write_frames

    rng = np.random.default_rng(1)
    base = [rng.integers(0, 256, (94, 150, 3), dtype=np.uint8) for _ in range(2)]
    return write_frames(folder / "clip.mp4", [np.roll(base[i >= 15], 3 * i, axis=1) for i in range(30)], fps=10)


def per_token(run, n: int, repeat: int) -> tuple[float, float]:
    """(seconds per token, seconds for 1 token) of ``run(k)``, medians over ``repeat``."""
    one, full = [], []
    for _ in range(repeat):
        one.append(timed(run, 1))
        full.append(timed(run, n))
    return (statistics.median(full) - statistics.median(one)) / (n - 1), statistics.median(one)


def tiny(family: str, folder: Path, video: Path, n: int, repeat: int, compiled: bool = False) -> dict:
    import transformers
    from transformers.video_utils import VideoMetadata

    from tests.checkpoints import write_checkpoint
    from vidtok.decode import open_video
    from vidtok.models.loading import load_model
    from vidtok.tasks.ask import visual_tokens

    ckpt = write_checkpoint(family, folder / family)
    m = load_model(str(ckpt))
    m.eos_ids = lambda: set()
    v = open_video(video)
    ts, extra, _ = visual_tokens(v, m, use_cache=False)
    frames = v.get_frames(extra["frames"]).data
    inp = m.build_inputs(ts, "What is happening in this video?")

    proc = transformers.AutoProcessor.from_pretrained(ckpt)
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What is happening in this video?"}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    meta = VideoMetadata(total_num_frames=len(v.index), fps=v.info.fps, frames_indices=extra["frames"],
                         duration=len(v.index) / v.info.fps)
    cap = {"cap_pixels_per_frame": True} if family.startswith("qwen") else {}
    inputs = proc(text=[text], videos=[torch.from_numpy(frames).permute(0, 3, 1, 2)], video_metadata=[meta],
                  return_tensors="pt", do_sample_frames=False, **cap)
    model = m.model

    def ref(k):
        gc = m.generation_config(k)
        gc.eos_token_id = None
        with torch.inference_mode():
            model.generate(**inputs, generation_config=gc)

    return compare(f"{family} (tiny checkpoint)", ref, *ours(m, inp, compiled), n, repeat, inp.inputs_embeds.shape[1])


def ours(m, inp, compiled: bool):
    """vidtok's generate, eager and (when ``compiled``) with ``--compile``."""

    def eager(k):
        m.compile = False
        m.generate(inp, max_new_tokens=k, reuse_prefix=False)

    def comp(k):
        m.compile = True
        m.generate(inp, max_new_tokens=k, reuse_prefix=False)
        m.compile = False

    return eager, comp if compiled else None


def real_3b(n: int, repeat: int, video: Path, compiled: bool = False, dtype: str | None = None) -> dict:
    from vidtok.decode import open_video
    from vidtok.models.loading import load_model
    from vidtok.tasks.ask import visual_tokens

    torch.set_num_threads(torch.get_num_threads())
    m = load_model("random:qwen2_5_vl-3b", dtype=dtype)
    m.eos_ids = lambda: set()
    v = open_video(video)
    ts, _, _ = visual_tokens(v, m, num_frames=None, use_cache=False)
    inp = m.build_inputs(ts, "What is happening in this video?")

    def ref(k):
        gc = m.generation_config(k)
        gc.eos_token_id = None
        with torch.inference_mode():
            m.model.generate(inputs_embeds=inp.inputs_embeds, position_ids=inp.position_ids,
                             attention_mask=torch.ones(1, inp.inputs_embeds.shape[1], dtype=torch.long,
                                                       device=inp.inputs_embeds.device),
                             generation_config=gc)

    return compare(f"qwen2_5_vl-3b (real dimensions, random weights, {m.model.dtype})", ref,
                   *ours(m, inp, compiled), n, repeat, inp.inputs_embeds.shape[1])


def timed(run, k: int) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    run(k)
    return time.perf_counter() - t0


def compare(name, ref, ours, comp, n, repeat, length) -> dict:
    ref(2), ours(2)  # warm-up
    r_tok, r_one = per_token(ref, n, repeat)
    o_tok, o_one = per_token(ours, n, repeat)
    row = {"model": name, "prompt_tokens": length, "transformers_s_per_token": r_tok, "vidtok_s_per_token": o_tok,
           "ratio": o_tok / r_tok, "transformers_first_token_s": r_one, "vidtok_first_token_s": o_one}
    line = (f"{name:48s} prompt {length:5d}  transformers {r_tok * 1000:8.2f} ms/token  vidtok {o_tok * 1000:8.2f} "
            f"ms/token  ratio {o_tok / r_tok:5.2f}x  (first token {r_one:.3f}s vs {o_one:.3f}s)")
    if comp is not None:
        first = timed(comp, n)  # compiles the decode step (and warms CUDA graphs)
        row["compile_s"] = first - timed(ours, n)
        timed(comp, n)
        c_tok, _ = per_token(comp, n, repeat)
        row.update(compiled_s_per_token=c_tok, compiled_ratio=c_tok / r_tok)
        line += f"  --compile {c_tok * 1000:8.2f} ms/token {c_tok / r_tok:5.2f}x (compile {row['compile_s']:.1f}s)"
    print(line, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="tiny", help="tiny and/or qwen2_5_vl-3b, comma-separated")
    ap.add_argument("--new-tokens", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="also time vidtok with --compile")
    ap.add_argument("--dtype", default=None, help="the 3B model's dtype (default float32)")
    args = ap.parse_args()
    where = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}; {args.new_tokens} new tokens, "
          f"median of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = clip(folder)
        for name in args.models.split(","):
            if name == "tiny":
                for family in FAMILIES:
                    tiny(family, folder, video, args.new_tokens, args.repeat, args.compile)
            elif name == "qwen2_5_vl-3b":
                real_3b(args.new_tokens, args.repeat, video, args.compile, args.dtype)
            else:
                raise SystemExit(f"unknown model set '{name}'")


if __name__ == "__main__":
    main()
