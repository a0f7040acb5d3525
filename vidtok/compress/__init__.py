"""Compress stage: ``TokenSet`` in, a smaller ``TokenSet`` out, at an exact budget.

Every compressor is a pure function ``fn(tokens, budget, query=None, **options)`` with
``budget`` an exact token count. They chain: ``compress(ts, "dtd,holitom", "10%")`` runs
``dtd`` at its natural operating point (never below the final budget) and ``holitom`` to
the exact budget.

Attention-based methods (VisionZip dominant tokens, FastV-style in-LLM pruning) need the
model's attention: their hook is the ``scores`` option of :func:`keep_top`, which the model
adapters fill from one eager attention layer.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

from ..errors import UsageError
from ..registry import Registry
from .budget import Budget
from .tokenset import TokenSet, nearest

CompressorFn = Callable[..., TokenSet]

COMPRESSORS: Registry[CompressorFn] = Registry(
    "compressors",
    {
        "tome": "vidtok.compress.tome:tome",
        "dtd": "vidtok.compress.dtd:dtd",
        "holitom": "vidtok.compress.holitom:holitom",
        "fastvid": "vidtok.compress.fastvid:fastvid",
        "vidcom2": "vidtok.compress.vidcom2:vidcom2",
        "divprune": "vidtok.compress.divprune:divprune",
        "vq": "vidtok.compress.vq:vq",
        "traj": "vidtok.compress.traj:traj",
        "visionzip": "vidtok.compress.visionzip:visionzip",
        "fastv": "vidtok.compress.fastv:fastv",
        "uniform": "vidtok.compress.baselines:uniform",
        "pool": "vidtok.compress.baselines:pool",
    },
)

#: Methods that need a model and a question (their scores come from the LLM).
NEEDS_MODEL = {"fastv"}

#: Where a method stops on its own when it is not the last in a chain (a ratio of its input).
NATURAL_RATIO = {"dtd": 0.5, "uniform": 0.5, "pool": 0.25}


def keep_top(ts: TokenSet, budget: int, query=None, scores: Optional[torch.Tensor] = None) -> TokenSet:
    """Keep the ``budget`` tokens with the highest ``scores`` (e.g. attention received,
    VisionZip / FastV); dropped tokens join their most similar kept token."""
    if scores is None:
        raise UsageError("keep_top needs per-token scores (from a model adapter's attention)")
    keep = torch.sort(torch.topk(scores, budget).indices).values
    return ts.keep(keep, nearest(ts.feats, ts.feats[keep]))


def parse_methods(methods: Union[str, Sequence[str]]) -> list[str]:
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    if not names:
        raise UsageError("no compression method given")
    for n in names:
        COMPRESSORS.get(n)  # raises a UsageError listing the choices
    return names


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
    tokens with what it needs (``ask`` attaches the LLM's attention for ``fastv``)."""
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


__all__ = ["COMPRESSORS", "Budget", "TokenSet", "compress", "keep_top", "parse_methods"]
