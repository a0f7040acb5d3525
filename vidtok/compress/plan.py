"""Where a budget is spent: before the vision tower or after it.

``--budget 0.1`` is the share of the full video's visual tokens that reach the LLM. A plan
says how much of that reduction happens before the tower (fewer sampled frames go through it:
the most distinct ones, ``select.prefilter.distinct_frames``) and the method does the rest
after it. On a CPU the tower is most of a long answer, so only the part met before it makes
the answer sooner (docs/benchmarks.md); the part after it chooses tokens with what the tower
saw. Plans (``--plan``):

* ``after``: every sampled frame through the tower; the method keeps the budget of them.
* ``frames=F``: a share F of the sampled frames through the tower (``--pre-keep F``); the
  method keeps the budget of the full video's tokens from what comes out.
* ``auto`` (the default): ``frames=DEFAULT_FRAMES_PER_BUDGET x budget``, capped at 1, for a
  budget given as a share; ``after`` for a budget in tokens (its share is known only once the
  tower has run). The factor is chosen from measurements (docs/benchmarks.md, "Where the
  budget is spent"): the fastest rule whose organism accuracy stayed within 5 % of full tokens.

Imports no torch.
"""

from __future__ import annotations

from typing import Optional

from ..errors import UsageError

#: ``auto``: the share of frames through the tower is this many times the budget's share
DEFAULT_FRAMES_PER_BUDGET = 3.0
PLANS = ("auto", "after", "frames=F")


def frames_share(plan: Optional[str], share: Optional[float]) -> Optional[float]:
    """The share of sampled frames that go through the tower under ``plan`` (None: all of
    them) for a budget whose share of the full tokens is ``share`` (None: a token count, or no
    budget). A bad plan is a ``UsageError`` naming the flag."""
    plan = (plan or "auto").strip()
    if plan == "after":
        return None
    if plan == "auto":
        f = round(DEFAULT_FRAMES_PER_BUDGET * share, 6) if share is not None else 1.0  # 0.3, not 0.30000000000000004
        return None if f >= 1 else f
    if plan.startswith("frames="):
        try:
            f = float(plan[len("frames="):])
        except ValueError:
            f = -1.0
        if not 0 < f <= 1:
            raise UsageError(f"--plan '{plan}': the share of frames must lie in (0, 1], e.g. frames=0.3")
        return None if f >= 1 else f
    raise UsageError(f"--plan '{plan}' is not a plan: use {', '.join(PLANS)}")
