"""Decode benchmark: vidtok vs each raw backend, measured in the same run.

    python benchmarks/decode.py [--videos DIR] [--repeat 3] [--only NAME] [--out FILE.md]

For every video: sample 16 frames, 64 frames and 1 fps (exact frames, evenly spaced, from
a cold open of the file each time: vidtok's time includes its probe). Raw baselines, each
the straightforward best use of its library:

* ``pyav-seek``    PyAV, thread_type AUTO, seek to each target and decode up to it;
* ``pyav-seq``     PyAV, decode everything in order, keep the targets;
* ``opencv-seq``   OpenCV grab() through the file, retrieve() the targets;
* ``decord``       decord ``get_batch`` (its own seeking);
* ``torchcodec``   torchcodec exact mode ``get_frames_at`` (when installed).

``ratio`` = fastest raw time / vidtok exact time (>1: vidtok is faster). A raw method
that returns other frames than the exact ones (checked against vidtok, whose exactness
the tests check against full sequential decoding) is marked ``wrong`` and is no baseline. ``kf-ratio`` =
decoding the whole file / vidtok ``--seek keyframe`` time. Timings: best of ``--repeat``
rounds (more for quick cases, up to 10x), in each of which every method runs once in turn,
each round starting one method later (so drift in the machine's speed, and what one method
leaves running for the next, falls on all methods alike).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402

from vidtok import open_video  # noqa: E402
from vidtok.decode import probe  # noqa: E402
from vidtok.select.samplers import time_grid_indices, uniform_indices  # noqa: E402


def raw_pyav_seek(path, stream_index, pts_targets):
    out = []
    with av.open(str(path)) as c:
        s = next(x for x in c.streams if x.index == stream_index)
        s.thread_type = "AUTO"
        for tgt in pts_targets:
            c.seek(int(tgt), stream=s, backward=True)
            for f in c.decode(s):
                if f.pts is not None and f.pts >= tgt:
                    out.append(f.to_ndarray(format="rgb24"))
                    break
    return out


def raw_pyav_seq(path, stream_index, pts_targets):
    want = set(int(p) for p in pts_targets)
    out = []
    with av.open(str(path)) as c:
        s = next(x for x in c.streams if x.index == stream_index)
        s.thread_type = "AUTO"
        for f in c.decode(s):
            if f.pts in want:
                out.append(f.to_ndarray(format="rgb24"))
                if len(out) == len(want):
                    break
    return out


def raw_opencv_seq(path, indices):
    import cv2

    cap = cv2.VideoCapture(str(path))
    out, cur = [], -1
    for i in indices:
        while cur < i:
            if not cap.grab():
                break
            cur += 1
        ok, bgr = cap.retrieve()
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def raw_opencv_seek(path, indices):
    """OpenCV's sparse method: set CAP_PROP_POS_FRAMES per target (wrong frames on VFR)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    for i in indices:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, bgr = cap.read()
        if ok:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def raw_decord(path, indices):
    import decord

    vr = decord.VideoReader(str(path), ctx=decord.cpu(0))
    return list(vr.get_batch([int(i) for i in indices]).asnumpy())


def raw_torchcodec(path, stream_index, indices):
    from torchcodec.decoders import VideoDecoder

    d = VideoDecoder(str(path), stream_index=stream_index, seek_mode="exact", dimension_order="NHWC")
    return list(d.get_frames_at([int(i) for i in indices]).data.numpy())


def full_decode(path, stream_index):
    n = 0
    with av.open(str(path)) as c:
        s = next(x for x in c.streams if x.index == stream_index)
        s.thread_type = "AUTO"
        for f in c.decode(s):
            f.to_ndarray(format="rgb24")
            n += 1
    return n


def vidtok_exact(path, stream, plan):
    v = open_video(path, stream=stream)
    return v.get_frames(plan(v.info, v.index)).data


def vidtok_keyframe(path, stream, plan):
    v = open_video(path, stream=stream)
    return v.get_frames(plan(v.info, v.index), seek="keyframe").data


