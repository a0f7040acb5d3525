"""What selectors return: frames (index, time, score) and/or clips (start, end, score),
plus scene cuts for the ``scenes`` selector. Times are exact presentation times."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field


class SelectedFrame(BaseModel):
    index: int
    time: float
    score: float = 0.0


class Clip(BaseModel):
    start: float = Field(description="first second of the clip")
    end: float = Field(description="last second of the clip (end of its last frame)")
    score: float = 0.0
    frames: list[int] = Field(default_factory=list, description="frame indices to decode")
    size: Optional[int] = Field(None, description="square frame side the clip is read at (F2C)")
    tokens: Optional[int] = Field(None, description="visual tokens the clip costs")


class Cut(BaseModel):
    index: int = Field(description="first frame of the new scene")
    time: float


class Selection(BaseModel):
    method: str
    frames: list[SelectedFrame] = Field(default_factory=list)
    clips: list[Clip] = Field(default_factory=list)
    cuts: list[Cut] = Field(default_factory=list)
    scenes: list[tuple[float, float]] = Field(default_factory=list)
    params: dict = Field(default_factory=dict)

    @property
    def indices(self) -> list[int]:
        return [f.index for f in self.frames]
