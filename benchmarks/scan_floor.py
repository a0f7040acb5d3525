"""Where the cut scan's time goes on a clip of small frames, next to the least time two
threads can take for what it computes (PySceneDetect's HSV change on every frame).

    python benchmarks/scan_floor.py [VIDEO] [--repeat 30]

Rows, raced in turns (``benchmarks/decode.py::race``), every frame of the default stream:

* decode: PyAV, one thread, no conversion;
* measure: the per-frame work on frames decoded beforehand (I420 -> RGB, HSV, L1 change
  from the previous frame, mean V, a 32x32 sample for the thumbnail), one thread;
* serial: both in one thread;
* bare pipeline: a bare PyAV loop in a second thread handing frames over in batches, the
  measuring in the caller: the least glue a two-thread scan can have (no index, no
  thumbnails kept, no stall timeout, no gap logic);
* vidtok open: ``open_video`` alone (the probe: open, exact index from every packet, first
  frame decoded; its file and packets are kept for the scan);
* vidtok decode + bare measure: ``open_video`` and its decoding path (the kept probe, the
  decoder thread and its hand-off), frames measured as in the bare pipeline: what vidtok's
  scan adds beyond this row is its own bookkeeping (the gap logic, thumbnails, records);
* vidtok scenes: ``select(open_video(path), "scenes")`` as ``benchmarks/selection.py``
  times it (open, scan, cuts);
* PySceneDetect: ``detect(path, ContentDetector())`` (optional: ``pip install scenedetect``).

The speed-up column is PySceneDetect's time over the row's. By default the synthetic cut
clip (200 frames of 160x120 with a pan in every gap, so every frame is measured), the row of
the scene-cut benchmark where vidtok's margin is thinnest.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import av  # noqa: E402
import cv2  # noqa: E402

from decode import race  # noqa: E402
from vidtok import open_video  # noqa: E402
from vidtok.decode.convert import _sample_yuv420  # noqa: E402
from vidtok.select import select  # noqa: E402
from vidtok.select.cutscan import analysis_size  # noqa: E402

_END = object()


def open_stream(path: str, index: int):
    container = av.open(path)
    stream = container.streams[index]
    stream.thread_type = "AUTO"
    stream.thread_count = 1
    return container, stream


class Measure:
    """The per-frame work of a scan that measures every frame, nothing else kept."""

    def __init__(self, size):
        self.size, self.prev, self.changes = size, None, []

    def __call__(self, frame) -> None:
        rgb = frame() if callable(frame) else _sample_yuv420(frame, self.size)
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        if self.prev is not None:
            self.changes.append(cv2.norm(hsv, self.prev, cv2.NORM_L1) / hsv.size)
        cv2.mean(hsv)
        cv2.resize(rgb, (32, 32), interpolation=cv2.INTER_NEAREST)
        self.prev = hsv


def decode(path, index):
    container, stream = open_stream(path, index)
    frames = list(container.decode(stream))
    container.close()
    return frames


def serial(path, index, size):
    container, stream = open_stream(path, index)
    m = Measure(size)
    for frame in container.decode(stream):
        m(frame)
    container.close()
    return m.changes


def bare_pipeline(path, index, size, batch=32):
    container, stream = open_stream(path, index)
    q: queue.Queue = queue.Queue(8)

    def work():
        out = []
        for frame in container.decode(stream):
            out.append(frame)
            if len(out) >= batch or q.empty():
                q.put(out)
                out = []
        q.put(out)
        q.put(_END)

    threading.Thread(target=work, daemon=True).start()
    m = Measure(size)
    while (frames := q.get()) is not _END:
        for frame in frames:
            m(frame)
    container.close()
    return m.changes


def vidtok_decode_bare_measure(path, size):
    video = open_video(path)
    m = Measure(size)
    # as the cut scan reads a lone run of small frames: its own decoder, half the cores
    for _, _, rgb in video.fork_for(2).iter_frames(range(len(video)), size=size, fast_resize=True, convert=False):
        m(rgb)
    return m.changes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", default=str(ROOT / "sample_videos" / "synthetic_cuts.mp4"))
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    path = args.video
    video = open_video(path)
    index, size = video.info.stream_index, analysis_size(video.info)
    decoded = decode(path, index)

    def measure_only():
        m = Measure(size)
        for frame in decoded:
            m(frame)

    rows = {
        "decode": (lambda: decode(path, index), False),
        "measure": (measure_only, False),
        "serial": (lambda: serial(path, index, size), False),
        "bare pipeline": (lambda: bare_pipeline(path, index, size), False),
        "vidtok open": (lambda: open_video(path), False),
        "vidtok decode + bare measure": (lambda: vidtok_decode_bare_measure(path, size), False),
        "vidtok scenes": (lambda: select(open_video(path), "scenes", use_cache=False), False),
    }
    try:
        from scenedetect import ContentDetector, detect

        rows["PySceneDetect"] = (lambda: detect(path, ContentDetector()), False)
    except ImportError:
        print("PySceneDetect not installed (pip install scenedetect): no speed-up column")
    best = race(rows, args.repeat)
    psd = best.get("PySceneDetect")
    print(f"{Path(path).name}: {len(decoded)} frames of {video.info.width}x{video.info.height}, "
          f"measured at {size[0]}x{size[1]}; best of {args.repeat}+ rounds\n")
    print("| row | ms | PySceneDetect's time over it |")
    print("|---|---|---|")
    for name in ["decode", "measure", "serial", "bare pipeline", "vidtok open", "vidtok decode + bare measure", "vidtok scenes", "PySceneDetect"]:
        if name in best:
            ratio = f"{psd / best[name]:.2f}x" if psd else "-"
            print(f"| {name} | {best[name] * 1e3:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
