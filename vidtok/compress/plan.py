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
* ``pixels=P``: each frame through the tower at a share P of the pixels its processor would
  give it (Qwen2.5-VL, whose processor takes any frame size: its own resize under a lower
  per-frame cap, ``--max-pixels``); tokens fall with the pixels. ``frames=F,pixels=P`` does both.
* ``tower=T``: the vision tower merges units (what become visual tokens) inside its layers,
  after its first full-attention block, so only a share T of them go through the remaining
  blocks (Qwen2.5-VL; ``models.tower_merging``). Joins the others: ``frames=F,tower=T``.
* ``auto`` (the default): ``frames=DEFAULT_FRAMES_PER_BUDGET x budget``, capped at 1, for a
  budget given as a share; ``after`` for a budget in tokens (its share is known only once the
  tower has run). The factor was chosen for speed (``--budget 0.1`` at least 3x sooner end to
  end in both CPU settings of docs/benchmarks.md); what it costs in answers is measured on the
  organism there ("Where the budget is spent": at 10 % it loses more than ``tower=0.5`` does,
  which only Qwen2.5-VL has).

Imports no torch.
"""

from __future__ import annotations

from typing import Optional

from ..errors import UsageError

#: ``auto``: the share of frames through the tower is this many times the budget's share
DEFAULT_FRAMES_PER_BUDGET = 3.0
PLANS = ("auto", "after", "frames=F", "pixels=P", "tower=T", "frames=F,pixels=P,tower=T")
PARTS = ("frames", "pixels", "tower")


def _parts(plan: str) -> dict[str, float]:
    """The shares an explicit plan names (``frames=F``, ``pixels=P``, ``tower=T``, several
    joined by commas); a bad plan is a ``UsageError`` naming the flag."""
    out: dict[str, float] = {}
    for part in plan.split(","):
        name, eq, value = part.strip().partition("=")
        if not eq or name not in PARTS or name in out:
            raise UsageError(f"--plan '{plan}' is not a plan: use {', '.join(PLANS)}")
        try:
            f = float(value)
        except ValueError:
            f = -1.0
        if not 0 < f <= 1:
            raise UsageError(f"--plan '{plan}': the share of {name} must lie in (0, 1], e.g. {name}=0.3")
        out[name] = f
    return out


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
    return _share(plan, "frames")


def _share(plan: Optional[str], part: str) -> Optional[float]:
    """The share an explicit ``plan`` gives ``part`` (one of ``PARTS``; None: all of it).
    ``auto`` and ``after`` give every part whole (``frames_share`` reads ``auto``'s frames)."""
    plan = (plan or "auto").strip()
    if plan in ("auto", "after"):
        return None
    f = _parts(plan).get(part, 1.0)
    return None if f >= 1 else f


def pixels_share(plan: Optional[str]) -> Optional[float]:
    """The share of each frame's pixels the tower sees under ``plan`` (None: all of them)."""
    return _share(plan, "pixels")


def tower_share(plan: Optional[str]) -> Optional[float]:
    """The share of its units the vision tower carries past its merge point under ``plan``
    (None: all of them)."""
    return _share(plan, "tower")
