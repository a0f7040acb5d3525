"""Repeat-question benchmark: the first ``ask`` on a video decodes, runs the vision tower and
prefills everything; the second (another question, same video) loads the visual tokens
from the on-disk cache and reuses the prompt prefix's KV cache. Same process, same model.

    python benchmarks/cache.py [--model random:qwen2_5_vl-tiny] [--video PATH] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="random:qwen2_5_vl-tiny")
    ap.add_argument("--video", default=str(ROOT.parent / "shared" / "videos" / "cooking_flipping_pancake_h264_opus.mkv"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=16)
    args = ap.parse_args(argv)
    import os

    from vidtok.models.loading import load_model
    from vidtok.tasks.ask import ask

    model = load_model(args.model)
    firsts, seconds = [], []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            os.environ["VIDTOK_CACHE_DIR"] = d
            model.decoder.prefix_cache.clear()
            t0 = time.perf_counter()
            a = ask(args.video, "What is the person doing?", model, max_new_tokens=args.new_tokens)
            firsts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = ask(args.video, "What happens at the end?", model, max_new_tokens=args.new_tokens)
            seconds.append(time.perf_counter() - t0)
            assert b["cached_tokens"] and b["cached_prefix_kv"] and not a["cached_tokens"]
    f, s = statistics.median(firsts), statistics.median(seconds)
    print(f"Model `{args.model}`, {Path(args.video).name}, {a['visual_tokens_before']} visual tokens, "
          f"{args.new_tokens} new tokens, median of {args.runs}:")
    print()
    print("| ask | seconds | stages |")
    print("|---|---|---|")
    print(f"| first (decode + vision tower + full prefill) | {f:.3f} | {a['seconds']} |")
    print(f"| second (token cache + prefix KV) | {s:.3f} | {b['seconds']} |")
    print()
    print(f"Second ask is {f / s:.1f}x faster than the first.")


if __name__ == "__main__":
    main()
