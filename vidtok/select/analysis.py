"""One cheap pass over a video's frames at low resolution: per-frame HSV content change
(PySceneDetect's ContentDetector measure), brightness, and a tiny thumbnail descriptor.
Constant memory: only per-frame numbers are kept, never the frames."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..decode.video import Video


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit HSV convention: H in [0, 180), S and V in [0, 255]."""
    try:
        import cv2

        return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    except ImportError:
        x = rgb.astype(np.float32)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        v = x.max(-1)
        mn = x.min(-1)
        d = v - mn
        s = np.where(v > 0, 255 * d / np.maximum(v, 1e-6), 0)
        h = np.zeros_like(v)
        nz = d > 0
        rm = nz & (v == r)
        gm = nz & (v == g) & ~rm
        bm = nz & ~rm & ~gm
        h[rm] = (60 * (g - b)[rm] / d[rm]) % 360
        h[gm] = 60 * (b - r)[gm] / d[gm] + 120
        h[bm] = 60 * (r - g)[bm] / d[bm] + 240
        return np.stack([np.round(h / 2) % 180, np.round(s), v], -1).astype(np.uint8)


@dataclass
class FrameStats:
    indices: np.ndarray  # frames analysed
    times: np.ndarray
    content: np.ndarray  # HSV change from the previous analysed frame (0 for the first)
    brightness: np.ndarray  # mean V in [0, 255]
    thumbs: np.ndarray  # (N, 8*8*3) float32 tiny descriptors
    #: rows whose brightness and thumbnail were measured (None: all). The strided cut scan
    #: measures them on its stride frames only: a frame between them, measured because a
    #: cut may lie there, carries its change alone (0 in the other two)
    sampled: Optional[np.ndarray] = None


