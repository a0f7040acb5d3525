"""``diverse``: frames that cover the video's visual variety.

Max-min diversity (farthest point) over frame embeddings, or maximal marginal relevance
(MMR, Carbonell & Goldstein 1998) when a query gives relevance: each pick maximises
``lam * relevance - (1 - lam) * max similarity to the picks so far``.
"""

from __future__ import annotations

import numpy as np


def maxmin_select(emb: np.ndarray, k: int, first: int = 0) -> np.ndarray:
    """Greedy max-min selection over unit-norm rows (cosine distance)."""
    n = len(emb)
    k = min(k, n)
    chosen = [first]
    mind = 1 - emb @ emb[first]
    mind[first] = -np.inf
    while len(chosen) < k:
        j = int(np.argmax(mind))
        chosen.append(j)
        mind = np.minimum(mind, 1 - emb @ emb[j])
        mind[chosen] = -np.inf
    return np.sort(np.asarray(chosen, dtype=np.int64))


def mmr_select(emb: np.ndarray, relevance: np.ndarray, k: int, lam: float = 0.5) -> np.ndarray:
    n = len(emb)
    k = min(k, n)
    rel = (relevance - relevance.min()) / (np.ptp(relevance) + 1e-12)
    chosen = [int(np.argmax(rel))]
    maxsim = emb @ emb[chosen[0]]
    while len(chosen) < k:
        score = lam * rel - (1 - lam) * maxsim
        score[chosen] = -np.inf
        j = int(np.argmax(score))
        chosen.append(j)
        maxsim = np.maximum(maxsim, emb @ emb[j])
    return np.sort(np.asarray(chosen, dtype=np.int64))
