"""Chains of compressors (``compress``) and the attention-score hook (``keep_top``)."""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

from ..errors import UsageError
from . import COMPRESSORS, NATURAL_RATIO, NEEDS_MODEL, parse_methods
from .budget import Budget
from .tokenset import TokenSet, nearest


def keep_top(ts: TokenSet, budget: int, query=None, scores: Optional[torch.Tensor] = None) -> TokenSet:
    """Keep the ``budget`` tokens with the highest ``scores`` (e.g. attention received,
    VisionZip / FastV); dropped tokens join their most similar kept token."""
    if scores is None:
        raise UsageError("keep_top needs per-token scores (from a model adapter's attention)")
    keep = torch.sort(torch.topk(scores, budget).indices).values
    return ts.keep(keep, nearest(ts.feats, ts.feats[keep]))


def compress(
    ts: TokenSet,
    methods: Union[str, Sequence[str]],
    budget: Union[str, int, float, Budget],
    query: Optional[torch.Tensor] = None,
    options: Optional[dict[str, dict]] = None,
    prepare: Optional[Callable[[str, TokenSet], TokenSet]] = None,
) -> TokenSet:
    """Run a chain of compressors; the result has exactly the budget's token count.
    ``prepare(name, tokens)`` runs before each method in ``NEEDS_MODEL`` and returns the
    tokens with what it needs as a new set, leaving ``tokens`` as they are (they may be on
    their way to the cache; ``ask`` attaches the LLM's attention for ``fastv``)."""
    names = parse_methods(methods)
    b = Budget.parse(budget)
    T = ts.grid[0]
    final = b.resolve(ts.num_original, T, len(ts))
    options = options or {}
    for i, name in enumerate(names):
        fn = COMPRESSORS.get(name)
        last = i == len(names) - 1
        k = final if last else max(final, int(round(NATURAL_RATIO.get(name, 0.5) * len(ts))))
        k = min(k, len(ts))
        if k == len(ts):
            continue
        if name in NEEDS_MODEL and prepare is not None:
            ts = prepare(name, ts)
        ts = fn(ts, k, query, **options.get(name, {}))
        if len(ts) != k:  # a contract breach is a bug, never a silent miss
            raise AssertionError(f"compressor {name} returned {len(ts)} tokens for budget {k}")
    return ts
