"""Does the guided cut scan pay? Its time against the strided scan's on every shared video
where ``scan_cuts`` chooses it, both run here in turns (best of ``--repeat`` rounds), with
the cuts each finds (they must be equal).

    python benchmarks/cutscan_paths.py [--videos DIR] [--repeat 5]

The guided path stays only if it is at least 1.3x faster on some shared video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidtok import open_video  # noqa: E402
from vidtok.select.cutscan import CUT_STRIDE, scan  # noqa: E402
from vidtok.select.cutscan_guided import guided_scan  # noqa: E402
from vidtok.select.scenes import detect  # noqa: E402

THRESHOLD = 27.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print("| video | guided s | strided s | guided speed-up | same cuts |")
    print("|---|---|---|---|---|")
    for path in sorted(Path(args.videos).glob("*.*")):
        if path.suffix in (".md", ".json") or path.is_dir():
            continue
        if guided_scan(open_video(path), THRESHOLD) is None:
            continue  # scan_cuts takes the strided path here
        best = {"guided": float("inf"), "strided": float("inf")}
        cuts = {}
        for _ in range(args.repeat):
            for name in ("guided", "strided") if _ % 2 == 0 else ("strided", "guided"):
                v = open_video(path)
                t0 = time.perf_counter()
                st = guided_scan(v, THRESHOLD) if name == "guided" else scan(v, threshold=THRESHOLD, stride=CUT_STRIDE)
                best[name] = min(best[name], time.perf_counter() - t0)
                cuts[name] = st.indices[detect(st)].tolist()
        print(f"| {path.name} | {best['guided']:.3f} | {best['strided']:.3f} | "
              f"{best['strided'] / best['guided']:.2f}x | {cuts['guided'] == cuts['strided']} |")


if __name__ == "__main__":
    main()
