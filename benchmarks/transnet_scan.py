"""The learned cut detector on a CPU: the two-stage scan (frame differences propose
segments, only those go through TransNetV2, bfloat16 autocast where the CPU has bfloat16
units, decoding in a thread) against the full network on every segment in float32, in the
same run on every shared video: frames per second of each, and whether the two-stage scan
finds exactly the events the full network finds.

    python benchmarks/transnet_scan.py [--videos ../shared/videos] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    from vidtok.decode import open_video
    from vidtok.models.cpu_dtype import cpu_has_bfloat16
    from vidtok.select import transnet as T

    net = T.load_network("cpu")
    print(f"bfloat16 units on this CPU: {cpu_has_bfloat16()}; {args.repeat} run(s) each, the median")
    print(f"| video | frames | full float32 fps | two-stage fps | speed-up | events | same events |")
    print("|---|---|---|---|---|---|---|")
    total = {"full": 0.0, "two": 0.0}
    frames = 0
    lost = 0
    for path in sorted(p for p in Path(args.videos).glob("*.*") if p.suffix not in (".md", ".json")):
        v = open_video(path)
        out = {}
        for label, full, bf16 in (("full", True, False), ("two", False, None)):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                p = T.probabilities(v, net, full=full, bf16=bf16)
                times.append(time.perf_counter() - t0)
            out[label] = (T.transitions(p), statistics.median(times))
            total[label] += out[label][1]
        same = out["two"][0] == out["full"][0]
        lost += not same
        frames += len(v)
        print(f"| {path.name} | {len(v)} | {len(v) / out['full'][1]:.0f} | {len(v) / out['two'][1]:.0f} | "
              f"{out['full'][1] / out['two'][1]:.2f}x | {len(out['full'][0])} | {'yes' if same else 'NO'} |", flush=True)
    print(f"| all | {frames} | {frames / total['full']:.0f} | {frames / total['two']:.0f} | "
          f"{total['full'] / total['two']:.2f}x | | {'yes' if not lost else f'{lost} differ'} |")


if __name__ == "__main__":
    main()
