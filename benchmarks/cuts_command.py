"""Scene cuts as a user runs them: whole commands, start-up included, vidtok's default
detector against PySceneDetect's adaptive and content detectors (and vidtok's content
detector), taking turns in every round, with each command's wall time, peak memory and the
ratio to ``scenedetect detect-adaptive`` measured in the same round.

    python benchmarks/cuts_command.py [--videos ../shared/videos] [--repeat 5]

Videos: PySceneDetect's 720p test video (24 s), the 120 s static-camera video (1024x1024, flies
moving all the time), and a generated minute of footage that moves throughout: the shared
action clips (hand-held, fast motion) one after another at 1280x720, 30 fps, hard cuts
between them (kept in a temporary folder). Before timing, one run of each command is not
counted (the OpenVINO conversion, done once per machine, and the disk cache warm).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cuts_long import timed  # noqa: E402

#: the moving minute: shared clips that move throughout (hand-held cameras, action)
MOVING = ["action_arm_wrestling_kinetics.mp4", "sports_hitting_baseball_kinetics.mp4",
          "cooking_flipping_pancake_h264_opus.mkv", "grounding_charades_Y1HGC_doorway_coffee.mp4",
          "caption_pool_cleaning.mp4", "action_eye_makeup_xvid_mp3.avi"]


def moving_minute(shared: Path, path: Path) -> list[int]:
    """Write the moving minute; return the frames where each clip after the first starts."""
    from tests.videogen import write_frames  # the tests' own clip writer

    from vidtok import open_video

    cuts, n = [], 0

    def frames():
        nonlocal n
        for k, name in enumerate(MOVING):
            v = open_video(shared / name)
            if k:
                cuts.append(n)
            for _, _, rgb in v.iter_frames(np.arange(len(v)), size=(1280, 720)):
                n += 1
                yield rgb

    write_frames(path, frames(), options={"crf": "23", "preset": "veryfast"}, fps=30)
    print(f"generated the moving minute: {n} frames ({n / 30:.1f} s at 1280x720), cuts at {cuts}", flush=True)
    return cuts


def commands(video: Path, out: str) -> dict[str, list[str]]:
    vidtok = [sys.executable, "-m", "vidtok.cli.main", "keyframes", str(video), "--method", "scenes", "--json",
              "--no-cache"]
    psd = ["scenedetect", "-q", "-i", str(video), "-o", out]
    return {"vidtok default": vidtok, "vidtok content": [*vidtok, "--detector", "content"],
            "scenedetect detect-adaptive": [*psd, "detect-adaptive", "list-scenes", "-n"],
            "scenedetect detect-content": [*psd, "detect-content", "list-scenes", "-n"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    shared = Path(args.videos)
    with tempfile.TemporaryDirectory() as tmp:
        videos = [shared / "scenecuts_pyscenedetect_testvideo_720p.mp4", shared / "long_static_cam_fly_courtship_120s.mp4"]
        videos = [v for v in videos if v.exists()]
        if all((shared / m).exists() for m in MOVING):
            moving_minute(shared, Path(tmp) / "moving_minute.mp4")
            videos.append(Path(tmp) / "moving_minute.mp4")
        if not videos:
            raise SystemExit(f"no videos under {shared}")
        print(f"\n{args.repeat} counted round(s) after one not counted, the commands taking turns; the median.\n")
        print("| video | command | wall s | over detect-adaptive | peak MB | what vidtok ran |")
        print("|---|---|---|---|---|---|")
        for video in videos:
            cmds = commands(video, tmp)
            walls: dict[str, list[float]] = {k: [] for k in cmds}
            peaks: dict[str, float] = dict.fromkeys(cmds, 0.0)
            ratios: dict[str, list[float]] = {k: [] for k in cmds}
            ran = {}
            for r in range(args.repeat + 1):
                round_ = {}
                for label, cmd in cmds.items():
                    wall, mb, out = timed(cmd)
                    if label.startswith("vidtok"):
                        d = json.loads(out)
                        ran[label] = f"{d['params']['detector']}" + (f", {d['params']['runtime']}" if d["params"].get("runtime")
                                                                     else "") + f"; cuts {[c['index'] for c in d['cuts']]}"
                    round_[label] = wall
                    if r:
                        walls[label].append(wall)
                        peaks[label] = max(peaks[label], mb)
                if r:
                    for label in cmds:
                        ratios[label].append(round_[label] / round_["scenedetect detect-adaptive"])
            for label in cmds:
                print(f"| {video.name} | {label} | {statistics.median(walls[label]):.2f} | "
                      f"{statistics.median(ratios[label]):.2f}x | {peaks[label]:.0f} | {ran.get(label, '')} |", flush=True)


if __name__ == "__main__":
    main()
