"""``query``: query-aware frame selection with temporal spreading and a coverage floor.

After DATE's TASS (temporal-aware similarity sampling): the video is split into
``coverage`` equal parts and each part first gets its most query-similar frame (so no part
of the video is ignored), then frames are added greedily by similarity, never within ``spread`` seconds of a frame
already chosen (so the picks do not pile up on
one moment). Picks keep at least ``spread`` seconds apart (default: half the even
spacing); the gap halves only when nothing is left that respects it.
"""

from __future__ import annotations

import numpy as np


def query_select(sim: np.ndarray, times: np.ndarray, k: int, coverage: int | None = None,
                 spread: float | None = None) -> np.ndarray:
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
    gap = spread
    while len(chosen) < k:
        d = np.min(np.abs(times[:, None] - times[chosen][None, :]), axis=1)
        ok = d >= gap - 1e-9
        ok[chosen] = False
        if not ok.any():
            gap /= 2
            if gap < 1e-6:
                ok = np.ones(n, bool)
                ok[chosen] = False
            else:
                continue
        gain = np.where(ok, s, -np.inf)
        chosen.append(int(np.argmax(gain)))
    return np.sort(np.asarray(chosen, dtype=np.int64))
