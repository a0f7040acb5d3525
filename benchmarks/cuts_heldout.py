"""Scene cuts on video nobody tuned for: concatenations of shared clips built here, with
hard cuts and one dissolve at known frames, scored for vidtok's detectors and
PySceneDetect's (``pip install scenedetect``), timed in the same run.

    python benchmarks/cuts_heldout.py [--videos DIR] [--tolerance 2]

Each concatenation takes 2-3 s shots from different shared videos, re-encoded to one size
(480x270, 25 fps, H.264), joined by hard cuts, and one pair of shots by a 12-frame dissolve
(a cross-fade). Truth: the first frame of each new shot; for the dissolve, any detection
inside it (or within the tolerance of its ends) counts, once. Precision, recall and F1 at
``--tolerance`` frames; seconds per whole detection, one run each (first run includes model
loading for transnet: printed separately).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from vidtok import open_video  # noqa: E402
from vidtok.select import select  # noqa: E402
from tests.videogen import write_frames  # noqa: E402  (the tests' own clip writer)

import cutscore  # noqa: E402

W, H, FPS, DISSOLVE = 480, 270, 25, 12

#: (name, [(video, start second, seconds), ...], index of the shot the dissolve enters or None)
CLIPS = [
    ("action", [("sports_hitting_baseball_kinetics.mp4", 1.0, 2.5), ("action_arm_wrestling_kinetics.mp4", 2.0, 2.5),
                ("sports_hitting_baseball_kinetics.mp4", 6.0, 2.5), ("cooking_flipping_pancake_h264_opus.mkv", 1.0, 2.5),
                ("action_arm_wrestling_kinetics.mp4", 6.0, 2.5), ("grounding_charades_Y1HGC_doorway_coffee.mp4", 3.0, 3.0)],
     None),
    ("mixed", [("static_cam_traffic_highway_720p.mp4", 2.0, 3.0), ("film_bw_his_girl_friday_cc0.mp4", 1.0, 2.0),
               ("animation_bbb_0-30s_vp8_vorbis.webm", 5.0, 3.0), ("caption_pool_cleaning.mp4", 1.0, 3.0),
               ("long_static_cam_fly_courtship_120s.mp4", 30.0, 3.0)], 3),
    ("calm", [("long_static_cam_fly_courtship_120s.mp4", 10.0, 3.0), ("static_cam_traffic_highway_720p.mp4", 6.0, 3.0),
              ("cooking_flipping_pancake_h264_opus.mkv", 4.0, 3.0), ("nasa_webb_cleanroom_multistream_subs.mp4", 1.0, 3.0)],
     2),
]


def shot_frames(path: Path, start: float, seconds: float) -> np.ndarray:
    v = open_video(path)
    times = start + np.arange(int(seconds * FPS)) / FPS
    return v.get_frames(v.indices_at(times), size=(W, H)).data


def build(videos: Path, name, shots, dissolve_into, out: Path):
    """Write the concatenation; return (path, hard cut frames, (dissolve start, end) or None)."""
    parts = [shot_frames(videos / v, s, d) for v, s, d in shots]
    frames, cuts, dissolve = [], [], None
    for k, p in enumerate(parts):
        if k and k == dissolve_into:  # cross-fade the last DISSOLVE frames of the shot before into this one
            a = np.stack(frames[-DISSOLVE:]).astype(np.float32)
            b = p[:DISSOLVE].astype(np.float32)
            w = (np.arange(1, DISSOLVE + 1) / (DISSOLVE + 1))[:, None, None, None]
            frames[-DISSOLVE:] = list((a * (1 - w) + b * w).round().astype(np.uint8))
            dissolve = (len(frames) - DISSOLVE, len(frames))
            frames.extend(p[DISSOLVE:])
            continue
        if k:
            cuts.append(len(frames))
        frames.extend(p)
    path = write_frames(out / f"heldout_{name}.mp4", frames, options={"crf": "20", "preset": "veryfast", "g": "100"},
                        fps=FPS)
    return path, cuts, dissolve


def score(pred, cuts, dissolve, tol):
    """(precision, recall, F1) against the hard cuts and the dissolve (``cutscore``)."""
    return cutscore.score(pred, [(c, c) for c in cuts] + ([tuple(dissolve)] if dissolve else []), tol)


def detectors():
    def vidtok(detector):
        return lambda p: [c.index for c in select(open_video(p), "scenes", detector=detector, use_cache=False).cuts]

    def psd(kind):
        def run(p):
            from scenedetect import AdaptiveDetector, ContentDetector, detect

            det = ContentDetector() if kind == "content" else AdaptiveDetector()
            return [s[0].frame_num for s in detect(str(p), det)[1:]]
        return run

    return {"vidtok content": vidtok("content"), "vidtok adaptive": vidtok("adaptive"),
            "vidtok transnet": vidtok("transnet"), "vidtok default (combined)": vidtok("auto"),
            "PySceneDetect content": psd("content"),
            "PySceneDetect adaptive": psd("adaptive")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--tolerance", type=int, default=2)
    args = ap.parse_args()
    videos = Path(args.videos)
    with tempfile.TemporaryDirectory() as tmp:
        built = [(name, *build(videos, name, shots, d, Path(tmp))) for name, shots, d in CLIPS]
        t0 = time.perf_counter()
        from vidtok.select.detectors import load_runner

        runtime = load_runner().runtime
        print(f"TransNetV2 first load ({runtime}: import and weights): {time.perf_counter() - t0:.2f} s\n")
        print(f"Hard cuts and one dissolve at known frames, tolerance {args.tolerance} frames.\n")
        print("| clip | frames | truth (cuts; dissolve) | detector | found | precision | recall | F1 | seconds | frames/s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, path, cuts, dissolve in built:
            n = len(open_video(path))
            truth = f"{cuts}; {list(dissolve) if dissolve else '-'}"
            for label, fn in detectors().items():
                t0 = time.perf_counter()
                pred = fn(path)
                sec = time.perf_counter() - t0
                p, r, f = score(pred, cuts, dissolve, args.tolerance)
                print(f"| {name} | {n} | {truth} | {label} | {pred} | {p:.2f} | {r:.2f} | {f:.2f} | {sec:.2f} | {n / sec:.0f} |")
                truth = ""


if __name__ == "__main__":
    main()
