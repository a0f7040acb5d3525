"""Token budgets users can state: absolute tokens, a ratio of the input, or per frame.

    Budget.parse("500")      -> 500 tokens
    Budget.parse("0.1")      -> 10 % of the original tokens   (also "10%")
    Budget.parse("64/frame") -> 64 tokens per original frame
"""

from __future__ import annotations

import math
from typing import Literal, Union

from pydantic import BaseModel

from ..errors import UsageError


class Budget(BaseModel):
    kind: Literal["tokens", "ratio", "per_frame"]
    value: float

    @classmethod
    def parse(cls, spec: Union[str, int, float, "Budget"]) -> "Budget":
        if isinstance(spec, Budget):
            return spec
        s = str(spec).strip().lower()
        try:
            if s.endswith("%"):
                b = cls(kind="ratio", value=float(s[:-1]) / 100)
            elif s.endswith("/frame") or s.endswith("pf"):
                b = cls(kind="per_frame", value=float(s.split("/")[0].removesuffix("pf")))
            elif isinstance(spec, float) or "." in s:
                b = cls(kind="ratio", value=float(s))
            else:
                b = cls(kind="tokens", value=int(s))
        except ValueError:
            raise UsageError(f"cannot read budget '{spec}': use 500 (tokens), 0.1 or 10% (ratio), "
                             "or 64/frame") from None
        if b.kind == "tokens" and b.value == 1 and isinstance(spec, str):
            # "1" (typed: --budget, a recipe) reads as one token, which nobody wants and many
            # mean as "all of them"; the integer 1 from Python code is a count, unambiguous
            raise UsageError(f"budget '{spec}' would keep a single visual token: 1.0 or 100% keeps them all; a plain "
                             "integer (500) is a count, a decimal or percentage (0.1, 10%) a share, 64/frame per frame")
        if b.value <= 0 or (b.kind == "ratio" and b.value > 1):
            raise UsageError(f"budget '{spec}' is out of range (ratios lie in (0, 1], counts are positive)")
        return b

    def resolve(self, num_original: int, num_frames: int, available: int) -> int:
        """The exact token count to produce (at least 1, at most what is available)."""
        if self.kind == "tokens":
            k = int(self.value)
        elif self.kind == "ratio":
            k = int(round(self.value * num_original))
        else:
            k = int(math.floor(self.value * num_frames))
        return max(1, min(k, available))

    def of(self, num_original: int) -> "Budget":
        """A ratio as the token count it means for ``num_original`` tokens (e.g. the full
        video's, when frames were dropped before the tower); other kinds as they are."""
        if self.kind != "ratio":
            return self
        return Budget(kind="tokens", value=max(1, round(self.value * num_original)))

    def __str__(self) -> str:
        if self.kind == "ratio" and self.value == 1:
            return "100%"  # every token ("1" would read as one token)
        return {"tokens": f"{int(self.value)}", "ratio": f"{self.value:g}",
                "per_frame": f"{self.value:g}/frame"}[self.kind]
