"""``query``: query-aware frame selection with temporal spreading and a coverage floor.

After DATE's TASS (temporal-aware similarity sampling): the video is split into
``coverage`` equal parts and each part first gets its most query-similar frame (so no part
of the video is ignored), then frames are added greedily by similarity minus a penalty for
lying within ``spread`` seconds of a frame already chosen (so the picks do not pile up on
one moment).
"""

from __future__ import annotations

import numpy as np


def query_select(sim: np.ndarray, times: np.ndarray, k: int, coverage: int | None = None,
                 spread: float | None = None, penalty: float = 1.0) -> np.ndarray:
    """Positions of ``k`` frames from similarities ``sim`` (higher = more relevant)."""
    n = len(sim)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64)
    span = float(times[-1] - times[0]) if n > 1 else 1.0
    coverage = max(1, k // 4) if coverage is None else max(1, min(coverage, k))
    spread = span / (2 * k) if spread is None else spread
    s = (sim - sim.min()) / (np.ptp(sim) + 1e-12)  # penalty is relative to the range
    chosen: list[int] = []
    edges = np.linspace(times[0], times[-1] + 1e-9, coverage + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        part = np.flatnonzero((times >= a) & (times < b))
        if len(part):
            chosen.append(int(part[np.argmax(s[part])]))
    chosen = sorted(set(chosen))[:k]
    while len(chosen) < k:
        d = np.min(np.abs(times[:, None] - times[chosen][None, :]), axis=1)
        pen = penalty * np.clip(1 - d / spread, 0, 1) if spread > 0 else np.zeros(n)
        gain = s - pen
        gain[chosen] = -np.inf
        chosen.append(int(np.argmax(gain)))
    return np.sort(np.asarray(chosen, dtype=np.int64))
