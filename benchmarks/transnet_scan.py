"""The learned cut detector on a CPU: the two-stage scan (frame differences propose
segments, only those go through TransNetV2, decoding in a thread) through each runtime,
torch (vidtok's faster form, bfloat16 autocast where the CPU has bfloat16 units) and OpenVINO
(bfloat16 likewise), against the package's own network on every segment in float32, in the
same run on every shared video: frames per second of each, and whether each finds exactly the
events the package's network finds.

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
    from vidtok.select.detectors import load_runner

    runs = {"full": (T.load_network("cpu", as_packaged=True), True, False),
            "torch": (load_runner("torch"), False, None), "openvino": (load_runner("openvino"), False, None)}
    print(f"bfloat16 units on this CPU: {cpu_has_bfloat16()}; {args.repeat} run(s) each, the median")
    print("| video | frames | full float32 fps | two-stage torch fps | two-stage OpenVINO fps | OpenVINO over full "
          "| events | same events (torch, OpenVINO) |")
    print("|---|---|---|---|---|---|---|---|")
    total = dict.fromkeys(runs, 0.0)
    frames = 0
    lost = {"torch": 0, "openvino": 0}
    for path in sorted(p for p in Path(args.videos).glob("*.*") if p.suffix not in (".md", ".json")):
        v = open_video(path)
        out = {}
        for label, (net, full, bf16) in runs.items():
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                p = T.probabilities(v, net, full=full, bf16=bf16)
                times.append(time.perf_counter() - t0)
            out[label] = (T.transitions(p), statistics.median(times))
            total[label] += out[label][1]
        same = {k: out[k][0] == out["full"][0] for k in lost}
        for k in lost:
            lost[k] += not same[k]
        frames += len(v)
        fps = " | ".join(f"{len(v) / out[k][1]:.0f}" for k in runs)
        print(f"| {path.name} | {len(v)} | {fps} | {out['full'][1] / out['openvino'][1]:.2f}x | {len(out['full'][0])} | "
              f"{', '.join('yes' if same[k] else 'NO' for k in lost)} |", flush=True)
    fps = " | ".join(f"{frames / total[k]:.0f}" for k in runs)
    print(f"| all | {frames} | {fps} | {total['full'] / total['openvino']:.2f}x | | "
          f"{', '.join('yes' if not lost[k] else f'{lost[k]} differ' for k in lost)} |")

if __name__ == "__main__":
    main()