def analysis_size(info, width: int = 256) -> tuple[int, int]:
    """About ``width`` pixels wide (never upscaled), even sides, aspect kept: the
    resolution PySceneDetect analyses 720p at, and enough to see a cut."""
    w, h = info.width, info.height
    if w <= width:
        return max(2, w // 2 * 2), max(2, h // 2 * 2)
    return width // 2 * 2, max(2, round(h * width / w) // 2 * 2)


class _Measure:
    """HSV change, brightness and an 8x8 thumbnail of one small RGB frame."""

    def __init__(self):
        try:
            import cv2
        except ImportError:
            cv2 = None
        self.cv2 = cv2

    def hsv(self, rgb):
        return rgb_to_hsv(rgb)

    def change(self, a, b) -> float:
        if self.cv2 is not None:  # one SIMD L1 norm (3 us at 256x144): ~40x numpy on int16
            return self.cv2.norm(a, b, self.cv2.NORM_L1) / a.size
        return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())

    def brightness(self, hsv) -> float:
        return self.cv2.mean(hsv)[2] if self.cv2 is not None else float(hsv[..., 2].mean())

    def thumb(self, rgb) -> np.ndarray:
        if self.cv2 is not None:
            # area-average a 32x32 point sample: 5 us instead of 33 for the full frame
            grid = self.cv2.resize(rgb, (32, 32), interpolation=self.cv2.INTER_NEAREST)
            small = self.cv2.resize(grid, (8, 8), interpolation=self.cv2.INTER_AREA).astype(np.float32)
        else:
            hh, ww = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
            small = rgb[:hh, :ww].reshape(8, hh // 8, 8, ww // 8, 3).mean((1, 3))
        return small.reshape(-1) / 255.0


class _Thumbs:
    """The same 8x8 thumbnails as ``_Measure.thumb``, into rows of ``out``, made in
    batches: a 32x32 point sample per frame as it passes (2.5 us), and one area resize for
    a whole batch stacked as one tall image (4x4 block means; a block never crosses two
    frames). 15 -> 3 us a frame, which matters where the per-frame Python work, not
    decoding, sets the pace. Without OpenCV, one frame at a time."""

    BATCH = 256

    def __init__(self, out: np.ndarray, m: _Measure):
        self.out, self.m, self.cv2 = out, m, m.cv2
        self.grid = np.empty((self.BATCH, 32, 32, 3), np.uint8) if self.cv2 is not None else None
        self.rows: list[int] = []

    def add(self, k: int, rgb: np.ndarray) -> None:
        if self.cv2 is None:
            self.out[k] = self.m.thumb(rgb)
            return
        self.cv2.resize(rgb, (32, 32), dst=self.grid[len(self.rows)], interpolation=self.cv2.INTER_NEAREST)
        self.rows.append(k)
        if len(self.rows) == self.BATCH:
            self.flush()

    def flush(self) -> None:
        n = len(self.rows)
        if n:
            small = self.cv2.resize(self.grid[:n].reshape(n * 32, 32, 3), (8, n * 8), interpolation=self.cv2.INTER_AREA)
            self.out[self.rows] = small.reshape(n, 8 * 8 * 3).astype(np.float32) / 255.0
            self.rows = []


def _pixels(video: Video) -> int:
    """Pixels a frame: what the size thresholds below compare."""
    return video.info.width * video.info.height


def _decode_heavy(video: Video) -> bool:
    """Whether decoding a frame costs more than measuring it: large frames, or many bits
    a frame (CABAC work grows with the bits, measuring does not)."""
    return (_pixels(video) >= PARALLEL_MIN_PIXELS
            or video.index.bytes_per_frame >= HEAVY_FRAME_BYTES)


def _run_frames(video: Video, idx: np.ndarray, runs: list, size, convert: bool = True, inline: bool = False):
    """``(run, index, rgb)`` of every run's frames (``idx[a:b]`` for each run (a, b)),
    the runs taking turns, each decoded by a decoder of its own, the cores shared out
    between them. A lone run of cheap frames leaves half the cores to the measuring
    thread (160x120 clip on 2 cores: 25.8 -> 20.4 ms with one decoder thread instead of
    four); a lone run of frames that cost more to decode than to measure keeps them all
    (HEVC 1080p: 0.36 s with four, 0.55 s with one; 340x256 at 4.5 KB a frame: 174 -> 138
    ms).

    ``inline``: of several runs, this thread decodes the shortest itself, beside its own
    work on the frames, so that no more threads than cores are busy. For callers whose
    own work is light (the strided cut scan measures a third of the frames: NASA clip at
    480x270 in two runs 67-70 -> 63-64 ms, sports clip 139 -> 127 ms, in turns); not for
    the full analysis, which measures every frame (720p: 0.62 -> 0.65 s)."""
    if len(runs) > 1:
        shortest = min(range(len(runs)), key=lambda r: runs[r][1] - runs[r][0]) if inline else -1
        handles = [video.fork_for(len(runs), in_caller=r == shortest) for r in range(len(runs))]
    else:
        handles = [video if _decode_heavy(video) else video.fork_for(2)]
    streams = [h.iter_frames(idx[a:b], size=size, fast_resize=True, convert=convert)
               for h, (a, b) in zip(handles, runs)]
    for items in itertools.zip_longest(*streams):
        for r, item in enumerate(items):
            if item is not None:
                yield r, item[0], item[2]


def analyse(video: Video, indices: Optional[np.ndarray] = None, width: int = 256,
            progress=None, parts: Optional[int] = None) -> FrameStats:
    """Content change per frame over ``indices`` (default: every frame).

    The frames are split at keyframes into ``parts`` runs that decode in parallel, each
    with its own decoder and share of the cores (one thread each on 2 cores): frame
    threads barely help (720p full decode 0.72 s with them vs 0.81 s without on 2 cores),
    separate runs use every core. By default one run per core (at most 4) for frames of
    ``PARALLEL_MIN_PIXELS`` or more, where decoding dominates; smaller frames cost more
    Python than decoding, and the threads would only contend for the interpreter, so
    they take one run whose decoder leaves a core to this thread's measuring."""
    idx = np.arange(len(video)) if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    size = analysis_size(video.info, width)
    m = _Measure()
    content = np.zeros(len(idx), np.float32)
    bright = np.zeros(len(idx), np.float32)
    thumbs = np.zeros((len(idx), 8 * 8 * 3), np.float32)
    batch = _Thumbs(thumbs, m)
    if parts is None:
        parts = video.parallel_parts() if _pixels(video) >= PARALLEL_MIN_PIXELS else 1
    runs = video.split_runs(idx, parts)
    prev = [None] * len(runs)  # last hsv of each run
    first = [None] * len(runs)  # first hsv of each run (its change crosses into the run before)
    pos = [a for a, _ in runs]
    for r, _, rgb in _run_frames(video, idx, runs, size):
        k = pos[r]
        pos[r] += 1
        hsv = m.hsv(rgb)
        if prev[r] is not None:
            content[k] = m.change(hsv, prev[r])
        else:
            first[r] = hsv
        prev[r] = hsv
        bright[k] = m.brightness(hsv)
        batch.add(k, rgb)
        if progress:
            progress()
    batch.flush()
    for r in range(1, len(runs)):  # changes across the run boundaries
        if first[r] is not None and prev[r - 1] is not None:
            content[runs[r][0]] = m.change(first[r], prev[r - 1])
    return FrameStats(idx, video.index.times[idx], content, bright, thumbs)


#: a lone run of frames this large (compressed, bytes) keeps all decoder threads: decoding
#: outweighs measuring (on 2 cores, one decoder thread vs all, ms: 340x256 at 4.5 KB a frame
#: 174 vs 138, at 2.3 KB 100 vs 93; 320x240 MPEG-4 at 1.0 KB 13 vs 16, 320x180 at 0.4 KB 37 vs
#: 41, 160x120 at 0.4 KB 19.5 vs 22.7)
HEAVY_FRAME_BYTES = 2000

#: parallel runs pay from here (2 cores, full pass: 1280x720 0.75 -> 0.67 s, 1024x1024 at
#: 4 fps 1.33 -> 1.04 s; but 480x270 0.10 -> 0.115 s and 340x256 0.18 -> 0.20 s)
PARALLEL_MIN_PIXELS = 300_000


#: below this many pixels a frame decodes faster than Python looks at it, and the guided
#: pass (two decoders, reference frames judged twice) loses to one full pass (160x120
#: synthetic clip: 0.064 vs 0.034 s; 480x270: even)
TWO_PASS_MIN_PIXELS = 100_000


#: the guided pass decodes the reference frames twice (scout and main decoder, one core
#: each) while the full pass splits all frames over both cores, so it pays only where few
#: frames are references (measured, guided vs full: 720p test video at 33 % 0.49 vs 0.67 s;
#: at 50-52 % even; sports 55 % 0.17 vs 0.14 s, HEVC 57 % 0.51 vs 0.39 s, 720p traffic 65 %
#: 0.57 vs 0.51 s, 79 % 0.15 vs 0.10 s)
GUIDED_MAX_REF_SHARE = 0.45


#: every how many frames the strided cut scan measures a frame (the gaps between get
#: measured only where the change across them reaches half the threshold)
CUT_STRIDE = 3

#: frames from this size up take the strided cut scan in parallel keyframe runs
STRIDED_PARALLEL_MIN_PIXELS = 100_000


def analyse_strided(video: Video, threshold: float, width: int = 256, progress=None,
                    stride: int = CUT_STRIDE, parts: int = 1) -> FrameStats:
    """The cut analysis for decoders that decode every frame: only every ``stride``-th
    frame (and the last) is converted and measured at once; the frames between wait
    unconverted until the next measured frame shows whether the change across the gap
    reaches half the threshold. Then they are measured one by one; otherwise dropped,
    and the gap's change stands for them (below the threshold, so never a cut).

    The same rule as the guided scan (``analyse_for_cuts``), with gaps of a fixed length
    instead of the stretches between reference frames, so it needs no second decoder
    and works for any codec: where decoding is cheap next to measuring (small frames)
    or one thread must do both (``threads=1``), it saves the conversion and measuring of
    most frames of quiet video (NASA clip at 320x180: 325 -> 119 frames measured).
    ``parts`` > 1 splits the video into keyframe runs decoded in parallel (as ``analyse``)."""
    size = analysis_size(video.info, width)
    m = _Measure()
    n = len(video)
    every = np.arange(n)
    runs = video.split_runs(every, parts)
    # measured frames: [index, change, brightness or None]; thumbnail k = row k. Frames in a
    # gap, measured only because a cut may lie there, get no brightness or thumbnail: the
    # stride frames sample every scene for its representative, and skipping those two for
    # the gaps of a pan takes ~8 % off the scan of small frames (160x120: 15.6-16.1 -> 14.3-14.9
    # ms in turns)
    rows: list[list] = []
    thumbs = np.zeros((n, 8 * 8 * 3), np.float32)
    batch = _Thumbs(thumbs, m)

    def record(j, rgb, hsv, change):
        rows.append([j, change, m.brightness(hsv)])
        batch.add(len(rows) - 1, rgb)

    def measure(j, rgb, ref_hsv):
        rgb = rgb() if callable(rgb) else rgb
        hsv = m.hsv(rgb)
        rows.append([j, m.change(hsv, ref_hsv), None])
        return hsv

    waiting: list[list] = [[] for _ in runs]  # per run: (index, rgb or its conversion) since its last measured frame
    last_hsv: list = [None] * len(runs)
    first: list = [None] * len(runs)  # per run: (row, hsv) of its first frame
    for r, j, rgb in _run_frames(video, every, runs, size, convert=False, inline=True):
        if progress:
            progress()
        start, end = runs[r]
        if (j - start) % stride and j != end - 1:
            waiting[r].append((j, rgb))
            continue
        rgb = rgb() if callable(rgb) else rgb
        hsv = m.hsv(rgb)
        prev = last_hsv[r]
        across = m.change(hsv, prev) if prev is not None else 0.0
        if waiting[r] and across >= 0.5 * threshold:  # a cut may hide in the gap: measure it
            for k, w in waiting[r]:
                prev = measure(k, w, prev)
            across = m.change(hsv, prev)
        waiting[r].clear()
        if first[r] is None:
            first[r] = (len(rows), hsv)
        record(j, rgb, hsv, across)
        last_hsv[r] = hsv
    batch.flush()
    for r in range(1, len(runs)):  # a run's first frame and the run before's last are neighbours
        if first[r] is not None and last_hsv[r - 1] is not None:
            rows[first[r][0]][1] = m.change(first[r][1], last_hsv[r - 1])
    order = sorted(range(len(rows)), key=lambda k: rows[k][0])
    idx = np.array([rows[k][0] for k in order], dtype=np.int64)
    lum = [rows[k][2] for k in order]
    return FrameStats(idx, video.index.times[idx], np.array([rows[k][1] for k in order], np.float32),
                      np.array([0.0 if b is None else b for b in lum], np.float32), thumbs[order],
                      sampled=np.array([b is not None for b in lum]))


def analyse_for_cuts(video: Video, threshold: float, width: int = 256, progress=None) -> FrameStats:
    """Every cut the full analysis would find, decoding much less on B-frame video.

    Reference frames are measured first (a scout decoder that skips every frame nothing
    references), giving the change across each gap between consecutive ones. A cut inside
    a gap shows as a change across the gap, so only gaps whose change reaches half the
    threshold get their frames decoded and measured one by one, by a second decoder that
    runs alongside the scout (``Video.iter_guided``: one pass, no seeks). Frames elsewhere
    keep their gap's change (below the threshold): cut positions are exact; the rest is a
    sparser but faithful summary. Where decoding cannot be skipped (no B-frames, or a
    backend other than PyAV), for small frames, and where more than
    ``GUIDED_MAX_REF_SHARE`` of the frames are reference frames (read from the NAL
    headers before any decoding), the strided scan (``analyse_strided``) skips the
    measuring instead."""
    m = _Measure()
    refs: dict[int, list] = {}  # reference frame index -> [content vs previous reference, brightness, thumb]
    last: list = [None, None]  # previous reference frame: index, hsv

    def judge(i: int, rgb: np.ndarray) -> bool:  # runs in the scout's thread
        hsv = m.hsv(rgb)
        prev_i, prev_hsv = last
        c = m.change(hsv, prev_hsv) if prev_hsv is not None else 0.0
        refs[i] = [c, m.brightness(hsv), m.thumb(rgb)]
        last[:] = [i, hsv]
        if progress:
            progress()
        return prev_i is not None and c >= 0.5 * threshold and i - prev_i > 1

    small = _pixels(video) < TWO_PASS_MIN_PIXELS
    # the main decoder in this thread, which measures only the marked gaps' frames (720p
    # test video: 3-4 % faster in turns)
    guided = None if small else video.iter_guided(judge, size=analysis_size(video.info, width),
                                                  max_ref_share=GUIDED_MAX_REF_SHARE, in_caller=True)
    if guided is None:
        return _one_decoder_cut_analysis(video, threshold, width, progress)
    exact: dict[int, list] = {}  # frame index -> [content or None, brightness, thumb]
    prev_j, prev_hsv = None, None
    for j, t, rgb in guided:
        hsv = m.hsv(rgb)
        exact[j] = [m.change(hsv, prev_hsv) if prev_j == j - 1 else None, m.brightness(hsv), m.thumb(rgb)]
        prev_j, prev_hsv = j, hsv
        if progress and j not in refs:
            progress()
    if not refs:
        return _one_decoder_cut_analysis(video, threshold, width, progress)
    for j, (c, b, th) in exact.items():
        if c is None:  # no decoded frame just before: keep the change across the gap
            c = refs[j][0] if j in refs else 0.0
        refs[j] = [c, b, th]
    idx = np.array(sorted(refs), dtype=np.int64)
    vals = [refs[i] for i in idx.tolist()]
    return FrameStats(idx, video.index.times[idx], np.array([v[0] for v in vals], np.float32),
                      np.array([v[1] for v in vals], np.float32), np.stack([v[2] for v in vals]))


def _one_decoder_cut_analysis(video: Video, threshold: float, width: int, progress) -> FrameStats:
    """Where the guided scan does not pay: the strided scan, over keyframe runs decoded
    in parallel from ``STRIDED_PARALLEL_MIN_PIXELS`` up (below, the threads would only
    contend for the interpreter: 160x120 25.7 -> 30.1 ms, 320x180 41 -> 50 ms with two
    runs; 426x240 79 -> 66 ms, 480x270 170 -> 139 ms)."""
    big = _pixels(video) >= STRIDED_PARALLEL_MIN_PIXELS
    return analyse_strided(video, threshold, width, progress, parts=video.parallel_parts() if big else 1)