SPARSE = ("pyav-seek", "opencv-seek", "decord", "torchcodec")
DENSE = ("pyav-seq", "opencv-seq")


def frames_match(got, reference) -> bool:
    """Same frames as the exact reference? (colour conversion differs slightly between
    libraries, a wrong frame differs a lot)"""
    got = list(got)
    if len(got) != len(reference):
        return False
    for g, r in zip(got, reference):
        g = np.asarray(g)
        if g.shape != r.shape or np.abs(g.astype(np.int16) - r.astype(np.int16)).mean() > 3.0:
            return False
    return True


def race(methods: dict, repeat: int, reference=None) -> dict:
    """Best wall time of each method over ``repeat`` rounds, the methods taking turns in
    every round (this VM's speed drifts by 20-50 % within minutes; turns keep the drift
    out of the ratios). NaN for a method that fails on this file, -inf for one that
    returns frames other than the exact ones (then it is no baseline). A method slower
    than 5 s runs once. Quick cases get more rounds (up to ten times ``repeat``, while a
    round takes under 0.3 s): a best of 5 at 2 ms is mostly noise on this VM."""
    best = {name: float("inf") for name in methods}
    names = list(methods)
    k, start = 0, time.perf_counter()
    while k < repeat or (k < 10 * repeat and time.perf_counter() - start < 0.3 * k):
        k += 1
        # each round starts one method later: no method always runs right after the same
        # other one (torch's worker threads, for one, spin on for a while after torchcodec)
        for name in names[k % len(names):] + names[: k % len(names)]:
            fn, check = methods[name]
            if best[name] != best[name] or best[name] == float("-inf") or (k > 1 and best[name] > 5):
                continue
            t0 = time.perf_counter()
            try:
                got = fn()
            except Exception as e:  # a raw backend that cannot read this file
                print(f"  ({name} failed: {type(e).__name__}: {str(e).splitlines()[0][:80]})", flush=True)
                best[name] = float("nan")
                continue
            dt = time.perf_counter() - t0
            if k == 1 and check and reference is not None and not frames_match(got, reference):
                print(f"  ({name}: wrong frames, excluded)", flush=True)
                best[name] = float("-inf")
                continue
            best[name] = min(best[name], dt)
    return best


def best_time(fn, repeat):
    return race({"x": (fn, False)}, repeat)["x"]


