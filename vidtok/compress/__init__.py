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

from typing import Any, Callable, Sequence, Union

from ..errors import UsageError
from ..registry import Registry
from .budget import Budget

# This module imports no torch, so commands can check method names and budgets before
# anything heavy loads; ``compress``, ``keep_top`` and ``TokenSet`` load torch on first use.
CompressorFn = Callable[..., Any]

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


def parse_methods(methods: Union[str, Sequence[str]]) -> list[str]:
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    if not names:
        raise UsageError("no compression method given")
    for n in names:
        COMPRESSORS.check(n)  # a UsageError listing the choices; imports nothing
    return names



def __getattr__(name: str):
    if name in ("compress", "keep_top"):
        from . import chain

        return getattr(chain, name)
    if name == "TokenSet":
        from .tokenset import TokenSet

        return TokenSet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMPRESSORS", "Budget", "TokenSet", "compress", "keep_top", "parse_methods"]
