"""End-to-end benchmark: full visual tokens vs a compressed budget, same model, same run.

Rows: full tokens; the budget met after the tower alone (``--plan after``); the budget under
the default plan (``--plan auto``: part of it met before the tower, ``vidtok.compress.plan``);
any ``--pre-keep`` shares given; any ``--pixels`` shares (``--plan pixels=P``, alone and
with the default plan's frames); and any ``--tower`` shares (``--plan tower=T``: merged inside
the vision tower, alone and with the default plan's frames).

    python benchmarks/e2e.py [--model random:llava_onevision-0.5b] [--frames 8] [--budget 0.1]
                             [--method holitom] [--video PATH] [--new-tokens 16]
    python benchmarks/e2e.py --long --model random:smolvlm2-256m     # the 120 s video, the model's own sampling

Random models at real dimensions (weights change no timing). For each setting: visual
tokens, vision-encoding time, prefill time, time to first token (decode + encode +
compress + prefill), end-to-end time (plus generating ``--new-tokens`` tokens), and peak
memory (RSS high-water mark of this process, and CUDA peak when on a GPU).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidtok import open_video  # noqa: E402
from vidtok.compress import compress  # noqa: E402
from vidtok.compress.budget import Budget  # noqa: E402
from vidtok.compress.request import Compression  # noqa: E402
from vidtok.models.loading import load_model  # noqa: E402
from vidtok.select import sample  # noqa: E402
from vidtok.select.prefilter import distinct_frames, full_token_count  # noqa: E402
from vidtok.tasks.ask import shrink_frames  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync():
    """Wait for the GPU, so each stage's time is its own (tokens stay on the device)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def one(model, video, frames, budget, method, new_tokens, pre_keep=None, question="What is happening in this video?",
        pixels=None, tower=None):
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t_all = time.perf_counter()
    v = open_video(video)
    params = {"n": frames} if model.family == "llava_onevision" else {"fps": None}
    s = sample(v, model.default_sampler, **params)
    idx = s.indices
    if frames and model.family != "llava_onevision" and len(idx) > frames:  # cap frames for CPU runs
        idx = list(np.asarray(idx)[np.linspace(0, len(idx) - 1, frames).round().astype(int)])
    # each frame at that share of its pixels: the sampler's and processor's cap (--plan pixels=P)
    s, area, cap = shrink_frames(model, s, pixels, lambda c: sample(v, model.default_sampler, **params, max_pixels=c))
    size = model.decode_size(tuple(s.frame_size) if s.frame_size else None)  # None: the processor resizes
    fr = v.get_frames(idx, size=size)
    data, ftimes = fr.data, fr.times
    if pre_keep:  # drop near-duplicate frames before the vision tower
        keep = distinct_frames(data, int(round(pre_keep * len(ftimes))), model.frames_per_step)
        data, ftimes = data[keep], ftimes[keep]
    t_decode = time.perf_counter() - t_all
    t0 = time.perf_counter()
    with cap(), model.tower_merging(tower):
        ts = model.encode(data, ftimes, np.append(ftimes[1:], v.info.end_time), len(idx) / len(v.index) * v.info.fps)
    sync()
    t_encode = time.perf_counter() - t0
    n_full = round(full_token_count(ts.num_original, len(ftimes), len(fr.times), model.frames_per_step) * area)
    t0 = time.perf_counter()
    if budget is not None:
        ts = compress(ts, method, Budget.parse(budget).of(n_full))
    sync()
    t_compress = time.perf_counter() - t0
    inp = model.build_inputs(ts, question)
    sync()
    t0 = time.perf_counter()
    model.prefill(inp, logits_to_keep=1)  # the next token's logits: what answering computes
    sync()
    t_prefill = time.perf_counter() - t0
    ttft = time.perf_counter() - t_all
    gen = model.generate(inp, max_new_tokens=new_tokens)
    e2e = time.perf_counter() - t_all - gen.prefill  # generate() re-runs prefill: count it once
    return {
        "budget": ("full" if budget is None else str(budget)) + (f" + pre-keep {pre_keep:g}" if pre_keep else "")
        + (f" + pixels {pixels:g}" if pixels else "") + (f" + tower {tower:g}" if tower else ""),
        "frames": f"{len(ftimes)} / {len(fr.times)}", "visual_tokens_in": n_full, "visual_tokens": len(ts),
        "sequence": int(inp.inputs_embeds.shape[1]), "decode_s": t_decode, "encode_s": t_encode,
        "compress_s": t_compress, "prefill_s": t_prefill, "ttft_s": ttft, "e2e_s": e2e,
        "s_per_token": gen.decode / max(1, gen.new_tokens - 1),
        "peak_rss_mb": peak_rss_mb(),
        "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="random:llava_onevision-0.5b")
    ap.add_argument("--video", default=None, help="default: the shared cooking clip (--long: the 120 s video)")
    ap.add_argument("--frames", type=int, default=8, help="cap on frames (0: the model's own sampling, uncapped)")
    ap.add_argument("--long", action="store_true",
                    help="the 120 s shared video at the model's own sampling (--frames 0 unless given)")
    ap.add_argument("--resize", default="model", help="model (its processor; vidtok's default) or decoder")
    ap.add_argument("--budget", default="0.1")
    ap.add_argument("--method", default="holitom")
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--pre-keep", default="0",
                    help="more rows: the budget with only this share of frames through the vision tower; "
                         "comma-separated for several rows (0: none)")
    ap.add_argument("--pixels", default="0",
                    help="comma-separated shares of each frame's pixels (--plan pixels=P, Qwen2.5-VL): a row each, "
                         "alone and with the default plan's frames; 0: none")
    ap.add_argument("--tower", default="0",
                    help="comma-separated shares of the units Qwen2.5-VL's tower carries past its merge point "
                         "(--plan tower=T): a row each, alone and with the default plan's frames; 0: none")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    ap.add_argument("--dtype", default=None, help="float32 / bfloat16 (default float32 for random models)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    videos = ROOT.parent / "shared" / "videos"
    if args.video is None:
        name = "long_static_cam_fly_courtship_120s.mp4" if args.long else "cooking_flipping_pancake_h264_opus.mkv"
        args.video = str(videos / name)
    if args.long:
        if "--frames" not in (argv or sys.argv):
            args.frames = 0
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - t0
    model.resize = args.resize
    one(model, args.video, 2, None, args.method, 1)  # warm-up (allocator, kernels)
    rows = [one(model, args.video, args.frames, None, args.method, args.new_tokens),
            one(model, args.video, args.frames, args.budget, args.method, args.new_tokens)]
    rows[-1]["budget"] += " (plan after)"
    auto = Compression.of(args.method, args.budget).pre_keep  # the share of frames the default plan sends through
    rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, auto))
    rows[-1]["budget"] += " (default plan)"
    for keep in (float(k) for k in str(args.pre_keep).split(",") if float(k)):
        rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, keep))
    for share in (float(k) for k in str(args.pixels).split(",") if float(k)):  # --plan pixels=P, and with auto's frames
        rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, pixels=share))
        rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, auto, pixels=share))
    for share in (float(k) for k in str(args.tower).split(",") if float(k)):  # --plan tower=T, and with auto's frames
        rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, tower=share))
        rows.append(one(model, args.video, args.frames, args.budget, args.method, args.new_tokens, auto, tower=share))
    full = rows[0]
    ratios = [{k: full[k] / max(r[k], 1e-9) for k in ("prefill_s", "ttft_s", "e2e_s")} for r in rows[1:]]
    dev = torch.cuda.get_device_name() if str(model.device).startswith("cuda") else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    frames_said = args.frames or "the model's own sampling of"
    lines = [
        f"Model `{args.model}` (random weights at real dimensions, loaded in {load_s:.1f} s), "
        f"{Path(args.video).name}, {frames_said} frames, {args.new_tokens} new "
        f"tokens, {dev}, frames resized by the {'processor' if args.resize == 'model' else 'decoder'}, "
        f"{args.dtype or 'float32'}, torch {torch.__version__}. Compression: `{args.method}` at {args.budget}.",
        "",
        "| setting | frames through the tower | visual tokens | sequence | decode s | vision s | compress s | prefill s | TTFT s | s / token | end-to-end s | peak RSS MB |"
        + (" CUDA peak MB |" if rows[0]["cuda_peak_mb"] is not None else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if rows[0]["cuda_peak_mb"] is not None else ""),
    ]
    for r in rows:
        lines.append(f"| {r['budget']} | {r['frames']} | {r['visual_tokens']} / {r['visual_tokens_in']} | {r['sequence']} | "
                     f"{r['decode_s']:.2f} | {r['encode_s']:.2f} | {r['compress_s']:.3f} | {r['prefill_s']:.2f} | "
                     f"{r['ttft_s']:.2f} | {r['s_per_token']:.3f} | {r['e2e_s']:.2f} | {r['peak_rss_mb']:.0f} |"
                     + (f" {r['cuda_peak_mb']:.0f} |" if r["cuda_peak_mb"] is not None else ""))
    lines.append("")
    for r, q in zip(rows[1:], ratios):
        lines.append(f"Speed-up at {r['budget']}: prefill {q['prefill_s']:.1f}x, time to first token "
                     f"{q['ttft_s']:.1f}x, end-to-end {q['e2e_s']:.1f}x.")
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