def available(name):
    try:
        __import__(name)
        return True
    except Exception:
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(ROOT.parent / "shared" / "videos"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default=None, help="substring of the file names to run")
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    ap.add_argument("--json", default=None, help="also write raw timings as JSON here")
    args = ap.parse_args(argv)

    vdir = Path(args.videos)
    files = sorted(p for p in vdir.iterdir() if p.is_file() and p.suffix.lower() in {".mp4", ".mkv", ".webm", ".ts", ".avi", ".mov"})
    if args.only:
        files = [p for p in files if args.only in p.name]
    has_cv, has_decord, has_tc = available("cv2"), available("decord"), available("torchcodec.decoders")

    plans = {  # (info, index) -> frame indices
        "16": lambda info, index: uniform_indices(index, min(16, len(index))),
        "64": lambda info, index: uniform_indices(index, min(64, len(index))),
        "1fps": lambda info, index: time_grid_indices(info, index, 1.0),
    }
    rows, raw = [], []
    for path in files:
        info, index = probe(path)
        stream = info.stream_index
        first_video = info.video_streams[0].index
        for pname, plan in plans.items():
            idx = np.unique(plan(info, index))
            pts = index.pts[idx]
            ref = vidtok_exact(path, stream, plan)
            methods = {  # name -> (run, check its frames against the exact ones)
                "vidtok": (lambda: vidtok_exact(path, stream, plan), False),
                "vidtok-kf": (lambda: vidtok_keyframe(path, stream, plan), False),
                "pyav-seek": (lambda: raw_pyav_seek(path, stream, pts), True),
                "pyav-seq": (lambda: raw_pyav_seq(path, stream, pts), True),
            }
            if has_cv and stream == first_video and not index.by_dts:
                methods["opencv-seek"] = (lambda: raw_opencv_seek(path, idx), True)
                methods["opencv-seq"] = (lambda: raw_opencv_seq(path, idx), True)
            if has_decord:
                methods["decord"] = (lambda: raw_decord(path, idx), True)
            if has_tc:
                methods["torchcodec"] = (lambda: raw_torchcodec(path, stream, idx), True)
            t = race(methods, args.repeat, ref)
            ok = lambda v: v == v and v != float("-inf")  # noqa: E731
            raws = {k: v for k, v in t.items() if k in SPARSE and ok(v)}
            dense = {k: v for k, v in t.items() if k in DENSE and ok(v)}
            # a file where no raw method returns the exact frames has no baseline
            fastest = min(raws, key=raws.get) if raws else "none exact"
            both = {**raws, **dense}
            fastest_any = min(both.values()) if both else float("nan")
            row = {"video": path.name, "plan": pname, "frames": len(idx), **t,
                   "fastest_raw": fastest, "ratio": raws[fastest] / t["vidtok"] if raws else float("nan"),
                   "ratio_any": fastest_any / t["vidtok"]}
            rows.append(row)
            print(f"{path.name[:44]:44s} {pname:>5s} n={len(idx):4d} vidtok={t['vidtok']:.3f}s "
                  f"kf={t['vidtok-kf']:.3f}s fastest raw={fastest} {raws.get(fastest, float('nan')):.3f}s "
                  f"ratio={row['ratio']:.2f}", flush=True)
        if info.duration >= 60:
            full = best_time(lambda: full_decode(path, stream), 1)
            kf = [r for r in rows if r["video"] == path.name and r["plan"] == "16"][0]["vidtok-kf"]
            raw.append({"video": path.name, "full_decode_s": full, "keyframe_16_s": kf, "kf_ratio": full / kf})
            print(f"{path.name}: full decode {full:.2f}s, keyframe mode 16 frames {kf:.3f}s -> {full / kf:.1f}x")

    cols = ["vidtok", "vidtok-kf", "pyav-seek", "opencv-seek", "decord", "torchcodec", "pyav-seq", "opencv-seq"]
    present = [c for c in cols if any(c in r for r in rows)]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PyAV {av.__version__} (FFmpeg {getattr(av, 'ffmpeg_version_info', '?')}). "
        f"Seconds, best of {args.repeat} rounds (the methods take turns in each). ratio = fastest raw sparse method (pyav-seek, opencv-seek, "
        "decord, torchcodec) / vidtok exact; ratio-all also counts the dense sequential decoders "
        "(pyav-seq, opencv-seq). >1: vidtok is faster.",
        "",
        "| video | plan | frames | " + " | ".join(present) + " | fastest sparse | ratio | ratio-all |",
        "|---|---|---|" + "---|" * len(present) + "---|---|---|",
    ]
    for r in rows:
        cells = [("fail" if r[c] != r[c] else "wrong" if r[c] == float("-inf") else f"{r[c]:.3f}")
                 if c in r else "–" for c in present]
        lines.append(f"| {r['video']} | {r['plan']} | {r['frames']} | " + " | ".join(cells)
                     + f" | {r['fastest_raw']} | {r['ratio']:.2f} | {r['ratio_any']:.2f} |")
    rated = [r for r in rows if r["ratio"] == r["ratio"]]
    worst = min(rated, key=lambda r: r["ratio"]) if rated else None
    if worst:
        lines += ["", f"Lowest ratio: {worst['ratio']:.2f} ({worst['video']}, {worst['plan']}); "
                  f"vidtok at least as fast as the fastest exact raw sparse method in "
                  f"{sum(r['ratio'] >= 1.0 for r in rated)} of {len(rated)} cases."]
    for k in raw:
        lines.append(f"Keyframe mode on {k['video']}: whole-file decode {k['full_decode_s']:.2f} s vs 16 keyframes "
                     f"{k['keyframe_16_s']:.3f} s = {k['kf_ratio']:.1f}x.")
    table = "\n".join(lines)
    print()
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "keyframe": raw}, indent=2))


if __name__ == "__main__":
    main()
