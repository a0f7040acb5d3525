"""What a user asks of compression, settled once: ``Compression`` is the typed value that
``--method``, ``--budget``, ``-o``, ``--plan`` and ``--pre-keep`` (or a recipe) become. The budget is
read and the defaults are applied here and nowhere else; checks, tasks, long-video chunks,
batch and the pipeline take this value and never see the flags' text. Imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..defaults import DEFAULT_BUDGET, DEFAULT_METHOD
from ..errors import UsageError
from . import parse_methods
from .budget import Budget
from .plan import frames_share, pixels_share, tower_share


@dataclass(frozen=True)
class Compression:
    """``methods`` (a chain; empty: every visual token reaches the LLM) at ``budget``, with
    each method's own ``options``; ``pre_keep``: the share of sampled frames that go through
    the vision tower at all (None: every one), as ``plan`` (``compress.plan``) decided it or
    ``--pre-keep`` set it; ``pixels``: the share of each frame's pixels the tower sees (None:
    all of them); ``tower``: the share of units the tower carries past its merge point
    (None: all of them)."""

    methods: tuple[str, ...] = ()
    budget: Optional[Budget] = None
    options: dict = field(default_factory=dict)
    pre_keep: Optional[float] = None
    plan: str = "auto"
    pixels: Optional[float] = None
    tower: Optional[float] = None

    @classmethod
    def of(cls, method=None, budget=None, options: Optional[dict] = None, pre_keep: Optional[float] = None,
           default: bool = False, plan: Optional[str] = None) -> "Compression":
        """The request the flags make. A method without a budget gets the default budget,
        a budget without a method the default method; neither: no compression, unless
        ``default`` (commands whose whole job is compressing) asks for both defaults.
        ``plan`` (``compress.plan``; default ``auto``) decides how much of the budget is met
        before the tower; ``pre_keep`` is the plan ``frames=pre_keep`` set by hand."""
        if pre_keep is not None:
            if not 0 < pre_keep <= 1:
                raise UsageError(f"--pre-keep must lie in (0, 1], got {pre_keep}")
            if plan not in (None, "auto"):
                raise UsageError(f"--pre-keep {pre_keep:g} and --plan {plan} both say how many frames reach the tower: "
                                 "give one")
            plan = f"frames={pre_keep:g}"
        plan = (plan or "auto").strip()
        if not method and budget is None and not default:  # frames before the tower only when a plan says so
            return cls((), None, dict(options or {}), frames_share(plan, None), plan, pixels_share(plan),
                       tower_share(plan))
        methods = tuple(parse_methods(method or DEFAULT_METHOD))
        b = Budget.parse(budget if budget is not None else DEFAULT_BUDGET)
        return cls(methods, b, dict(options or {}), frames_share(plan, b.value if b.kind == "ratio" else None), plan,
                   pixels_share(plan), tower_share(plan))

    @classmethod
    def sweep(cls, method=None, budget=None, options: Optional[dict] = None,
              pre_keep: Optional[float] = None, plan: Optional[str] = None) -> list["Compression"]:
        """Every setting ``method`` x ``budget`` names, methods first: several methods are
        separated by ";" (a chain keeps its ","), several budgets by ","; one of each is the
        usual single request. ``100%`` keeps every token (the full-token row of a table)."""
        methods = [m.strip() for m in str(method).split(";")] if method else [None]
        budgets = [b.strip() for b in str(budget).split(",")] if budget is not None else [None]
        for flag, given, entries in (("--method", method, methods), ("--budget", budget, budgets)):
            if "" in entries:
                raise UsageError(f"{flag} '{given}' has an empty entry (methods are separated by ';', budgets by ',')")
        return [cls.of(m, b, options, pre_keep, plan=plan) for m in methods for b in budgets]

    @property
    def active(self) -> bool:
        """Whether tokens are compressed after the tower."""
        return bool(self.methods)

    @property
    def method(self) -> Optional[str]:
        """The chain as the flag spells it (``dtd,holitom``), or None."""
        return ",".join(self.methods) or None

    def or_default(self) -> "Compression":
        """This request, or the default method at the default budget where it asks for none
        (commands whose whole job is compressing)."""
        return self if self.active else Compression.of(None, None, self.options, default=True, plan=self.plan)

    def with_(self, method=None, budget=None) -> "Compression":
        """This request with another method or budget (chat's ``/method``, ``/budget``):
        ``""`` turns compression off, None keeps the current one."""
        if method == "" or budget == "":
            return Compression.of(None, None, self.options, plan=self.plan)
        method = self.method if method is None else method
        budget = (str(self.budget) if self.budget is not None else None) if budget is None else budget
        return Compression.of(method, budget, self.options, plan=self.plan)

    def apply(self, ts, tokens_full: Optional[int] = None, prepare=None):
        """``ts`` compressed to the budget, a ratio being of ``tokens_full`` (what every
        sampled frame would have cost, also those ``pre_keep`` kept from the tower);
        ``ts`` itself when nothing is asked. ``prepare``: see ``compress.chain.compress``."""
        if not self.active:
            return ts
        from .chain import compress

        return compress(ts, self.methods, self.budget.of(tokens_full if tokens_full is not None else len(ts)),
                        options=self.options, prepare=prepare)

    def describe(self) -> dict:
        """For --json and reports."""
        return {"method": self.method, "budget": None if self.budget is None else str(self.budget),
                "plan": self.plan, "pre_keep": self.pre_keep, "pixels": self.pixels,
                "tower": self.tower}
